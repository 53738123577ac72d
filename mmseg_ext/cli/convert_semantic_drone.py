"""``tools/dataset_converters/semantic_drone.py``: Semantic Drone to mmseg.

Parses the command line and runs
:func:`mmseg_ext.datasets.converters.semantic_drone.convert_semantic_drone`
(binary and/or 5-class); a ``ConversionError`` exits with its message
(status 1).
"""
import argparse
from typing import Dict, List, Optional

from mmseg_ext.cli.convert_common import add_converter_args, cli_errors
from mmseg_ext.datasets.converters.semantic_drone import (
    convert_semantic_drone, load_id_map_overrides)
from mmseg_ext.datasets.semantic_drone_classes import DRONE_FLAVOURS

__all__ = ['parse_args', 'main']


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the converter's command line."""
    parser = argparse.ArgumentParser(
        description='Convert the Semantic Drone Dataset (original_images/ + '
        'label_images_semantic/) to the mmseg layout, binary and/or 5-class')
    parser.add_argument('src', help='the unpacked release')
    parser.add_argument(
        'out', help='output root (each flavour goes to OUT/FLAVOUR)')
    parser.add_argument(
        '--flavour', choices=['binary', 'multiclass', 'both'], default='both')
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        '--size', type=int, nargs=2, metavar=('W', 'H'),
        help='resize every photo to W x H (area for images, nearest for '
        'masks)')
    group.add_argument(
        '--scale', type=float, help='resize every photo by this factor')
    parser.add_argument(
        '--tile', type=int, metavar='T',
        help='cut every (resized) photo into T x T tiles')
    parser.add_argument('--test-count', type=int, default=50)
    parser.add_argument('--val-ratio', type=float, default=0.2)
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the train/val shuffle')
    parser.add_argument(
        '--id-map', metavar='FILE',
        help='JSON or .py file overriding entries of the id map')
    add_converter_args(parser, 'replace an earlier conversion in OUT')
    return parser.parse_args(argv)


@cli_errors
def main(argv: Optional[List[str]] = None) -> Dict[str, int]:
    """Run the converter from the command line."""
    args = parse_args(argv)
    flavours = list(DRONE_FLAVOURS) if args.flavour == 'both' else [
        args.flavour
    ]
    overrides = load_id_map_overrides(args.id_map,
                                      flavours) if args.id_map else None
    return convert_semantic_drone(
        args.src,
        args.out,
        flavour=args.flavour,
        size=args.size,
        scale=args.scale,
        tile=args.tile,
        test_count=args.test_count,
        val_ratio=args.val_ratio,
        seed=args.seed,
        id_map_overrides=overrides,
        nproc=args.nproc,
        overwrite=args.overwrite)
