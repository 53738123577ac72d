"""PascalPersonPartDataset on converted miniature data."""
import numpy as np
from mmengine.registry import init_default_scope

from mmseg_ext.datasets.converters.pascal_person_part import \
    convert_pascal_person_part
from mmseg_ext.registry import DATASETS
from tests.test_datasets.fake_releases import make_person_part_release


def _build(data_root, split, **kwargs):
    return DATASETS.build(
        dict(
            type='PascalPersonPartDataset',
            data_root=data_root,
            data_prefix=dict(
                img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}'),
            **kwargs))


def test_loads_converted_data(tmp_path):
    make_person_part_release(str(tmp_path / 'release'), train=3, val=1)
    out = str(tmp_path / 'out')
    convert_pascal_person_part(str(tmp_path / 'release'), out)
    init_default_scope('mmseg_ext')
    ds = _build(out, 'train', pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
    ])
    # ids 3..6 as the real masks show them (docs/datasets.md)
    assert ds.metainfo['classes'] == ('background', 'head', 'torso',
                                      'lower-arms', 'upper-arms',
                                      'lower-legs', 'upper-legs')
    assert len(ds.metainfo['palette']) == 7
    assert ds.reduce_zero_label is False
    assert len(ds) == 3
    label = ds[0]['gt_seg_map']
    assert label.shape == (16, 24)
    assert label[0, :8].tolist() == [0, 1, 2, 3, 4, 5, 6, 255]
    assert set(np.unique(label).tolist()) <= set(range(7)) | {255}
    sub = _build(out, 'val', metainfo=dict(classes=('background', 'head')))
    assert sub.metainfo['palette'] == [[0, 0, 0], [128, 0, 0]]
    assert len(sub) == 1
