"""Params and FLOPs of SegformerConvHead variants and mmseg's SegformerHead.

    python tools/analysis_tools/compare_segformer_heads.py \
        [--channels 256] [--num-classes 19] [--size 512 512]
"""
import argparse

from mmseg_ext.utils.head_complexity import compare_segformer_heads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--channels', type=int, default=256)
    parser.add_argument('--num-classes', type=int, default=19)
    parser.add_argument('--size', type=int, nargs=2, default=[512, 512],
                        metavar=('H', 'W'))
    args = parser.parse_args()
    rows = compare_segformer_heads(args.channels, args.num_classes,
                                   args.size)
    print(f'MiT-b0 features of a {args.size[0]}x{args.size[1]} image, '
          f'channels={args.channels}, {args.num_classes} classes')
    print('| head | params | GFLOPs |\n|---|---|---|')
    for row in rows:
        print(f"| {row['head']} | {row['params'] / 1e6:.3f} M | "
              f"{row['flops'] / 1e9:.2f} |")


if __name__ == '__main__':
    main()
