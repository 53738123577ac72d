"""A mmengine ``Runner`` that trains distributed on CPU (gloo) and GPU (nccl).

It differs from mmengine's ``Runner`` in six places only:

* :meth:`from_cfg` builds the parts a config inherits from ``mmseg::`` bases
  in the mmseg_ext scope (:func:`mmseg_ext.engine.scope.adopt_mmseg_scope`),
  so that mmseg_ext's classes resolve inside them;
* :meth:`setup_env` initialises ``torch.distributed`` through
  :func:`mmseg_ext.engine.dist_utils.init_dist_auto` (gloo without CUDA,
  nccl with it; ``env_cfg.dist_cfg.backend`` overrides);
* :meth:`wrap_model` wraps the model in DDP **without** ``device_ids`` when the
  model lives on the CPU, after reverting SyncBN to BN (SyncBN needs CUDA);
  on CUDA it is mmengine's one-GPU-per-process DDP with SyncBN unchanged;
* :meth:`register_hooks` adds mmengine's ``SyncBuffersHook`` under CPU DDP,
  and :meth:`save_checkpoint` averages the buffers first there too: without
  SyncBN each rank's BN statistics drift apart, and validation during
  training would not score the model that the checkpoint holds;
* :meth:`save_checkpoint` writes to ``<name>.part`` and renames, so a crash
  mid-write never leaves a truncated ``iter_N.pth`` for ``--resume`` or
  ``tools/test.py`` to pick up;
* :meth:`_log_env` adds one line saying where the run runs, e.g.
  ``device: cpu, backend: gloo, world size: 2 (launcher pytorch)``
  (mmengine's environment block calls the world size "GPU number").
"""
import copy
import os.path as osp
from typing import Dict, Optional, Union

import torch
import torch.distributed as torch_dist
from mmengine.device import get_device
from mmengine.dist import all_reduce_params, is_distributed
from mmengine.hooks import SyncBuffersHook
from mmengine.logging import print_log
from mmengine.model import (MMDistributedDataParallel, is_model_wrapper,
                            revert_sync_batchnorm)
from mmengine.config import Config
from mmengine.runner import Runner
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from mmseg_ext.engine.atomic_save import commit_part
from mmseg_ext.engine.dist_utils import init_dist_auto
from mmseg_ext.engine.scope import adopt_mmseg_scope
from mmseg_ext.registry import MODEL_WRAPPERS, RUNNERS

__all__ = ['DeviceAwareRunner', 'device_summary']


def device_summary(launcher: str) -> str:
    """``device: D, backend: B, world size: N (launcher L)`` of this process.

    Args:
        launcher (str): The runner's launcher (``'none'``, ``'pytorch'``...).

    Returns:
        str: The device (``cuda:i`` with CUDA), the ``torch.distributed``
        backend (``none`` when not distributed) and the number of processes.
    """
    device = get_device()
    if device == 'cuda':
        device = f'cuda:{torch.cuda.current_device()}'
    if is_distributed():
        backend = torch_dist.get_backend()
        world_size = torch_dist.get_world_size()
    else:
        backend, world_size = 'none', 1
    return (f'device: {device}, backend: {backend}, world size: '
            f'{world_size} (launcher {launcher})')


@RUNNERS.register_module()
class DeviceAwareRunner(Runner):
    """mmengine ``Runner`` with CPU-capable distributed training.

    Configs select it with ``runner_type = 'DeviceAwareRunner'`` (mmseg_ext's
    ``tools/train.py`` and ``tools/test.py`` use it whenever a config sets no
    ``runner_type``). Every other behaviour is mmengine's.
    """

    @classmethod
    def from_cfg(cls, cfg: Config) -> 'DeviceAwareRunner':
        """Build a runner from a config, in the mmseg_ext scope.

        Args:
            cfg (Config): A full config (``default_scope='mmseg_ext'`` for
                mmseg_ext's classes to resolve inside ``mmseg::`` parts).

        Returns:
            DeviceAwareRunner: The runner.
        """
        cfg = copy.deepcopy(cfg)
        adopt_mmseg_scope(cfg)
        return super().from_cfg(cfg)

    def setup_env(self, env_cfg: Dict) -> None:
        """Initialise the process group (CPU or CUDA), then mmengine's rest.

        Args:
            env_cfg (dict): The config's ``env_cfg``; ``dist_cfg.backend`` may
                be ``'auto'`` (default), ``'nccl'``, ``'gloo'`` or ``'mpi'``.
        """
        if self.distributed and not is_distributed():
            dist_cfg: dict = dict(env_cfg.get('dist_cfg', {}))
            backend = dist_cfg.pop('backend', 'auto')
            init_dist_auto(self.launcher, backend=backend, **dist_cfg)
        super().setup_env(env_cfg)

    def _log_env(self, env_cfg: Dict) -> None:
        """mmengine's environment report, then :func:`device_summary`."""
        super()._log_env(env_cfg)
        self.logger.info(device_summary(self.launcher))

    def wrap_model(self, model_wrapper_cfg: Optional[Dict],
                   model: nn.Module) -> Union[DistributedDataParallel,
                                              nn.Module]:
        """Wrap ``model`` for DDP; on CPU without ``device_ids`` and SyncBN.

        Args:
            model_wrapper_cfg (dict, optional): ``model_wrapper_cfg`` of the
                config (mmengine semantics).
            model (nn.Module): The model to wrap.

        Returns:
            nn.Module: The (possibly) wrapped model.
        """
        if (not self.distributed or is_model_wrapper(model)
                or torch.cuda.is_available()):
            return super().wrap_model(model_wrapper_cfg, model)
        print_log(
            'Distributed training on CPU: SyncBN layers are reverted to BN '
            'and DDP gets no device_ids.',
            logger='current')
        model = revert_sync_batchnorm(model.to('cpu'))
        # each rank's BN now keeps its own running statistics: they are
        # averaged before every validation and every checkpoint (see
        # register_hooks and save_checkpoint), so validation during training
        # and tools/test.py on the saved checkpoint see the same model
        self._cpu_ddp = True
        if model_wrapper_cfg is None:
            return MMDistributedDataParallel(
                module=model,
                broadcast_buffers=False,
                find_unused_parameters=self.cfg.get(
                    'find_unused_parameters', False))
        cfg = dict(model_wrapper_cfg)
        cfg.setdefault('type', 'MMDistributedDataParallel')
        return MODEL_WRAPPERS.build(cfg, default_args=dict(module=model))

    def register_hooks(self,
                       default_hooks: Optional[Dict] = None,
                       custom_hooks: Optional[list] = None) -> None:
        """mmengine's hooks, plus ``SyncBuffersHook`` under CPU DDP.

        Args:
            default_hooks (dict, optional): The config's ``default_hooks``.
            custom_hooks (list, optional): The config's ``custom_hooks``.
        """
        super().register_hooks(default_hooks, custom_hooks)
        if getattr(self, '_cpu_ddp', False) and not any(
                isinstance(h, SyncBuffersHook) for h in self.hooks):
            self.register_hook(SyncBuffersHook())

    def save_checkpoint(self,
                        out_dir: str,
                        filename: str,
                        file_client_args: Optional[dict] = None,
                        save_optimizer: bool = True,
                        save_param_scheduler: bool = True,
                        meta: Optional[dict] = None,
                        by_epoch: bool = True,
                        backend_args: Optional[dict] = None) -> None:
        """Save like mmengine, but atomically for local directories.

        The checkpoint is written to ``filename + '.part'``, flushed to disk
        and renamed to ``filename`` only once complete. Remote storage
        (``file_client_args``/``backend_args`` or a URL ``out_dir``) is
        written by mmengine directly. Arguments are mmengine's
        :meth:`~mmengine.runner.Runner.save_checkpoint` ones.
        """
        if getattr(self, '_cpu_ddp', False):
            # every rank calls save_checkpoint: average the BN statistics so
            # the file holds what validation sees (mmengine writes rank 0's)
            all_reduce_params(self.model.buffers(), op='mean')
        args = dict(
            file_client_args=file_client_args,
            save_optimizer=save_optimizer,
            save_param_scheduler=save_param_scheduler,
            meta=meta,
            by_epoch=by_epoch,
            backend_args=backend_args)
        local = ('://' not in out_dir and file_client_args is None
                 and backend_args is None)
        if not local:
            return super().save_checkpoint(out_dir, filename, **args)
        part = osp.join(out_dir, f'{filename}.part')
        super().save_checkpoint(out_dir, f'{filename}.part', **args)
        if self.rank == 0:  # mmengine writes the file on rank 0 only
            commit_part(part, osp.join(out_dir, filename))
