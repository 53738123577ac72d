"""atomic_torch_save: complete files only, never a truncated one."""
import pytest
import torch

from mmseg_ext.utils import atomic_save
from mmseg_ext.utils.safe_checkpoint import safe_torch_load


def test_saves_and_leaves_no_part_file(tmp_path):
    path = str(tmp_path / 'x.pth')
    atomic_save.atomic_torch_save({'state_dict': {'w': torch.ones(2)}}, path)
    assert torch.equal(safe_torch_load(path)['state_dict']['w'],
                       torch.ones(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ['x.pth']


def test_crash_mid_write_leaves_no_file(tmp_path, monkeypatch):
    path = tmp_path / 'x.pth'
    path.write_bytes(b'previous complete file')

    def dies_half_way(obj, f):
        with open(f, 'wb') as out:
            out.write(b'truncat')
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic_save.torch, 'save', dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        atomic_save.atomic_torch_save({'w': 1}, str(path))
    assert path.read_bytes() == b'previous complete file'
