"""Safe checkpoint loading: mmengine/mmseg files load, foreign globals fail."""
import os
import os.path as osp
import pickle
import threading
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import (CheckpointLoader, _load_checkpoint,
                                        load_checkpoint)
from torch import nn

from mmseg_ext.utils import (SAFE_GLOBALS, UnsafeCheckpointError,
                              install_safe_checkpoint_loader, safe_torch_load)
from mmseg_ext.utils.safe_checkpoint import CorruptCheckpointError
from tests.helpers import crafted_checkpoint as _crafted


def test_crafted_checkpoint_is_refused_and_does_not_run(tmp_path):
    path, marker = _crafted(tmp_path)
    with pytest.raises(UnsafeCheckpointError) as info:
        safe_torch_load(path)
    assert f'{os.system.__module__}.system' in str(info.value)
    assert 'crafted.pth' in str(info.value)
    assert not osp.exists(marker)


def test_crafted_checkpoint_is_refused_through_mmengine(tmp_path):
    """load_from / --resume / init_cfg all go through CheckpointLoader."""
    path, marker = _crafted(tmp_path)
    with pytest.raises(UnsafeCheckpointError, match='system'):
        _load_checkpoint(path, map_location='cpu')
    with pytest.raises(UnsafeCheckpointError, match='system'):
        load_checkpoint(nn.Linear(1, 1), path, map_location='cpu')
    assert not osp.exists(marker)


def test_every_scheme_loader_is_safe():
    for prefix, loader in CheckpointLoader._schemes.items():
        assert getattr(loader, '_mmseg_ext_safe', False), prefix


def test_mmengine_style_checkpoint_loads(tmp_path):
    """HistoryBuffer, numpy arrays, scalars and dtypes as mmengine saves."""
    buffer = HistoryBuffer()
    buffer.update(0.5)
    buffer.update(np.float64(0.25))
    ckpt = {
        'meta': {
            'seed': np.int64(7),
            'iter': 10,
            'dataset_meta': {
                'classes': ('a', 'b'),
                'palette': [[0, 0, 0], [1, 1, 1]]
            }
        },
        'state_dict': OrderedDict(w=torch.arange(3.)),
        'message_hub': {
            'log_scalars': {
                'train/loss': buffer
            },
            'runtime_info': {
                'arr': np.arange(4, dtype=np.float32)
            }
        },
    }
    path = str(tmp_path / 'iter_10.pth')
    torch.save(ckpt, path)
    # torch's own default refuses it: this is the bug being fixed
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(path, weights_only=True)
    loaded = _load_checkpoint(path, map_location='cpu')
    assert loaded['meta']['seed'] == 7
    hub = loaded['message_hub']
    assert isinstance(hub['log_scalars']['train/loss'], HistoryBuffer)
    assert hub['log_scalars']['train/loss'].mean() == pytest.approx(0.375)
    np.testing.assert_array_equal(hub['runtime_info']['arr'],
                                  np.arange(4, dtype=np.float32))
    assert torch.equal(loaded['state_dict']['w'], torch.arange(3.))


def test_upstream_state_dict_checkpoint_loads_into_model(tmp_path):
    """mmseg/mmpretrain model-zoo style: state_dict + meta, or bare."""
    src = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    for i, p in enumerate(src.parameters()):
        p.data.fill_(i + 1.0)
    wrapped = str(tmp_path / 'zoo.pth')
    torch.save(
        {
            'state_dict': src.state_dict(),
            'meta': {
                'CLASSES': ('x', 'y'),
                'PALETTE': [[1, 2, 3]],
                'mmcv_version': '1.7.0',
                'config': 'model = dict()'
            }
        }, wrapped)
    bare = str(tmp_path / 'bare.pth')
    torch.save(src.state_dict(), bare)
    for path in (wrapped, bare):
        dst = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
        load_checkpoint(dst, path, map_location='cpu', strict=True)
        for a, b in zip(src.state_dict().values(), dst.state_dict().values()):
            assert torch.equal(a, b)


def test_pretrained_init_cfg_loads_local_checkpoint(tmp_path):
    from mmengine.model import BaseModule

    class Net(BaseModule):

        def __init__(self, init_cfg=None):
            super().__init__(init_cfg)
            self.conv = nn.Conv2d(1, 1, 1)

    src = Net()
    src.conv.weight.data.fill_(3.0)
    path = str(tmp_path / 'pre.pth')
    torch.save({'state_dict': src.state_dict(), 'meta': {}}, path)
    dst = Net(init_cfg=dict(type='Pretrained', checkpoint=path))
    dst.init_weights()
    assert torch.equal(dst.conv.weight, src.conv.weight)


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        safe_torch_load(str(tmp_path / 'nope.pth'))


def test_allowlist_names_exactly_mmengine_numpy_getattr_and_bytes():
    names = {
        obj[1] if isinstance(obj, tuple) else
        f'{obj.__module__}.{obj.__qualname__}'
        for obj in SAFE_GLOBALS
    }
    outside = {
        n for n in names
        if not n.startswith(('numpy.', 'mmengine.', 'mmseg_ext.'))
    }
    assert outside == {'builtins.getattr', 'builtins.bytes'}
    # the risky names are served by validating stand-ins, not the real thing
    served = {name: obj for obj, name in
              (o for o in SAFE_GLOBALS if isinstance(o, tuple))}
    assert served['builtins.getattr'] is not getattr
    assert served['builtins.bytes'] is not bytes
    assert served['numpy.dtype'] is not np.dtype
    assert served['numpy.ndarray'] is not np.ndarray


class _GetattrEscape:
    """Pickles as getattr(HistoryBuffer, '__init__'): a step to __globals__."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


def test_getattr_is_restricted_to_history_buffer_statistics(tmp_path):
    path = str(tmp_path / 'escape.pth')
    torch.save({'meta': _GetattrEscape()}, path)
    with pytest.raises(UnsafeCheckpointError, match="'__init__'"):
        safe_torch_load(path)


class _DType:
    """Pickles as numpy.dtype(spec) with a chosen BUILD state."""

    def __init__(self, spec, state=None):
        self.spec, self.state = spec, state

    def __reduce__(self):
        extra = () if self.state is None else (self.state, )
        return (np.dtype, (self.spec, False, True)) + extra


class _Array:
    """Pickles as numpy's _reconstruct + BUILD with a chosen state."""

    def __init__(self, dtype, raw, shape=(1, )):
        self.dtype, self.raw, self.shape = dtype, raw, shape

    def __reduce__(self):
        from numpy.core.multiarray import _reconstruct
        return (_reconstruct, (np.ndarray, (0, ), b'b'),
                (1, self.shape, self.dtype, False, self.raw))


@pytest.mark.parametrize('payload,reason', [
    # a field at offset 2**40: reading it would read outside the buffer
    (_Array(
        _DType('S8', (3, '|', None, ('a', ), {'a': (_DType('<u8'), 1 << 40)},
                      8, 1, 0)), b'A' * 8), 'S8'),
    # an object field over raw bytes: a forged PyObject pointer
    (_Array(
        _DType('S8',
               (3, '|', None, ('a', ), {'a': (_DType('O8'), 0)}, 8, 1, 1)),
        b'A' * 8), 'S8'),
    # object dtype without BUILD
    (_Array(_DType('O8'), b'A' * 8), "dtype\\('O'\\)"),
    # a plain dtype whose state sets flags
    (_Array(_DType('f8', (3, '<', None, None, None, -1, -1, 1)),
            b'A' * 8), 'non-standard state'),
    # fewer data bytes than the shape needs
    (_Array(_DType('f8'), b'A' * 8, shape=(4, )), 'data bytes'),
])
def test_crafted_numpy_payloads_are_refused(tmp_path, payload, reason):
    path = str(tmp_path / 'numpy.pth')
    torch.save({'message_hub': {'runtime_info': {'x': payload}}}, path)
    with pytest.raises(UnsafeCheckpointError, match=reason):
        safe_torch_load(path)


def test_loaded_arrays_are_plain_again_when_saved(tmp_path):
    """Arrays come back as SafeArray but re-save as ordinary ndarrays."""
    path, again = str(tmp_path / 'a.pth'), str(tmp_path / 'b.pth')
    torch.save({'x': np.arange(6, dtype=np.int64).reshape(2, 3)}, path)
    loaded = safe_torch_load(path)['x']
    assert isinstance(loaded, np.ndarray)
    np.testing.assert_array_equal(loaded, np.arange(6).reshape(2, 3))
    torch.save({'x': loaded, 'y': loaded[1:] * 2.0}, again)
    globals_written = torch.serialization.get_unsafe_globals_in_checkpoint(
        again)
    assert not any('SafeArray' in name for name in globals_written)
    assert 'numpy.ndarray' in globals_written
    np.testing.assert_array_equal(safe_torch_load(again)['y'],
                                  [[6.0, 8.0, 10.0]])


def test_checkpoint_cannot_change_history_buffer_statistics(tmp_path):
    path = str(tmp_path / 'stats.pth')
    buffer = HistoryBuffer()
    buffer.update(1.0)
    torch.save({'b': buffer}, path)
    before = dict(HistoryBuffer._statistics_methods)
    loaded = safe_torch_load(path)['b']
    assert loaded.mean() == 1.0
    assert HistoryBuffer._statistics_methods == before


def test_http_checkpoint_is_loaded_weights_only(tmp_path, monkeypatch):
    """torch.hub's loader defaults to weights_only=False; ours does not."""
    import mmengine.runner.checkpoint as ckpt_module
    path, marker = _crafted(tmp_path)

    def fake_load_url(url, model_dir=None, map_location=None, progress=True):
        # what torch.hub.load_state_dict_from_url does after downloading
        return torch.load(path, map_location=map_location, weights_only=False)

    monkeypatch.setattr(ckpt_module, 'load_url', fake_load_url)
    with pytest.raises(UnsafeCheckpointError, match='system'):
        _load_checkpoint('http://example.invalid/evil.pth')
    with pytest.raises(UnsafeCheckpointError, match='system'):
        _load_checkpoint('open-mmlab://resnet50_v1c')
    assert not osp.exists(marker)


# --- issue 11, item 8: the safety is local to the loading thread ----------


class _Plain:
    """A class torch.load(weights_only=False) builds, weights-only does not."""

    def __init__(self, value=3):
        self.value = value


class _WaitsWhileUnpickled:
    """Its BUILD signals ``entered`` and waits for ``release`` (a hook to
    hold a safe load in the middle of unpickling)."""

    entered = None
    release = None

    def __init__(self):
        self.value = 1  # a non-empty state, so that BUILD runs

    def __setstate__(self, state):
        self.__dict__.update(state)
        type(self).entered.set()
        assert type(self).release.wait(20)


def _run_in_thread(target):
    """Start ``target`` in a thread; return (thread, outcome dict)."""
    outcome = {}

    def run():
        try:
            outcome['value'] = target()
        except BaseException as error:  # noqa: B902 - reported to the test
            outcome['error'] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_other_threads_torch_load_is_untouched_during_a_scheme_load(
        tmp_path, monkeypatch):
    """While a CheckpointLoader scheme runs, another thread's
    torch.load(weights_only=False) gets exactly its own call."""

    plain = str(tmp_path / 'plain.pth')
    torch.save({'obj': _Plain(5)}, plain)
    ckpt = str(tmp_path / 'ckpt.pth')
    torch.save({'state_dict': {'w': torch.ones(2)}}, ckpt)
    entered, release = threading.Event(), threading.Event()

    def blocking_loader(filename, map_location=None):
        entered.set()
        assert release.wait(20)
        return torch.load(ckpt, map_location=map_location)

    monkeypatch.setattr(CheckpointLoader, '_schemes',
                        dict(CheckpointLoader._schemes))
    CheckpointLoader.register_scheme('blocking://', blocking_loader)
    install_safe_checkpoint_loader()  # wraps the new scheme too

    def other_thread():
        assert entered.wait(20)
        try:
            return torch.load(plain, weights_only=False)['obj'].value
        finally:
            release.set()

    thread, outcome = _run_in_thread(other_thread)
    loaded = _load_checkpoint('blocking://x', map_location='cpu')
    thread.join(20)
    assert outcome == {'value': 5}
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))


def test_allowlist_is_not_visible_to_other_threads(tmp_path):
    """Mid-unpickling of a safe load, another thread's weights-only load of
    a numpy file is still refused by torch (our globals are not its)."""
    path = str(tmp_path / 'held.pth')
    torch.save({'held': _WaitsWhileUnpickled()}, path)
    other = str(tmp_path / 'numpy.pth')
    torch.save({'x': np.arange(3)}, other)
    _WaitsWhileUnpickled.entered = threading.Event()
    _WaitsWhileUnpickled.release = threading.Event()

    def other_thread():
        assert _WaitsWhileUnpickled.entered.wait(20)
        try:
            return torch.load(other, weights_only=True)
        finally:
            _WaitsWhileUnpickled.release.set()

    thread, outcome = _run_in_thread(other_thread)
    with torch.serialization.safe_globals([_WaitsWhileUnpickled]):
        loaded = safe_torch_load(path)
    thread.join(20)
    assert isinstance(loaded['held'], _WaitsWhileUnpickled)
    assert isinstance(outcome.get('error'), pickle.UnpicklingError), outcome
    assert 'numpy' in str(outcome['error'])


def test_second_thread_plain_loads_never_fail_while_mmengine_loads(tmp_path):
    """The outside review's stress run: zero failures in the other thread."""
    plain = str(tmp_path / 'plain.pth')
    torch.save({'obj': _Plain(), 'tags': {'a', 'b'}}, plain)
    ckpt = str(tmp_path / 'iter_1.pth')
    buffer = HistoryBuffer()
    buffer.update(1.0)
    torch.save({'state_dict': {'w': torch.ones(1)},
                'message_hub': {'log_scalars': {'loss': buffer}}}, ckpt)
    done = threading.Event()
    counts = {'ok': 0, 'failed': 0}

    def other_thread():
        while not done.is_set():
            try:
                assert torch.load(plain, weights_only=False)['obj'].value == 3
                counts['ok'] += 1
            except Exception:
                counts['failed'] += 1

    thread, outcome = _run_in_thread(other_thread)
    try:
        for _ in range(150):
            loaded = CheckpointLoader.load_checkpoint(ckpt, 'cpu')
            assert loaded['message_hub']['log_scalars']['loss'].mean() == 1.0
    finally:
        done.set()
        thread.join(20)
    assert 'error' not in outcome, outcome
    assert counts['failed'] == 0, counts
    assert counts['ok'] > 0


def test_plain_torch_load_outside_a_safe_load_is_torchs_own(tmp_path):
    """The dispatcher hands calls outside a safe load to torch unchanged."""
    path = str(tmp_path / 'plain.pth')
    torch.save({'obj': _Plain(4)}, path)
    assert torch.load(path, weights_only=False)['obj'].value == 4
    with pytest.raises(pickle.UnpicklingError, match='Weights only'):
        torch.load(path)  # torch's default stays weights_only=True
    with pytest.raises(pickle.UnpicklingError) as info:
        torch.load(path, weights_only=True)
    assert not isinstance(info.value, UnsafeCheckpointError)


# --- issue 11, item 9: legitimate arrays that protocol 2 writes oddly -------


def test_empty_and_big_endian_arrays_load(tmp_path):
    empty_buffer = HistoryBuffer()
    big_scalar = np.frombuffer(np.array([7], '>i4').tobytes(), '>i4')[0]
    ckpt = {
        'empty': np.array([], dtype=np.float32),
        'empty_2d': np.zeros((0, 3), dtype='>f8'),
        'buffer': empty_buffer,
        'big': np.arange(3, dtype='>f4'),
        'big_scalar': big_scalar,
        'small': np.arange(2, dtype='|u1'),
    }
    path = str(tmp_path / 'iter_0.pth')
    torch.save(ckpt, path)
    # numpy's own unpickling (the reference) returns native byte order
    reference = torch.load(path, weights_only=False)
    for loaded in (safe_torch_load(path), _load_checkpoint(path, 'cpu')):
        for key in ('empty', 'empty_2d', 'big', 'small'):
            assert loaded[key].dtype == reference[key].dtype, key
            assert loaded[key].dtype == ckpt[key].dtype.newbyteorder('='), key
            assert loaded[key].shape == ckpt[key].shape, key
            np.testing.assert_array_equal(loaded[key], ckpt[key])
        assert loaded['big'].tolist() == [0.0, 1.0, 2.0]
        assert loaded['big_scalar'] == 7
        assert loaded['big_scalar'].dtype == big_scalar.dtype
        buffer = loaded['buffer']
        assert isinstance(buffer, HistoryBuffer)
        assert buffer.data[0].shape == (0, )
        buffer.update(2.0)
        assert buffer.mean() == 2.0


class _BytesOf:
    """Pickles as builtins.bytes(*args)."""

    def __init__(self, *args):
        self.args = args

    def __reduce__(self):
        return bytes, self.args


@pytest.mark.parametrize('payload,reason', [
    (_BytesOf(10**12), 'builtins.bytes'),  # a huge allocation
    (_BytesOf([1, 2]), 'builtins.bytes'),
    # big-endian order is allowed, other state changes still are not
    (_Array(_DType('f8', (3, '>', None, None, None, -1, -1, 1)), b'A' * 8),
     'non-standard state'),
    (_Array(_DType('f8', (3, '|', None, None, None, -1, -1, 0)), b'A' * 8),
     'non-standard state'),
])
def test_new_allowances_stay_narrow(tmp_path, payload, reason):
    path = str(tmp_path / 'narrow.pth')
    torch.save({'x': payload}, path)
    with pytest.raises(UnsafeCheckpointError, match=reason):
        safe_torch_load(path)


# --- issue 11, item 10: messages that say what the file is and why ---------


def test_png_renamed_pth_is_not_a_checkpoint(tmp_path):
    path = str(tmp_path / 'photo.pth')
    with open(path, 'wb') as file:
        file.write(b'\x89PNG\r\n\x1a\n' + b'\x00' * 64)
    for load in (safe_torch_load, _load_checkpoint):
        with pytest.raises(CorruptCheckpointError) as info:
            load(path)
        message = str(info.value)
        assert 'photo.pth' in message
        assert 'not a PyTorch checkpoint' in message
        assert 'Unsupported operand' in message  # torch's own reason
        assert 'could run code' not in message


def test_legacy_format_refusal_names_blocked_global(tmp_path):
    from tests.helpers import _RunsCommand
    marker = str(tmp_path / 'pwned')
    path = str(tmp_path / 'legacy.pth')
    torch.save({'meta': _RunsCommand(marker)}, path,
               _use_new_zipfile_serialization=False)
    for load in (safe_torch_load, _load_checkpoint):
        with pytest.raises(UnsafeCheckpointError) as info:
            load(path)
        message = str(info.value)
        assert f'{os.system.__module__}.system' in message
        assert 'legacy' in message and 'legacy.pth' in message
        assert not isinstance(info.value, CorruptCheckpointError)
    assert not osp.exists(marker)


@pytest.mark.parametrize('legacy', [False, True])
def test_truncated_checkpoint_names_file(tmp_path, legacy):
    path = str(tmp_path / 'iter_8.pth')
    torch.save({'state_dict': {'w': torch.arange(1000.)}}, path,
               _use_new_zipfile_serialization=not legacy)
    with open(path, 'rb') as file:
        data = file.read()
    with open(path, 'wb') as file:
        file.write(data[:len(data) // 2])
    for load in (safe_torch_load, _load_checkpoint):
        with pytest.raises(CorruptCheckpointError) as info:
            load(path)
        message = str(info.value)
        assert 'iter_8.pth' in message
        assert 'truncated or corrupt' in message
        assert 'another checkpoint' in message


class _Codecs:
    """Pickles as _codecs.encode(text, 'latin1') (torch allows it)."""

    def __init__(self, text):
        self.text = text

    def __reduce__(self):
        import codecs
        return codecs.encode, (self.text, 'latin1')


@pytest.mark.parametrize('shape', [
    (0, 2**63),  # numpy: ValueError('Maximum allowed dimension exceeded')
    (2**40, 2**40, 0),  # numpy: MemoryError
    (0, 2**62),  # numpy builds it: a 0-size array claiming 2**65 bytes
    (0, ) * 65,  # more dimensions than any checkpoint has
])
def test_malformed_array_shape_is_refused(tmp_path, shape):
    path = str(tmp_path / 'shape.pth')
    torch.save({'x': _Array(_DType('f8'), _Codecs(''), shape=shape)}, path)
    with pytest.raises(UnsafeCheckpointError, match='malformed shape'):
        safe_torch_load(path)


def test_real_torch_hub_loader_is_safe_in_its_thread_only(
        tmp_path, monkeypatch):
    """http(s):// through torch.hub.load_state_dict_from_url itself (which
    calls torch.load(weights_only=False)), served from a file:// URL."""
    import mmengine.runner.checkpoint as ckpt_module
    good = str(tmp_path / 'good.pth')
    buffer = HistoryBuffer()
    buffer.update(2.0)
    torch.save({'state_dict': {'w': torch.ones(2)},
                'message_hub': {'log_scalars': {'loss': buffer}}}, good)
    crafted, marker = _crafted(tmp_path)
    hub_dir = str(tmp_path / 'hub')

    def file_load_url(url, model_dir=None, map_location=None, progress=True):
        local = 'file://' + str(tmp_path / url.rsplit('/', 1)[-1])
        return torch.hub.load_state_dict_from_url(
            local, model_dir=hub_dir, map_location=map_location,
            progress=False)

    monkeypatch.setattr(ckpt_module, 'load_url', file_load_url)
    loaded = _load_checkpoint('https://example.invalid/good.pth', 'cpu')
    assert loaded['message_hub']['log_scalars']['loss'].mean() == 2.0
    with pytest.raises(UnsafeCheckpointError, match='system'):
        _load_checkpoint('https://example.invalid/crafted.pth', 'cpu')
    assert not osp.exists(marker)
    # outside a scheme load, torch.hub keeps its own weights_only=False
    plain = str(tmp_path / 'plain.pth')
    torch.save({'obj': _Plain(6)}, plain)
    assert torch.hub.load_state_dict_from_url(
        'file://' + plain, model_dir=hub_dir,
        progress=False)['obj'].value == 6
