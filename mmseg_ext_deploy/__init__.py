"""mmseg_ext_deploy: run mmseg_ext's ONNX exports without torch.

A deployed model is one ``.onnx`` file written by
``tools/deployment/pytorch2onnx.py``: the network (a UFormer with its fusion
included) plus the metadata the runtime needs (:mod:`.metadata`).
:class:`OrtSegmentor` runs it with onnxruntime, doing mmseg's preprocessing,
whole or sliding-window inference, resize back and argmax/threshold. This
package imports only numpy, opencv, onnxruntime and the standard library
(``pip install "mmseg-ext-plugin[deploy]"``); it is separate from
``mmseg_ext``, whose import loads torch and mmseg.

Example:
    >>> import cv2
    >>> from mmseg_ext_deploy import OrtSegmentor
    >>> model = OrtSegmentor('uformer.onnx')
    >>> image = cv2.imread('drone.jpg')
    >>> pred = model.predict(image)          # pred.mask: (H, W) class ids
    >>> model.class_shares(pred.mask)        # {'background': 0.8, ...}
    >>> cv2.imwrite('overlay.png', model.overlay(image, pred.mask))
"""
from .metadata import (FORMAT_VERSION, METADATA_KEY, load_metadata,
                       validate_metadata)
from .ort_segmentor import OrtSegmentor, Prediction

__all__ = [
    'OrtSegmentor', 'Prediction', 'load_metadata', 'validate_metadata',
    'METADATA_KEY', 'FORMAT_VERSION'
]
