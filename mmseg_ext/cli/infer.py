"""``tools/infer.py``: predict masks for image files.

Two backends, the same outputs::

    python tools/infer.py CONFIG CKPT INPUT --out-dir DIR [--device cpu|cuda]
    python tools/infer.py MODEL.onnx INPUT --out-dir DIR --backend onnxruntime

``--backend pytorch`` (default) builds the config's model and loads the
checkpoint into :class:`mmseg_ext.apis.MMSegExtInferencer` (mmseg's
inferencer: its test pipeline and ``SegLocalVisualizer``; device default:
cuda if available). ``--backend onnxruntime`` runs a file written by
``tools/deployment/pytorch2onnx.py`` with
:class:`mmseg_ext_deploy.OrtSegmentor`: no config and no checkpoint, the
file holds the weights, classes, palette and preprocessing (device default:
cpu; cuda needs the onnxruntime-gpu package). ``--threads N`` sets the
inference threads of either backend; ``--opacity`` (0.5) the overlays'
colour weight.

INPUT is an image, a folder (its images, not recursive) or a quoted glob
(``"photos/**/*.jpg"``). For each image it writes ``DIR/masks/NAME.png``
(class ids, uint8) and ``DIR/overlays/NAME.png`` (the prediction's colours
over the image), see :func:`mmseg_ext.apis.infer_images`. Any model of
mmseg_ext's configs works, UFormer included.

Exit codes: 0 every image was predicted; 1 some images could not be read
(each is logged with the reason, and skipped); 2 no image could be read or
INPUT matched none (argparse errors exit 2 as well).
"""
import argparse
from typing import List, Optional

import torch
from mmengine.logging import print_log

from mmseg_ext.apis import (IMAGE_EXTENSIONS, MMSegExtInferencer,
                            infer_images, init_onnx_model, list_images)
from mmseg_ext.cli.common import add_runtime_args

__all__ = ['parse_args', 'main']

BACKENDS = ('pytorch', 'onnxruntime')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the arguments of ``tools/infer.py``.

    With ``--backend onnxruntime`` the positionals are ``MODEL.onnx INPUT``
    (``args.config`` is the .onnx file, ``args.checkpoint`` None); with
    ``--backend pytorch`` they are ``CONFIG CKPT INPUT``.
    """
    parser = argparse.ArgumentParser(
        description='Predict class-id masks and colour overlays for images',
        usage='%(prog)s CONFIG CKPT INPUT --out-dir DIR [options]\n'
        '       %(prog)s MODEL.onnx INPUT --out-dir DIR --backend '
        'onnxruntime [options]',
        epilog='exit codes: 0 all predicted, 1 some images unreadable '
        '(skipped), 2 no image read')
    parser.add_argument('config', metavar='CONFIG|MODEL.onnx',
                        help='config file the model was trained with, or '
                        'the .onnx file (--backend onnxruntime)')
    parser.add_argument('checkpoint', metavar='CKPT', nargs='?',
                        help='checkpoint file (.pth); not with --backend '
                        'onnxruntime')
    parser.add_argument(
        'input', metavar='INPUT', help='an image, a folder of images '
        f'({", ".join(IMAGE_EXTENSIONS)}) or a quoted glob pattern')
    parser.add_argument('--out-dir', required=True,
                        help='output folder (masks/ and overlays/)')
    parser.add_argument('--opacity', type=float, default=0.5,
                        help='weight of the mask colours in the overlays')
    parser.add_argument(
        '--backend', choices=BACKENDS, default='pytorch',
        help='pytorch: CONFIG CKPT (default); onnxruntime: an exported '
        'MODEL.onnx (tools/deployment/pytorch2onnx.py), without torch')
    parser.add_argument(
        '--device', help='cpu, cuda or cuda:N (default: pytorch cuda if '
        'available, else cpu; onnxruntime cpu)')
    parser.add_argument('--threads', type=int,
                        help='inference threads (default: the backend\'s)')
    add_runtime_args(parser, device=False)
    # intermixed: options may sit between the positionals and the optional
    # CKPT is still matched against all of them at once
    args = parser.parse_intermixed_args(argv)
    if args.backend == 'onnxruntime':
        if args.checkpoint is not None:
            parser.error('--backend onnxruntime takes MODEL.onnx INPUT: the '
                         '.onnx file holds the weights, there is no CKPT')
        if args.cfg_options:
            parser.error('--cfg-options changes a config: the onnxruntime '
                         'backend has none (export again to change the '
                         'model)')
        args.device = args.device or 'cpu'
    else:
        if args.checkpoint is None:
            hint = (' (for an .onnx file add --backend onnxruntime)'
                    if args.config.endswith('.onnx') else '')
            parser.error('the pytorch backend takes CONFIG CKPT INPUT' +
                         hint)
        args.device = args.device or ('cuda' if torch.cuda.is_available()
                                      else 'cpu')
    if args.threads is not None and args.threads < 1:
        parser.error(f'--threads must be >= 1, got {args.threads}')
    return args


def main(argv: Optional[List[str]] = None) -> int:
    """Predict; return the exit code (0, 1 or 2, see the module)."""
    args = parse_args(argv)
    if not 0.0 <= args.opacity <= 1.0:
        raise ValueError(f'--opacity must be in [0, 1], got {args.opacity}')
    paths = list_images(args.input)
    if not paths:
        print_log(f'No image in {args.input!r} (folders are searched for '
                  f'{", ".join(IMAGE_EXTENSIONS)}).', logger='current')
        return 2
    if args.backend == 'onnxruntime':
        model = init_onnx_model(args.config, args.device, args.threads)
    else:
        if args.threads is not None:
            torch.set_num_threads(args.threads)
        model = MMSegExtInferencer(
            args.config,
            args.checkpoint,
            device=args.device,
            cfg_options=args.cfg_options)
    report = infer_images(model, paths, args.out_dir, args.opacity)
    summary = (f'{len(report.written)} of {len(paths)} images predicted '
               f'into {args.out_dir} (masks/, overlays/)')
    if report.skipped:
        summary += f'; {len(report.skipped)} skipped: ' + ', '.join(
            path for path, _ in report.skipped)
    print_log(summary, logger='current')
    return report.exit_code
