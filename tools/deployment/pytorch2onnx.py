"""Export a checkpoint to ONNX with its metadata.

    python tools/deployment/pytorch2onnx.py CONFIG CKPT --out model.onnx \
        [--shape H W] [--dynamic] [--opset 17] [--verify] [--cfg-options ...]
"""
from mmseg_ext.cli.pytorch2onnx import main

if __name__ == '__main__':
    main()
