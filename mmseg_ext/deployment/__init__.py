"""ONNX export of mmseg_ext's segmentors (UFormer included), torch side.

The runtime that reads the files imports neither torch nor mmseg: it is
the separate package ``mmseg_ext_deploy``.
"""
from .metadata import (FORMAT_VERSION, METADATA_KEY, ExportConfigError,
                       check_slide_fusion, default_input_shape,
                       export_metadata, inference_mode, pipeline_resize,
                       preprocessor_settings)
from .export_patches import (OnnxMultiheadAttention, OnnxUpsample,
                             exportable_modules)
from .pytorch2onnx import (DEFAULT_OPSET, ExportError, check_exportable,
                           export_onnx, export_segmentor, load_segmentor,
                           pytorch2onnx, read_metadata, verify_onnx,
                           write_metadata)
from .segmentor_logits import SegmentorLogits

__all__ = [
    'FORMAT_VERSION', 'METADATA_KEY', 'ExportConfigError',
    'check_slide_fusion', 'default_input_shape', 'export_metadata',
    'inference_mode', 'pipeline_resize', 'preprocessor_settings',
    'OnnxMultiheadAttention', 'OnnxUpsample', 'exportable_modules',
    'DEFAULT_OPSET', 'ExportError', 'check_exportable', 'export_onnx',
    'export_segmentor', 'load_segmentor', 'pytorch2onnx', 'read_metadata',
    'verify_onnx', 'write_metadata', 'SegmentorLogits'
]
