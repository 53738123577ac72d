"""Semantic Drone converter on a miniature release in the real layout."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from PIL import Image

from mmseg_ext.cli.convert_semantic_drone import main
from mmseg_ext.datasets import drone_id_map
from mmseg_ext.datasets.converters import ConversionError
from mmseg_ext.datasets.converters.semantic_drone import (
    convert_semantic_drone, load_id_map_overrides, split_drone_names,
    tile_origins)
from tests.test_datasets.fake_releases import DRONE_SUBDIR, make_drone_release

SPLITS = ('train', 'val', 'test')


@pytest.fixture(scope='module')
def release(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('drone_release'))
    names = make_drone_release(root, num=12)
    return root, names


def _names(folder):
    return sorted(osp.splitext(f)[0] for f in os.listdir(folder))


def _label(path):
    return np.array(Image.open(path))


def test_layout_split_and_mapping(release, tmp_path, capsys):
    src, names = release
    out = str(tmp_path / 'out')
    counts = convert_semantic_drone(
        src, out, flavour='both', test_count=2, val_ratio=0.25, seed=3)
    # 12 photos: 2 test, 10 rest -> round(2.5) = 2 val, 8 train
    assert counts == dict(train=8, val=2, test=2)
    report = capsys.readouterr().out
    assert 'train 8, val 2, test 2 (total 12)' in report
    split_names = {}
    for flavour in ('binary', 'multiclass'):
        root = osp.join(out, flavour)
        for split in SPLITS:
            imgs = _names(osp.join(root, 'img_dir', split))
            anns = _names(osp.join(root, 'ann_dir', split))
            with open(osp.join(root, 'splits', f'{split}.txt')) as f:
                listed = f.read().split()
            assert imgs == anns == sorted(listed)
            assert len(imgs) == counts[split]
            split_names.setdefault(split, imgs)
            assert split_names[split] == imgs  # same split for both
        assert not [f for _, _, fs in os.walk(root) for f in fs
                    if f.endswith('.part')]
    assert sorted(sum(split_names.values(), [])) == names
    # the original JPEG is copied byte for byte when nothing is resized
    name = split_names['train'][0]
    with open(osp.join(src, DRONE_SUBDIR, 'original_images',
                       name + '.jpg'), 'rb') as f:
        original = f.read()
    with open(osp.join(out, 'binary', 'img_dir', 'train', name + '.jpg'),
              'rb') as f:
        assert f.read() == original
    # known pixels: row 0 of each source mask holds ids 0..23
    binary = _label(osp.join(out, 'binary', 'ann_dir', 'train', name + '.png'))
    multi = _label(
        osp.join(out, 'multiclass', 'ann_dir', 'train', name + '.png'))
    assert binary[0].tolist() == [
        255, 0, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
        1, 255
    ]
    assert multi[0].tolist() == [
        255, 0, 0, 1, 0, 2, 0, 2, 1, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 1, 1, 0,
        4, 255
    ]
    source = _label(
        osp.join(src, DRONE_SUBDIR, 'label_images_semantic', name + '.png'))
    np.testing.assert_array_equal(multi, drone_id_map('multiclass')[source])
    record = json.load(open(osp.join(out, 'binary', 'id_map.json')))
    assert record['flavour'] == 'binary'
    assert record['lut'] == drone_id_map('binary')[:24].tolist()
    assert record['source_splits']['test'] == split_names['test']


def test_split_is_deterministic_and_test_set_fixed():
    names = [f'{i:03d}' for i in range(400)]
    a = split_drone_names(names, seed=0)
    assert {k: len(v) for k, v in a.items()} == dict(
        train=280, val=70, test=50)  # the report's 280 training photos
    assert a == split_drone_names(list(reversed(names)), seed=0)
    b = split_drone_names(names, seed=1)
    assert b['test'] == a['test'] and b['val'] != a['val']
    # evenly spaced over the sorted names: every 8th, starting at the 4th
    assert a['test'][:3] == ['004', '012', '020']
    assert set(a['train']) | set(a['val']) | set(a['test']) == set(names)
    with pytest.raises(ConversionError, match='--test-count 400'):
        split_drone_names(names, test_count=400)


def test_resize_uses_nearest_for_masks(release, tmp_path):
    src, _ = release
    out = str(tmp_path / 'out')
    counts = convert_semantic_drone(
        src, out, flavour='multiclass', size=(12, 8), test_count=2)
    assert sum(counts.values()) == 12
    folder = osp.join(out, 'multiclass', 'ann_dir', 'train')
    name = sorted(os.listdir(folder))[0]
    label = _label(osp.join(folder, name))
    image = cv2.imread(
        osp.join(out, 'multiclass', 'img_dir', 'train',
                 name.replace('.png', '.jpg')))
    assert label.shape == (8, 12) and image.shape == (8, 12, 3)
    # nearest: only values of the map, no blend of neighbouring ids
    assert set(np.unique(label)) <= {0, 1, 2, 3, 4, 255}
    source = _label(
        osp.join(src, DRONE_SUBDIR, 'label_images_semantic', name))
    expected = cv2.resize(source, (12, 8), interpolation=cv2.INTER_NEAREST)
    np.testing.assert_array_equal(label, drone_id_map('multiclass')[expected])


def test_tiling(release, tmp_path):
    src, _ = release
    out = str(tmp_path / 'out')
    # 24x16 at scale 0.5 is 12x8; 8x8 tiles start at x = 0 and 4 (moved back)
    counts = convert_semantic_drone(
        src, out, flavour='binary', scale=0.5, tile=8, test_count=2)
    assert counts == dict(train=16, val=4, test=4)
    tiles = _names(osp.join(out, 'binary', 'ann_dir', 'test'))
    assert tiles == ['006_y0_x0', '006_y0_x4', '018_y0_x0', '018_y0_x4']
    for tile in tiles:
        path = osp.join(out, 'binary', 'img_dir', 'test', tile + '.jpg')
        assert cv2.imread(path).shape == (8, 8, 3)
    assert tile_origins(20, 8) == [0, 8, 12]
    assert tile_origins(16, 8) == [0, 8]
    with pytest.raises(ConversionError, match='--tile 9'):
        tile_origins(8, 9)


def test_id_map_override_from_file_and_cli(release, tmp_path):
    src, _ = release
    id_map = tmp_path / 'id_map.json'
    id_map.write_text(json.dumps({'water': 'background', '19': 'ignore'}))
    out = str(tmp_path / 'out')
    counts = main([
        src, out, '--flavour', 'binary', '--id-map', str(id_map),
        '--test-count', '2'
    ])
    assert sum(counts.values()) == 12
    folder = osp.join(out, 'binary', 'ann_dir', 'train')
    row = _label(osp.join(folder, sorted(os.listdir(folder))[0]))[0]
    assert row[5] == 0 and row[19] == 255 and row[22] == 1
    record = json.load(open(osp.join(out, 'binary', 'id_map.json')))
    assert record['class_map']['water'] == 'background'
    assert record['class_map']['tree'] is None
    # both flavours need per-flavour keys
    with pytest.raises(SystemExit, match='"binary" and/or "multiclass"'):
        main([src, str(tmp_path / 'o2'), '--id-map', str(id_map)])


def test_out_dir_must_be_empty_unless_overwrite(release, tmp_path):
    src, _ = release
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'keep.txt').write_text('x')
    with pytest.raises(SystemExit, match='not empty.*--overwrite'):
        main([src, str(out), '--flavour', 'binary', '--test-count', '2'])
    stale = out / 'binary' / 'img_dir' / 'train' / 'stale.jpg'
    stale.parent.mkdir(parents=True)
    stale.write_text('x')
    main([src, str(out), '--flavour', 'binary', '--test-count', '2',
          '--overwrite'])
    assert not stale.exists()  # the earlier conversion is replaced
    assert (out / 'keep.txt').exists()  # and nothing else is touched


@pytest.fixture
def broken_release(tmp_path):
    root = str(tmp_path / 'release')
    make_drone_release(root, num=4, subdir='')  # SRC is the folder itself
    return root


def _image(root, name):
    return osp.join(root, 'original_images', name + '.jpg')


def _mask(root, name):
    return osp.join(root, 'label_images_semantic', name + '.png')


def test_error_missing_partner(broken_release, tmp_path):
    os.remove(_mask(broken_release, '002'))
    with pytest.raises(ConversionError) as e:
        convert_semantic_drone(broken_release, str(tmp_path / 'o'),
                               test_count=1)
    assert _mask(broken_release, '002') in str(e.value)
    assert not osp.exists(tmp_path / 'o')  # nothing written


def test_error_missing_image(broken_release, tmp_path):
    os.remove(_image(broken_release, '004'))
    with pytest.raises(ConversionError, match='Missing image') as e:
        convert_semantic_drone(broken_release, str(tmp_path / 'o'),
                               test_count=1)
    assert _image(broken_release, '004') in str(e.value)


def test_error_size_mismatch(broken_release, tmp_path):
    cv2.imwrite(_mask(broken_release, '002'), np.ones((8, 8), np.uint8))
    with pytest.raises(ConversionError, match='Size mismatch') as e:
        convert_semantic_drone(broken_release, str(tmp_path / 'o'),
                               test_count=1)
    assert _mask(broken_release, '002') in str(e.value)
    assert '24x16' in str(e.value) and '8x8' in str(e.value)


def test_error_unreadable_file(broken_release, tmp_path):
    with open(_image(broken_release, '000'), 'wb') as f:
        f.write(b'not a jpeg')
    with pytest.raises(ConversionError, match='Cannot read image') as e:
        convert_semantic_drone(broken_release, str(tmp_path / 'o'),
                               test_count=1)
    assert _image(broken_release, '000') in str(e.value)


def test_error_unknown_mask_value(broken_release, tmp_path):
    mask = np.full((16, 24), 3, np.uint8)
    mask[2, 2] = 24
    cv2.imwrite(_mask(broken_release, '006'), mask)
    with pytest.raises(ConversionError, match=r'values \[24\]') as e:
        convert_semantic_drone(broken_release, str(tmp_path / 'o'),
                               test_count=1)
    assert _mask(broken_release, '006') in str(e.value)


def _tree(root):
    """Every file under ``root`` with its bytes."""
    out = {}
    for folder, _, files in os.walk(root):
        for name in files:
            with open(osp.join(folder, name), 'rb') as f:
                out[osp.relpath(osp.join(folder, name), root)] = f.read()
    return out


def test_a_bad_file_half_way_leaves_the_output_as_it_was(
        broken_release, tmp_path):
    """Written to a staging folder: a failed --overwrite run keeps the
    earlier conversion, byte for byte, and leaves no partial output."""
    out = str(tmp_path / 'o')
    convert_semantic_drone(broken_release, out, test_count=1)
    before = _tree(out)
    assert any(k.startswith('binary/img_dir/') for k in before)
    # the last photo of the sorted list is found bad after others are
    # written
    with open(_image(broken_release, '006'), 'wb') as f:
        f.write(b'not a jpeg')
    with pytest.raises(ConversionError, match='Cannot read image'):
        convert_semantic_drone(broken_release, out, test_count=1,
                               overwrite=True)
    assert _tree(out) == before
    assert sorted(os.listdir(out)) == ['binary', 'multiclass']
    # a first conversion that fails leaves no dataset and removes the
    # folder it created (was: an empty folder)
    fresh = str(tmp_path / 'fresh')
    with pytest.raises(ConversionError):
        convert_semantic_drone(broken_release, fresh, test_count=1)
    assert not osp.exists(fresh)


def test_error_jpeg_truncated_at_70_percent(broken_release, tmp_path):
    """cv2.imread decodes it, training's mmcv.imfrombytes does not: the
    converter refuses it, naming the file (was: copied into the dataset)."""
    path = _image(broken_release, '004')
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:int(len(data) * 0.7)])
    assert cv2.imread(path) is not None
    with pytest.raises(ConversionError, match='mmcv.imfrombytes') as e:
        convert_semantic_drone(broken_release, str(tmp_path / 'o'),
                               test_count=1)
    assert path in str(e.value)
    assert not osp.exists(tmp_path / 'o')


def test_error_colour_mask_and_wrong_src(broken_release, tmp_path):
    cv2.imwrite(_mask(broken_release, '000'), np.zeros((16, 24, 3), np.uint8))
    with pytest.raises(ConversionError, match="mode 'RGB'"):
        convert_semantic_drone(broken_release, str(tmp_path / 'o'),
                               test_count=1)
    with pytest.raises(SystemExit, match='No original_images/'):
        main([str(tmp_path), str(tmp_path / 'o2')])


def test_workers_write_the_same(release, tmp_path):
    src, _ = release
    outs = [str(tmp_path / f'out{n}') for n in (1, 2)]
    for nproc, out in zip((1, 2), outs):
        convert_semantic_drone(
            src, out, flavour='binary', test_count=2, scale=0.5, nproc=nproc)
    for split in SPLITS:
        one, two = (osp.join(o, 'binary', 'ann_dir', split) for o in outs)
        assert _names(one) == _names(two)
        for name in os.listdir(one):
            np.testing.assert_array_equal(
                _label(osp.join(one, name)), _label(osp.join(two, name)))


def test_id_map_python_file(tmp_path):
    path = tmp_path / 'id_map.py'
    path.write_text("binary = {'water': 'background'}\n"
                    "multiclass = {22: 'ignore', 'pool': 3}\n")
    overrides = load_id_map_overrides(str(path), ['binary', 'multiclass'])
    assert drone_id_map('binary', overrides['binary'])[5] == 0
    lut = drone_id_map('multiclass', overrides['multiclass'])
    assert lut[22] == 255 and lut[7] == 3
    path.write_text("binary = {'water': 'lake'}\n")
    with pytest.raises(ConversionError, match="binary class 'lake'"):
        load_id_map_overrides(str(path), ['binary'])
