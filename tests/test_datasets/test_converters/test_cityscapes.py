"""Cityscapes converter: checks, then mmseg's converter.

mmseg's converter needs ``cityscapesscripts``. Where it is not installed
(as on CI) a minimal stand-in of the two functions mmseg uses is put in
``sys.modules`` (``json2labelImg`` draws the polygons with PIL, as the real
one does), so the checks, the delegation, the split lists and the errors are
still exercised; with the real package installed the test uses it.
"""
import importlib.util
import json
import os.path as osp
import sys
import types
from collections import namedtuple

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mmseg_ext.cli.convert_cityscapes import main
from mmseg_ext.datasets.converters import ConversionError
from mmseg_ext.datasets.converters import cityscapes as converter
from tests.test_datasets.fake_releases import make_cityscapes_release

_Label = namedtuple('_Label', ['id', 'trainId'])
_NAME2LABEL = {
    'unlabeled': _Label(0, 255), 'road': _Label(7, 0), 'car': _Label(26, 13)
}


def _stand_in_json2labelImg(in_json, out_img, encoding='ids'):
    with open(in_json) as f:
        poly = json.load(f)
    img = Image.new('L', (poly['imgWidth'], poly['imgHeight']), 255)
    draw = ImageDraw.Draw(img)
    for obj in poly['objects']:
        label = obj['label']
        if label not in _NAME2LABEL and label.endswith('group'):
            label = label[:-len('group')]
        draw.polygon([tuple(p) for p in obj['polygon']],
                     fill=_NAME2LABEL[label].trainId)
    img.save(out_img)


@pytest.fixture
def cityscapesscripts(monkeypatch):
    """The real package if installed, else the stand-in."""
    monkeypatch.setattr(converter, '_CONVERTER', None)
    if importlib.util.find_spec('cityscapesscripts') is not None:
        return 'real'
    pkg = types.ModuleType('cityscapesscripts')
    prep = types.ModuleType('cityscapesscripts.preparation')
    j2l = types.ModuleType('cityscapesscripts.preparation.json2labelImg')
    j2l.json2labelImg = _stand_in_json2labelImg
    helpers = types.ModuleType('cityscapesscripts.helpers')
    labels = types.ModuleType('cityscapesscripts.helpers.labels')
    labels.name2label = _NAME2LABEL
    for name, module in (('', pkg), ('.preparation', prep),
                         ('.preparation.json2labelImg', j2l),
                         ('.helpers', helpers), ('.helpers.labels', labels)):
        monkeypatch.setitem(sys.modules, 'cityscapesscripts' + name, module)
    return 'stand-in'


def test_converts_with_mmseg_converter(cityscapesscripts, tmp_path, capsys):
    src = str(tmp_path / 'cityscapes')
    written = make_cityscapes_release(src, per_split=2)
    counts = main([src])
    assert counts == dict(train=2, val=2, test=2)
    assert 'train 2, val 2, test 2 (total 6)' in capsys.readouterr().out
    with open(osp.join(src, 'train.txt')) as f:
        assert f.read().split() == [
            'aachen/aachen_000000_000019', 'aachen/aachen_000001_000019'
        ]
    for item in written:
        split, city, name = item.split('/')
        label = np.array(Image.open(osp.join(
            src, 'gtFine', split, city,
            name + '_gtFine_labelTrainIds.png')))
        assert label.shape == (16, 24)
        assert (label[:, :11] == 0).all()  # road
        assert (label[:, 13:] == 13).all()  # 'cargroup' counts as car
    # a second run refuses to overwrite unless asked
    with pytest.raises(SystemExit, match='--overwrite'):
        main([src])
    out = str(tmp_path / 'lists')
    assert main([src, '-o', out, '--overwrite'])['val'] == 2
    assert osp.isfile(osp.join(out, 'val.txt'))


def test_missing_cityscapesscripts_names_install(monkeypatch, tmp_path):
    monkeypatch.setattr(converter, '_CONVERTER', None)
    monkeypatch.setitem(sys.modules, 'cityscapesscripts', None)
    src = str(tmp_path / 'cityscapes')
    make_cityscapes_release(src, per_split=1)
    with pytest.raises(SystemExit, match='pip install cityscapesscripts'):
        main([src])


@pytest.fixture
def release(cityscapesscripts, tmp_path):
    src = str(tmp_path / 'cityscapes')
    make_cityscapes_release(src, per_split=1)
    name = 'aachen_000000_000019'
    image = osp.join(src, 'leftImg8bit', 'train', 'aachen',
                     name + '_leftImg8bit.png')
    poly = osp.join(src, 'gtFine', 'train', 'aachen',
                    name + '_gtFine_polygons.json')
    return src, image, poly


def _rewrite(poly, **changes):
    with open(poly) as f:
        data = json.load(f)
    data.update(changes)
    with open(poly, 'w') as f:
        json.dump(data, f)


def test_error_missing_partner(release):
    src, image, poly = release
    import os
    os.remove(poly)
    with pytest.raises(ConversionError, match='lack their partner') as e:
        converter.convert_cityscapes(src)
    assert poly in str(e.value)


def test_error_size_mismatch(release):
    src, image, poly = release
    _rewrite(poly, imgWidth=2048)
    with pytest.raises(ConversionError, match='Size mismatch') as e:
        converter.convert_cityscapes(src)
    assert image in str(e.value) and '2048x16' in str(e.value)
    assert not osp.exists(poly.replace('_polygons.json',
                                       '_labelTrainIds.png'))


def test_error_unknown_label_and_unreadable(release):
    src, image, poly = release
    _rewrite(poly, objects=[dict(label='spaceship', polygon=[[0, 0]])])
    with pytest.raises(ConversionError, match="'spaceship'") as e:
        converter.convert_cityscapes(src)
    assert poly in str(e.value)
    with open(image, 'wb') as f:
        f.write(b'broken')
    with pytest.raises(ConversionError, match='Cannot read image') as e:
        converter.convert_cityscapes(src)
    assert image in str(e.value)


def test_error_truncated_png_is_found_in_the_check(release):
    """PIL reads the size from the header; training's decoder needs the
    whole file (was: checked and converted)."""
    src, image, _ = release
    with open(image, 'rb') as f:
        data = f.read()
    with open(image, 'wb') as f:
        f.write(data[:int(len(data) * 0.7)])
    with pytest.raises(ConversionError, match='mmcv.imfrombytes') as e:
        converter.convert_cityscapes(src)
    assert image in str(e.value)


def test_error_wrong_root(tmp_path):
    with pytest.raises(ConversionError, match='leftImg8bit'):
        converter.convert_cityscapes(str(tmp_path))
