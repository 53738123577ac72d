"""Safe checkpoint loading for torch >= 2.6 (``weights_only=True``).

torch >= 2.6 refuses to unpickle any global that is not on its allowlist.
mmengine 0.10.7 checkpoints carry a few harmless ones (``HistoryBuffer`` in the
message hub, numpy arrays and scalars, ``getattr(HistoryBuffer, 'min')``), so
``tools/test.py CKPT``, ``--resume``, ``load_from`` and
``init_cfg=dict(type='Pretrained', ...)`` all fail with
``UnpicklingError: Weights only load failed``.

The fix here keeps ``weights_only=True`` and allows exactly the globals those
checkpoints contain (:data:`SAFE_GLOBALS`); the numpy and ``getattr`` ones are
served by validating stand-ins (:mod:`mmseg_ext.engine.safe_unpickle_types`).
A file carrying any other global or construct is refused with
:class:`UnsafeCheckpointError`, which names it; nothing in the file runs.

:func:`install_safe_checkpoint_loader` (called when ``mmseg_ext`` is imported)
wraps every mmengine ``CheckpointLoader`` scheme (local files, ``http(s)://``,
``open-mmlab://``, ``torchvision://``, ``s3://`` ...): while one runs, every
``torch.load`` is forced to ``weights_only=True`` with these rules, including
the one inside ``torch.hub.load_state_dict_from_url`` (whose own default is
``weights_only=False``).
"""
import contextlib
import functools
import os.path as osp
import pickle
import re
import threading
from typing import Any, Callable, Dict, Iterator, List, Optional, Union

import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from mmseg_ext.engine.safe_unpickle_types import (NDARRAY_MARKER,
                                                  RefusedConstruct, SafeArray,
                                                  SafeDType,
                                                  restricted_getattr,
                                                  safe_dtype,
                                                  safe_reconstruct,
                                                  safe_scalar)

__all__ = [
    'SAFE_GLOBALS', 'UnsafeCheckpointError', 'safe_torch_load',
    'safe_loading', 'install_safe_checkpoint_loader'
]

_THIS = __name__.rsplit('.', 1)[0] + '.safe_unpickle_types'

#: The exact globals (beyond torch's defaults) that mmengine, mmseg and
#: mmpretrain checkpoints contain, as ``(stand-in, pickled name)`` pairs or
#: plain classes. numpy names are listed in both spellings (``numpy.core``
#: written by numpy 1.x, ``numpy._core`` by numpy 2.x).
SAFE_GLOBALS: List[Any] = [
    HistoryBuffer,
    (restricted_getattr, 'builtins.getattr'),
    (safe_dtype, 'numpy.dtype'),
    (NDARRAY_MARKER, 'numpy.ndarray'),
    *[(safe_reconstruct, f'{m}._reconstruct')
      for m in ('numpy.core.multiarray', 'numpy._core.multiarray')],
    *[(safe_scalar, f'{m}.scalar')
      for m in ('numpy.core.multiarray', 'numpy._core.multiarray')],
    # the stand-ins' own types, so that torch lets BUILD set their state
    (SafeDType, f'{_THIS}.SafeDType'),
    (SafeArray, f'{_THIS}.SafeArray'),
]

_UNSUPPORTED_RE = re.compile(r'Unsupported global: GLOBAL ([\w.]+)')
_ORIGINAL_TORCH_LOAD = torch.load
_LOCK = threading.RLock()


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a global that mmseg_ext does not allow to load."""


def _allowed_names() -> set:
    """Fully qualified names of every global allowed right now."""
    names = set()
    for obj in [*SAFE_GLOBALS, *torch.serialization.get_safe_globals()]:
        if isinstance(obj, tuple):  # (obj, 'module.name') form
            names.add(obj[1])
        else:
            names.add(f'{obj.__module__}.{obj.__qualname__}')
    return names


def _refused_globals(source: Any, error: Exception) -> List[str]:
    """The globals of ``source`` that the weights-only unpickler refuses."""
    refused: List[str] = []
    if isinstance(source, (str, bytes)) or hasattr(source, '__fspath__'):
        try:
            allowed = _allowed_names()
            refused = [
                name for name in
                torch.serialization.get_unsafe_globals_in_checkpoint(source)
                if name not in allowed
            ]
        except Exception:  # legacy (non-zip) format: fall back to the message
            refused = []
    if not refused:
        refused = _UNSUPPORTED_RE.findall(str(error))
    return refused


def _refusal(source: Any, error: pickle.UnpicklingError) -> Exception:
    """The :class:`UnsafeCheckpointError` that explains ``error``."""
    if hasattr(source, 'seek'):
        source.seek(0)
    refused = _refused_globals(source, error)
    name = source if isinstance(source, str) else type(source).__name__
    if refused:
        what = (f'the global(s) {", ".join(refused)}, which are not on the '
                'allowlist mmseg_ext.engine.SAFE_GLOBALS')
    else:
        inner = error.__context__
        if isinstance(inner, RefusedConstruct):
            detail = str(inner)
        else:
            found = re.search(r'WeightsUnpickler error: (.+)', str(error))
            detail = found.group(1) if found else str(error).splitlines()[0]
        what = f'a refused construct: {detail}'
    return UnsafeCheckpointError(
        f'Refusing to load checkpoint {name!r}: it contains {what}. '
        'Checkpoints written by mmengine, mmseg or mmpretrain contain no '
        'such thing, and unpickling it could run code. If you made this file '
        'and trust it, re-save only its tensors (`torch.save({"state_dict": '
        'sd}, path)`) or allow the exact global with '
        '`torch.serialization.add_safe_globals([...])` before loading.')


def _weights_only_load(f: Any,
                       map_location: Optional[Any] = None,
                       *args: Any,
                       **kwargs: Any) -> Any:
    """``torch.load`` forced to ``weights_only=True`` plus the allowlist."""
    kwargs.pop('weights_only', None)
    kwargs.pop('pickle_module', None)
    saved_statistics = dict(HistoryBuffer._statistics_methods)
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return _ORIGINAL_TORCH_LOAD(
                f, map_location, *args, weights_only=True, **kwargs)
    except pickle.UnpicklingError as error:
        if isinstance(error, UnsafeCheckpointError):
            raise
        raise _refusal(f, error) from error
    finally:
        # HistoryBuffer.__setstate__ merges the file's statistics into a
        # class-wide dict: a file must not change them for the process.
        HistoryBuffer._statistics_methods.clear()
        HistoryBuffer._statistics_methods.update(saved_statistics)


@contextlib.contextmanager
def safe_loading() -> Iterator[None]:
    """Within this block every ``torch.load`` is a safe weights-only load.

    It covers loads made by third-party code that calls ``torch.load``
    without ``weights_only`` or with ``weights_only=False`` (mmengine's scheme
    loaders, ``torch.hub.load_state_dict_from_url``).
    """
    with _LOCK:
        previous = torch.load
        torch.load = _weights_only_load
        try:
            yield
        finally:
            torch.load = previous


def safe_torch_load(f: Union[str, Any],
                    map_location: Optional[Any] = None) -> Any:
    """Load a checkpoint with ``weights_only=True`` and :data:`SAFE_GLOBALS`.

    Args:
        f (str | PathLike | file-like): The checkpoint to read.
        map_location: Same as :func:`torch.load`.

    Returns:
        Any: The unpickled checkpoint (usually a dict).

    Raises:
        FileNotFoundError: ``f`` is a path that does not exist.
        UnsafeCheckpointError: ``f`` holds a global or construct outside the
            allowlist; the message names it. Nothing from the file ran.
    """
    if isinstance(f, str):
        f = osp.expanduser(f)
        if not osp.isfile(f):
            raise FileNotFoundError(f'Checkpoint file {f!r} does not exist.')
    return _weights_only_load(f, map_location)


def _made_safe(loader: Callable) -> Callable:
    """Wrap a mmengine scheme loader in :func:`safe_loading`."""
    if getattr(loader, '_mmseg_ext_safe', False):
        return loader

    @functools.wraps(loader)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with safe_loading():
            return loader(*args, **kwargs)

    wrapped._mmseg_ext_safe = True  # type: ignore[attr-defined]
    return wrapped


def install_safe_checkpoint_loader() -> None:
    """Route every mmengine checkpoint scheme through :func:`safe_loading`.

    Schemes keep their own download logic (and names in mmengine's log); only
    the unpickling changes. Idempotent.
    """
    schemes: Dict[str, Callable] = dict(CheckpointLoader._schemes)
    for prefix, loader in schemes.items():
        safe = _made_safe(loader)
        if safe is not loader:
            CheckpointLoader.register_scheme(prefix, safe, force=True)
