"""The metadata schema: defaults, every malformed field named, reading it
from a file through onnxruntime."""
import json

import pytest

from mmseg_ext_deploy.metadata import (FORMAT_VERSION, METADATA_KEY,
                                       load_metadata, parse_metadata,
                                       validate_metadata)
from tests.test_deploy import make_metadata, tiny_onnx_model


def test_constants():
    assert METADATA_KEY == 'mmseg_ext' and FORMAT_VERSION == 1


def test_defaults_and_normalisation():
    meta = make_metadata(5)
    for key in ('model', 'threshold', 'pad_val', 'size_divisor', 'pad_size',
                'test_resize', 'crop_size', 'stride', 'input_shape', 'fuse',
                'weights'):
        del meta[key]
    meta['mean'] = (1, 2, 3)
    meta['future_field'] = 'kept'
    checked = validate_metadata(meta)
    assert checked['threshold'] == 0.5 and checked['pad_val'] == 0
    assert checked['size_divisor'] is None and checked['model'] is None
    assert checked['mean'] == [1.0, 2.0, 3.0]
    assert checked['future_field'] == 'kept'
    assert 'threshold' not in meta, 'the input is not modified'
    slide = validate_metadata(
        make_metadata(
            1,
            test_mode='slide',
            crop_size=(32, 32),
            stride=[16, 16],
            test_resize=dict(scale=(64, 32), keep_ratio=True),
            input_shape=[32, 32],
            dynamic=False,
            fuse='probs',
            weights=[0.5, 0.5],
            model='UFormer'))
    assert slide['crop_size'] == [32, 32]
    assert slide['test_resize'] == dict(scale=[64, 32], keep_ratio=True)


@pytest.mark.parametrize(
    'overrides,field',
    [
        (dict(format_version='1'), 'format_version'),
        (dict(classes=[]), 'classes'),
        (dict(classes=['a']), 'classes'),
        (dict(classes=['a', 2, 'c']), 'classes'),
        (dict(palette=[[0, 0, 0]] * 2), 'palette'),
        (dict(palette=[[0, 0, 256], [0, 0, 0], [1, 1, 1]]), 'palette'),
        (dict(palette=[[0, 0], [0, 0, 0], [1, 1, 1]]), 'palette'),
        (dict(out_channels=2), 'out_channels'),
        (dict(out_channels=1), 'out_channels'),  # 1 channel needs 2 classes
        (dict(threshold=1.5), 'threshold'),
        (dict(mean=[1, 2]), 'mean'),
        (dict(std=[1, 0, 1]), 'std'),
        (dict(bgr_to_rgb='yes'), 'bgr_to_rgb'),
        (dict(align_corners=None), 'align_corners'),
        (dict(pad_val='0'), 'pad_val'),
        (dict(size_divisor=0), 'size_divisor'),
        (dict(pad_size=[32]), 'pad_size'),
        (dict(size_divisor=32, pad_size=[64, 64]), 'size_divisor'),
        (dict(test_resize=[512, 512]), 'test_resize'),
        (dict(test_resize=dict(scale=[512, 0], keep_ratio=True)),
         'test_resize.scale'),
        (dict(test_mode='sliding'), 'test_mode'),
        (dict(test_mode='slide', stride=[8, 8]), 'crop_size'),
        (dict(test_mode='slide', crop_size=[8, 8]), 'stride'),
        (dict(dynamic=False), 'input_shape'),
        (dict(
            test_mode='slide',
            crop_size=[8, 8],
            stride=[4, 4],
            input_shape=[16, 16],
            dynamic=False), 'input_shape'),
        (dict(fuse='mean'), 'fuse'),
        (dict(weights='0.5,0.5'), 'weights'),
    ])
def test_invalid_field_is_named(overrides, field):
    meta = make_metadata(3)
    meta.update(overrides)
    with pytest.raises(ValueError, match=f'field "{field}" must be'):
        validate_metadata(meta)


def test_missing_fields_and_versions():
    meta = make_metadata(3)
    del meta['classes'], meta['mean']
    with pytest.raises(
            ValueError,
            match='lacks the field.*"classes", '
            '"mean".*pytorch2onnx.py'):
        validate_metadata(meta)
    with pytest.raises(ValueError, match='version 2.*upgrade mmseg_ext'):
        validate_metadata(make_metadata(3, format_version=2))
    with pytest.raises(ValueError, match='JSON object'):
        validate_metadata([1, 2])


def test_parse_metadata():
    meta = make_metadata(3)
    assert parse_metadata({METADATA_KEY: json.dumps(meta)}) == \
        validate_metadata(meta)
    with pytest.raises(
            ValueError,
            match='x.onnx has no "mmseg_ext" '
            'metadata.*pytorch2onnx.py'):
        parse_metadata({'other': '{}'}, source='x.onnx')
    with pytest.raises(ValueError, match='not valid JSON'):
        parse_metadata({METADATA_KEY: '{"classes": '})
    with pytest.raises(ValueError, match='x.onnx: .*field "std"'):
        parse_metadata(
            {METADATA_KEY: json.dumps(make_metadata(3, std=[0, 1, 1]))},
            source='x.onnx')


def test_load_metadata(tmp_path):
    meta = make_metadata(4, size_divisor=32)
    path = tiny_onnx_model(str(tmp_path / 'm.onnx'), meta, out_channels=4)
    assert load_metadata(path) == validate_metadata(meta)
    bare = tiny_onnx_model(str(tmp_path / 'bare.onnx'), None)
    with pytest.raises(ValueError, match='bare.onnx has no "mmseg_ext"'):
        load_metadata(bare)
    with pytest.raises(FileNotFoundError):
        load_metadata(str(tmp_path / 'missing.onnx'))
