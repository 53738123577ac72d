"""Helpers for tests: the repository root, tiny configs, running tools."""
import os
import os.path as osp
import socket
import subprocess
import sys
from typing import Dict, List, Tuple

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_CONFIG = osp.join(
    REPO, 'configs', 'demo',
    'unet-s5-d16-c16_fcn_2xb4-800iter_synthetic-binary-128x128.py')
UFORMER_DEMO_CONFIG = osp.join(
    REPO, 'configs', 'demo',
    'uformer_unet-s5-d16-c16-mit-b0-c64_'
    '2xb4-800iter_synthetic-binary-128x128.py')


def tiny_runtime_options(data_root: str, max_iters: int = 4,
                         interval: int = 2) -> Dict[str, object]:
    """``--cfg-options`` that shrink any demo config's data and schedule."""
    return {
        'train_dataloader.dataset.data_root': data_root,
        'val_dataloader.dataset.data_root': data_root,
        'test_dataloader.dataset.data_root': data_root,
        'train_dataloader.batch_size': 2,
        'train_cfg.max_iters': max_iters,
        'train_cfg.val_interval': max_iters,
        'param_scheduler.0.end': max_iters,
        'default_hooks.checkpoint.interval': interval,
        'default_hooks.checkpoint.max_keep_ckpts': -1,
        'default_hooks.checkpoint.save_best': None,
        'default_hooks.logger.interval': 1,
        'model.data_preprocessor.size': (32, 32),
    }


def tiny_cfg_options(data_root: str, max_iters: int = 4,
                     interval: int = 2) -> Dict[str, object]:
    """``--cfg-options`` that shrink the U-Net demo config for tests."""
    options = tiny_runtime_options(data_root, max_iters, interval)
    # no dropout: resumed and uninterrupted runs then draw the same
    # random numbers and must reach the same weights
    options.update({
        'model.decode_head.dropout_ratio': 0.0,
        'model.auxiliary_head.dropout_ratio': 0.0,
    })
    return options


def as_cli_options(options: Dict[str, object]) -> List[str]:
    """Render a cfg-options dict as ``key=value`` CLI words."""
    words = []
    for key, value in options.items():
        if isinstance(value, tuple):
            value = '(' + ','.join(str(v) for v in value) + ')'
        words.append(f'{key}={value}')
    return words


def free_port() -> int:
    """An unused TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def run_tool(args: List[str], timeout: int = 600,
             **env: str) -> subprocess.CompletedProcess:
    """Run a repository tool with this interpreter; fail with its output."""
    full_env = dict(os.environ, PYTHON=sys.executable, **env)
    full_env.pop('VIRTUAL_ENV', None)
    proc = subprocess.run(
        args,
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(
            f'{args} exited {proc.returncode}\nSTDOUT:\n{proc.stdout[-6000:]}'
            f'\nSTDERR:\n{proc.stderr[-6000:]}')
    return proc


class _RunsCommand:
    """Unpickling this object would run a shell command."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def crafted_checkpoint(tmp_path) -> Tuple[str, str]:
    """A checkpoint whose unpickling would create ``marker``.

    Returns:
        tuple[str, str]: The checkpoint path and the marker path.
    """
    marker = str(tmp_path / 'pwned')
    path = str(tmp_path / 'crafted.pth')
    torch.save({'state_dict': {'w': torch.ones(1)},
                'meta': _RunsCommand(marker)}, path)
    assert not osp.exists(marker)  # saving did not run it
    return path, marker


def unformatted(text: str, **kwargs: object) -> Tuple[str, bool]:
    """Stands for yapf's ``FormatCode`` (seconds per UFormer config in
    mmengine's dump and log): the text as it is, unchanged."""
    return text, False


def train_in_process(config: str, data_root: str, work_dir: str,
                     max_iters: int = 2, validate: bool = True,
                     **options: object) -> str:
    """Train a demo config in this process on CPU (no subprocess start-up).

    With ``validate`` it validates at the last iteration (so the scalar log
    has mIoU). The config is dumped and logged unformatted: mmengine's yapf
    formatting of a UFormer config takes seconds per copy, and it writes
    several. Returns the last checkpoint's path.
    """
    from unittest import mock

    from mmengine.config import Config

    from mmseg_ext.engine.runner import DeviceAwareRunner
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(tiny_runtime_options(data_root, max_iters,
                                             max_iters))
    cfg.merge_from_dict(options)
    if not validate:
        cfg.merge_from_dict(
            dict(val_cfg=None, val_dataloader=None, val_evaluator=None))
    name = osp.basename(work_dir)
    cfg.work_dir = work_dir
    cfg.experiment_name = name
    cfg.visualizer.name = name
    cfg.launcher = 'none'
    with mock.patch('mmengine.config.config.FormatCode', unformatted):
        DeviceAwareRunner.from_cfg(cfg).train()
    return osp.join(work_dir, f'iter_{max_iters}.pth')
