"""``tools/infer.py``: predict masks for image files.

``python tools/infer.py CONFIG CKPT INPUT --out-dir DIR [--device cpu|cuda]
[--opacity 0.5]`` (device default: cuda if available). INPUT is an image, a
folder (its images, not recursive) or a quoted glob
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

from mmengine.logging import print_log

from mmseg_ext.apis import infer_images, init_model, list_images
from mmseg_ext.apis.inference import IMAGE_EXTENSIONS
from mmseg_ext.cli.common import add_runtime_args

__all__ = ['parse_args', 'main']


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the arguments of ``tools/infer.py``."""
    parser = argparse.ArgumentParser(
        description='Predict class-id masks and colour overlays for images',
        epilog='exit codes: 0 all predicted, 1 some images unreadable '
        '(skipped), 2 no image read')
    parser.add_argument('config', help='config file the model was trained '
                        'with')
    parser.add_argument('checkpoint', help='checkpoint file (.pth)')
    parser.add_argument(
        'input', help='an image, a folder of images '
        f'({", ".join(IMAGE_EXTENSIONS)}) or a quoted glob pattern')
    parser.add_argument('--out-dir', required=True,
                        help='output folder (masks/ and overlays/)')
    parser.add_argument('--opacity', type=float, default=0.5,
                        help='weight of the mask colours in the overlays')
    add_runtime_args(parser)
    return parser.parse_args(argv)


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
    model = init_model(args.config, args.checkpoint, args.device,
                       args.cfg_options)
    report = infer_images(model, paths, args.out_dir, args.opacity)
    summary = (f'{len(report.written)} of {len(paths)} images predicted '
               f'into {args.out_dir} (masks/, overlays/)')
    if report.skipped:
        summary += f'; {len(report.skipped)} skipped: ' + ', '.join(
            path for path, _ in report.skipped)
    print_log(summary, logger='current')
    return report.exit_code
