"""``tools/analysis_tools/benchmark_losses.py``: loss speed against mmseg's.

Prints the table of :func:`mmseg_ext.analysis.benchmark_losses.run` and
its targets, met or missed.
"""
import argparse
from typing import List, Optional

from mmseg_ext.analysis.benchmark_losses import run

__all__ = ['parse_args', 'main']


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line options of the benchmark."""
    parser = argparse.ArgumentParser(
        description='Forward+backward time of CE, Tversky and Lovász losses '
        '(mmseg vs mmseg_ext)')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=3,
        default=[4, 256, 256],
        metavar=('N', 'H', 'W'),
        help='batch size and label size (default: 4 256 256)')
    parser.add_argument(
        '--classes', type=int, default=19, help='channels C (default: 19)')
    parser.add_argument(
        '--repeats', type=int, default=10, help='timed runs (default: 10)')
    parser.add_argument(
        '--warmup', type=int, default=2, help='untimed runs (default: 2)')
    parser.add_argument(
        '--ignore-ratio',
        type=float,
        default=0.05,
        help='fraction of pixels labelled 255 (default: 0.05)')
    parser.add_argument(
        '--device',
        choices=['auto', 'cpu', 'cuda'],
        default='auto',
        help='auto: the CPU, and CUDA when present')
    args = parser.parse_args(argv)
    if args.classes < 2 or args.repeats < 1 or min(args.shape) < 1:
        parser.error('--classes must be >= 2, --repeats and --shape >= 1')
    return args


def main(argv: Optional[List[str]] = None) -> None:
    """Print the benchmark table and whether each target is met."""
    args = parse_args(argv)
    devices = None if args.device == 'auto' else [args.device]
    print(
        run(args.shape, args.classes, args.repeats, args.warmup, devices,
            args.ignore_ratio))
