"""mmseg_ext/deployment/metadata.py: test settings, resize, default shape."""
import os.path as osp
from types import SimpleNamespace

import pytest
from mmengine.config import Config

from mmseg_ext.deployment import (ExportConfigError, check_slide_fusion,
                                  default_input_shape, inference_mode,
                                  pipeline_resize)
from tests.helpers import REPO


def _uformer(*test_cfgs):
    return SimpleNamespace(
        members=[SimpleNamespace(test_cfg=cfg) for cfg in test_cfgs])


def test_inference_mode_of_a_single_model_and_agreeing_members():
    whole = SimpleNamespace(test_cfg=dict(mode='whole'))
    assert inference_mode(whole) == dict(
        test_mode='whole', crop_size=None, stride=None)
    slide = dict(mode='slide', crop_size=(64, 48), stride=(32, 24))
    assert inference_mode(_uformer(slide, dict(slide))) == dict(
        test_mode='slide', crop_size=[64, 48], stride=[32, 24])


def test_members_that_disagree_are_refused_by_name():
    slide = dict(mode='slide', crop_size=(64, 64), stride=(32, 32))
    with pytest.raises(ExportConfigError) as err:
        inference_mode(_uformer(dict(mode='whole'), slide))
    assert 'member 0' in str(err.value) and 'member 1' in str(err.value)
    assert 'mode=slide' in str(err.value)
    other_crop = dict(slide, crop_size=(96, 96))
    with pytest.raises(ExportConfigError, match='crop_size'):
        inference_mode(_uformer(slide, other_crop))


def test_probs_fusion_with_overlapping_windows_is_refused():
    slide = dict(test_mode='slide', crop_size=[64, 64], stride=[32, 32])
    with pytest.raises(ExportConfigError, match="fuse='probs'"):
        check_slide_fusion('probs', slide)
    check_slide_fusion('logits', slide)  # linear: the same either way
    check_slide_fusion('probs', dict(slide, stride=[64, 64]))  # no overlap
    check_slide_fusion('probs',
                       dict(test_mode='whole', crop_size=None, stride=None))


def _cfg(*pipeline):
    return Config(
        dict(test_dataloader=dict(dataset=dict(pipeline=list(pipeline)))))


def test_pipeline_resize():
    load = dict(type='LoadImageFromFile')
    pack = dict(type='PackSegInputs')
    assert pipeline_resize(_cfg(load, pack)) is None
    resize = dict(type='Resize', scale=(1536, 1024), keep_ratio=True)
    assert pipeline_resize(
        _cfg(load, resize, dict(type='LoadAnnotations'), pack)) == dict(
            scale=[1536, 1024], keep_ratio=True)
    with pytest.raises(ExportConfigError, match='RandomFlip'):
        pipeline_resize(_cfg(load, dict(type='RandomFlip', prob=1.0), pack))
    with pytest.raises(ExportConfigError, match='no scale'):
        pipeline_resize(
            _cfg(load, dict(type='Resize', scale_factor=0.5), pack))


def test_default_shape_of_the_zoo_drone_config():
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'unet',
                 'unet-s5-d16_fcn_4xb4-5k_drone-binary-512x512.py'))
    resize = pipeline_resize(cfg)
    assert resize == dict(scale=[1536, 1024], keep_ratio=True)
    whole = dict(test_mode='whole', crop_size=None, stride=None)
    pre = dict(pad_size=None, size_divisor=16)
    assert default_input_shape(whole, resize, pre) == (1024, 1536)
    slide = dict(test_mode='slide', crop_size=[512, 512], stride=[341, 341])
    assert default_input_shape(slide, resize, pre) == (512, 512)
    assert default_input_shape(whole, None, pre) == (512, 512)
    assert default_input_shape(whole, resize,
                               dict(pad_size=[640, 640],
                                    size_divisor=None)) == (640, 640)
    # a scale that is not a multiple of the divisor is rounded up
    assert default_input_shape(whole, dict(scale=[100, 50], keep_ratio=True),
                               pre) == (64, 112)
