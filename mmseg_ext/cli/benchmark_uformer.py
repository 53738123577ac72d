"""``tools/analysis_tools/benchmark_uformer.py``: members vs the UFormer."""
import argparse
from typing import List, Optional

import torch
from mmengine.config import DictAction

from mmseg_ext.analysis.uformer_benchmark import (benchmark_uformer,
                                                  format_rows)
from mmseg_ext.utils import build_segmentor, load_config

__all__ = ['parse_args', 'main']


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the benchmark's arguments."""
    parser = argparse.ArgumentParser(
        description='Inference and training-step time of each UFormer '
        'member alone and of the UFormer (target: UFormer <= 1.05x the sum '
        'of its members)')
    parser.add_argument('config', help='a config whose model is a UFormer')
    parser.add_argument(
        '--shape', type=int, nargs=4, default=[4, 3, 256, 256],
        metavar=('N', 'C', 'H', 'W'), help='batch shape (default 4 3 256 256)')
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument(
        '--devices', nargs='+', default=None, choices=['cpu', 'cuda'],
        help='default: cpu, and cuda when available')
    parser.add_argument(
        '--threads', type=int, default=None,
        help='torch CPU threads (default: torch\'s choice)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> str:
    """Run the benchmark; print and return the markdown tables."""
    args = parse_args(argv)
    if args.repeats < 1 or args.warmup < 0:
        raise SystemExit('--repeats must be >= 1 and --warmup >= 0')
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = args.devices or (['cpu', 'cuda']
                               if torch.cuda.is_available() else ['cpu'])
    if 'cuda' in devices and not torch.cuda.is_available():
        raise SystemExit('--devices cuda: CUDA is not available here')
    model = build_segmentor(load_config(args.config, args.cfg_options))
    if type(model).__name__ != 'UFormer':
        raise SystemExit(f'{args.config}: the model is a '
                         f'{type(model).__name__}, not a UFormer')
    tables = []
    for device in devices:
        rows = benchmark_uformer(model, args.shape, torch.device(device),
                                 args.repeats, args.warmup)
        name = device if device == 'cpu' else torch.cuda.get_device_name()
        if device == 'cpu':
            name = f'cpu ({torch.get_num_threads()} threads)'
        tables.append(format_rows(rows, name))
    options = ''
    if args.cfg_options:
        options = ' with ' + ' '.join(
            f'{k}={v}' for k, v in args.cfg_options.items())
    header = (f'{args.config}{options}, batch {tuple(args.shape)}, median of '
              f'{args.repeats} (after {args.warmup} warm-up), torch '
              f'{torch.__version__}')
    text = header + '\n\n' + '\n\n'.join(tables)
    print(text)
    return text
