from mmseg_ext.utils import (SAFE_GLOBALS, CheckpointMismatchError,
                             CorruptCheckpointError, UnsafeCheckpointError,
                             adopt_mmseg_scope, check_checkpoint_fits,
                             install_safe_checkpoint_loader, safe_loading,
                             safe_torch_load)
from .dist_utils import (init_dist_auto, launcher_env, resolve_dist_backend,
                         shutdown_dist)
from .hooks import CheckpointHook, LossScheduleHook
from .optimizers import DefaultOptimWrapperConstructor
from .runner import DeviceAwareRunner

# The names imported from mmseg_ext.utils stay importable from here, where
# they lived before the utils package became the ground floor.
__all__ = [
    'DeviceAwareRunner', 'adopt_mmseg_scope', 'init_dist_auto',
    'launcher_env', 'resolve_dist_backend', 'shutdown_dist', 'SAFE_GLOBALS',
    'UnsafeCheckpointError', 'CorruptCheckpointError',
    'install_safe_checkpoint_loader',
    'safe_loading', 'safe_torch_load', 'LossScheduleHook', 'CheckpointHook',
    'CheckpointMismatchError', 'check_checkpoint_fits',
    'DefaultOptimWrapperConstructor'
]
