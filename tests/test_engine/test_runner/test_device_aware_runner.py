"""DeviceAwareRunner: resume equivalence, atomic checkpoints, CPU DDP."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner.checkpoint import _load_checkpoint

from mmseg_ext.engine.runner import DeviceAwareRunner
from mmseg_ext.registry import HOOKS
from tests.helpers import DEMO_CONFIG, free_port, tiny_cfg_options


class _Crash(RuntimeError):
    """Stands for a killed job."""


@HOOKS.register_module(force=True)
class _CrashAfterIterHook(Hook):
    """Raise after iteration ``at`` (after the checkpoint hook has run)."""
    priority = 'LOWEST'

    def __init__(self, at: int) -> None:
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if runner.iter + 1 == self.at:
            raise _Crash(f'stopped after iteration {self.at}')


def _cfg(data_root: str, work_dir: str, name: str, **extra) -> Config:
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.merge_from_dict(tiny_cfg_options(data_root, max_iters=4, interval=2))
    cfg.work_dir = work_dir
    cfg.experiment_name = name
    cfg.visualizer.name = name
    cfg.randomness = dict(seed=0, deterministic=True)
    cfg.launcher = 'none'
    cfg.merge_from_dict(extra)
    return cfg


def _final_weights(work_dir: str) -> dict:
    return _load_checkpoint(
        osp.join(work_dir, 'iter_4.pth'), map_location='cpu')['state_dict']


def test_resume_matches_uninterrupted_run(synthetic_root, tmp_path):
    full_dir = str(tmp_path / 'full')
    DeviceAwareRunner.from_cfg(_cfg(synthetic_root, full_dir,
                                    'full')).train()

    resumed_dir = str(tmp_path / 'resumed')
    crash = _cfg(
        synthetic_root,
        resumed_dir,
        'crash',
        custom_hooks=[dict(type='mmseg_ext._CrashAfterIterHook', at=3)])
    with pytest.raises(_Crash):
        DeviceAwareRunner.from_cfg(crash).train()
    assert osp.isfile(osp.join(resumed_dir, 'iter_2.pth'))
    assert not osp.exists(osp.join(resumed_dir, 'iter_4.pth'))

    resume = _cfg(synthetic_root, resumed_dir, 'resume', resume=True)
    runner = DeviceAwareRunner.from_cfg(resume)
    runner.train()
    assert runner.iter == 4  # same iteration count as the uninterrupted run

    full, resumed = _final_weights(full_dir), _final_weights(resumed_dir)
    assert full.keys() == resumed.keys()
    for key in full:  # bit-for-bit: seeded, deterministic, same data order
        assert torch.equal(resumed[key], full[key]), key
    # and training did change the weights
    first = _load_checkpoint(
        osp.join(full_dir, 'iter_2.pth'), map_location='cpu')['state_dict']
    assert any(not torch.equal(first[k], full[k]) for k in full
               if full[k].is_floating_point())


def test_interrupted_save_leaves_no_checkpoint(synthetic_root, tmp_path,
                                               monkeypatch):
    """A crash while writing never leaves a file that resume would use."""
    import mmengine.runner.runner as runner_module
    work_dir = str(tmp_path / 'crash_save')
    runner = DeviceAwareRunner.from_cfg(
        _cfg(synthetic_root, work_dir, 'crash_save'))

    def failing_save(checkpoint, filename, *args, **kwargs):
        with open(filename, 'wb') as f:
            f.write(b'half a checkpoint')
        raise OSError('disk full')

    monkeypatch.setattr(runner_module, 'save_checkpoint', failing_save)
    with pytest.raises(OSError, match='disk full'):
        runner.train()
    assert not osp.exists(osp.join(work_dir, 'iter_2.pth'))
    assert not osp.exists(osp.join(work_dir, 'last_checkpoint'))
    from mmengine.runner import find_latest_checkpoint
    assert find_latest_checkpoint(work_dir) is None


_CPU_DDP_SCRIPT = """
import os, sys
import torch
from mmengine.config import Config
from mmengine.model import MMDistributedDataParallel
from torch import nn
from mmseg_ext.engine import init_dist_auto
from mmseg_ext.engine.dist_utils import shutdown_dist
from mmseg_ext.engine.runner import DeviceAwareRunner
os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=sys.argv[1], RANK='0',
                  WORLD_SIZE='1', LOCAL_RANK='0')
assert init_dist_auto('pytorch', backend='auto') == 'gloo'
runner = DeviceAwareRunner.__new__(DeviceAwareRunner)
runner._distributed = True
runner.cfg = Config(dict())
model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.SyncBatchNorm(4))
wrapped = runner.wrap_model(None, model)
assert isinstance(wrapped, MMDistributedDataParallel), type(wrapped)
assert wrapped.device_ids is None, wrapped.device_ids
assert not any(isinstance(m, nn.SyncBatchNorm) for m in wrapped.modules())
wrapped(torch.randn(2, 3, 4, 4)).sum().backward()
assert wrapped.module[0].weight.grad is not None
del wrapped, model  # the DDP reducer holds the group: drop it first
shutdown_dist()
print('CPU DDP OK')
"""


def test_cpu_ddp_wrap_reverts_syncbn_without_device_ids():
    """A one-process gloo group, wrapped as on a CPU node (own process)."""
    import subprocess
    import sys
    if torch.cuda.is_available():
        pytest.skip('checks the CPU path')
    proc = subprocess.run(
        [sys.executable, '-c', _CPU_DDP_SCRIPT,
         str(free_port())],
        capture_output=True,
        text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'CPU DDP OK' in proc.stdout


def test_logs_device_backend_and_world_size(tiny_unet_run):
    """One line says where a run runs (2-process runs: test_train_test_tools).
    """
    _, _, work_dir = tiny_unet_run
    logs = glob.glob(osp.join(work_dir, '*', '*.log'))
    assert len(logs) == 1
    with open(logs[0]) as f:
        log = f.read()
    assert 'device: cpu, backend: none, world size: 1 (launcher none)' in log
