"""Predict images with a trained model or an exported ONNX file.

``python tools/infer.py CONFIG CKPT INPUT --out-dir DIR`` (PyTorch) or
``python tools/infer.py MODEL.onnx INPUT --out-dir DIR --backend onnxruntime``.
Exit codes: 0 all predicted, 1 some unreadable images skipped, 2 none read.
"""
import sys

from mmseg_ext.cli.infer import main

if __name__ == '__main__':
    sys.exit(main())
