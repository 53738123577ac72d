"""``tools/analysis_tools/compare_segformer_heads.py``: head complexity.

Prints the parameters and GFLOPs of
:func:`mmseg_ext.analysis.head_complexity.compare_segformer_heads` as a
Markdown table.
"""
import argparse
from typing import Dict, List, Optional

from mmseg_ext.analysis.head_complexity import compare_segformer_heads

__all__ = ['parse_args', 'main']


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the arguments of ``compare_segformer_heads.py``."""
    parser = argparse.ArgumentParser(
        description='Params and FLOPs of SegformerConvHead variants and '
        'mmseg\'s SegformerHead.')
    parser.add_argument('--channels', type=int, default=256)
    parser.add_argument('--num-classes', type=int, default=19)
    parser.add_argument('--size', type=int, nargs=2, default=[512, 512],
                        metavar=('H', 'W'))
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> List[Dict[str, object]]:
    """Print the table; return its rows."""
    args = parse_args(argv)
    rows = compare_segformer_heads(args.channels, args.num_classes,
                                   args.size)
    print(f'MiT-b0 features of a {args.size[0]}x{args.size[1]} image, '
          f'channels={args.channels}, {args.num_classes} classes')
    print('| head | params | GFLOPs |\n|---|---|---|')
    for row in rows:
        print(f"| {row['head']} | {row['params'] / 1e6:.3f} M | "
              f"{row['flops'] / 1e9:.2f} |")
    return rows
