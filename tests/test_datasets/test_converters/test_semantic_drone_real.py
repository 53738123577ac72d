"""Semantic Drone converter on real files of the Semantic Drone Dataset.

The 400 labelled photos (1500x1000 copy, ``../shared/data/
semantic_drone_1500x1000`` beside the repository, see its README) exist on
the development machine only: a user's clone has no ``../shared``, and the
tests skip there. Six real photos are converted (through symlinks, nothing
is copied) with the CPU recipes' ``--size 384 256``; the split is checked on
the names of all 400.
"""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from PIL import Image

from mmseg_ext.cli.convert_semantic_drone import main
from mmseg_ext.datasets.converters.semantic_drone import split_drone_names
from mmseg_ext.datasets.semantic_drone_classes import drone_id_map
from tests.helpers import REPO

REAL_ROOT = osp.normpath(
    osp.join(REPO, os.pardir, 'shared', 'data', 'semantic_drone_1500x1000'))
IMAGE_DIR, LABEL_DIR = 'original_images', 'label_images_semantic'
SPLITS = ('train', 'val', 'test')
SIZE = (384, 256)  # (W, H), as configs/_base_/datasets/*_384x256.py
#: Positions in the sorted listing of the photos converted here: spread
#: out, so their names are far from consecutive.
PICKS = (0, 7, 101, 202, 333, 399)
#: 6 photos: 2 test (evenly spaced: the 2nd and 5th), 4 left -> 1 val, 3 train
TEST_COUNT, VAL_RATIO = 2, 0.25
FLAVOUR_IDS = {'binary': {0, 1, 255}, 'multiclass': {0, 1, 2, 3, 4, 255}}


def _stems(folder, suffix):
    return sorted(f[:-len(suffix)] for f in os.listdir(folder)
                  if f.endswith(suffix))


@pytest.fixture(scope='module')
def real_names():
    """The names of the 400 real photos (their masks checked to pair)."""
    if not osp.isdir(osp.join(REAL_ROOT, IMAGE_DIR)):
        pytest.skip(f'real Semantic Drone Dataset not found at {REAL_ROOT} '
                    '(it lives in ../shared/data on the development machine '
                    "only; a user's clone has no ../shared)")
    names = _stems(osp.join(REAL_ROOT, IMAGE_DIR), '.jpg')
    assert _stems(osp.join(REAL_ROOT, LABEL_DIR), '.png') == names
    return names


@pytest.fixture(scope='module')
def converted(real_names, tmp_path_factory):
    """Six real pairs symlinked into a release, converted at 384x256."""
    picked = [real_names[i] for i in PICKS]
    release = tmp_path_factory.mktemp('real_drone_release')
    for folder, suffix in ((IMAGE_DIR, '.jpg'), (LABEL_DIR, '.png')):
        os.makedirs(release / folder)
        for name in picked:
            os.symlink(
                osp.join(REAL_ROOT, folder, name + suffix),
                release / folder / (name + suffix))
    out = str(tmp_path_factory.mktemp('real_drone_out'))
    counts = main([
        str(release), out, '--size',
        str(SIZE[0]),
        str(SIZE[1]), '--test-count',
        str(TEST_COUNT), '--val-ratio',
        str(VAL_RATIO)
    ])
    return picked, out, counts


def _split_of(root):
    """Split -> output names, from img_dir, checked against ann_dir."""
    splits = {}
    for split in SPLITS:
        imgs = _stems(osp.join(root, 'img_dir', split), '.jpg')
        assert _stems(osp.join(root, 'ann_dir', split), '.png') == imgs
        splits[split] = imgs
    return splits


def test_picked_names_have_gaps(converted):
    picked, _, _ = converted
    numbers = [int(name) for name in picked]
    assert all(b - a > 1 for a, b in zip(numbers, numbers[1:])), picked


def test_split_counts_and_files(converted):
    picked, out, counts = converted
    assert counts == dict(train=3, val=1, test=2)
    ordered = sorted(picked)
    for flavour in FLAVOUR_IDS:
        root = osp.join(out, flavour)
        splits = _split_of(root)
        assert {k: len(v) for k, v in splits.items()} == counts
        # the fixed test photos: evenly spaced over the sorted names
        assert splits['test'] == [ordered[1], ordered[4]]
        assert sorted(sum(splits.values(), [])) == ordered
        for split in SPLITS:
            with open(osp.join(root, 'splits', f'{split}.txt')) as f:
                assert sorted(f.read().split()) == splits[split]
        with open(osp.join(root, 'id_map.json')) as f:
            record = json.load(f)
        assert record['options']['size'] == list(SIZE)
        assert record['source_splits'] == splits
    assert _split_of(osp.join(out, 'binary')) == _split_of(
        osp.join(out, 'multiclass'))


def _outputs(out, flavour, name):
    root = osp.join(out, flavour)
    for split in SPLITS:
        image = osp.join(root, 'img_dir', split, name + '.jpg')
        if osp.exists(image):
            return image, osp.join(root, 'ann_dir', split, name + '.png')
    raise AssertionError(f'{name} not written for {flavour}')


@pytest.mark.parametrize('flavour', sorted(FLAVOUR_IDS))
def test_images_and_masks_at_384x256_match_the_sources(converted, flavour):
    picked, out, _ = converted
    width, height = SIZE
    lut = drone_id_map(flavour)
    seen = set()
    for name in picked:
        image_path, mask_path = _outputs(out, flavour, name)
        with Image.open(image_path) as image:
            assert image.format == 'JPEG' and image.mode == 'RGB'
            assert image.size == SIZE
        with Image.open(mask_path) as mask:
            assert mask.format == 'PNG' and mask.mode == 'L'
            assert mask.size == SIZE
            mask = np.array(mask)
        ids = set(np.unique(mask).tolist())
        assert ids <= FLAVOUR_IDS[flavour], (name, ids)
        seen |= ids
        # the mask is the id map applied to the nearest-resized source
        source = np.array(
            Image.open(osp.join(REAL_ROOT, LABEL_DIR, name + '.png')))
        assert source.shape == (1000, 1500)
        nearest = cv2.resize(
            source, (width, height), interpolation=cv2.INTER_NEAREST)
        np.testing.assert_array_equal(mask, lut[nearest])
        # and the image is the same photo, area-resized: JPEG quality 95
        # leaves a mean error of 1.6-2.7 here, another photo about 50
        photo = cv2.resize(
            cv2.imread(osp.join(REAL_ROOT, IMAGE_DIR, name + '.jpg')),
            (width, height),
            interpolation=cv2.INTER_AREA)
        written = cv2.imread(image_path)
        error = np.abs(written.astype(np.int16) - photo).mean()
        assert error < 5, (name, error)
    # real photos: more than one class of the flavour appears
    assert len(seen - {255}) >= 2, seen


def test_split_of_all_400_real_names(real_names):
    assert len(real_names) == 400
    assert real_names[0] == '000' and real_names[-1] == '598'  # with gaps
    split = split_drone_names(real_names)
    assert {k: len(v) for k, v in split.items()} == dict(
        train=280, val=70, test=50)
    parts = [set(split[s]) for s in SPLITS]
    assert sum(len(p) for p in parts) == len(set.union(*parts)) == 400
    assert set.union(*parts) == set(real_names)
    for seed in (1, 7):
        other = split_drone_names(real_names, seed=seed)
        assert other['test'] == split['test']
        assert other['val'] != split['val']
        assert set(other['train']) | set(other['val']) == (
            set(split['train']) | set(split['val']))


def test_real_photo_cut_at_70_percent_is_refused(real_names, tmp_path):
    """A real photo cut at 70 % of its bytes: cv2.imread still decodes it
    (its lower rows grey), the training decoder does not, and the converter
    refuses it by name (rather than converting it)."""
    name = real_names[0]
    src = tmp_path / 'release'
    (src / IMAGE_DIR).mkdir(parents=True)
    (src / LABEL_DIR).mkdir()
    with open(osp.join(REAL_ROOT, IMAGE_DIR, name + '.jpg'), 'rb') as f:
        data = f.read()
    photo = src / IMAGE_DIR / (name + '.jpg')
    photo.write_bytes(data[:int(len(data) * 0.7)])
    os.symlink(
        osp.join(REAL_ROOT, LABEL_DIR, name + '.png'),
        src / LABEL_DIR / (name + '.png'))
    assert cv2.imread(str(photo)) is not None
    out = tmp_path / 'out'
    with pytest.raises(SystemExit) as info:
        main([str(src), str(out), '--test-count', '0'])
    assert str(photo) in str(info.value.code)
    assert 'mmcv.imfrombytes' in str(info.value.code)
    assert not out.exists()
