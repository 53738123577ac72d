"""A mmengine ``Runner`` that trains distributed on CPU (gloo) and GPU (nccl).

It differs from mmengine's ``Runner`` in eight places only:

* :meth:`from_cfg` builds the parts a config inherits from ``mmseg::`` bases
  in the mmseg_ext scope (:func:`mmseg_ext.utils.scope.adopt_mmseg_scope`),
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
* :meth:`load_checkpoint` (``tools/test.py CKPT``, ``load_from``) and
  :meth:`resume` refuse a checkpoint whose weights do not fit the model
  (mmengine loads it with ``strict=False``: random weights get tested, or
  training silently starts from scratch); ``load_strict=False`` in the config
  opts out for ``load_from``/test, never for resume, and resume also
  refuses a file without training state;
* :meth:`build_dataloader` tells mmseg_ext's ``LoadAnnotations`` the
  dataset's classes, so a mask with another value stops with its file named;
* :meth:`_log_env` adds one line saying where the run runs, e.g.
  ``device: cpu, backend: gloo, world size: 2 (launcher pytorch)``
  (mmengine's environment block calls the world size "GPU number").
"""
import os.path as osp
from typing import Callable, Dict, List, Optional, Tuple, Union

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
from mmengine.runner.checkpoint import (_load_checkpoint,
                                        _load_checkpoint_to_model)
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from mmseg_ext.datasets.transforms import bind_label_checks
from mmseg_ext.utils.atomic_save import commit_part
from mmseg_ext.utils.checkpoint_fit import (CheckpointMismatchError,
                                             check_checkpoint_fits)
from mmseg_ext.engine.dist_utils import check_backend_name, init_dist_auto
from mmseg_ext.engine.grad_strides import align_grad_strides
from mmseg_ext.utils.builder import load_config
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
        return super().from_cfg(load_config(cfg))

    @staticmethod
    def build_dataloader(dataloader: Union[DataLoader, Dict],
                         seed: Optional[int] = None,
                         diff_rank_seed: bool = False) -> DataLoader:
        """mmengine's dataloader, its masks checked against its classes.

        Every mmseg_ext ``LoadAnnotations`` in the dataset's pipelines learns
        the dataset's number of classes and ignore index
        (:func:`~mmseg_ext.datasets.transforms.bind_label_checks`), so a
        mask holding another value stops with the file named. mmengine's
        loops build their dataloaders here (train, val, ``tools/test.py``).

        Args:
            dataloader (DataLoader | dict): A dataloader or its config.
            seed (int, optional): As mmengine's.
            diff_rank_seed (bool): As mmengine's.

        Returns:
            DataLoader: The dataloader.
        """
        loader = Runner.build_dataloader(
            dataloader, seed=seed, diff_rank_seed=diff_rank_seed)
        bind_label_checks(loader.dataset)
        return loader

    def setup_env(self, env_cfg: Dict) -> None:
        """Initialise the process group (CPU or CUDA), then mmengine's rest.

        Args:
            env_cfg (dict): The config's ``env_cfg``; ``dist_cfg.backend`` may
                be ``'auto'`` (default), ``'nccl'``, ``'gloo'`` or ``'mpi'``.
        """
        dist_cfg: dict = dict(env_cfg.get('dist_cfg', {}))
        backend = dist_cfg.pop('backend', 'auto')
        check_backend_name(backend)  # a typo fails in one process too
        if self.distributed and not is_distributed():
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
        if self.distributed and not is_model_wrapper(model):
            # no 'Grad strides do not match bucket view strides' (MiT)
            align_grad_strides(model)
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

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: Optional[bool] = None,
                        revise_keys: List[Tuple[str, str]] = [(r'^module.',
                                                               '')]):
        """Load a checkpoint into the model; it must fit unless told so.

        ``tools/test.py CKPT`` and ``load_from`` come here. A checkpoint of
        another model is refused before anything is loaded, with the file
        and counts and examples of its missing, unexpected and mis-shaped
        keys. Partial loading (fine-tuning from a checkpoint of another
        head, say) needs ``load_strict = False`` in the config
        (``--cfg-options load_strict=False``): the mismatch is then logged
        and the fitting weights are loaded, as mmengine does. Loading only a
        backbone is better done with the model's ``init_cfg=dict(type=
        'Pretrained', checkpoint=..., prefix='backbone.')``.

        Args:
            filename (str): Local path or URL (mmengine's schemes).
            map_location (str | callable): As :func:`torch.load`.
            strict (bool, optional): None: the config's ``load_strict``
                (default True); :meth:`resume` always loads strictly.
            revise_keys (list): ``(pattern, replacement)`` key rewrites
                (mmengine's; strips DDP's ``module.`` by default).

        Returns:
            dict: The loaded checkpoint.

        Raises:
            CheckpointMismatchError: The weights do not fit and loading is
                strict, or a resume file has no training state.
        """
        resuming = getattr(self, '_resuming', False)
        if strict is None:
            strict = resuming or bool(self.cfg.get('load_strict', True))
        checkpoint = _load_checkpoint(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(
            self.model) else self.model
        if resuming:
            _check_training_state(checkpoint, filename)
            hint = ''
        else:
            hint = ('\nPass the checkpoint written for this config, or set '
                    'load_strict=False in the config (--cfg-options '
                    'load_strict=False) to load only the weights that fit.')
        if strict:
            check_checkpoint_fits(model, checkpoint, filename, revise_keys,
                                  hint)
        checkpoint = _load_checkpoint_to_model(
            model, checkpoint, strict=False, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def resume(self,
               filename: str,
               resume_optimizer: bool = True,
               resume_param_scheduler: bool = True,
               map_location: Union[str, Callable] = 'default') -> None:
        """mmengine's resume, from a checkpoint that fits exactly and holds
        training state (else :class:`CheckpointMismatchError` naming the
        file). Arguments are mmengine's :meth:`~mmengine.runner.Runner.
        resume` ones."""
        self._resuming = True
        try:
            super().resume(filename, resume_optimizer,
                           resume_param_scheduler, map_location)
        finally:
            self._resuming = False


def _check_training_state(checkpoint: dict, filename: str) -> None:
    """Raise unless ``checkpoint`` holds what mmengine's resume reads."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    lacking = [
        name for name, present in (
            ('meta.epoch', isinstance(meta, dict) and 'epoch' in meta),
            ('meta.iter', isinstance(meta, dict) and 'iter' in meta),
            ('message_hub', isinstance(checkpoint, dict)
             and 'message_hub' in checkpoint))
        if not present
    ]
    if lacking:
        raise CheckpointMismatchError(
            f'Cannot resume from {filename!r}: it holds no training state '
            f'({", ".join(lacking)} missing), so it was not written by '
            'mmengine\'s CheckpointHook during training. To start a new '
            f'training from its weights, use load_from={filename!r} '
            'without --resume.')
