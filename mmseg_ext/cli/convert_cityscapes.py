"""``tools/dataset_converters/cityscapes.py``: check and convert Cityscapes.

Parses mmseg's converter's command line (plus ``--nproc`` and
``--overwrite``) and runs
:func:`mmseg_ext.datasets.converters.cityscapes.convert_cityscapes`; a
``ConversionError`` exits with its message (status 1).
"""
import argparse
from typing import Dict, List, Optional

from mmseg_ext.cli.convert_common import add_converter_args, cli_errors
from mmseg_ext.datasets.converters.cityscapes import convert_cityscapes

__all__ = ['parse_args', 'main']


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the converter's command line (mmseg's, plus --overwrite)."""
    parser = argparse.ArgumentParser(
        description='Check Cityscapes and convert its polygons to trainId '
        'masks with mmseg\'s converter')
    parser.add_argument('cityscapes_path', help='cityscapes data path')
    parser.add_argument('--gt-dir', default='gtFine', type=str)
    parser.add_argument(
        '-o', '--out-dir', help='where the split lists go (default: the '
        'cityscapes path)')
    add_converter_args(parser,
                       'write the trainId masks again where they exist')
    return parser.parse_args(argv)


@cli_errors
def main(argv: Optional[List[str]] = None) -> Dict[str, int]:
    """Run the converter from the command line."""
    args = parse_args(argv)
    return convert_cityscapes(
        args.cityscapes_path,
        args.out_dir,
        gt_dir=args.gt_dir,
        nproc=args.nproc,
        overwrite=args.overwrite)
