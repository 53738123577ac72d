"""Tests of the torch-free runtime (mmseg_ext_deploy), and helpers that
build tiny mmseg_ext-style ONNX files with ``onnx.helper`` (no torch export):
:func:`make_metadata` and :func:`tiny_onnx_model`."""
import json
from typing import Optional, Sequence

import numpy as np

__all__ = ['make_metadata', 'tiny_onnx_model']


def make_metadata(out_channels: int = 3, **overrides) -> dict:
    """A valid metadata object (format 1) for ``out_channels`` logits:
    whole mode, ImageNet mean/std, BGR to RGB, dynamic; ``overrides``
    replace fields."""
    num_classes = 2 if out_channels == 1 else out_channels
    meta = {
        'format_version':
        1,
        'model':
        'EncoderDecoder',
        'classes': [f'class{i}' for i in range(num_classes)],
        'palette': [[(60 * i) % 256, (100 + 50 * i) % 256,
                     (200 - 30 * i) % 256] for i in range(num_classes)],
        'out_channels':
        out_channels,
        'threshold':
        0.5,
        'mean': [123.675, 116.28, 103.53],
        'std': [58.395, 57.12, 57.375],
        'bgr_to_rgb':
        True,
        'pad_val':
        0,
        'size_divisor':
        None,
        'pad_size':
        None,
        'test_resize':
        None,
        'test_mode':
        'whole',
        'crop_size':
        None,
        'stride':
        None,
        'align_corners':
        False,
        'input_shape':
        None,
        'dynamic':
        True,
        'fuse':
        None,
        'weights':
        None,
    }
    meta.update(overrides)
    return meta


def tiny_onnx_model(path: str,
                    metadata: Optional[dict] = None,
                    out_channels: int = 3,
                    input_shape: Optional[Sequence[int]] = None,
                    batch: Optional[int] = None,
                    seed: int = 0) -> str:
    """Write a tiny segmentation graph ``input (N, 3, H, W) -> logits
    (N, C, H, W)``: a 3x3 convolution (zero padding) plus a 1x1 convolution
    of the input's spatial mean, so that every output pixel depends on its
    position in the input and on the whole input (sliding windows give
    other logits than one whole pass).

    Args:
        path (str): Where to write the ``.onnx``.
        metadata (dict, optional): Stored as JSON under key ``mmseg_ext``;
            None stores no metadata.
        out_channels (int): C.
        input_shape (Sequence[int], optional): Fixed ``(H, W)``; dynamic
            if None.
        batch (int, optional): Fixed N; dynamic if None.
        seed (int): Seed of the weights.

    Returns:
        str: ``path``.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(seed)
    w3 = rng.normal(0, 0.05, (out_channels, 3, 3, 3)).astype(np.float32)
    b3 = rng.normal(0, 0.1, (out_channels, )).astype(np.float32)
    w1 = rng.normal(0, 1.0, (out_channels, 3, 1, 1)).astype(np.float32)
    height, width = input_shape if input_shape is not None else ('H', 'W')
    n = batch if batch is not None else 'N'
    nodes = [
        helper.make_node(
            'Conv', ['input', 'w3', 'b3'], ['local'],
            kernel_shape=[3, 3],
            pads=[1, 1, 1, 1]),
        helper.make_node(
            'ReduceMean', ['input'], ['mean'], axes=[2, 3], keepdims=1),
        helper.make_node(
            'Conv', ['mean', 'w1'], ['context'], kernel_shape=[1, 1]),
        helper.make_node('Add', ['local', 'context'], ['logits']),
    ]
    graph = helper.make_graph(
        nodes,
        'tiny_seg', [
            helper.make_tensor_value_info('input', TensorProto.FLOAT,
                                          [n, 3, height, width])
        ], [
            helper.make_tensor_value_info('logits', TensorProto.FLOAT,
                                          [n, out_channels, height, width])
        ],
        initializer=[
            numpy_helper.from_array(w3, 'w3'),
            numpy_helper.from_array(b3, 'b3'),
            numpy_helper.from_array(w1, 'w1')
        ])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    if metadata is not None:
        helper.set_model_props(model, {'mmseg_ext': json.dumps(metadata)})
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path
