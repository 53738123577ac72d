"""``tools/misc/make_synthetic_dataset.py``: the generated demo/test data.

Writes :func:`mmseg_ext.datasets.synthetic.make_synthetic_dataset`'s
drone-like images and label maps in the mmseg layout, with a progress bar.
"""
import argparse
from typing import Dict, List, Optional

from mmseg_ext.datasets.synthetic import (SYNTHETIC_FLAVOURS,
                                          make_synthetic_dataset)

__all__ = ['parse_args', 'main']


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the arguments of ``make_synthetic_dataset.py``."""
    parser = argparse.ArgumentParser(
        description='Write the generated drone-like demo/test dataset in the '
        'mmseg layout.')
    parser.add_argument('out_dir', help='output folder')
    parser.add_argument('--train', type=int, default=400, help='train images')
    parser.add_argument('--val', type=int, default=100, help='val images')
    parser.add_argument('--size', type=int, default=128, help='image side')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--flavour',
        choices=sorted(SYNTHETIC_FLAVOURS),
        default='binary',
        help='binary: background/obstacle; multiclass: ground, vegetation, '
        'water, structure, dynamic')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> Dict[str, int]:
    """Write the dataset; return the images written per split."""
    args = parse_args(argv)
    written = make_synthetic_dataset(
        args.out_dir,
        splits=dict(train=args.train, val=args.val),
        size=args.size,
        seed=args.seed,
        flavour=args.flavour,
        progress=True)
    # the progress bar ended its line
    print(f'wrote {written} {args.flavour} images of {args.size}x'
          f'{args.size} to {args.out_dir}')
    return written
