"""CheckpointHook: a save that dies at any step keeps a complete checkpoint
that ``last_checkpoint`` names (mmengine's removes the old one first)."""
import os
import os.path as osp
from typing import List

import pytest
import torch
from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook
from mmengine.logging import MessageHub, MMLogger
from mmengine.registry import DefaultScope
from mmengine.runner import find_latest_checkpoint

import mmseg_ext.utils.atomic_save as atomic_save
from mmseg_ext.engine.hooks import CheckpointHook
from mmseg_ext.registry import HOOKS


class _Killed(RuntimeError):
    """Stands for kill -9 at that point."""


class _FakeRunner:
    """What CheckpointHook uses of a runner; saves write small files."""

    def __init__(self, work_dir: str) -> None:
        self.work_dir = work_dir
        self.message_hub = MessageHub.get_instance(f'ckpt-hook-{work_dir}')
        self.logger = MMLogger.get_instance('ckpt-hook-test')
        self.epoch, self.iter = 0, 0
        self.fail_save = False

    def save_checkpoint(self, out_dir: str, filename: str, *args,
                        meta=None, **kwargs) -> None:
        path = osp.join(out_dir, filename)
        torch.save({'meta': meta, 'state_dict': {}}, f'{path}.part')
        if self.fail_save:
            raise _Killed('killed while saving')
        os.replace(f'{path}.part', path)


def _hook(hook_type, work_dir: str, max_keep_ckpts: int):
    runner = _FakeRunner(work_dir)
    hook = hook_type(interval=1, by_epoch=False,
                     max_keep_ckpts=max_keep_ckpts)
    hook.before_train(runner)
    return hook, runner


def _save(hook, runner) -> None:
    hook._save_checkpoint(runner)  # the save after iteration runner.iter
    runner.iter += 1


def _complete_checkpoints(work_dir: str) -> List[str]:
    return sorted(f for f in os.listdir(work_dir)
                  if f.startswith('iter_') and f.endswith('.pth'))


def _kill_at(step: str, hook, runner, monkeypatch) -> None:
    if step == 'save':
        runner.fail_save = True
    elif step == 'last_checkpoint':
        def killed(part, path):
            raise _Killed('killed before last_checkpoint was renamed')
        monkeypatch.setattr(atomic_save, 'commit_part', killed)
    elif step == 'remove':
        def killed(path):
            raise _Killed('killed while removing')
        monkeypatch.setattr(hook.file_backend, 'remove', killed)


def test_registered_in_mmseg_ext_scope():
    with DefaultScope.overwrite_default_scope('mmseg_ext'):
        hook = HOOKS.build(dict(type='CheckpointHook', interval=1))
    assert type(hook) is CheckpointHook
    with DefaultScope.overwrite_default_scope('mmseg_ext'):
        upstream = HOOKS.build(dict(type='mmengine.CheckpointHook'))
    assert type(upstream) is MMEngineCheckpointHook


@pytest.mark.parametrize('max_keep', [1, 2])
@pytest.mark.parametrize('step', ['save', 'last_checkpoint', 'remove'])
def test_kill_at_each_step_keeps_a_complete_checkpoint(
        tmp_path, monkeypatch, step, max_keep):
    work_dir = str(tmp_path)
    hook, runner = _hook(CheckpointHook, work_dir, max_keep)
    for _ in range(max_keep):
        _save(hook, runner)
    before = _complete_checkpoints(work_dir)
    assert len(before) == max_keep
    _kill_at(step, hook, runner, monkeypatch)
    with pytest.raises(_Killed):
        _save(hook, runner)
    after = _complete_checkpoints(work_dir)
    assert set(before) <= set(after)  # nothing complete was lost
    latest = find_latest_checkpoint(work_dir)
    assert latest is not None and osp.isfile(latest)
    assert torch.load(latest)['meta']['iter'] in (max_keep, max_keep + 1)
    expected = max_keep + 1 if step == 'remove' else max_keep
    assert osp.basename(latest) == f'iter_{expected}.pth'


def test_upstream_hook_loses_the_only_checkpoint(tmp_path):
    """The defect this hook fixes, as mmengine 0.10.7 has it."""
    work_dir = str(tmp_path)
    hook, runner = _hook(MMEngineCheckpointHook, work_dir, 1)
    _save(hook, runner)
    runner.fail_save = True
    with pytest.raises(_Killed):
        _save(hook, runner)
    assert _complete_checkpoints(work_dir) == []
    assert not osp.isfile(find_latest_checkpoint(work_dir))


def test_normal_saves_keep_max_keep_ckpts(tmp_path):
    work_dir = str(tmp_path)
    hook, runner = _hook(CheckpointHook, work_dir, 2)
    for _ in range(4):
        _save(hook, runner)
    assert _complete_checkpoints(work_dir) == ['iter_3.pth', 'iter_4.pth']
    assert find_latest_checkpoint(work_dir).endswith('iter_4.pth')
    assert runner.message_hub.get_info('keep_ckpt_ids') == [3, 4]
    assert not [f for f in os.listdir(work_dir) if f.endswith('.part')]


def _best_hook(work_dir: str):
    runner = _FakeRunner(work_dir)
    hook = CheckpointHook(interval=1, by_epoch=False, save_best='mIoU',
                          rule='greater')
    hook.before_train(runner)
    _save(hook, runner)  # iter_1.pth; runner.iter is 1 from now on
    hook._save_best_checkpoint(runner, {'mIoU': 10.0})
    assert osp.isfile(hook.best_ckpt_path)
    runner.iter = 2
    return hook, runner


def test_failed_best_save_keeps_the_previous_best(tmp_path):
    hook, runner = _best_hook(str(tmp_path))
    first_best = hook.best_ckpt_path
    runner.fail_save = True
    with pytest.raises(_Killed):
        hook._save_best_checkpoint(runner, {'mIoU': 20.0})
    assert osp.isfile(first_best)  # mmengine's hook removed it first


def test_best_checkpoint_replaced_after_the_new_one_is_saved(tmp_path):
    hook, runner = _best_hook(str(tmp_path))
    first_best = hook.best_ckpt_path
    hook._save_best_checkpoint(runner, {'mIoU': 30.0})
    assert not osp.isfile(first_best)
    assert osp.isfile(hook.best_ckpt_path)
    # a better score at the same iteration reuses the name: it is kept
    same_name = hook.best_ckpt_path
    hook._save_best_checkpoint(runner, {'mIoU': 40.0})
    assert hook.best_ckpt_path == same_name and osp.isfile(same_name)
    assert torch.load(same_name)['meta']['iter'] == 2
