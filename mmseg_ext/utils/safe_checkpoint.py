"""Safe checkpoint loading for torch >= 2.6 (``weights_only=True``).

torch >= 2.6 refuses to unpickle any global that is not on its allowlist.
mmengine 0.10.7 checkpoints carry a few harmless ones (``HistoryBuffer`` in the
message hub, numpy arrays and scalars, ``getattr(HistoryBuffer, 'min')``,
``bytes()`` for an empty array's data), so ``tools/test.py CKPT``,
``--resume``, ``load_from`` and ``init_cfg=dict(type='Pretrained', ...)`` all
fail with ``UnpicklingError: Weights only load failed``.

The fix here keeps ``weights_only=True`` and allows exactly the globals those
checkpoints contain (:data:`SAFE_GLOBALS`); the numpy, ``bytes`` and
``getattr`` ones are served by validating stand-ins
(:mod:`mmseg_ext.utils.safe_unpickle_types`). A file carrying any other
global or construct is refused with :class:`UnsafeCheckpointError`, which
names it; nothing in the file runs. A file that is not a PyTorch checkpoint,
or is truncated, is refused with :class:`CorruptCheckpointError` (a subclass),
which names the file and keeps torch's reason.

:func:`install_safe_checkpoint_loader` (called when ``mmseg_ext`` is imported)
wraps every mmengine ``CheckpointLoader`` scheme (local files, ``http(s)://``,
``open-mmlab://``, ``torchvision://``, ``s3://`` ...) in :func:`safe_loading`.
The safety is local to the thread running that loader: while it runs, the
``torch.load`` calls *that thread* makes (including the one inside
``torch.hub.load_state_dict_from_url``, whose own default is
``weights_only=False``) are safe weights-only loads, and the extra globals
are visible to *that thread's* unpickler only. To reach ``torch.load`` calls
made inside mmengine and torch.hub, ``torch.load`` is replaced once by a
dispatcher that hands every call from any other thread, or made outside a
safe load, to the previous ``torch.load`` unchanged (same arguments, same
result); torch's user allowlist is read through a hook that, likewise, adds
:data:`SAFE_GLOBALS` only inside a safe load of the calling thread.
"""
import contextlib
import functools
import os
import os.path as osp
import pickle
import re
import struct
import threading
from typing import Any, Callable, Dict, Iterator, List, Optional, Union

import torch
import torch._weights_only_unpickler as _wo_unpickler
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from mmseg_ext.utils.safe_unpickle_types import (NDARRAY_MARKER, SafeArray,
                                                  SafeDType,
                                                  restricted_getattr,
                                                  safe_dtype,
                                                  safe_empty_bytes,
                                                  safe_reconstruct,
                                                  safe_scalar)

__all__ = [
    'SAFE_GLOBALS', 'UnsafeCheckpointError', 'CorruptCheckpointError',
    'safe_torch_load', 'safe_loading', 'install_safe_checkpoint_loader'
]

_THIS = __name__.rsplit('.', 1)[0] + '.safe_unpickle_types'

#: The exact globals (beyond torch's defaults) that mmengine, mmseg and
#: mmpretrain checkpoints contain, as ``(stand-in, pickled name)`` pairs or
#: plain classes. numpy names are listed in both spellings (``numpy.core``
#: written by numpy 1.x, ``numpy._core`` by numpy 2.x).
SAFE_GLOBALS: List[Any] = [
    HistoryBuffer,
    (restricted_getattr, 'builtins.getattr'),
    # bytes() only: protocol 2 writes an empty array's raw data so
    (safe_empty_bytes, 'builtins.bytes'),
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

# "Unsupported global: GLOBAL x.y was not an allowed global" (zip and legacy)
# and "Trying to load unsupported GLOBAL posix.system whose module posix is
# blocked" (a blocked module: os, posix, nt, sys)
_UNSUPPORTED_RE = re.compile(
    r'(?:Unsupported global: GLOBAL|unsupported GLOBAL) ([\w.]+)')
# torch's errors for a file it cannot read as a checkpoint at all
_CORRUPT_RE = re.compile(r'PytorchStreamReader|unexpected EOF|'
                         r'file might be corrupted|Invalid magic number|'
                         r'corrupt file|Invalid protocol version|truncated')
_ZIP_MAGIC = b'PK\x03\x04'
_PICKLE_PROTO = b'\x80'
_TAR_MAGIC, _TAR_AT = b'ustar', 257  # torch < 0.4 wrote tar archives
_TORCH_LOAD = torch.serialization.load
_INSTALL_LOCK = threading.Lock()
# Per-thread depth of safe loads. Only the thread that set it is affected.
_STATE = threading.local()


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint that mmseg_ext refuses to load.

    Raised as such for a file that holds a global or construct outside the
    allowlist (unpickling it could run code); :class:`CorruptCheckpointError`
    (a subclass) for a file that is not a readable PyTorch checkpoint.
    """


class CorruptCheckpointError(UnsafeCheckpointError):
    """The file is not a PyTorch checkpoint, or is truncated or corrupt.

    A subclass of :class:`UnsafeCheckpointError`, so that code which refuses
    a checkpoint on ``except UnsafeCheckpointError`` keeps catching it; catch
    this class to tell a damaged file from an unsafe one.
    """


def _in_safe_load() -> bool:
    """Whether the calling thread is inside :func:`safe_loading`."""
    return getattr(_STATE, 'depth', 0) > 0


@contextlib.contextmanager
def _thread_scope() -> Iterator[None]:
    """Mark the calling thread (only) as inside a safe load."""
    _STATE.depth = getattr(_STATE, 'depth', 0) + 1
    try:
        yield
    finally:
        _STATE.depth -= 1


def _safe_globals_by_name() -> Dict[str, Any]:
    """:data:`SAFE_GLOBALS` as torch's ``{pickled name: object}`` mapping."""
    named = {}
    for obj in SAFE_GLOBALS:
        if isinstance(obj, tuple):
            named[obj[1]] = obj[0]
        else:
            named[f'{obj.__module__}.{obj.__qualname__}'] = obj
    return named


def _make_allowlist_hook(previous: Callable[[], Dict[str, Any]]) -> Callable:
    """torch's user-allowlist getter, plus ours in a safe load's thread."""

    @functools.wraps(previous)
    def user_allowed_globals() -> Dict[str, Any]:
        allowed = previous()
        if _in_safe_load():
            # ours win: a name we serve always gets the validating stand-in
            allowed = {**allowed, **_safe_globals_by_name()}
        return allowed

    user_allowed_globals._mmseg_ext_hook = True  # type: ignore[attr-defined]
    return user_allowed_globals


def _make_load_dispatcher(previous: Callable) -> Callable:
    """``torch.load`` that is safe only in a thread inside a safe load."""

    @functools.wraps(previous)
    def load(*args: Any, **kwargs: Any) -> Any:
        if _in_safe_load():
            return _weights_only_load(*args, **kwargs)
        # any other caller: its own call, untouched
        return previous(*args, **kwargs)

    load._mmseg_ext_hook = True  # type: ignore[attr-defined]
    return load


def _install_hooks() -> None:
    """Install the ``torch.load`` dispatcher and allowlist hook (once)."""
    with _INSTALL_LOCK:
        if not getattr(torch.load, '_mmseg_ext_hook', False):
            torch.load = _make_load_dispatcher(torch.load)
        getter = getattr(_wo_unpickler, '_get_user_allowed_globals', None)
        if getter is None:
            raise RuntimeError(
                f'torch {torch.__version__} has no '
                'torch._weights_only_unpickler._get_user_allowed_globals, '
                'which mmseg_ext.utils.safe_checkpoint extends (per thread) '
                'with SAFE_GLOBALS (written against torch 2.6 to 2.13); '
                'install such a torch, or update mmseg_ext.')
        if not getattr(getter, '_mmseg_ext_hook', False):
            _wo_unpickler._get_user_allowed_globals = _make_allowlist_hook(
                getter)


def _allowed_names() -> set:
    """Fully qualified names of every global allowed in a safe load."""
    names = set(_safe_globals_by_name())
    for obj in torch.serialization.get_safe_globals():
        if isinstance(obj, tuple):  # (obj, 'module.name') form
            names.add(obj[1])
        else:
            names.add(f'{obj.__module__}.{obj.__qualname__}')
    return names


def _source_name(source: Any) -> str:
    """How a message names the checkpoint: its path, or its type."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    name = getattr(source, 'name', None)  # an open file
    return name if isinstance(name, str) else type(source).__name__


def _header(source: Any) -> Optional[bytes]:
    """The first bytes of ``source`` (None if they cannot be read)."""
    try:
        if isinstance(source, (str, os.PathLike)):
            with open(source, 'rb') as file:
                return file.read(_TAR_AT + len(_TAR_MAGIC))
        if hasattr(source, 'seek') and hasattr(source, 'read'):
            position = source.tell()
            source.seek(0)
            head = source.read(_TAR_AT + len(_TAR_MAGIC))
            source.seek(position)
            return head
    except (OSError, ValueError):
        pass
    return None


def _file_kind(header: Optional[bytes]) -> str:
    """What the file is, from its first bytes (for messages)."""
    if header is None:
        return 'a checkpoint'
    if header.startswith(_ZIP_MAGIC):
        return 'a PyTorch checkpoint in zip format'
    if header.startswith(_PICKLE_PROTO):
        return ('a PyTorch checkpoint in the legacy pickle format (torch.save '
                'with _use_new_zipfile_serialization=False, or torch < 1.6)')
    if header[_TAR_AT:] == _TAR_MAGIC:
        return 'a PyTorch checkpoint in tar format (torch < 0.4)'
    return 'not a PyTorch checkpoint'


def _kind_clause(header: Optional[bytes]) -> str:
    """``', <what the file is>'`` for a message ('' if unknown)."""
    return '' if header is None else f', {_file_kind(header)}'


def _is_checkpoint_header(header: Optional[bytes]) -> bool:
    """Whether the first bytes are those of a format torch.load reads."""
    return header is None or _file_kind(header) != 'not a PyTorch checkpoint'


def _not_a_checkpoint(source: Any, header: bytes,
                      reason: str) -> CorruptCheckpointError:
    """The error for a file that is neither a zip archive nor a pickle."""
    what = 'it is empty' if not header else \
        f'it starts with {header[:8]!r}'
    return CorruptCheckpointError(
        f'Refusing to load {_source_name(source)!r}: it is not a PyTorch '
        f'checkpoint ({what}: neither a zip archive as torch.save writes '
        'nor a legacy pickle or tar file). Pass the .pth written by '
        f'torch.save / tools/train.py. (torch: {reason})')


def _corrupt(source: Any, header: Optional[bytes],
             reason: str) -> CorruptCheckpointError:
    """The error for a checkpoint that is truncated or otherwise damaged."""
    if not _is_checkpoint_header(header):
        return _not_a_checkpoint(source, header, reason)
    return CorruptCheckpointError(
        f'Cannot load checkpoint {_source_name(source)!r}'
        f'{_kind_clause(header)}: it is truncated or corrupt (for example an '
        'interrupted save or download). Re-save it, download it again, or '
        f'use another checkpoint (e.g. an earlier iter_*.pth). '
        f'(torch: {reason})')


def _torch_reason(error: BaseException) -> str:
    """torch's own message, without its advice about weights_only=False."""
    inner = error.__context__
    if isinstance(inner, pickle.UnpicklingError):
        return str(inner)
    found = re.search(r'WeightsUnpickler error:\s*(\S.*)', str(error))
    if found:
        return found.group(1)
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else repr(error)


def _refused_globals(source: Any, error: Exception) -> List[str]:
    """The globals of ``source`` that the weights-only unpickler refuses."""
    refused: List[str] = []
    if isinstance(source, (str, bytes, os.PathLike)):
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
        refused = list(dict.fromkeys(_UNSUPPORTED_RE.findall(str(error))))
    return refused


def _refusal(source: Any, error: pickle.UnpicklingError) -> Exception:
    """The :class:`UnsafeCheckpointError` that explains ``error``."""
    header = _header(source)
    reason = _torch_reason(error)
    if not _is_checkpoint_header(header):
        return _not_a_checkpoint(source, header, reason)
    if hasattr(source, 'seek'):
        source.seek(0)
    refused = _refused_globals(source, error)
    if refused:
        blocked = ' (a blocked module)' if 'is blocked' in reason else ''
        what = (f'the global(s) {", ".join(refused)}{blocked}, which are not '
                'on the allowlist mmseg_ext.engine.SAFE_GLOBALS')
    else:
        what = f'a refused construct: {reason}'
    return UnsafeCheckpointError(
        f'Refusing to load checkpoint {_source_name(source)!r}'
        f'{_kind_clause(header)}: it contains {what}. Checkpoints written by '
        'mmengine, mmseg or mmpretrain contain no such thing, and unpickling '
        'it could run code. If you made this file and trust it, re-save only '
        'its tensors (`torch.save({"state_dict": sd}, path)`) or allow the '
        'exact global with `torch.serialization.add_safe_globals([...])` '
        'before loading.')


def _weights_only_load(f: Any,
                       map_location: Optional[Any] = None,
                       *args: Any,
                       **kwargs: Any) -> Any:
    """``torch.load`` forced to ``weights_only=True`` plus the allowlist."""
    _install_hooks()
    kwargs.pop('weights_only', None)
    kwargs.pop('pickle_module', None)
    saved_statistics = dict(HistoryBuffer._statistics_methods)
    try:
        with _thread_scope():
            return _TORCH_LOAD(
                f, map_location, *args, weights_only=True, **kwargs)
    except UnsafeCheckpointError:
        raise
    except pickle.UnpicklingError as error:
        raise _refusal(f, error) from error
    except (EOFError, struct.error) as error:  # a pickle cut short
        raise _corrupt(f, _header(f), repr(error)) from error
    except RuntimeError as error:
        if not _CORRUPT_RE.search(str(error)):
            raise  # e.g. a map_location error: torch's message is right
        raise _corrupt(f, _header(f), str(error).strip()) from error
    finally:
        # HistoryBuffer.__setstate__ merges the file's statistics into a
        # class-wide dict: a file must not change them for the process.
        HistoryBuffer._statistics_methods.clear()
        HistoryBuffer._statistics_methods.update(saved_statistics)


@contextlib.contextmanager
def safe_loading() -> Iterator[None]:
    """Within this block the calling thread's ``torch.load`` calls are safe.

    It covers loads made by third-party code that calls ``torch.load``
    without ``weights_only`` or with ``weights_only=False`` (mmengine's scheme
    loaders, ``torch.hub.load_state_dict_from_url``). Other threads are not
    affected: their ``torch.load`` calls run exactly as they were made.
    """
    _install_hooks()
    with _thread_scope():
        yield


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
        CorruptCheckpointError: ``f`` is not a PyTorch checkpoint, or is
            truncated or corrupt; the message names the file and keeps
            torch's reason.
    """
    if isinstance(f, (str, os.PathLike)):
        f = osp.expanduser(os.fspath(f))
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
    the unpickling in the thread that runs them changes. Idempotent.
    """
    _install_hooks()
    schemes: Dict[str, Callable] = dict(CheckpointLoader._schemes)
    for prefix, loader in schemes.items():
        safe = _made_safe(loader)
        if safe is not loader:
            CheckpointLoader.register_scheme(prefix, safe, force=True)
