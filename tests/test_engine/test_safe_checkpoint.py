"""Safe checkpoint loading: mmengine/mmseg files load, foreign globals don't."""
import os
import os.path as osp
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import (CheckpointLoader, _load_checkpoint,
                                        load_checkpoint)
from torch import nn

from mmseg_ext.engine import (SAFE_GLOBALS, UnsafeCheckpointError,
                              safe_torch_load)
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


def test_allowlist_names_exactly_mmengine_numpy_and_getattr():
    names = {
        obj[1] if isinstance(obj, tuple) else
        f'{obj.__module__}.{obj.__qualname__}'
        for obj in SAFE_GLOBALS
    }
    outside = {
        n for n in names
        if not n.startswith(('numpy.', 'mmengine.', 'mmseg_ext.'))
    }
    assert outside == {'builtins.getattr'}
    # the risky names are served by validating stand-ins, not the real thing
    served = {name: obj for obj, name in
              (o for o in SAFE_GLOBALS if isinstance(o, tuple))}
    assert served['builtins.getattr'] is not getattr
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
