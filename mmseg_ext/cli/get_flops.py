"""``tools/analysis_tools/get_flops.py``: FLOPs and parameters of a config.

``python tools/analysis_tools/get_flops.py CONFIG [--shape H W]`` builds the
config's model (no weights needed) and prints mmengine's FLOPs and
parameter counts for one ``1x3xHxW`` input
(:mod:`mmseg_ext.analysis.model_complexity`): one row for most models, one
per member plus the total for a UFormer. ``--shape`` defaults to the data
preprocessor's ``size`` (the training crop), rounded up to its
``test_cfg.size_divisor``.
"""
import argparse
import math
from typing import Dict, List, Optional

from mmengine.model import revert_sync_batchnorm

from mmseg_ext.analysis.model_complexity import (format_complexity_table,
                                                 model_input_shape,
                                                 segmentor_complexity)
from mmseg_ext.cli.common import add_runtime_args
from mmseg_ext.utils import build_segmentor, load_config

__all__ = ['parse_args', 'main']


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the arguments of ``get_flops.py``."""
    parser = argparse.ArgumentParser(
        description='FLOPs and parameters of a segmentor config (per member '
        'and total for a UFormer)')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--shape', type=int, nargs=2, metavar=('H', 'W'),
        help='input size (default: the data preprocessor\'s size)')
    add_runtime_args(parser, device=False)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> List[Dict[str, object]]:
    """Print the table; return its rows."""
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    if 'model' not in cfg:
        raise ValueError(f'{args.config} has no "model": not a model config')
    shape = tuple(args.shape) if args.shape else model_input_shape(cfg)
    if min(shape) < 1:
        raise ValueError(f'--shape must be positive, got {shape}')
    preprocessor = cfg.model.get('data_preprocessor') or {}
    divisor = (preprocessor.get('test_cfg') or {}).get('size_divisor')
    if divisor:
        shape = tuple(math.ceil(s / divisor) * divisor for s in shape)
    model = revert_sync_batchnorm(build_segmentor(cfg, init_weights=False))
    rows = segmentor_complexity(model, shape)
    print(format_complexity_table(rows, shape))
    return rows
