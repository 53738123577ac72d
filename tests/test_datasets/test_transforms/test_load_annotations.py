"""LoadAnnotations: bad masks stop with an error that names the file."""
import os.path as osp
import warnings

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import ConcatDataset, RepeatDataset
from mmengine.registry import init_default_scope
from mmseg.datasets.transforms import LoadAnnotations as MMSegLoadAnnotations
from mmseg.registry import TRANSFORMS as MMSEG_TRANSFORMS
from PIL import Image

from mmseg_ext.datasets.transforms import (BadAnnotationError, LoadAnnotations,
                                           bad_label_counts, bind_label_checks)
from mmseg_ext.registry import DATASETS, TRANSFORMS

BINARY = dict(
    classes=('background', 'obstacle'), palette=[[0, 0, 0], [255, 0, 0]])


def _png(path, array):
    Image.fromarray(np.asarray(array, np.uint8)).save(path)
    return str(path)


def _mask(tmp_path, array, name='m.png'):
    return _png(tmp_path / name, array)


def _results(seg_map_path, ori_shape=None, **extra):
    results = dict(
        seg_map_path=seg_map_path,
        seg_fields=[],
        reduce_zero_label=False,
        label_map=None)
    results.update(extra)
    if ori_shape is not None:
        results.update(
            img_path='photo.jpg', ori_shape=ori_shape, img_shape=ori_shape)
    return results


def _mask_4x6(values=(0, 1, 255)):
    """4x6 mask: rows of 0 and 1, the last row the other values."""
    mask = np.zeros((4, 6), np.uint8)
    mask[1] = 1
    mask[3, :len(values)] = values
    return mask


# ----------------------------------------------------------------------
# the three checks


def test_value_outside_classes_names_file_value_and_count(tmp_path):
    mask = _mask_4x6()
    mask[2, :3] = 7  # 3 pixels of 7, 1 of 9
    mask[2, 5] = 9
    path = _mask(tmp_path, mask)
    t = LoadAnnotations(num_classes=2)
    with pytest.raises(BadAnnotationError) as err:
        t(_results(path, (4, 6)))
    msg = str(err.value)
    assert path in msg
    assert '7 (3 pixels), 9 (1 pixel)' in msg
    assert 'the 2 classes (0..1)' in msg and 'ignore index 255' in msg
    assert 'check_labels=False' in msg


def test_valid_labels_and_ignore_index_pass(tmp_path):
    mask = _mask_4x6((0, 1, 255))
    path = _mask(tmp_path, mask)
    results = LoadAnnotations(num_classes=2)(_results(path, (4, 6)))
    np.testing.assert_array_equal(results['gt_seg_map'], mask)
    assert results['seg_fields'] == ['gt_seg_map']


def test_other_ignore_index(tmp_path):
    mask = _mask_4x6((0, 1, 9))
    path = _mask(tmp_path, mask)
    LoadAnnotations(num_classes=2, ignore_index=9)(_results(path, (4, 6)))
    with pytest.raises(BadAnnotationError, match=r'9 \(1 pixel\)'):
        LoadAnnotations(num_classes=2)(_results(path, (4, 6)))


def test_truncated_png_names_file(tmp_path):
    rng = np.random.default_rng(0)
    full = _mask(tmp_path, rng.integers(0, 2, (64, 64)), 'full.png')
    with open(full, 'rb') as f:
        data = f.read()
    path = str(tmp_path / 'cut.png')
    with open(path, 'wb') as f:
        f.write(data[:len(data) * 6 // 10])
    with pytest.raises(BadAnnotationError) as err:
        LoadAnnotations(num_classes=2)(_results(path, (64, 64)))
    assert path in str(err.value) and 'decode' in str(err.value)


def test_not_an_image_names_file(tmp_path):
    path = str(tmp_path / 'm.png')
    with open(path, 'wb') as f:
        f.write(b'not a png at all')
    with pytest.raises(BadAnnotationError, match=osp.basename(path)):
        LoadAnnotations(num_classes=2)(_results(path, (4, 6)))


def test_colour_mask_is_refused(tmp_path):
    path = _png(tmp_path / 'c.png', np.zeros((4, 6, 3)))
    with pytest.raises(BadAnnotationError) as err:
        LoadAnnotations(num_classes=2)(_results(path, (4, 6)))
    assert path in str(err.value) and 'colour mask' in str(err.value)
    assert '(4, 6, 3)' in str(err.value)


def test_mask_smaller_than_image_names_both(tmp_path):
    path = _mask(tmp_path, np.zeros((3, 5)))
    with pytest.raises(BadAnnotationError) as err:
        LoadAnnotations(num_classes=2)(_results(path, (4, 6)))
    msg = str(err.value)
    assert path in msg and 'photo.jpg' in msg
    assert 'is 3x5 (HxW)' in msg and 'is 4x6' in msg


def test_transposed_mask_gets_exif_hint(tmp_path):
    path = _mask(tmp_path, np.zeros((6, 4)))
    with pytest.raises(BadAnnotationError, match='EXIF'):
        LoadAnnotations()(_results(path, (4, 6)))


def test_shape_check_uses_ori_shape_after_resize(tmp_path):
    """mmseg's test pipelines resize the image before loading the mask."""
    path = _mask(tmp_path, _mask_4x6())
    results = _results(path, (4, 6))
    results['img_shape'] = (8, 12)  # what Resize leaves
    LoadAnnotations(num_classes=2)(results)


def test_no_image_loaded_skips_shape_check(tmp_path):
    path = _mask(tmp_path, _mask_4x6())
    results = LoadAnnotations(num_classes=2)(_results(path))
    assert results['gt_seg_map'].shape == (4, 6)


def test_labels_checked_after_reduce_zero_label(tmp_path):
    # 0 -> 255, 1 -> 0, 2 -> 1, 3 -> 2 (bad with 2 classes)
    mask = np.array([[0, 1, 2, 3]], np.uint8).repeat(2, 0)
    path = _mask(tmp_path, mask)
    results = _results(path, (2, 4), reduce_zero_label=True)
    with pytest.raises(BadAnnotationError) as err:
        LoadAnnotations(num_classes=2)(results)
    assert '2 (2 pixels)' in str(err.value)
    assert 'after reduce_zero_label' in str(err.value)
    results = _results(path, (2, 4), reduce_zero_label=True)
    out = LoadAnnotations(num_classes=3)(results)['gt_seg_map']
    np.testing.assert_array_equal(out[0], [255, 0, 1, 2])


def test_labels_checked_after_label_map(tmp_path):
    # the dataset kept class 1 of 3 and maps the others to 255
    mask = np.array([[0, 1, 2]], np.uint8).repeat(2, 0)
    path = _mask(tmp_path, mask)
    label_map = {0: 255, 1: 0, 2: 255}
    out = LoadAnnotations(num_classes=1)(_results(
        path, (2, 3), label_map=label_map))['gt_seg_map']
    np.testing.assert_array_equal(out, [[255, 0, 255]] * 2)
    incomplete = {0: 255, 1: 0}  # 2 is left as it is
    with pytest.raises(BadAnnotationError, match='label_map: 2 \\(2 pix'):
        LoadAnnotations(num_classes=1)(
            _results(path, (2, 3), label_map=incomplete))


def test_check_labels_false_is_mmseg(tmp_path):
    mask = _mask_4x6((0, 1, 7))
    path = _mask(tmp_path, mask)
    ours = LoadAnnotations(
        check_labels=False, num_classes=2)(
            _results(path, (5, 5)))
    theirs = MMSegLoadAnnotations()(_results(path, (5, 5)))
    np.testing.assert_array_equal(ours['gt_seg_map'], theirs['gt_seg_map'])
    np.testing.assert_array_equal(ours['gt_seg_map'], mask)


def test_unknown_num_classes_warns_once_and_checks_the_rest(tmp_path):
    path = _mask(tmp_path, _mask_4x6((0, 1, 7)))
    t = LoadAnnotations()
    with pytest.warns(UserWarning, match='bind_label_checks'):
        t(_results(path, (4, 6)))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        t(_results(path, (4, 6)))  # no second warning
    with pytest.raises(BadAnnotationError, match='is 4x6'):
        t(_results(path, (4, 5)))


def test_num_classes_must_be_positive():
    with pytest.raises(ValueError, match='num_classes'):
        LoadAnnotations(num_classes=0)


def test_bad_label_counts_by_hand():
    gt = np.array([[0, 1, 2, 2], [255, 3, 254, 0]], np.uint8)
    assert bad_label_counts(gt, 2, 255) == [(2, 2), (3, 1), (254, 1)]
    assert bad_label_counts(gt, 4, 254) == [(255, 1)]
    assert bad_label_counts(gt.astype(np.int32) - 1, 2, -1) == [(2, 1),
                                                                (253, 1),
                                                                (254, 1)]
    assert bad_label_counts(gt, 256, 255) == []
    # the fast path of clean uint8 masks, at its edges
    clean = np.array([[0, 1, 255], [1, 0, 255]], np.uint8)
    assert bad_label_counts(clean, 2, 255) == []
    assert bad_label_counts(clean, 1, 255) == [(1, 2)]
    assert bad_label_counts(clean, 2, 1) == [(255, 2)]
    top = np.array([[0, 254, 255]], np.uint8)
    assert bad_label_counts(top, 255, 255) == []
    assert bad_label_counts(top, 254, 255) == [(254, 1)]


# ----------------------------------------------------------------------
# registry and datasets


def test_registry_scope():
    init_default_scope('mmseg_ext')
    assert type(TRANSFORMS.build(dict(type='LoadAnnotations'))) is \
        LoadAnnotations
    assert type(TRANSFORMS.build(dict(type='mmseg.LoadAnnotations'))) is \
        MMSegLoadAnnotations
    assert MMSEG_TRANSFORMS.get('LoadAnnotations') is MMSegLoadAnnotations


def _tiny_dataset(root, bad=None, size=(4, 6), metainfo=BINARY, **kwargs):
    """3 image/mask pairs; ``bad`` maps an index to a mask array."""
    for sub in ('img', 'ann'):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i in range(3):
        _png(root / 'img' / f'{i}.png', np.full((*size, 3), 50 * i))
        mask = (bad or {}).get(i, _mask_4x6()[:size[0], :size[1]])
        _png(root / 'ann' / f'{i}.png', mask)
    init_default_scope('mmseg_ext')
    return DATASETS.build(
        dict(
            type='BaseSegDataset',
            data_root=str(root),
            metainfo=metainfo,
            img_suffix='.png',
            seg_map_suffix='.png',
            data_prefix=dict(img_path='img', seg_map_path='ann'),
            pipeline=kwargs.pop('pipeline', [
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations'),
                dict(type='PackSegInputs')
            ]),
            **kwargs))


def test_end_to_end_bad_mask_raises_at_its_index(tmp_path):
    ds = _tiny_dataset(tmp_path, bad={1: _mask_4x6((0, 1, 7))})
    assert bind_label_checks(ds) == 1
    ds[0]
    ds[2]
    with pytest.raises(BadAnnotationError) as err:
        ds[1]
    assert osp.join(str(tmp_path), 'ann', '1.png') in str(err.value)
    assert '7 (1 pixel)' in str(err.value)


def test_end_to_end_mask_smaller_than_image(tmp_path):
    ds = _tiny_dataset(tmp_path, bad={2: np.zeros((4, 5))})
    bind_label_checks(ds)
    with pytest.raises(BadAnnotationError) as err:
        ds[2]
    assert osp.join(str(tmp_path), 'img', '2.png') in str(err.value)
    assert 'is 4x5 (HxW)' in str(err.value)


def test_bind_label_checks_wrappers_and_test_time_aug(tmp_path):
    binary = _tiny_dataset(tmp_path / 'a')
    five = _tiny_dataset(
        tmp_path / 'b',
        metainfo=dict(classes=tuple('abcde'), palette=[[0, 0, 0]] * 5),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(
                type='TestTimeAug',
                transforms=[[dict(type='Resize', scale_factor=1.0)],
                            [dict(type='LoadAnnotations')],
                            [dict(type='PackSegInputs')]])
        ])
    explicit = _tiny_dataset(
        tmp_path / 'c',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', num_classes=9, ignore_index=0)
        ])
    ds = ConcatDataset([binary, five, explicit],
                       ignore_keys=['classes', 'palette'])
    assert bind_label_checks(ds) == 2
    assert binary.pipeline.transforms[1].num_classes == 2
    assert binary.pipeline.transforms[1].ignore_index == 255
    tta_load = five.pipeline.transforms[1].subroutines[0].transforms[1]
    assert isinstance(tta_load, LoadAnnotations)
    assert tta_load.num_classes == 5
    assert explicit.pipeline.transforms[1].num_classes == 9
    assert explicit.pipeline.transforms[1].ignore_index == 0
    assert bind_label_checks(ds) == 0  # nothing left to bind
    repeated = RepeatDataset(_tiny_dataset(tmp_path / 'd'), times=2)
    assert bind_label_checks(repeated) == 1
    assert repeated.dataset.pipeline.transforms[1].num_classes == 2


@pytest.mark.parametrize('config', [
    'cityscapes.py', 'cityscapes_1024x1024.py', 'semantic_drone_binary.py',
    'semantic_drone_multiclass_384x256.py', 'pascal_person_part.py',
    'synthetic_5cls.py'
])
def test_config_pipelines_build_the_checked_transform(config):
    """Cityscapes' mmseg-scoped dataset dicts included."""
    root = osp.dirname(osp.dirname(osp.dirname(osp.dirname(__file__))))
    cfg = Config.fromfile(
        osp.join(root, 'configs', '_base_', 'datasets', config))
    init_default_scope('mmseg_ext')
    for split in ('train', 'val', 'test'):
        dataset_cfg = dict(cfg[f'{split}_dataloader']['dataset'])
        ds = DATASETS.build(dict(dataset_cfg, lazy_init=True))
        loads = [
            t for t in ds.pipeline.transforms
            if isinstance(t, MMSegLoadAnnotations)
        ]
        assert len(loads) == 1 and type(loads[0]) is LoadAnnotations
        assert loads[0].check_labels
        bind_label_checks(ds)
        assert loads[0].num_classes == len(ds.metainfo['classes'])
