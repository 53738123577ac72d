"""Helpers shared by mmseg_ext's ``tools/train.py`` and ``tools/test.py``."""
import argparse
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner
from torch import nn

from mmseg_ext.engine.runner import DeviceAwareRunner
from mmseg_ext.registry import RUNNERS
from mmseg_ext.utils import builder as build

__all__ = [
    'add_common_args', 'load_config', 'build_runner', 'build_model',
    'evaluator_ignore_index', 'add_split_arg', 'add_runtime_args',
    'add_model_args'
]


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add the arguments mmseg's train and test tools share."""
    parser.add_argument(
        '--work-dir', help='the dir to save logs, models and reports')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b '
        'It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]" '
        'Note that the quotation marks are necessary and that no white space '
        'is allowed.')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0).
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args: argparse.Namespace) -> Config:
    """Read the config, apply ``--cfg-options``, launcher and work dir.

    The work dir is chosen as in mmseg: ``--work-dir`` > the config's
    ``work_dir`` > ``./work_dirs/<config name>``.
    """
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg = build.load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg


def build_runner(cfg: Config) -> Runner:
    """Build the config's ``runner_type``, or :class:`DeviceAwareRunner`."""
    if 'runner_type' not in cfg:
        return DeviceAwareRunner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def build_model(config: str, cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a config's model in its scope, as the runner would.

    Args:
        config (str): Config file path.
        cfg_options (dict, optional): ``--cfg-options`` to merge.

    Returns:
        nn.Module: The model, weights initialised (``init_weights``).
    """
    return build.build_segmentor(build.load_config(config, cfg_options))


def evaluator_ignore_index(cfg: Config, split: str) -> int:
    """The ``ignore_index`` of the split's evaluator (255 by default)."""
    evaluator = cfg.get(f'{split}_evaluator')
    evaluators = evaluator if isinstance(evaluator, list) else [evaluator]
    for item in evaluators:
        if isinstance(item, dict) and 'ignore_index' in item:
            return int(item['ignore_index'])
    return 255


def add_split_arg(parser: argparse.ArgumentParser,
                  default: str = 'test') -> None:
    """``--split val|test``: the dataloader (and evaluator) to use."""
    parser.add_argument(
        '--split',
        choices=['val', 'test'],
        default=default,
        help='the split whose dataloader and evaluator are used (default: '
        f'{default})')


def add_runtime_args(parser: argparse.ArgumentParser,
                     device: bool = True) -> None:
    """``[--device]`` (default cuda if available, else cpu) and
    ``--cfg-options`` of the tools that build a model from a config."""
    if device:
        parser.add_argument(
            '--device',
            default='cuda' if torch.cuda.is_available() else 'cpu',
            help='device to run on: cpu, cuda or cuda:N (default: cuda if '
            'available, else cpu)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as in tools/test.py '
        '(dotted keys, e.g. test_dataloader.dataset.data_root=data/x)')


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """``CONFIG CKPT [--split] [--device] [--cfg-options]`` of the analysis
    tools that run a trained model on a split."""
    parser.add_argument('config', help='config file the model was trained '
                        'with')
    parser.add_argument('checkpoint', help='checkpoint file (.pth)')
    add_split_arg(parser)
    add_runtime_args(parser)
