"""Pascal-Person-Part converter on a miniature release in the real layout."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from PIL import Image

from mmseg_ext.cli.convert_pascal_person_part import main
from mmseg_ext.datasets.converters import ConversionError
from mmseg_ext.datasets.converters.pascal_person_part import (
    convert_pascal_person_part, read_split_list)
from tests.test_datasets.fake_releases import make_person_part_release


def _listing(folder):
    return sorted(osp.splitext(f)[0] for f in os.listdir(folder))


def test_converts_release_with_separate_voc(tmp_path, capsys):
    src, voc = str(tmp_path / 'ppp'), str(tmp_path / 'voc')
    names = make_person_part_release(src, train=4, val=2, voc_root=voc)
    out = str(tmp_path / 'out')
    # SRC is the folder above pascal_person_part/, photos from a VOCdevkit
    counts = main([src, out, '--voc-images', voc])
    assert counts == dict(train=4, val=2)
    assert 'train 4, val 2 (total 6)' in capsys.readouterr().out
    for split, expected in (('train', names[:4]), ('val', names[4:])):
        assert _listing(osp.join(out, 'img_dir', split)) == expected
        assert _listing(osp.join(out, 'ann_dir', split)) == expected
        with open(osp.join(out, 'splits', f'{split}.txt')) as f:
            assert f.read().split() == expected
    # palette masks become their indices, 255 is kept as ignored
    label = np.array(Image.open(
        osp.join(out, 'ann_dir', 'val', names[4] + '.png')))
    assert label.dtype == np.uint8 and label.shape == (16, 24)
    assert label[0, :8].tolist() == [0, 1, 2, 3, 4, 5, 6, 255]
    gt = np.array(Image.open(osp.join(
        src, 'pascal_person_part', 'pascal_person_part_gt',
        names[4] + '.png')))
    np.testing.assert_array_equal(label, gt)


def test_images_default_to_src_jpegimages(tmp_path):
    src = str(tmp_path / 'ppp')
    make_person_part_release(src, train=2, val=1)
    counts = convert_pascal_person_part(
        osp.join(src, 'pascal_person_part'), str(tmp_path / 'out'))
    assert counts == dict(train=2, val=1)


def test_split_list_formats(tmp_path):
    path = tmp_path / 'l.txt'
    path.write_text('/JPEGImages/2008_000003.jpg /SegmentationPart/'
                    '2008_000003.png\n\n2008_000008\n')
    assert read_split_list(str(path)) == ['2008_000003', '2008_000008']
    path.write_text('\n')
    with pytest.raises(ConversionError, match='lists no image'):
        read_split_list(str(path))


@pytest.fixture
def release(tmp_path):
    src = str(tmp_path / 'ppp')
    names = make_person_part_release(src, train=2, val=1)
    base = osp.join(src, 'pascal_person_part')
    return base, names, str(tmp_path / 'out')


def _gt(base, name):
    return osp.join(base, 'pascal_person_part_gt', name + '.png')


def _jpg(base, name):
    return osp.join(base, 'JPEGImages', name + '.jpg')


@pytest.mark.parametrize('which', ['mask', 'image'])
def test_error_missing_partner(release, which):
    base, names, out = release
    path = (_gt if which == 'mask' else _jpg)(base, names[1])
    os.remove(path)
    with pytest.raises(ConversionError, match=f'Missing {which}') as e:
        convert_pascal_person_part(base, out)
    assert path in str(e.value)
    assert not osp.exists(out)


def test_error_size_mismatch(release):
    base, names, out = release
    cv2.imwrite(_jpg(base, names[0]), np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(ConversionError, match='Size mismatch') as e:
        convert_pascal_person_part(base, out)
    assert _jpg(base, names[0]) in str(e.value)


def test_error_unreadable_and_unknown_value(release):
    base, names, out = release
    with open(_gt(base, names[2]), 'wb') as f:
        f.write(b'\x89PNG broken')
    with pytest.raises(ConversionError, match='Cannot read mask') as e:
        convert_pascal_person_part(base, out)
    assert _gt(base, names[2]) in str(e.value)
    mask = np.zeros((16, 24), np.uint8)
    mask[3, 3] = 7
    cv2.imwrite(_gt(base, names[2]), mask)
    with pytest.raises(ConversionError, match=r'values \[7\]') as e:
        convert_pascal_person_part(base, out, overwrite=True)
    assert _gt(base, names[2]) in str(e.value)


def test_error_layout_and_non_empty_out(release, tmp_path):
    base, _, out = release
    with pytest.raises(SystemExit, match='pascal_person_part_gt'):
        main([str(tmp_path / 'nowhere'), out])
    os.makedirs(out)
    open(osp.join(out, 'x'), 'w').close()
    with pytest.raises(SystemExit, match='--overwrite'):
        main([base, out])
    assert main([base, out, '--overwrite']) == dict(train=2, val=1)
