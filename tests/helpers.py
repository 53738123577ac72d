"""Helpers for tests: the repository root, tiny configs, running tools."""
import os
import os.path as osp
import socket
import subprocess
import sys
from typing import Dict, List

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_CONFIG = osp.join(
    REPO, 'configs', 'demo',
    'unet-s5-d16-c8_fcn_2xb4-300iter_synthetic-64x64.py')


def tiny_cfg_options(data_root: str, max_iters: int = 4,
                     interval: int = 2) -> Dict[str, object]:
    """``--cfg-options`` that shrink the demo config for tests."""
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
        # no dropout: resumed and uninterrupted runs then draw the same
        # random numbers and must reach the same weights
        'model.decode_head.dropout_ratio': 0.0,
        'model.auxiliary_head.dropout_ratio': 0.0,
        'model.data_preprocessor.size': (32, 32),
    }


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
