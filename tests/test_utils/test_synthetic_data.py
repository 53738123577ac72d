"""The generated dataset: layout, labels, determinism, learnability."""
import os

import cv2
import numpy as np
import pytest

from mmseg_ext.utils import draw_sample, make_synthetic_dataset


def test_layout_and_label_values(tmp_path):
    written = make_synthetic_dataset(
        str(tmp_path), splits=dict(train=3, val=2), size=16, seed=1)
    assert written == dict(train=3, val=2)
    for split, count in written.items():
        images = sorted(os.listdir(tmp_path / 'img_dir' / split))
        labels = sorted(os.listdir(tmp_path / 'ann_dir' / split))
        assert images == labels and len(images) == count
        label = cv2.imread(str(tmp_path / 'ann_dir' / split / labels[0]),
                           cv2.IMREAD_UNCHANGED)
        image = cv2.imread(str(tmp_path / 'img_dir' / split / images[0]))
        assert label.shape == (16, 16) and image.shape == (16, 16, 3)
        assert set(np.unique(label)) <= {0, 1}


def test_same_seed_same_bytes(tmp_path):
    for sub in ('a', 'b'):
        make_synthetic_dataset(
            str(tmp_path / sub), splits=dict(train=2), size=16, seed=3)
    for name in ('img_dir/train/0001.png', 'ann_dir/train/0001.png'):
        assert (tmp_path / 'a' / name).read_bytes() == (tmp_path / 'b' /
                                                        name).read_bytes()


def test_classes_are_separable_by_colour():
    """A per-pixel nearest-colour rule already beats chance by far."""
    rng = np.random.default_rng(0)
    image, label = draw_sample(rng, 64)
    assert 0 < label.mean() < 1  # both classes present
    red = image[..., 2].astype(float)
    accuracy = ((red > 140) == (label == 1)).mean()
    assert accuracy > 0.9


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match='size=4'):
        make_synthetic_dataset(str(tmp_path), size=4)
    with pytest.raises(ValueError, match="splits\\['val'\\]=0"):
        make_synthetic_dataset(str(tmp_path), splits=dict(val=0))
