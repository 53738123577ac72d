"""Config, model and checkpoint: the one path every tool builds through.

* :func:`load_config` reads a config (or copies a loaded one), merges
  ``--cfg-options`` and re-homes its ``mmseg::`` parts into the mmseg_ext
  scope (:func:`~mmseg_ext.utils.scope.adopt_mmseg_scope`). It is the only
  place that adopts the scope: the runner, the model builder, the inferencer,
  UFormer's member configs and every tool call it.
* :func:`check_checkpoint` fails early, naming the file, when a checkpoint
  path does not exist (URLs are left to mmengine's loaders).
* :func:`build_segmentor` builds the config's model in the config's scope,
  then either loads a checkpoint strictly (through mmengine's loader, which
  importing mmseg_ext makes safe) or runs ``init_weights`` (so a UFormer
  loads its ``member_checkpoints``).
"""
import copy
import os.path as osp
import warnings
from typing import Optional, Union

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import (_load_checkpoint,
                                        _load_checkpoint_to_model)
from torch import nn

from mmseg_ext.registry import MODELS, SCOPE
from .checkpoint_fit import check_checkpoint_fits
from .logging_utils import quiet_logger
from .scope import adopt_mmseg_scope

__all__ = ['load_config', 'check_checkpoint', 'build_segmentor']

#: setuptools' import-time warning of ``pkg_resources`` (see
#: :func:`_read_config`), from its first import and from each reload.
PKG_RESOURCES_WARNING = dict(
    message='pkg_resources is deprecated as an API',
    category=UserWarning,
    module=r'(mmengine\.utils\.package_utils|importlib)$')

#: What :func:`build_segmentor` tells a user whose checkpoint does not fit.
FIT_HINT = ('\nPass the config the checkpoint was trained with: it does not '
            'fit the config\'s model.')


def _read_config(path: str) -> Config:
    """``Config.fromfile(path)`` without mmengine's pkg_resources warnings.

    mmengine 0.10.7 resolves each ``mmseg::`` base through
    ``mmengine.utils.is_installed``, which imports ``pkg_resources`` and
    ``importlib.reload``-s it on every call; setuptools warns
    ``pkg_resources is deprecated as an API`` each time the module runs
    (9 times for the demo UFormer's config and members, in every training
    process). mmengine's main branch has replaced pkg_resources with
    importlib.metadata (open-mmlab/mmengine#1676, after 0.10.7). Until a
    release has it, exactly that warning is ignored, and only while mmengine
    reads a config: it is attributed to ``mmengine.utils.package_utils``
    (the import) and ``importlib`` (the reloads).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', **PKG_RESOURCES_WARNING)
        return Config.fromfile(path)


def load_config(config: Union[str, Config, dict],
                cfg_options: Optional[dict] = None) -> Config:
    """A config ready to build in its scope.

    Args:
        config (str | Config | dict): A config file path, or a loaded config
            (deep-copied: the caller's object is not changed).
        cfg_options (dict, optional): ``--cfg-options`` to merge.

    Returns:
        Config: The config; when its ``default_scope`` is ``'mmseg_ext'``
        its ``mmseg::`` parts are re-homed into that scope.

    Raises:
        FileNotFoundError: ``config`` is a path that does not exist.
        TypeError: ``config`` is neither a path nor a config.
    """
    if isinstance(config, str):
        if not osp.isfile(config):
            raise FileNotFoundError(
                f'Config file {config!r} does not exist (configs live in '
                'configs/, e.g. configs/uformer_binary.py).')
        cfg = _read_config(config)
    elif isinstance(config, Config):
        cfg = copy.deepcopy(config)
    elif isinstance(config, dict):
        cfg = Config(copy.deepcopy(dict(config)))
    else:
        raise TypeError('config must be a config file path or a Config, got '
                        f'{type(config).__name__}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    adopt_mmseg_scope(cfg)
    return cfg


def check_checkpoint(path: Optional[str], hint: str = '') -> None:
    """Raise if a checkpoint path names no file (URLs are not checked).

    Args:
        path (str, optional): A checkpoint path or URL; None passes.
        hint (str): Appended to the message: what the caller expected.

    Raises:
        FileNotFoundError: ``path`` is a local path and not a file.
    """
    if path is None or '://' in path:
        return
    if not osp.isfile(osp.expanduser(path)):
        raise FileNotFoundError(f'Checkpoint {path!r} does not exist'
                                f'{"; " + hint if hint else "."}')


def build_segmentor(cfg: Union[str, Config],
                    checkpoint: Optional[str] = None,
                    device: Union[str, torch.device] = 'cpu',
                    init_weights: bool = True,
                    hint: str = '') -> nn.Module:
    """Build a config's model; load a checkpoint into it, strictly.

    Args:
        cfg (str | Config): A config file or one from :func:`load_config`
            (used as is, not copied).
        checkpoint (str, optional): Checkpoint path or URL. Its weights must
            fit the model exactly; its ``meta.dataset_meta`` (the training
            dataset's classes and palette) becomes ``model.dataset_meta``.
        device (str | torch.device): Where the model goes.
        init_weights (bool): Without a checkpoint, run ``init_weights``
            (pretrained backbones, a UFormer's ``member_checkpoints``).
        hint (str): Added to the error when the checkpoint file does not
            exist (what the caller expects the user to pass).

    Returns:
        nn.Module: The model on ``device``, in training mode, with ``cfg``
        (the config) and ``dataset_meta`` (dict or None) attributes.

    Raises:
        FileNotFoundError: The config or checkpoint file does not exist.
        CheckpointMismatchError: The checkpoint does not fit the model.
    """
    if isinstance(cfg, str):
        cfg = load_config(cfg)
    check_checkpoint(checkpoint, hint)
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', SCOPE)):
        model = MODELS.build(cfg.model)
    dataset_meta = None
    if checkpoint is not None:
        loaded = _load_checkpoint(checkpoint, map_location='cpu')
        check_checkpoint_fits(model, loaded, checkpoint, hint=FIT_HINT)
        _load_checkpoint_to_model(model, loaded, strict=False)
        dataset_meta = loaded.get('meta', {}).get('dataset_meta')
    elif init_weights:
        # mmengine logs one INFO line per parameter while initialising
        with quiet_logger():
            model.init_weights()
    model.cfg = cfg
    model.dataset_meta = dataset_meta
    return model.to(device)
