from .checkpoint_fit import CheckpointMismatchError, check_checkpoint_fits
from .dist_utils import (init_dist_auto, launcher_env, resolve_dist_backend,
                         shutdown_dist)
from .hooks import CheckpointHook, LossScheduleHook
from .optimizers import DefaultOptimWrapperConstructor
from .runner import DeviceAwareRunner
from .safe_checkpoint import (SAFE_GLOBALS, CorruptCheckpointError,
                              UnsafeCheckpointError,
                              install_safe_checkpoint_loader, safe_loading,
                              safe_torch_load)
from .scope import adopt_mmseg_scope

install_safe_checkpoint_loader()

__all__ = [
    'DeviceAwareRunner', 'adopt_mmseg_scope', 'init_dist_auto',
    'launcher_env', 'resolve_dist_backend', 'shutdown_dist', 'SAFE_GLOBALS',
    'UnsafeCheckpointError', 'CorruptCheckpointError',
    'install_safe_checkpoint_loader',
    'safe_loading', 'safe_torch_load', 'LossScheduleHook', 'CheckpointHook',
    'CheckpointMismatchError', 'check_checkpoint_fits',
    'DefaultOptimWrapperConstructor'
]
