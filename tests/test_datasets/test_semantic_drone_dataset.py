"""SemanticDroneDataset on converted miniature data, through the registry."""
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmseg_ext.datasets.converters.semantic_drone import \
    convert_semantic_drone
from mmseg_ext.registry import DATASETS
from tests.test_datasets.fake_releases import make_drone_release


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('drone'))
    make_drone_release(osp.join(root, 'release'), num=6)
    convert_semantic_drone(
        osp.join(root, 'release'), osp.join(root, 'out'), test_count=1)
    return osp.join(root, 'out')


def _build(data_root, split='train', extra=(), **kwargs):
    init_default_scope('mmseg_ext')
    return DATASETS.build(
        dict(
            type='SemanticDroneDataset',
            data_root=data_root,
            data_prefix=dict(
                img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}'),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations'), *extra
            ],
            **kwargs))


@pytest.mark.parametrize('flavour,classes', [
    ('binary', ('background', 'obstacle')),
    ('multiclass',
     ('ground', 'vegetation', 'water', 'structure', 'dynamic')),
])
def test_flavours_load(converted, flavour, classes):
    ds = _build(osp.join(converted, flavour), flavour=flavour)
    assert ds.metainfo['classes'] == classes
    assert len(ds.metainfo['palette']) == len(classes)
    assert ds.metainfo['label_map'] is None
    assert ds.reduce_zero_label is False and ds.ignore_index == 255
    assert len(ds) == 4  # 6 photos: 1 test, round(1.0) = 1 val, 4 train
    sample = ds[0]
    assert sample['img'].shape == (16, 24, 3)
    values = set(np.unique(sample['gt_seg_map']).tolist())
    assert values <= set(range(len(classes))) | {255}
    assert 255 in values  # row 0 holds 'unlabeled' and 'conflicting'


def test_pipeline_with_random_rotate_zoom(converted):
    # resolved by name inside the dataset's pipeline, in the mmseg_ext scope
    ds = _build(osp.join(converted, 'binary'),
                extra=[dict(type='RandomRotateZoom', prob=1.)])
    sample = ds[0]
    assert sample['img'].shape == (16, 24, 3)
    assert sample['rotate_zoom'] > 1
    assert set(np.unique(sample['gt_seg_map'])) <= {0, 1, 255}


def test_metainfo_override_subset_and_palette(converted):
    root = osp.join(converted, 'multiclass')
    ds = _build(root, flavour='multiclass',
                metainfo=dict(classes=('water', 'ground')))
    assert ds.metainfo['classes'] == ('water', 'ground')
    assert ds.metainfo['palette'] == [[28, 42, 168], [128, 64, 128]]
    assert ds.label_map == {0: 1, 1: 255, 2: 0, 3: 255, 4: 255}
    values = set(np.unique(ds[0]['gt_seg_map']).tolist())
    assert values <= {0, 1, 255}
    ds = _build(osp.join(converted, 'binary'),
                metainfo=dict(palette=[[1, 2, 3], [4, 5, 6]]))
    assert ds.metainfo['classes'] == ('background', 'obstacle')
    assert ds.metainfo['palette'] == [[1, 2, 3], [4, 5, 6]]
    with pytest.raises(ValueError, match='not a subset'):
        _build(root, flavour='multiclass', metainfo=dict(classes=('sky', )))


def test_recorded_id_map_is_checked(converted, tmp_path):
    root = osp.join(converted, 'binary')
    with pytest.raises(ValueError, match='another id map'):
        _build(root, id_map_overrides={'water': 'background'})
    with pytest.raises(ValueError, match="records flavour 'binary'"):
        _build(root, flavour='multiclass')
    with pytest.raises(ValueError, match='Unknown Semantic Drone flavour'):
        _build(root, flavour='5cls')
    # the converter's own overrides are accepted
    record = json.load(open(osp.join(root, 'id_map.json')))
    record['class_map']['water'] = 'background'
    with open(osp.join(tmp_path, 'id_map.json'), 'w') as f:
        json.dump(record, f)
    ds = _build(str(tmp_path), id_map_overrides={'5': 0}, lazy_init=True)
    assert ds.class_map['water'] == 'background'
