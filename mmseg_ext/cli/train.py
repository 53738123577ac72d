"""``tools/train.py``: mmseg's training CLI on :class:`DeviceAwareRunner`."""
import argparse
import logging
from typing import List, Optional

from mmengine.logging import print_log

from mmseg_ext.cli.common import add_common_args, build_runner, load_config
from mmseg_ext.engine.dist_utils import dist_session

__all__ = ['parse_args', 'main']


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse mmseg's ``tools/train.py`` arguments."""
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        action='store_true',
        default=False,
        help='resume from the latest checkpoint in the work_dir automatically')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training')
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Train the model of a config (single process or distributed)."""
    args = parse_args(argv)
    cfg = load_config(args)
    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print_log(
                'AMP training is already enabled in your config.',
                logger='current',
                level=logging.WARNING)
        elif optim_wrapper != 'OptimWrapper':
            raise ValueError(
                '--amp needs optim_wrapper.type="OptimWrapper", but the '
                f'config has {optim_wrapper!r}.')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
    cfg.resume = args.resume
    with dist_session():
        build_runner(cfg).train()
