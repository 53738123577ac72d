"""mmengine's ``CheckpointHook`` that deletes old checkpoints last.

mmengine 0.10.7's ``CheckpointHook`` removes the oldest checkpoint (once
``max_keep_ckpts`` are kept) and the previous best one **before** it writes
the new one, and the save first spends a while formatting the config. A job
killed in that window keeps fewer complete checkpoints than asked for; with
``max_keep_ckpts=1`` it keeps none, and ``last_checkpoint`` names a deleted
file, so ``--resume`` fails.

This hook saves in the safe order: the new checkpoint is written completely
(:class:`~mmseg_ext.engine.runner.DeviceAwareRunner` writes ``*.part`` and
renames), then ``last_checkpoint`` is replaced atomically to point at it, and
only then are outdated checkpoints removed. A crash at any step leaves every
checkpoint that was complete before it, and ``last_checkpoint`` names a
complete file. It is registered as ``CheckpointHook`` in the ``mmseg_ext``
scope, so configs with ``default_scope = 'mmseg_ext'`` get it through
``default_hooks.checkpoint``; ``type='mmengine.CheckpointHook'`` still gives
upstream's.
"""
import contextlib
import os.path as osp
from typing import Any, Iterator, List

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook

from mmseg_ext.utils.atomic_save import atomic_write_text
from mmseg_ext.registry import HOOKS

__all__ = ['CheckpointHook']


class _DeferredRemovals:
    """A file backend whose ``remove``/``rmtree`` only record the path."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.pending: List[str] = []

    def remove(self, path: str) -> None:
        self.pending.append(path)

    rmtree = remove

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


def _remove_path(backend: Any, path: str) -> None:
    """Remove a checkpoint file, or folder (deepspeed), if it exists."""
    if backend.isfile(path):
        backend.remove(path)
    elif backend.isdir(path):
        backend.rmtree(path)


@HOOKS.register_module()
class CheckpointHook(MMEngineCheckpointHook):
    """mmengine's ``CheckpointHook``; outdated checkpoints go last.

    Arguments and behaviour are mmengine's (``interval``, ``max_keep_ckpts``,
    ``save_best``...), except the order of the file operations of a save:
    write the new checkpoint, point ``last_checkpoint`` at it (atomically),
    then delete the outdated ones. A save that fails deletes nothing.
    """

    @contextlib.contextmanager
    def _removals_last(self) -> Iterator[None]:
        """Hold back the removals made inside the block until it succeeds.

        mmengine's methods call ``self.file_backend.remove``/``rmtree``
        before saving; here they are recorded, and carried out after the
        block returned. If it raises, nothing is removed.
        """
        backend = self.file_backend
        deferred = _DeferredRemovals(backend)
        self.file_backend = deferred
        try:
            yield
        finally:
            self.file_backend = backend
        in_use = {self.last_ckpt, getattr(self, 'best_ckpt_path', None),
                  *getattr(self, 'best_ckpt_path_dict', {}).values()}
        for path in deferred.pending:
            if path not in in_use:  # a new best may reuse the old name
                _remove_path(backend, path)

    def _save_checkpoint_with_step(self, runner: Any, step: int,
                                   meta: dict) -> None:
        """Save the step's checkpoint, point ``last_checkpoint`` at it, then
        remove the outdated one.

        The bookkeeping (``keep_ckpt_ids`` and ``last_ckpt`` in the message
        hub, stored in the checkpoint itself) is mmengine's; only the order
        of the file operations differs.

        Args:
            runner (Runner): The runner.
            step (int): Epoch or iteration of the checkpoint.
            meta (dict): Its ``meta``.
        """
        outdated = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        atomic_write_text(
            osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        if outdated is not None:
            path = self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(outdated))
            # inside _save_best_checkpoint this only records the path
            _remove_path(self.file_backend, path)

    def _save_best_checkpoint(self, runner: Any, metrics: dict) -> None:
        """mmengine's best-checkpoint save; the previous best is removed
        after the new one is written.

        Args:
            runner (Runner): The runner.
            metrics (dict): Evaluation results.
        """
        with self._removals_last():
            super()._save_best_checkpoint(runner, metrics)
