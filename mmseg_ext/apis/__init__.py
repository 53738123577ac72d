"""Inference: build trained models, predict splits and image files.

``mmseg_ext.apis.MMSegExtInferencer`` is ``mmseg.apis.MMSegInferencer`` for
mmseg_ext's configs; models are built by :func:`init_model` (through
:mod:`mmseg_ext.utils.builder`) or, for an exported ``.onnx`` run by
onnxruntime, :func:`init_onnx_model`; :func:`infer_images` is what
``tools/infer.py`` runs.
"""
from .image_files import (IMAGE_EXTENSIONS, InferenceReport, infer_images,
                          list_images, output_names)
from .inference import (build_split_dataset, dataset_meta_of, init_model,
                        init_onnx_model, iter_predictions,
                        load_inference_config, model_num_classes)
from .mmseg_ext_inferencer import MMSegExtInferencer

__all__ = [
    'IMAGE_EXTENSIONS', 'InferenceReport', 'build_split_dataset',
    'dataset_meta_of', 'infer_images', 'init_model', 'init_onnx_model',
    'iter_predictions', 'list_images', 'load_inference_config',
    'model_num_classes', 'output_names', 'MMSegExtInferencer'
]
