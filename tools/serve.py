"""Serve an exported model: ``python tools/serve.py MODEL.onnx --port 8000``.

An upload page at ``/`` and JSON/PNG endpoints (``POST /predict``,
``POST /predict.png``), see :mod:`mmseg_ext_deploy.server`. Imports only
``mmseg_ext_deploy`` (numpy, opencv, onnxruntime): no torch, mmcv or mmseg.
"""
import sys

from mmseg_ext_deploy.server import main

if __name__ == '__main__':
    sys.exit(main())
