"""SegformerConvHead: shapes, options, fewer parameters than SegformerHead."""
import pytest
import torch
from mmengine.registry import DefaultScope

from mmseg_ext.models.decode_heads import SegformerConvHead
from mmseg_ext.registry import MODELS

MIT_B0 = [32, 64, 160, 256]


def _head(**kwargs) -> SegformerConvHead:
    cfg = dict(
        type='SegformerConvHead',
        in_channels=MIT_B0,
        in_index=[0, 1, 2, 3],
        channels=32,
        num_classes=5,
        norm_cfg=dict(type='BN'))
    cfg.update(kwargs)
    with DefaultScope.overwrite_default_scope('mmseg_ext'):
        return MODELS.build(cfg)


def _features(size: int, batch: int = 2) -> list:
    """MiT-like features of a ``4*size`` image: strides 4, 8, 16, 32."""
    sizes = [size]
    for _ in range(3):
        sizes.append((sizes[-1] + 1) // 2)  # MiT's padded stride-2 convs
    return [torch.randn(batch, c, s, s) for c, s in zip(MIT_B0, sizes)]


def _num_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_registered_in_mmseg_ext_scope_only():
    assert isinstance(_head(), SegformerConvHead)
    from mmseg.registry import MODELS as MMSEG_MODELS
    assert MMSEG_MODELS.get('SegformerConvHead') is None


@pytest.mark.parametrize('upsample', ['deconv', 'pixel_shuffle', 'bilinear'])
@pytest.mark.parametrize('out_channels', [1, 5])
def test_output_shape(upsample, out_channels):
    num_classes = 2 if out_channels == 1 else 5
    head = _head(
        upsample=upsample,
        num_classes=num_classes,
        out_channels=out_channels,
        threshold=0.5 if out_channels == 1 else None)
    head.eval()
    out = head(_features(16))
    assert out.shape == (2, out_channels, 16, 16)
    assert torch.isfinite(out).all()


def test_odd_feature_sizes_are_resized_to_the_first_stage():
    # a 50x50 image gives MiT stages of 13, 7, 4, 2: x2 steps overshoot
    head = _head()
    head.eval()
    assert head(_features(13)).shape == (2, 5, 13, 13)


def test_upsampling_is_learnable_and_bilinear_has_no_weights():
    learned = _head(upsample='deconv')
    bilinear = _head(upsample='bilinear')
    ups = sum(_num_params(u) for u in learned.upsamplers)
    assert ups > 0
    assert sum(_num_params(u) for u in bilinear.upsamplers) == 0
    assert _num_params(learned) - ups == _num_params(bilinear)


def test_relu_and_3x3_fusion():
    head = _head()
    assert all(type(c.activate).__name__ == 'ReLU' for c in head.convs)
    assert head.fusion_conv.conv.kernel_size == (3, 3)
    assert head.fusion_conv.conv.in_channels == 4 * head.stage_channels
    assert head.fusion_conv.conv.out_channels == head.channels


def test_gradients_reach_every_parameter():
    head = _head(upsample='pixel_shuffle', dropout_ratio=0.0)
    head(_features(8)).sum().backward()
    missing = [n for n, p in head.named_parameters() if p.grad is None]
    assert missing == []


@pytest.mark.parametrize('channels', [64, 128, 256, 512, 768])
@pytest.mark.parametrize('upsample', ['deconv', 'pixel_shuffle'])
def test_fewer_parameters_than_segformer_head(channels, upsample):
    ours = _head(channels=channels, num_classes=19, upsample=upsample)
    with DefaultScope.overwrite_default_scope('mmseg_ext'):
        theirs = MODELS.build(
            dict(
                type='mmseg.SegformerHead',
                in_channels=MIT_B0,
                in_index=[0, 1, 2, 3],
                channels=channels,
                num_classes=19,
                norm_cfg=dict(type='BN')))
    assert _num_params(ours) < _num_params(theirs)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='upsample'):
        _head(upsample='nearest')
    with pytest.raises(ValueError, match='in_index'):
        _head(in_index=[0, 1, 2])
