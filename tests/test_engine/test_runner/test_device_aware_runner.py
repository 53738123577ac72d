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


def _other_model_checkpoint(checkpoint: str, path: str) -> str:
    """``checkpoint`` with one key dropped, one added and one reshaped: a
    checkpoint of another model, as far as loading can tell."""
    state = dict(_load_checkpoint(checkpoint, map_location='cpu')
                 ['state_dict'])
    keys = [k for k in state if state[k].dim() == 4]
    del state[keys[0]]
    state['extra_head.conv_seg.weight'] = torch.zeros(2, 8, 1, 1)
    state[keys[1]] = torch.zeros(1, *state[keys[1]].shape[1:])
    torch.save({'state_dict': state, 'meta': {}}, path)
    return path


def test_load_from_another_model_is_refused(tiny_unet_run, synthetic_root,
                                            tmp_path):
    """load_from (and tools/test.py, which sets it) refuse a checkpoint that
    does not fit, naming it, unless load_strict=False."""
    from mmseg_ext.engine import CheckpointMismatchError
    _, checkpoint, _ = tiny_unet_run
    bad = _other_model_checkpoint(checkpoint, str(tmp_path / 'other.pth'))
    runner = DeviceAwareRunner.from_cfg(
        _cfg(synthetic_root, str(tmp_path / 'strict'), 'strict',
             load_from=bad))
    with pytest.raises(CheckpointMismatchError) as info:
        runner.load_or_resume()
    text = str(info.value)
    assert repr(bad) in text
    assert 'keys are missing from the checkpoint' in text
    assert '1 checkpoint keys are not in the model (unexpected): ' \
        'extra_head.conv_seg.weight' in text
    assert '1 keys have another shape' in text
    assert 'load_strict=False' in text
    # the model was not touched
    assert not runner._has_loaded

    loose = DeviceAwareRunner.from_cfg(
        _cfg(synthetic_root, str(tmp_path / 'loose'), 'loose',
             load_from=bad, load_strict=False))
    loose.load_or_resume()
    assert loose._has_loaded
    good = _load_checkpoint(checkpoint, map_location='cpu')['state_dict']
    loaded = loose.model.state_dict()
    same = [k for k in good if k in loaded and torch.equal(good[k],
                                                           loaded[k])]
    assert len(same) == len(good) - 2  # all but the dropped and reshaped


def test_test_tool_refuses_another_models_checkpoint(tiny_unet_run,
                                                     synthetic_root,
                                                     tmp_path):
    """tools/test.py exits non-zero with the file named, instead of
    reporting the mIoU of random weights."""
    import subprocess
    import sys
    config, checkpoint, _ = tiny_unet_run
    bad = _other_model_checkpoint(checkpoint, str(tmp_path / 'other.pth'))
    proc = subprocess.run(
        [sys.executable, 'tools/test.py', config, bad, '--work-dir',
         str(tmp_path / 'test'), '--cfg-options',
         f'test_dataloader.dataset.data_root={synthetic_root}'],
        cwd=osp.dirname(osp.dirname(osp.dirname(osp.dirname(
            osp.abspath(__file__))))),
        capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert 'CheckpointMismatchError' in proc.stderr
    assert 'other.pth' in proc.stderr
    assert 'Iter(test)' not in proc.stdout  # no metric was computed
    assert not glob.glob(str(tmp_path / 'test' / '**' / '*.json'),
                         recursive=True)


def test_resume_refuses_weights_only_and_other_model(tiny_unet_run,
                                                     synthetic_root,
                                                     tmp_path):
    """--resume from a file without training state, or from another
    model's checkpoint, fails at once with the file named (was KeyError:
    'epoch' or a tensor-size error inside the optimizer)."""
    from mmseg_ext.engine import CheckpointMismatchError
    _, checkpoint, _ = tiny_unet_run
    weights = str(tmp_path / 'weights_only.pth')
    torch.save({'state_dict': _load_checkpoint(
        checkpoint, map_location='cpu')['state_dict']}, weights)
    runner = DeviceAwareRunner.from_cfg(
        _cfg(synthetic_root, str(tmp_path / 'r1'), 'r1', load_from=weights,
             resume=True))
    with pytest.raises(CheckpointMismatchError,
                       match='holds no training state.*meta.epoch'):
        runner.train()

    full = _load_checkpoint(checkpoint, map_location='cpu')
    state = dict(full['state_dict'])
    state.pop(next(iter(state)))
    full['state_dict'] = state
    other = str(tmp_path / 'other_full.pth')
    torch.save(full, other)
    runner = DeviceAwareRunner.from_cfg(
        _cfg(synthetic_root, str(tmp_path / 'r2'), 'r2', load_from=other,
             resume=True, load_strict=False))  # no opt-out for resume
    with pytest.raises(CheckpointMismatchError, match='other_full.pth'):
        runner.train()


def test_unknown_backend_fails_in_a_single_process(synthetic_root,
                                                   tmp_path):
    with pytest.raises(ValueError, match="backend='glooo' is not supported"):
        DeviceAwareRunner.from_cfg(
            _cfg(synthetic_root, str(tmp_path), 'glooo',
                 env_cfg=dict(dist_cfg=dict(backend='glooo'))))


def test_save_killed_with_max_keep_one_still_resumes(synthetic_root,
                                                    tmp_path, monkeypatch):
    """max_keep_ckpts=1 and a job killed while writing iter_4: iter_2 is
    still there, last_checkpoint names it and --resume finishes the run
    (mmengine's hook deleted iter_2 before writing iter_4)."""
    import mmengine.runner.runner as runner_module
    from mmengine.runner import find_latest_checkpoint
    real_save = runner_module.save_checkpoint
    calls = []

    def dies_on_second_save(checkpoint, filename, *args, **kwargs):
        calls.append(filename)
        if len(calls) == 2:
            with open(filename, 'wb') as f:
                f.write(b'half a checkpoint')
            raise _Crash('killed while saving')
        return real_save(checkpoint, filename, *args, **kwargs)

    work_dir = str(tmp_path / 'keep1')
    keep_one = dict(default_hooks=dict(checkpoint=dict(max_keep_ckpts=1)))
    monkeypatch.setattr(runner_module, 'save_checkpoint',
                        dies_on_second_save)
    with pytest.raises(_Crash):
        DeviceAwareRunner.from_cfg(
            _cfg(synthetic_root, work_dir, 'keep1', **keep_one)).train()
    monkeypatch.setattr(runner_module, 'save_checkpoint', real_save)
    latest = find_latest_checkpoint(work_dir)
    assert latest == osp.join(work_dir, 'iter_2.pth')
    assert osp.isfile(latest)
    runner = DeviceAwareRunner.from_cfg(
        _cfg(synthetic_root, work_dir, 'keep1-resume', resume=True,
             **keep_one))
    runner.train()
    assert runner.iter == 4
    assert sorted(glob.glob(osp.join(work_dir, 'iter_*.pth'))) == [
        osp.join(work_dir, 'iter_4.pth')]


def test_bad_mask_value_stops_test_with_the_file_named(synthetic_root,
                                                       tmp_path):
    """A 7 in a binary set: tools/test.py used to exit 0 with another mIoU.
    The runner tells LoadAnnotations the dataset's classes."""
    import shutil

    import mmcv
    from mmseg_ext.datasets.transforms import BadAnnotationError
    root = str(tmp_path / 'data')
    shutil.copytree(synthetic_root, root)
    masks = sorted(glob.glob(osp.join(root, 'ann_dir', 'val', '*.png')))
    mask = mmcv.imread(masks[1], flag='unchanged')
    mask[:2, :2] = 7
    mmcv.imwrite(mask, masks[1])
    runner = DeviceAwareRunner.from_cfg(
        _cfg(root, str(tmp_path / 'work'), 'bad_mask'))
    with pytest.raises(BadAnnotationError) as info:
        runner.test()
    text = str(info.value)
    assert osp.basename(masks[1]) in text and '7 (4 pixels)' in text
