"""Write the generated drone-like demo/test dataset in the mmseg layout.

    python tools/misc/make_synthetic_dataset.py data/synthetic \
        --train 400 --val 100 --size 128 --seed 0 --flavour binary
    python tools/misc/make_synthetic_dataset.py data/synthetic_5cls \
        --flavour multiclass
"""
import argparse

from mmseg_ext.utils import SYNTHETIC_FLAVOURS, make_synthetic_dataset


def main() -> None:
    """Parse arguments and write the dataset."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
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
    args = parser.parse_args()
    written = make_synthetic_dataset(
        args.out_dir,
        splits=dict(train=args.train, val=args.val),
        size=args.size,
        seed=args.seed,
        flavour=args.flavour,
        progress=True)
    print(f'\nwrote {written} {args.flavour} images of {args.size}x'
          f'{args.size} to {args.out_dir}')


if __name__ == '__main__':
    main()
