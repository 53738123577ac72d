"""RandomRotateZoom: the zoom hides every corner, and no more than needed."""
import math

import cv2
import mmcv
import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmseg_ext.datasets.transforms import RandomRotateZoom, corner_free_zoom
from mmseg_ext.datasets.transforms import random_rotate_zoom as rrz
from mmseg_ext.registry import TRANSFORMS

SIZES = [(24, 16), (64, 48), (33, 77), (200, 100), (50, 50)]
ANGLES = [-30, -17.3, 0.5, 12, 30, 45]


def _fixed(angle, **kwargs):
    t = RandomRotateZoom(prob=1., **kwargs)
    t.generate_degree = lambda: (True, angle)
    return t


def _inner(a):
    return a[1:-1, 1:-1]


def test_corner_free_zoom_values():
    assert corner_free_zoom(24, 16, 0) == 1
    # a square rotated by 45 degrees needs sqrt(2)
    assert corner_free_zoom(51, 51, 45) == pytest.approx(math.sqrt(2))
    # w = 23, h = 15 between pixel centres, 30 degrees
    c, s = math.cos(math.pi / 6), 0.5
    assert corner_free_zoom(24, 16, -30) == pytest.approx(
        max(c + 15 / 23 * s, 23 / 15 * s + c))


@pytest.mark.parametrize('size', SIZES)
@pytest.mark.parametrize('angle', ANGLES)
def test_no_padding_left(size, angle):
    width, height = size
    image = np.full((height, width, 3), 255, np.uint8)
    mask = np.ones((height, width), np.uint8)
    results = _fixed(angle).transform(
        dict(img=image, gt_seg_map=mask, seg_fields=['gt_seg_map']))
    assert results['img'].shape == image.shape
    assert results['gt_seg_map'].shape == mask.shape
    # bilinear never mixes in the black padding (a 1-px border may round)
    assert (_inner(results['img']) >= 128).all()
    assert (_inner(results['gt_seg_map']) == 1).all()
    assert results['rotate_angle'] == angle
    assert results['rotate_zoom'] == corner_free_zoom(width, height, angle)


@pytest.mark.parametrize('size', SIZES)
@pytest.mark.parametrize('angle', ANGLES)
def test_zoom_is_the_smallest(size, angle):
    """Output corners map inside the source, one exactly onto its edge."""
    width, height = size
    zoom = corner_free_zoom(width, height, angle)
    # the warp mmcv.imrotate applies (output -> source is its inverse)
    centre = ((width - 1) * 0.5, (height - 1) * 0.5)
    inverse = cv2.invertAffineTransform(
        cv2.getRotationMatrix2D(centre, -angle, zoom))
    corners = np.array([[0, 0, 1], [width - 1, 0, 1], [0, height - 1, 1],
                        [width - 1, height - 1, 1]], float)
    x, y = (inverse @ corners.T)
    eps = 1e-9
    assert (x >= -eps).all() and (x <= width - 1 + eps).all()
    assert (y >= -eps).all() and (y <= height - 1 + eps).all()
    gap = np.concatenate([x, width - 1 - x, y, height - 1 - y])
    assert gap.min() == pytest.approx(0, abs=1e-6)


def test_less_zoom_shows_corners():
    image = np.full((300, 500), 255, np.uint8)
    zoom = corner_free_zoom(500, 300, 30)
    less = mmcv.imrotate(image, 30, scale=zoom * 0.97, border_value=0)
    assert (_inner(less) < 128).sum() > 20


def test_masks_keep_source_ids():
    rng = np.random.default_rng(0)
    ids = np.array([0, 3, 7, 19], np.uint8)
    mask = ids[rng.integers(0, 4, (40, 60))]
    image = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    results = _fixed(25).transform(
        dict(img=image, gt_seg_map=mask, seg_fields=['gt_seg_map']))
    assert set(np.unique(results['gt_seg_map'])) <= {0, 3, 7, 19, 255}


def test_empty_area_gets_pad_values(monkeypatch):
    # without its zoom the rotation leaves the corners empty
    monkeypatch.setattr(rrz, 'corner_free_zoom', lambda *args: 1.0)
    image = np.full((40, 60, 3), 200, np.uint8)
    mask = np.full((40, 60), 3, np.uint8)
    results = _fixed(25, pad_val=9, seg_pad_val=77).transform(
        dict(img=image, gt_seg_map=mask, seg_fields=['gt_seg_map']))
    assert results['gt_seg_map'][0, 0] == 77
    assert (results['img'][0, 0] == 9).all()
    assert set(np.unique(results['gt_seg_map'])) == {3, 77}


def test_prob_zero_is_identity():
    image = np.arange(16 * 24 * 3, dtype=np.uint8).reshape(16, 24, 3)
    mask = np.arange(16 * 24, dtype=np.uint8).reshape(16, 24)
    t = RandomRotateZoom(prob=0.)
    for _ in range(20):
        results = t(dict(img=image.copy(), gt_seg_map=mask.copy(),
                         seg_fields=['gt_seg_map']))
        np.testing.assert_array_equal(results['img'], image)
        np.testing.assert_array_equal(results['gt_seg_map'], mask)
        assert results['rotate_angle'] == 0 and results['rotate_zoom'] == 1


def test_angle_distribution_and_probability():
    np.random.seed(0)
    t = RandomRotateZoom(prob=0.5, max_angle=30)
    draws = [t.generate_degree() for _ in range(4000)]
    angles = np.array([a for _, a in draws])
    applied = np.array([r for r, _ in draws])
    assert angles.min() >= -30 and angles.max() <= 30
    assert angles.min() < -29 and angles.max() > 29
    # uniform: each sixth of the range holds about 1/6 of the draws
    counts, _ = np.histogram(angles, bins=6, range=(-30, 30))
    assert (abs(counts / len(angles) - 1 / 6) < 0.03).all()
    assert abs(applied.mean() - 0.5) < 0.03


def test_registry_and_repr():
    init_default_scope('mmseg_ext')
    t = TRANSFORMS.build(dict(type='RandomRotateZoom', prob=1., max_angle=10))
    assert isinstance(t, RandomRotateZoom)
    assert repr(t) == ('RandomRotateZoom(prob=1.0, max_angle=10, pad_val=0, '
                       "seg_pad_val=255, interpolation='bilinear')")
