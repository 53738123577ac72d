"""``tools/analysis_tools/benchmark_deploy.py``: PyTorch vs onnxruntime.

``python tools/analysis_tools/benchmark_deploy.py [CONFIG] [--checkpoint
CKPT] [--shape 512 512] [--threads N]`` times PyTorch eager against
onnxruntime on the CPU, same threads and same input, for a UFormer and each
of its members (or a single segmentor), in one run
(:mod:`mmseg_ext.deployment.benchmark`). Without a checkpoint the weights
are the initialised ones: timings do not depend on the values.
"""
import argparse
from typing import List, Optional

import onnxruntime
import torch
from mmengine.config import DictAction

from mmseg_ext.deployment import load_segmentor
from mmseg_ext.deployment.benchmark import (OPT_LEVELS, benchmark_models,
                                            format_table, models_to_time)

__all__ = ['DEFAULT_CONFIG', 'parse_args', 'main']

#: The demo UFormer, the model the speed target is stated for
#: (:mod:`mmseg_ext.deployment.benchmark`).
DEFAULT_CONFIG = ('configs/demo/uformer_unet-s5-d16-c16-mit-b0-c64_'
                  '2xb4-800iter_synthetic-binary-128x128.py')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the benchmark's arguments."""
    parser = argparse.ArgumentParser(
        description='CPU time of PyTorch eager vs onnxruntime (same threads, '
        'same input) for a UFormer and each member, or one segmentor')
    parser.add_argument(
        'config',
        nargs='?',
        default=DEFAULT_CONFIG,
        help=f'model config (default {DEFAULT_CONFIG})')
    parser.add_argument(
        '--checkpoint',
        default=None,
        help='weights (default: initialised; the timings do '
        'not depend on them)')
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        default=[512, 512],
        metavar=('H', 'W'),
        help='input size (512 512)')
    parser.add_argument('--batch', type=int, default=1, help='images per run')
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='threads of both (default: torch\'s default, '
        'the physical cores)')
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument(
        '--opt-level',
        choices=OPT_LEVELS,
        default='all',
        help='onnxruntime graph optimisation level')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> str:
    """Run the benchmark; print and return the header and table."""
    args = parse_args(argv)
    if args.repeats < 1 or args.warmup < 0 or args.batch < 1:
        raise SystemExit('--repeats and --batch must be >= 1, --warmup >= 0')
    threads = args.threads or torch.get_num_threads()
    model, _, _ = load_segmentor(args.config, args.checkpoint,
                                 args.cfg_options)
    h, w = args.shape
    rows = benchmark_models(
        models_to_time(model), (args.batch, 3, h, w), threads, args.repeats,
        args.warmup, args.opt_level)
    weights = args.checkpoint or 'initialised weights'
    header = (f'{args.config} ({weights}), input {args.batch}x3x{h}x{w}, '
              f'{threads} threads, median of {args.repeats} (after '
              f'{args.warmup} warm-up); torch {torch.__version__}, '
              f'onnxruntime {onnxruntime.__version__} (graph optimisation: '
              f'{args.opt_level})')
    text = header + '\n\n' + format_table(rows, args.batch)
    print(text)
    return text
