"""Write the generated demo/test dataset in the mmseg layout.

    python tools/misc/make_synthetic_dataset.py data/synthetic \
        --train 32 --val 16 --size 64 --seed 0
"""
import argparse

from mmseg_ext.utils import make_synthetic_dataset


def main() -> None:
    """Parse arguments and write the dataset."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out_dir', help='output folder')
    parser.add_argument('--train', type=int, default=32, help='train images')
    parser.add_argument('--val', type=int, default=16, help='val images')
    parser.add_argument('--size', type=int, default=64, help='image side')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    args = parser.parse_args()
    written = make_synthetic_dataset(
        args.out_dir,
        splits=dict(train=args.train, val=args.val),
        size=args.size,
        seed=args.seed)
    print(f'wrote {written} images of {args.size}x{args.size} to '
          f'{args.out_dir}')


if __name__ == '__main__':
    main()
