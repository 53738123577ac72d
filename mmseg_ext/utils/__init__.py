"""The ground floor: what every other part of mmseg_ext may import.

Scope adoption, atomic saves, safe checkpoint loading, the checkpoint-fit
check, logging and timing helpers, and the one config/model/checkpoint
builder (:func:`load_config`, :func:`build_segmentor`,
:func:`check_checkpoint`). Nothing here imports ``mmseg_ext.models``,
``datasets``, ``engine``, ``apis`` or ``cli``; models are found through the
registries.
"""
from .atomic_save import atomic_torch_save, atomic_write_text, commit_part
from .builder import build_segmentor, check_checkpoint, load_config
from .checkpoint_fit import CheckpointMismatchError, check_checkpoint_fits
from .logging_utils import quiet_logger
from .safe_checkpoint import (SAFE_GLOBALS, CorruptCheckpointError,
                              UnsafeCheckpointError,
                              install_safe_checkpoint_loader, safe_loading,
                              safe_torch_load)
from .scope import adopt_mmseg_scope
from .timing import median_time

# checkpoints load safely as soon as any part of mmseg_ext is imported
install_safe_checkpoint_loader()

__all__ = [
    'atomic_torch_save', 'atomic_write_text', 'commit_part',
    'build_segmentor', 'check_checkpoint', 'load_config',
    'CheckpointMismatchError', 'check_checkpoint_fits', 'quiet_logger',
    'SAFE_GLOBALS', 'CorruptCheckpointError', 'UnsafeCheckpointError',
    'install_safe_checkpoint_loader', 'safe_loading', 'safe_torch_load',
    'adopt_mmseg_scope', 'median_time'
]
