"""``tools/deployment/pytorch2onnx.py``: a checkpoint to one ONNX file.

``python tools/deployment/pytorch2onnx.py CONFIG CKPT --out model.onnx
[--shape H W] [--dynamic] [--opset N] [--verify] [--cfg-options ...]``

The file maps a normalised batch ``input`` ``(N, 3, H, W)`` to ``logits``
``(N, C, H, W)`` (a UFormer's members and fusion included) and carries the
metadata the torch-free runtime (``mmseg_ext_deploy``) needs, so a deployed
file needs no config (:mod:`mmseg_ext.deployment`, ``docs/deployment.md``).
"""
import argparse
import json
import sys
from typing import Dict, List, Optional

from mmengine.config import DictAction

from mmseg_ext.deployment import (DEFAULT_OPSET, ExportConfigError,
                                  ExportError, pytorch2onnx)
from mmseg_ext.utils import CheckpointMismatchError

__all__ = ['parse_args', 'main']


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the arguments of ``pytorch2onnx.py``."""
    parser = argparse.ArgumentParser(
        description='Export a trained segmentor (UFormer included) to ONNX '
        'with its preprocessing metadata')
    parser.add_argument(
        'config', help='config file the model was trained '
        'with')
    parser.add_argument('checkpoint', help='checkpoint file (.pth)')
    parser.add_argument('--out', required=True, help='the .onnx file')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='input size of a fixed-shape export (default: the slide crop, '
        'else the test-time pad size or Resize scale, else 512 512); with '
        '--dynamic only the traced example')
    parser.add_argument(
        '--dynamic',
        action='store_true',
        help='dynamic batch, height and width (any image size)')
    parser.add_argument(
        '--opset',
        type=int,
        default=DEFAULT_OPSET,
        help=f'ONNX opset version (default {DEFAULT_OPSET})')
    parser.add_argument(
        '--verify',
        action='store_true',
        help='run the file with onnxruntime on a random input and print '
        'the largest difference from PyTorch')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as in tools/test.py')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Dict[str, object]:
    """Export; print the metadata; exit 1 with the reason on failure."""
    args = parse_args(argv)
    if args.shape is not None and min(args.shape) < 1:
        raise SystemExit('--shape H W must be positive')
    try:
        metadata = pytorch2onnx(
            args.config,
            args.checkpoint,
            args.out,
            shape=args.shape,
            dynamic=args.dynamic,
            opset=args.opset,
            cfg_options=args.cfg_options,
            verify=args.verify)
    except (ExportError, ExportConfigError, CheckpointMismatchError,
            FileNotFoundError) as err:
        print(f'pytorch2onnx: {err}', file=sys.stderr)
        raise SystemExit(1) from None
    print(f'wrote {args.out}')
    print(json.dumps(metadata, indent=1))
    return metadata
