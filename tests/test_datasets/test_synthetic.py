"""The generated drone-like dataset: layout, flavours, determinism, and
that per-pixel colour alone does not solve it."""
import os

import cv2
import numpy as np
import pytest

from mmseg_ext.datasets.synthetic import (SYNTHETIC_FLAVOURS, draw_sample,
                                          draw_scene, make_synthetic_dataset)


def _read(path):
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


@pytest.mark.parametrize('flavour', ['binary', 'multiclass'])
def test_layout_and_label_set(tmp_path, flavour):
    written = make_synthetic_dataset(
        str(tmp_path), splits=dict(train=6, val=2), size=64, seed=1,
        flavour=flavour)
    assert written == dict(train=6, val=2)
    seen = set()
    for split, count in written.items():
        images = sorted(os.listdir(tmp_path / 'img_dir' / split))
        labels = sorted(os.listdir(tmp_path / 'ann_dir' / split))
        assert images == labels and len(images) == count
        for name in labels:
            label = _read(tmp_path / 'ann_dir' / split / name)
            image = _read(tmp_path / 'img_dir' / split / name)
            assert label.shape == (64, 64) and label.dtype == np.uint8
            assert image.shape == (64, 64, 3)
            seen |= set(np.unique(label).tolist())
    # every class of the flavour occurs in 8 images, and nothing else
    assert seen == set(range(len(SYNTHETIC_FLAVOURS[flavour]['classes'])))


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    for sub, seed in (('a', 3), ('b', 3), ('c', 4)):
        make_synthetic_dataset(
            str(tmp_path / sub), splits=dict(train=2, val=1), size=32,
            seed=seed)
    names = [f'{kind}/{split}/{index:04d}.png' for kind in ('img_dir',
                                                             'ann_dir')
             for split, count in (('train', 2), ('val', 1))
             for index in range(count)]
    for name in names:
        assert (tmp_path / 'a' / name).read_bytes() == (tmp_path / 'b' /
                                                        name).read_bytes()
    assert all((tmp_path / 'a' / name).read_bytes() != (tmp_path / 'c' /
                                                        name).read_bytes()
               for name in names if name.startswith('img_dir'))


def test_flavours_share_images_and_agree(tmp_path):
    """One seed, two flavours: the same images; ground and low vegetation
    are background, water, structure and dynamic are obstacles."""
    roots = {f: tmp_path / f for f in SYNTHETIC_FLAVOURS}
    for flavour, root in roots.items():
        make_synthetic_dataset(
            str(root), splits=dict(train=3), size=48, seed=5,
            flavour=flavour)
    for index in range(3):
        name = f'train/{index:04d}.png'
        assert (roots['binary'] / 'img_dir' / name).read_bytes() == (
            roots['multiclass'] / 'img_dir' / name).read_bytes()
        binary = _read(roots['binary'] / 'ann_dir' / name)
        multi = _read(roots['multiclass'] / 'ann_dir' / name)
        assert (binary[multi == 0] == 0).all()  # ground
        assert (binary[multi >= 2] == 1).all()  # water, structure, dynamic
        # vegetation: low vegetation and grass are background, trees not
        assert (binary == 1).sum() >= (multi >= 2).sum()


def test_per_pixel_colour_is_not_enough():
    """The best rule from a pixel's quantised colour to a class, fitted on
    the very images it is scored on, stays far from a good mIoU: texture,
    shape and context are needed."""
    rng = np.random.default_rng(0)
    samples = [draw_sample(rng, 64) for _ in range(24)]
    bins = np.concatenate([(img // 32).astype(int) @ [64, 8, 1]
                           for img, _ in samples]).ravel()
    labels = np.concatenate([label for _, label in samples]).ravel()
    counts = np.zeros((512, 2))
    np.add.at(counts, (bins, labels), 1)
    pred = counts.argmax(1)[bins]
    ious = [((pred == c) & (labels == c)).sum() /
            ((pred == c) | (labels == c)).sum() for c in (0, 1)]
    assert 0.05 < labels.mean() < 0.5  # obstacles: a minority, not rare
    assert np.mean(ious) < 0.7, ious


def test_scene_scales_with_size():
    """The seed fixes the scene; the size only sets its resolution."""
    small = draw_scene(np.random.default_rng(2), 64)[1]
    large = draw_scene(np.random.default_rng(2), 128)[1]
    shrunk = cv2.resize(large, (64, 64), interpolation=cv2.INTER_NEAREST)
    assert (small == shrunk).mean() > 0.9


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match='size=4'):
        make_synthetic_dataset(str(tmp_path), size=4)
    with pytest.raises(ValueError, match="splits\\['val'\\]=0"):
        make_synthetic_dataset(str(tmp_path), splits=dict(val=0))
    with pytest.raises(ValueError, match="flavour='rgb'.*binary"):
        make_synthetic_dataset(str(tmp_path), flavour='rgb')
