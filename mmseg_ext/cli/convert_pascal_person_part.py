"""``tools/dataset_converters/pascal_person_part.py``: to the mmseg layout.

Parses the command line and runs ``convert_pascal_person_part`` of
:mod:`mmseg_ext.datasets.converters.pascal_person_part` (id or colour PNG
release + VOC images); a ``ConversionError`` exits with its message
(status 1).
"""
import argparse
from typing import Dict, List, Optional

from mmseg_ext.cli.convert_common import add_converter_args, cli_errors
from mmseg_ext.datasets.converters.common import max_color_tolerance
from mmseg_ext.datasets.converters.pascal_person_part import (
    COLOR_TOLERANCE, LIST_DIR, PALETTE, convert_pascal_person_part)

__all__ = ['parse_args', 'main']


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the converter's command line."""
    parser = argparse.ArgumentParser(
        description='Convert Pascal-Person-Part (pascal_person_part_gt/ id '
        'PNGs, or SegmentationPart/ colour PNGs, + VOC JPEGImages) to the '
        'mmseg layout')
    parser.add_argument(
        'src',
        help='the unpacked pascal_person_part folder (or its parent), '
        'or a folder holding JPEGImages/ and SegmentationPart/')
    parser.add_argument('out', help='output folder')
    parser.add_argument(
        '--voc-images',
        metavar='DIR',
        help='PASCAL VOC 2010 JPEGImages folder or VOCdevkit root '
        '(default: SRC/JPEGImages)')
    parser.add_argument(
        '--lists',
        metavar='DIR',
        help='folder holding the split lists train.txt and val.txt (or '
        'train_id.txt and val_id.txt), one NAME per line (default: '
        f'SRC/{LIST_DIR}/ or SRC/list/)')
    parser.add_argument(
        '--color-tolerance',
        type=float,
        default=COLOR_TOLERANCE,
        metavar='D',
        help='colour masks: largest Euclidean RGB distance from a VOC colour '
        f'of ids 0..6 that still counts as it (default {COLOR_TOLERANCE:g}, '
        f'must be below {max_color_tolerance(PALETTE):g})')
    add_converter_args(parser, 'replace an earlier conversion in OUT')
    return parser.parse_args(argv)


@cli_errors
def main(argv: Optional[List[str]] = None) -> Dict[str, int]:
    """Run the converter from the command line."""
    args = parse_args(argv)
    return convert_pascal_person_part(
        args.src,
        args.out,
        voc_images=args.voc_images,
        lists=args.lists,
        color_tolerance=args.color_tolerance,
        nproc=args.nproc,
        overwrite=args.overwrite)
