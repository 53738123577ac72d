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


class _RunsCommand:
    """Unpickling this object would run a shell command."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def _crafted(tmp_path) -> tuple:
    marker = str(tmp_path / 'pwned')
    path = str(tmp_path / 'crafted.pth')
    torch.save({'state_dict': {'w': torch.ones(1)},
                'meta': _RunsCommand(marker)}, path)
    assert not osp.exists(marker)  # saving did not run it
    return path, marker


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


def test_allowlist_is_exactly_mmengine_numpy_and_restricted_getattr():
    plain = [obj for obj in SAFE_GLOBALS if not isinstance(obj, tuple)]
    renamed = [obj for obj in SAFE_GLOBALS if isinstance(obj, tuple)]
    assert {obj.__module__.split('.')[0] for obj in plain} <= {
        'mmengine', 'numpy'
    }
    assert [name for _, name in renamed] == ['builtins.getattr']
    assert renamed[0][0] is not getattr


class _GetattrEscape:
    """Pickles as getattr(HistoryBuffer, '__init__'): a step to __globals__."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


def test_getattr_is_restricted_to_history_buffer_statistics(tmp_path):
    path = str(tmp_path / 'escape.pth')
    torch.save({'meta': _GetattrEscape()}, path)
    with pytest.raises(UnsafeCheckpointError, match="'__init__'"):
        safe_torch_load(path)
