"""Validating stand-ins for the numpy and builtins globals of checkpoints.

mmengine checkpoints pickle numpy arrays and scalars (in the message hub's
``HistoryBuffer`` objects and sometimes in ``meta``) and
``getattr(HistoryBuffer, 'min')``. Allowing the real ``numpy.dtype``,
``numpy.core.multiarray._reconstruct``/``scalar`` or ``builtins.getattr`` to a
weights-only unpickler is not safe: ``dtype.__setstate__`` accepts arbitrary
field offsets and object flags from the file (out-of-bounds reads, forged
object pointers), and a free ``getattr`` walks to ``__globals__``.

So the allowlist maps those *names* to the functions below, which accept only
what numpy itself writes for plain numeric data:

* ``numpy.dtype(code, align, copy)`` -> :func:`safe_dtype`: boolean, integer,
  float or complex dtypes only (no fields, sub-arrays, strings or objects);
  the following ``BUILD`` state must equal numpy's own for that dtype in
  little- or big-endian byte order (``'<'``, ``'>'``, ``'|'``);
* ``_reconstruct(ndarray, shape, typecode)`` -> :func:`safe_reconstruct`: an
  empty :class:`SafeArray` whose ``BUILD`` state must carry such a dtype, a
  shape numpy can represent (at most :data:`MAX_NDIM` dimensions, at most
  ``intp`` max bytes) and exactly ``prod(shape) * itemsize`` raw bytes;
* ``scalar(dtype, raw)`` -> :func:`safe_scalar`: exactly ``itemsize`` bytes;
* ``numpy.ndarray`` -> an inert marker, only usable as ``_reconstruct``'s
  first argument;
* ``builtins.bytes`` -> :func:`safe_empty_bytes`: only ``bytes()``, the
  empty raw data of an empty array, which pickle protocol 2 (torch.save's
  default) writes as ``bytes()`` rather than ``_codecs.encode`` (torch's own
  allowlist already has ``_codecs.encode`` for non-empty data);
* ``builtins.getattr`` -> :func:`restricted_getattr`: only the four
  ``HistoryBuffer`` statistics.
"""
import math
import pickle
from typing import Any, Tuple

import numpy as np
from mmengine.logging.history_buffer import HistoryBuffer

__all__ = [
    'SafeDType', 'SafeArray', 'safe_dtype', 'safe_reconstruct', 'safe_scalar',
    'safe_empty_bytes', 'restricted_getattr', 'NDARRAY_MARKER',
    'RefusedConstruct', 'MAX_NDIM'
]


class RefusedConstruct(pickle.UnpicklingError):
    """A pickled construct that the safe loader does not accept.

    An ``UnpicklingError``, so that torch reports it like a refused global.
    """


class _NDArrayMarker:
    """Stands for ``numpy.ndarray`` in a checkpoint; it cannot be called."""

    __slots__ = ()

    def __repr__(self) -> str:
        return '<numpy.ndarray marker>'


#: What ``GLOBAL numpy ndarray`` resolves to during a safe load.
NDARRAY_MARKER = _NDArrayMarker()

_NUMERIC_KINDS = frozenset('biufc')

#: The most dimensions a checkpoint's array may have (numpy 1.x's limit;
#: numpy 2.x allows 64, mmengine writes at most a few).
MAX_NDIM = 32

#: Byte orders numpy writes in a dtype's pickled state.
_BYTE_ORDERS = frozenset('<>|')


class SafeDType:
    """A validated numeric numpy dtype, as built by :func:`safe_dtype`.

    Args:
        dtype (np.dtype): A plain boolean/integer/float/complex dtype.
    """

    __slots__ = ('dtype', )

    def __init__(self, dtype: Any) -> None:
        if not isinstance(dtype, np.dtype) or not _is_plain(dtype):
            raise RefusedConstruct(f'not a plain numeric dtype: {dtype!r}')
        self.dtype = dtype

    def __setstate__(self, state: Any) -> None:
        """Accept only numpy's own state for this dtype (no fields/flags).

        The state may name either byte order (``'<'`` or ``'>'``; ``'|'`` for
        one-byte types): ``np.arange(3, dtype='>f4')`` pickles as
        ``dtype('f4')`` with a ``'>'`` state. Anything else that differs
        from numpy's own state for the dtype in that byte order is refused.
        """
        order = state[1] if isinstance(state, tuple) and len(state) > 1 \
            else None
        if isinstance(order, str) and order in _BYTE_ORDERS:
            candidate = self.dtype.newbyteorder(order)
            if state == candidate.__reduce__()[2]:
                self.dtype = candidate
                return
        raise RefusedConstruct(
            f'dtype {self.dtype} with a non-standard state {state!r}')

    def __repr__(self) -> str:
        return f'SafeDType({self.dtype})'


def _is_plain(dtype: np.dtype) -> bool:
    """Numeric, no fields, no sub-array, no object content."""
    return (dtype.kind in _NUMERIC_KINDS and dtype.fields is None
            and dtype.subdtype is None and not dtype.hasobject)


def _unwrap(dtype: Any) -> np.dtype:
    """The numpy dtype behind a :class:`SafeDType` (refuse anything else)."""
    if not isinstance(dtype, SafeDType) or not hasattr(dtype, 'dtype'):
        raise RefusedConstruct(f'expected a numpy dtype, got {dtype!r}')
    return dtype.dtype


def safe_dtype(code: Any, align: Any = False, copy: Any = True) -> SafeDType:
    """Stand-in for ``numpy.dtype(code, align, copy)`` in a checkpoint.

    Args:
        code (str): A dtype string such as ``'f8'`` or ``'i8'``.
        align (bool): Must be a bool (numpy writes False).
        copy (bool): Must be a bool (numpy writes True).

    Returns:
        SafeDType: The validated dtype.

    Raises:
        RefusedConstruct: Anything but a plain numeric dtype.
    """
    if not isinstance(code, str) or not isinstance(
            align, bool) or not isinstance(copy, bool):
        raise RefusedConstruct(f'numpy.dtype{(code, align, copy)!r}')
    try:
        dtype = np.dtype(code)
    except TypeError as error:
        raise RefusedConstruct(f'numpy.dtype({code!r}): {error}') from None
    return SafeDType(dtype)


class SafeArray(np.ndarray):
    """An ndarray whose pickled state was checked before numpy saw it.

    It behaves as a plain ``np.ndarray`` and pickles as one, so a checkpoint
    saved after a resume contains ordinary numpy arrays.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> 'SafeArray':
        raise RefusedConstruct('SafeArray cannot be created from a pickle')

    def __setstate__(self, state: Any) -> None:
        """Check ``(version, shape, dtype, fortran, raw)``, then set it."""
        if not isinstance(state, tuple) or len(state) != 5 or state[0] != 1:
            raise RefusedConstruct('ndarray state of unexpected form')
        _, shape, dtype, fortran, raw = state
        dtype = _unwrap(dtype)
        if (not isinstance(shape, tuple) or not all(
                type(n) is int and n >= 0 for n in shape)
                or not isinstance(fortran, bool)
                or not isinstance(raw, bytes)):
            raise RefusedConstruct('ndarray state with bad shape or data')
        # a crafted shape with a 0 in it passes the byte count but makes
        # numpy raise ValueError or MemoryError, or build a 0-size array
        # whose other dimensions claim more than intp bytes: refuse them all
        nonzero_bytes = math.prod(n for n in shape if n) * dtype.itemsize
        if len(shape) > MAX_NDIM or nonzero_bytes > _INTP_MAX:
            raise RefusedConstruct(
                f'ndarray with a malformed shape {_short(shape)} (at most '
                f'{MAX_NDIM} dimensions and {_INTP_MAX} bytes)')
        if len(raw) != math.prod(shape) * dtype.itemsize:
            raise RefusedConstruct(
                f'ndarray of shape {shape} and dtype {dtype} with '
                f'{len(raw)} data bytes')
        try:
            super().__setstate__((1, shape, dtype, fortran, raw))
        except (ValueError, TypeError, OverflowError, MemoryError) as error:
            raise RefusedConstruct(
                f'ndarray of shape {_short(shape)} and dtype {dtype} that '
                f'numpy cannot build: {error!r}') from None

    def __reduce__(self) -> Tuple:
        """Pickle as a plain ``np.ndarray``."""
        return self.view(np.ndarray).__reduce__()

    def __reduce_ex__(self, protocol: int) -> Tuple:
        """Pickle as a plain ``np.ndarray``."""
        return self.view(np.ndarray).__reduce_ex__(protocol)


def safe_reconstruct(subtype: Any, shape: Any, typecode: Any) -> SafeArray:
    """Stand-in for ``numpy.core.multiarray._reconstruct``.

    Args:
        subtype: Must be the ``numpy.ndarray`` marker.
        shape: Ignored (numpy writes ``(0,)``; the real shape comes in BUILD).
        typecode: Ignored (numpy writes ``b'b'``).

    Returns:
        SafeArray: An empty array that the following BUILD fills.
    """
    if subtype is not NDARRAY_MARKER:
        raise RefusedConstruct(f'_reconstruct of {subtype!r}')
    return np.ndarray.__new__(SafeArray, (0, ), np.uint8)


def _short(shape: Tuple) -> str:
    """``repr(shape)``, cut short for a crafted shape of many dimensions."""
    text = repr(shape)
    return text if len(text) <= 120 else text[:117] + '...'


_INTP_MAX = int(np.iinfo(np.intp).max)


def safe_empty_bytes(*args: Any, **kwargs: Any) -> bytes:
    """Stand-in for ``builtins.bytes`` in a checkpoint: ``bytes()`` only.

    Pickle protocol 2 writes empty ``bytes`` (the raw data of an empty numpy
    array, e.g. an empty ``HistoryBuffer``) as ``bytes()``. The real
    ``bytes(n)`` would allocate ``n`` bytes and ``bytes(obj)`` call into
    ``obj``, so every argument is refused.

    Returns:
        bytes: ``b''``.

    Raises:
        RefusedConstruct: ``bytes`` called with any argument.
    """
    if args or kwargs:
        raise RefusedConstruct(
            f'builtins.bytes with arguments {_short(args)}; only bytes() '
            '(empty data) is allowed')
    return b''


def safe_scalar(dtype: Any, raw: Any = None) -> np.generic:
    """Stand-in for ``numpy.core.multiarray.scalar(dtype, raw)``.

    Returns:
        np.generic: The numpy scalar, read from exactly ``itemsize`` bytes.
    """
    dtype = _unwrap(dtype)
    if not isinstance(raw, bytes) or len(raw) != dtype.itemsize:
        raise RefusedConstruct(f'numpy scalar of dtype {dtype} from {raw!r}')
    return np.frombuffer(raw, dtype=dtype)[0]


#: ``HistoryBuffer`` statistics that mmengine pickles as
#: ``getattr(HistoryBuffer, name)`` in its ``statistics_methods``.
HISTORY_BUFFER_METHODS = frozenset(('min', 'max', 'mean', 'current'))


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
        RefusedConstruct: Any other attribute lookup.
    """
    if obj is HistoryBuffer and name in HISTORY_BUFFER_METHODS:
        return getattr(obj, name)
    raise RefusedConstruct(
        f'builtins.getattr({obj!r}, {name!r}); only getattr(HistoryBuffer, '
        f'one of {sorted(HISTORY_BUFFER_METHODS)}) is allowed')
