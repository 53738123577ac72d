from .dist_utils import init_dist_auto, launcher_env, resolve_dist_backend
from .scope import adopt_mmseg_scope
from .runner import DeviceAwareRunner
from .safe_checkpoint import (SAFE_GLOBALS, UnsafeCheckpointError,
                              install_safe_checkpoint_loader, safe_torch_load)

install_safe_checkpoint_loader()

__all__ = [
    'DeviceAwareRunner', 'adopt_mmseg_scope', 'init_dist_auto', 'launcher_env',
    'resolve_dist_backend', 'SAFE_GLOBALS', 'UnsafeCheckpointError',
    'install_safe_checkpoint_loader', 'safe_torch_load'
]
