"""Safe checkpoint loading for torch >= 2.6 (``weights_only=True``).

torch >= 2.6 refuses to unpickle any global that is not on its allowlist.
mmengine 0.10.7 checkpoints carry a few harmless ones (``HistoryBuffer`` in the
message hub, numpy arrays and scalars), so ``tools/test.py CKPT``, ``--resume``,
``load_from`` and ``init_cfg=dict(type='Pretrained', ...)`` all fail with
``UnpicklingError: Weights only load failed``.

The fix here keeps ``weights_only=True`` and allows exactly the globals that
mmengine / mmseg / mmpretrain checkpoints contain (:data:`SAFE_GLOBALS`). A file
carrying any other global is refused with :class:`UnsafeCheckpointError`, which
names every refused global; nothing in the file runs.

:func:`install_safe_checkpoint_loader` (called when ``mmseg_ext`` is imported)
re-registers mmengine's ``CheckpointLoader`` schemes so that every path that
loads a checkpoint through mmengine uses these rules.
"""
import functools
import os.path as osp
import pickle
import re
from typing import Any, Callable, Dict, List, Optional, Union

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

__all__ = [
    'SAFE_GLOBALS', 'UnsafeCheckpointError', 'restricted_getattr',
    'safe_torch_load', 'safe_globals_context',
    'install_safe_checkpoint_loader'
]


def _numpy_globals() -> List[Any]:
    """Numpy objects that pickled arrays, scalars and dtypes refer to.

    numpy 1.x pickles them under ``numpy.core``, numpy 2.x under
    ``numpy._core``; both spellings are allowed where they exist.
    """
    found: List[Any] = [np.ndarray, np.dtype]
    for module_name in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        try:
            module = __import__(module_name, fromlist=['_reconstruct'])
        except ImportError:
            continue
        found.extend([module._reconstruct, module.scalar])
    # numpy >= 1.25 has one class per dtype (``numpy.dtypes.Float64DType``),
    # which numpy 2 writes into pickles. Object arrays are not allowed.
    for code in ('?', 'b', 'B', 'h', 'H', 'i', 'I', 'l', 'L', 'q', 'Q', 'e',
                 'f', 'd', 'g', 'U', 'S'):
        dtype_class = type(np.dtype(code))
        if dtype_class is not np.dtype:
            found.append(dtype_class)
    unique: Dict[int, Any] = {id(obj): obj for obj in found}
    return list(unique.values())


#: ``HistoryBuffer`` statistics that mmengine pickles as
#: ``getattr(HistoryBuffer, name)`` in its ``statistics_methods``.
_HISTORY_BUFFER_METHODS = frozenset(('min', 'max', 'mean', 'current'))


def restricted_getattr(obj: Any, name: str) -> Any:
    """``builtins.getattr`` as checkpoints may use it: HistoryBuffer methods.

    mmengine's ``HistoryBuffer`` pickles its statistics methods
    (``HistoryBuffer.min`` ...) as ``getattr(HistoryBuffer, 'min')``. A free
    ``getattr`` would let a crafted file walk from any allowed object to
    ``__globals__`` and run code, so only those four lookups are served.

    Args:
        obj (Any): The object the pickle asks an attribute of.
        name (str): The attribute name.

    Returns:
        Any: ``getattr(obj, name)`` for an allowed pair.

    Raises:
        UnsafeCheckpointError: Any other attribute lookup.
    """
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_METHODS:
        return getattr(obj, name)
    raise UnsafeCheckpointError(
        f'the checkpoint calls builtins.getattr({obj!r}, {name!r}); only '
        f'getattr(HistoryBuffer, one of {sorted(_HISTORY_BUFFER_METHODS)}) is '
        'allowed')


#: The exact globals (beyond torch's own defaults) that mmengine, mmseg and
#: mmpretrain checkpoints contain: the message hub's ``HistoryBuffer``, the
#: numpy arrays / scalars / dtypes it holds, and ``builtins.getattr``
#: restricted to the HistoryBuffer statistics (:func:`restricted_getattr`).
SAFE_GLOBALS: List[Any] = [
    HistoryBuffer, *_numpy_globals(), (restricted_getattr, 'builtins.getattr')
]

_UNSUPPORTED_RE = re.compile(r'Unsupported global: GLOBAL ([\w.]+)')


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a global that mmseg_ext does not allow to load."""


def safe_globals_context() -> Any:
    """Context manager that allows :data:`SAFE_GLOBALS` in ``torch.load``."""
    return torch.serialization.safe_globals(SAFE_GLOBALS)


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


def safe_torch_load(f: Union[str, Any],
                    map_location: Optional[Any] = None) -> Any:
    """``torch.load`` with ``weights_only=True`` plus :data:`SAFE_GLOBALS`.

    Args:
        f (str | PathLike | file-like): The checkpoint to read.
        map_location: Same as :func:`torch.load`.

    Returns:
        Any: The unpickled checkpoint (usually a dict).

    Raises:
        FileNotFoundError: ``f`` is a path that does not exist.
        UnsafeCheckpointError: ``f`` holds a global outside the allowlist;
            the message names each one. Nothing from the file was executed.
    """
    if isinstance(f, str) and not osp.isfile(osp.expanduser(f)):
        raise FileNotFoundError(f'Checkpoint file {f!r} does not exist.')
    if isinstance(f, str):
        f = osp.expanduser(f)
    try:
        with safe_globals_context():
            return torch.load(f, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if isinstance(error, UnsafeCheckpointError):
            raise
        if hasattr(f, 'seek'):
            f.seek(0)
        refused = _refused_globals(f, error)
        name = f if isinstance(f, str) else type(f).__name__
        if refused:
            what = (f'the global(s) {", ".join(refused)}, which are not on '
                    'the allowlist mmseg_ext.engine.SAFE_GLOBALS')
        else:
            # our own refusal (restricted_getattr) is the chained context
            inner = error.__context__
            detail = str(inner) if isinstance(
                inner, UnsafeCheckpointError) else str(error).splitlines()[0]
            what = f'a refused construct: {detail}'
        raise UnsafeCheckpointError(
            f'Refusing to load checkpoint {name!r}: it contains {what}. '
            'Checkpoints written by mmengine, mmseg or mmpretrain contain '
            'no such object, and unpickling it could run code. If you made '
            'this file and trust it, re-save only its tensors '
            '(`torch.save({"state_dict": sd}, path)`) or allow the exact '
            'global with `torch.serialization.add_safe_globals([...])` '
            'before loading.') from error


def load_from_local(filename: str, map_location: Optional[Any] = None) -> Any:
    """mmengine's local-file scheme, loading through :func:`safe_torch_load`."""
    return safe_torch_load(filename, map_location=map_location)


def _with_safe_globals(loader: Callable) -> Callable:
    """Wrap a mmengine scheme loader so that it allows :data:`SAFE_GLOBALS`."""
    if getattr(loader, '_mmseg_ext_safe', False):
        return loader

    @functools.wraps(loader)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with safe_globals_context():
            return loader(*args, **kwargs)

    wrapped._mmseg_ext_safe = True  # type: ignore[attr-defined]
    return wrapped


def install_safe_checkpoint_loader() -> None:
    """Route every mmengine checkpoint scheme through the safe rules.

    The local-file scheme (``''``) becomes :func:`safe_torch_load`; the others
    (``http://``, ``open-mmlab://``, ``s3://`` ...) keep their download logic
    and gain :data:`SAFE_GLOBALS` while they unpickle. Idempotent.
    """
    load_from_local._mmseg_ext_safe = True  # type: ignore[attr-defined]
    schemes = dict(CheckpointLoader._schemes)
    for prefix, loader in schemes.items():
        new_loader = load_from_local if prefix == '' else _with_safe_globals(
            loader)
        if new_loader is not loader:
            CheckpointLoader.register_scheme(
                prefix, new_loader, force=True)
