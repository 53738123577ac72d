"""UFormer: exact fusion, weights, freezing, checkpoints, inference modes."""
import copy

import pytest
import torch
from mmengine.registry import DefaultScope
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.segmentors import EncoderDecoder

from mmseg_ext.engine import UnsafeCheckpointError
from mmseg_ext.registry import MODELS
from tests.helpers import crafted_checkpoint
from tests.test_models.test_segmentors.uformer_parts import (
    BN, build, inputs, samples, segformer_member, unet_member)


def test_builds_with_one_data_preprocessor():
    model = build()
    assert type(model.data_preprocessor).__name__ == 'SegDataPreProcessor'
    # members were built without theirs: they hold mmengine's pass-through
    for member in model.members:
        assert type(member.data_preprocessor).__name__ == \
            'BaseDataPreprocessor'
    assert model.num_classes == 3 and model.out_channels == 3
    assert torch.equal(model.weights, torch.tensor([0.5, 0.5]))


def test_default_members_are_unet_and_segformer_conv_head():
    with DefaultScope.overwrite_default_scope('mmseg_ext'):
        model = MODELS.build(dict(type='UFormer', num_classes=4))
    unet, segformer = model.members
    assert type(unet.backbone).__name__ == 'UNet'
    assert type(segformer.backbone).__name__ == 'MixVisionTransformer'
    assert type(segformer.decode_head).__name__ == 'SegformerConvHead'
    assert unet.test_cfg.mode == 'slide' and segformer.test_cfg.mode == \
        'whole'
    assert model.num_classes == 4
    assert unet.auxiliary_head.num_classes == 4


def test_fused_output_is_the_weighted_average_of_known_outputs():
    """Members whose logits are their conv_seg bias: known constants."""
    model = build(weights=[1.0, 3.0])
    biases = [torch.tensor([2.0, -1.0, 0.5]), torch.tensor([-4.0, 1.0, 1.5])]
    for member, bias in zip(model.members, biases):
        torch.nn.init.zeros_(member.decode_head.conv_seg.weight)
        member.decode_head.conv_seg.bias.data.copy_(bias)
    model.eval()
    expected = 0.25 * biases[0] + 0.75 * biases[1]  # [-2.5, 0.5, 1.25]
    with torch.no_grad():
        results = model.predict(inputs(), samples())
    for result in results:
        logits = result.seg_logits.data
        assert torch.equal(logits, expected.view(3, 1, 1).expand_as(logits))
        assert (result.pred_sem_seg.data == 2).all()


def test_fused_output_equals_weighted_member_predictions():
    model = build(weights=[1.0, 3.0], keep_member_preds=True)
    model.eval()
    with torch.no_grad():
        results = model.predict(inputs(), samples())
    for result in results:
        m0, m1 = result.seg_logits_m0.data, result.seg_logits_m1.data
        assert not torch.equal(m0, m1)
        assert torch.equal(result.seg_logits.data, 0.25 * m0 + 0.75 * m1)
        assert torch.equal(result.pred_sem_seg_m0.data,
                           m0.argmax(0, keepdim=True))


def test_fuse_probs_averages_probabilities():
    model = build(weights=[1.0, 3.0], fuse='probs')
    a, b = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    fused = model.fuse([a, b])
    expected = 0.25 * a.softmax(1) + 0.75 * b.softmax(1)
    torch.testing.assert_close(fused.softmax(1), expected)


def test_slide_member_and_whole_member():
    """mmseg's slide inference writes the crop shape into the metas: each
    member must get its own copy, or the whole member is resized wrongly."""
    slide = unet_member()
    slide['test_cfg'] = dict(mode='slide', crop_size=(16, 16), stride=(8, 8))
    model = build(members=[slide, segformer_member()], weights=[1.0, 3.0])
    model.eval()
    x, data = inputs(size=32), samples(size=32)
    metas = [s.metainfo for s in data]
    with torch.no_grad():
        fused = model.inference(x, copy.deepcopy(metas))
        alone = [m.inference(x, copy.deepcopy(metas)) for m in model.members]
        results = model.predict(x, data)
    assert alone[0].shape == alone[1].shape == (2, 3, 32, 32)
    assert torch.equal(fused, 0.25 * alone[0] + 0.75 * alone[1])
    assert results[0].pred_sem_seg.shape == (32, 32)


def test_predict_resizes_to_the_original_shape_and_crops_padding():
    model = build()
    model.eval()
    data = samples(n=1, size=32)
    data[0].set_metainfo(dict(ori_shape=(20, 24), img_shape=(30, 32),
                              padding_size=[0, 0, 0, 2]))
    with torch.no_grad():
        result = model.predict(inputs(n=1), data)[0]
    assert result.pred_sem_seg.shape == (20, 24)


def test_training_losses_are_prefixed_per_member():
    model = build(fused_loss=dict(type='CrossEntropyLoss', loss_weight=0.5))
    model.train()
    losses = model.loss(inputs(), samples())
    assert {'m0.decode.loss_ce', 'm0.aux.loss_ce', 'm1.decode.loss_ce',
            'fused.loss_ce', 'fused.acc_seg'} <= set(losses)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_learnable_weights_get_gradients_and_frozen_members_none():
    model = build(
        weights=[1.0, 3.0],
        learn_weights=True,
        freeze=[True, False],
        fused_loss=dict(type='CrossEntropyLoss'))
    torch.testing.assert_close(model.weights, torch.tensor([0.25, 0.75]))
    model.train()
    assert not model.members[0].training  # frozen stays in eval mode
    assert model.members[1].training
    losses = model.loss(inputs(), samples())
    assert not any(k.startswith('m0.') for k in losses)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert model.weight_logits.grad is not None
    assert model.weight_logits.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.members[0].parameters())
    assert all(p.grad is not None for p in model.members[1].parameters())


def test_all_frozen_trains_only_the_weights():
    model = build(
        learn_weights=True,
        freeze=[True, True],
        fused_loss=dict(type='CrossEntropyLoss'))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ['weight_logits']
    stats = model.members[0].backbone.encoder[0][0].convs[0].bn.running_mean
    before = stats.clone()
    model.train()
    optim = torch.optim.SGD([model.weight_logits], lr=10.0)
    start = model.weights.detach().clone()
    losses = model.loss(inputs(), samples())
    losses['fused.loss_ce'].backward()
    optim.step()
    assert not torch.equal(model.weights.detach(), start)
    assert torch.equal(stats, before)  # frozen BN statistics untouched


def test_member_checkpoints_load(tmp_path):
    source = build()
    path = str(tmp_path / 'unet.pth')
    torch.save({'state_dict': source.members[0].state_dict()}, path)
    model = build(member_checkpoints=[path, None])
    for (name, a), b in zip(source.members[0].state_dict().items(),
                            model.members[0].state_dict().values()):
        assert torch.equal(a, b), name


def test_member_init_cfg_is_applied(tmp_path):
    """Each member's own init_cfg runs (e.g. its pretrained backbone)."""
    pretrained = build().members[1].backbone
    for param in pretrained.parameters():
        torch.nn.init.constant_(param, 0.25)
    path = str(tmp_path / 'mit.pth')
    torch.save({'state_dict': pretrained.state_dict()}, path)
    segformer = segformer_member()
    segformer['backbone']['init_cfg'] = dict(
        type='Pretrained', checkpoint=path)
    unet = unet_member()
    unet['decode_head']['init_cfg'] = dict(
        type='Constant', val=0.5, layer='Conv2d', override=dict(
            type='Constant', val=0.5, name='conv_seg'))
    model = build(members=[unet, segformer])
    assert torch.all(model.members[0].decode_head.conv_seg.weight == 0.5)
    for name, param in model.members[1].backbone.named_parameters():
        assert torch.all(param == 0.25), name


def test_member_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'member_checkpoints\[1\]'):
        build(member_checkpoints=[None, str(tmp_path / 'missing.pth')])
    crafted, marker = crafted_checkpoint(tmp_path)
    with pytest.raises(UnsafeCheckpointError, match='system'):
        build(member_checkpoints=[crafted, None])
    assert not (tmp_path / 'pwned').exists()
    # a checkpoint of the other member does not fit
    other = str(tmp_path / 'segformer.pth')
    torch.save({'state_dict': build().members[1].state_dict()}, other)
    with pytest.raises(RuntimeError, match=r'member_checkpoints\[0\]'):
        build(member_checkpoints=[other, None])


def test_binary_members():
    bce = dict(type='CrossEntropyLoss', use_sigmoid=True)
    model = build(
        members=[unet_member(2, loss_decode=bce),
                 segformer_member(2, loss_decode=bce)],
        num_classes=2, out_channels=1, threshold=0.5, weights=[1.0, 3.0],
        fused_loss=bce)
    assert model.out_channels == 1
    for member in model.members:
        assert member.decode_head.out_channels == 1
    data = samples(num_classes=2)
    model.train()
    losses = model.loss(inputs(), data)
    assert {'m0.decode.loss_ce', 'm0.aux.loss_ce', 'm1.decode.loss_ce',
            'fused.loss_ce'} <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values())
    model.eval()
    with torch.no_grad():
        result = model.predict(inputs(), data)[0]
    probs = result.seg_logits.data
    assert probs.shape == (1, 32, 32)
    assert ((probs >= 0) & (probs <= 1)).all()
    assert torch.equal(result.pred_sem_seg.data, (probs > 0.5).to(probs))


def test_binary_probs_fusion_is_the_log_odds_of_the_mean():
    model = build(num_classes=2, out_channels=1, threshold=0.5,
                  fuse='probs', weights=[1.0, 3.0])
    a, b = torch.randn(1, 1, 4, 4), torch.randn(1, 1, 4, 4)
    torch.testing.assert_close(
        model.fuse([a, b]).sigmoid(), 0.25 * a.sigmoid() + 0.75 * b.sigmoid())


def test_autocast_bfloat16_on_cpu():
    model = build(fused_loss=dict(type='CrossEntropyLoss'))
    model.train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(inputs(), samples())
    assert all(torch.isfinite(v) for v in losses.values())
    model.eval()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        results = model.predict(inputs(), samples())
    assert results[0].pred_sem_seg.shape == (32, 32)


def test_members_that_disagree_are_refused():
    with pytest.raises(ValueError, match='num_classes'):
        build(members=[unet_member(3), segformer_member(4)])
    with pytest.raises(ValueError, match='align_corners'):
        build(members=[unet_member(),
                       segformer_member(align_corners=True)])
    with pytest.raises(ValueError, match='ignore_index'):
        build(members=[unet_member(), segformer_member(ignore_index=0)])
    with pytest.raises(ValueError, match='out_channels'):
        build(members=[unet_member(2, out_channels=1, threshold=0.5),
                       segformer_member(2)])


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match='weights has 3 entries'):
        build(weights=[1, 1, 1])
    with pytest.raises(ValueError, match='weights must be'):
        build(weights=[-1, 2])
    with pytest.raises(ValueError, match='weights must be a list'):
        build(weights=[1, 'a'])
    with pytest.raises(ValueError, match='weights must be a list'):
        build(weights=0.5)
    with pytest.raises(ValueError, match='freeze has 1'):
        build(freeze=[True])
    with pytest.raises(ValueError, match='at least 2 members'):
        build(members=[unet_member()])
    with pytest.raises(ValueError, match='fuse'):
        build(fuse='max')
    with pytest.raises(ValueError, match='learn_weights=True needs'):
        build(learn_weights=True)
    with pytest.raises(FileNotFoundError, match='member 1'):
        build(members=[unet_member(), str(tmp_path / 'none.py')])


def test_member_given_as_config_path_with_overrides(tmp_path):
    path = tmp_path / 'member.py'
    path.write_text(f'model = {unet_member()!r}\n')
    model = build(members=[
        dict(config=str(path), backbone=dict(base_channels=8),
             decode_head=dict(in_channels=8, channels=8),
             auxiliary_head=dict(in_channels=16)),
        segformer_member()
    ])
    assert model.members[0].backbone.base_channels == 8


def test_member_config_overrides_follow_mmengine_merge_rules(tmp_path):
    path = tmp_path / 'member.py'
    path.write_text(f'model = {unet_member()!r}\n')
    base = unet_member()
    model = build(members=[
        dict(config=str(path),
             auxiliary_head=dict(_delete_=True, **base['decode_head'])),
        segformer_member()
    ])
    # replaced, not merged: the file's aux loss (weight 0.4) is gone
    aux = model.members[0].auxiliary_head
    assert aux.in_channels == base['decode_head']['in_channels']
    assert aux.loss_decode.loss_weight == 1.0
    with pytest.raises(TypeError, match='cannot inherit'):
        build(members=[
            dict(config=str(path), backbone=dict(strides=dict(a=1))),
            segformer_member()
        ])


def test_normalize_weights_is_what_uformer_uses():
    from mmseg_ext.models.segmentors.uformer import UFormer
    w = UFormer.normalize_weights([1, 3.0], 2)
    assert w.shape == (2, ) and w.dtype == torch.float32
    torch.testing.assert_close(w, torch.tensor([0.25, 0.75]))
    torch.testing.assert_close(
        UFormer.normalize_weights(None, 4), torch.full((4, ), 0.25))
    torch.testing.assert_close(
        build(weights=[1.0, 3.0]).weights,
        UFormer.normalize_weights((1.0, 3.0), 2))
    for bad in ([1, 1, 1], [0, 0], [True, 1], [1, float('inf')], 0.5):
        with pytest.raises(ValueError, match='weights'):
            UFormer.normalize_weights(bad, 2)


def test_learnable_zero_weight_stays_finite():
    model = build(weights=[0.0, 1.0], learn_weights=True,
                  fused_loss=dict(type='CrossEntropyLoss'))
    assert torch.isfinite(model.weight_logits).all()
    assert model.weights[0] < 1e-5
    optim = torch.optim.AdamW([model.weight_logits], lr=0.1,
                              weight_decay=0.1)
    model.train()
    model.loss(inputs(), samples())['fused.loss_ce'].backward()
    optim.step()
    assert torch.isfinite(model.weight_logits).all()


# --- the members' own data preprocessors (issue 11, item 7) ---------------
IMAGENET = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)


def _with_preprocessor(member: dict, **fields) -> dict:
    return dict(member, data_preprocessor=dict(IMAGENET, **fields))


@pytest.mark.parametrize('field, value, shown', [
    ('mean', [0.0, 0.0, 0.0], 'mean=(0.0, 0.0, 0.0)'),
    ('std', [1.0, 1.0, 1.0], 'std=(1.0, 1.0, 1.0)'),
    ('bgr_to_rgb', False, 'bgr_to_rgb/rgb_to_bgr (channel swap)=False'),
    ('pad_val', 255, 'pad_val=255.0'),
    ('type', 'MyPreProcessor', "type='MyPreProcessor'"),
])
def test_member_preprocessor_that_differs_is_refused(field, value, shown):
    """A member trained alone with other normalisation must not be fed
    UFormer's silently: the error names member, field, both values, fix."""
    members = [_with_preprocessor(unet_member()),
               _with_preprocessor(segformer_member(), **{field: value})]
    with pytest.raises(ValueError) as err:
        build(members=members, data_preprocessor=IMAGENET)
    message = str(err.value)
    assert 'member 1 (EncoderDecoder)' in message
    assert shown in message
    assert "member_preprocessor='ignore'" in message
    # UFormer's own value is named too
    assert "but UFormer's has" in message


def test_member_preprocessor_check_names_the_config_file(tmp_path):
    path = tmp_path / 'bgr_member.py'
    path.write_text(
        f'model = {_with_preprocessor(unet_member(), bgr_to_rgb=False)!r}\n')
    with pytest.raises(ValueError, match=r"member 0 \(config '.*bgr_member"
                       r"\.py'\).*bgr_to_rgb/rgb_to_bgr"):
        build(members=[dict(config=str(path)), segformer_member()],
              data_preprocessor=IMAGENET)


def test_member_preprocessor_that_agrees_is_accepted():
    # same normalisation with other sizes; rgb_to_bgr is the same swap;
    # a member without a data_preprocessor has nothing to compare
    members = [
        _with_preprocessor(unet_member(), size=(64, 64),
                           test_cfg=dict(size_divisor=16), seg_pad_val=0),
        _with_preprocessor(segformer_member(), bgr_to_rgb=False,
                           rgb_to_bgr=True, mean=(123.675, 116.28, 103.53)),
    ]
    model = build(members=members, data_preprocessor=IMAGENET)
    assert model.data_preprocessor.mean.flatten().tolist() == pytest.approx(
        IMAGENET['mean'])
    bare = {k: v for k, v in unet_member().items()
            if k != 'data_preprocessor'}
    build(members=[bare, segformer_member()], data_preprocessor=IMAGENET)
    # the test members' bare SegDataPreProcessor does not normalise
    with pytest.raises(ValueError, match=r'member 0 .*mean=None'):
        build(members=[unet_member(), segformer_member()],
              data_preprocessor=IMAGENET)


def test_member_preprocessor_default_is_the_first_members():
    members = [_with_preprocessor(unet_member()),
               _with_preprocessor(segformer_member(), mean=[0, 0, 0])]
    with pytest.raises(ValueError, match='member 1.*mean'):
        build(members=members)


def test_member_preprocessor_ignore_uses_uformers_for_every_member():
    members = [_with_preprocessor(unet_member(), std=[1, 1, 1]),
               _with_preprocessor(segformer_member(), bgr_to_rgb=False)]
    model = build(members=members, data_preprocessor=IMAGENET,
                  member_preprocessor='ignore')
    assert model.data_preprocessor.std.flatten().tolist() == pytest.approx(
        IMAGENET['std'])
    with pytest.raises(ValueError, match='member_preprocessor must be one'):
        build(member_preprocessor='warn')


def test_default_members_agree_with_the_uformer_base_config():
    """mmseg's U-Net and SegFormer bases normalise like UFormer's base."""
    with DefaultScope.overwrite_default_scope('mmseg_ext'):
        model = MODELS.build(dict(type='UFormer', num_classes=2,
                                  data_preprocessor=IMAGENET))
    assert model.data_preprocessor.channel_conversion is True
    assert model.data_preprocessor.mean.flatten().tolist() == pytest.approx(
        IMAGENET['mean'])
    # and without a data_preprocessor: the U-Net base's, which the
    # SegFormer base's agrees with
    with DefaultScope.overwrite_default_scope('mmseg_ext'):
        model = MODELS.build(dict(type='UFormer', num_classes=2))
    assert model.data_preprocessor.channel_conversion is True


# --- cascade members and heads with their own loss (issue 11, item 11) ----
def cascade_member(num_classes: int = 3) -> dict:
    """A tiny OCRNet: the U-Net of unet_member, FCNHead then OCRHead."""
    unet = unet_member(num_classes)
    fcn = dict(unet['decode_head'])
    ocr = dict(
        type='OCRHead', in_channels=4, in_index=2, channels=4,
        ocr_channels=4, dropout_ratio=0.0, num_classes=num_classes,
        norm_cfg=BN, align_corners=False)
    return dict(
        type='CascadeEncoderDecoder', num_stages=2,
        backbone=unet['backbone'], decode_head=[fcn, ocr],
        test_cfg=dict(mode='whole'))


def test_cascade_member_builds_trains_like_alone_and_infers():
    """Before: AttributeError 'ModuleList' object has no attribute
    'num_classes' at build."""
    model = build(members=[cascade_member(), segformer_member()],
                  weights=[1.0, 3.0],
                  fused_loss=dict(type='CrossEntropyLoss'), num_classes=3)
    cascade = model.members[0]
    assert model.num_classes == 3 and model.decode_head is cascade.\
        decode_head[1]
    model.train()
    x, data = inputs(), samples()
    losses = model.loss(x, data)
    alone = cascade.loss(x, data)  # mmseg's CascadeEncoderDecoder.loss
    assert {'decode_0.loss_ce', 'decode_1.loss_ce'} <= set(alone)
    for key, value in alone.items():
        torch.testing.assert_close(losses[f'm0.{key}'], value)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert all(p.grad is not None for p in cascade.parameters())
    model.eval()
    with torch.no_grad():
        fused = model.inference(x, [s.metainfo for s in data])
        parts = [m.inference(x, [s.metainfo for s in data])
                 for m in model.members]
    torch.testing.assert_close(fused, 0.25 * parts[0] + 0.75 * parts[1])


class LossOverridingHead(BaseDecodeHead):
    """A 1x1-conv head that trains on its own terms, like PointHead."""

    def forward(self, inputs):
        return self.cls_seg(self._transform_inputs(inputs))

    def loss(self, inputs, batch_data_samples, train_cfg):
        return dict(loss_own=self.forward(inputs).sum() * 0)


def _loss_head_member() -> dict:
    member = unet_member()
    member['decode_head'] = dict(
        type=LossOverridingHead, in_channels=4, in_index=2, channels=4,
        num_classes=3, align_corners=False)
    return member


def test_head_that_overrides_loss_is_refused():
    """Before: built, then trained through forward + loss_by_feat: its own
    loss() silently never ran."""
    with pytest.raises(TypeError, match=r'member 0 \(EncoderDecoder\): '
                       r'decode head 0 \(LossOverridingHead\) overrides '
                       r'loss\(\)'):
        build(members=[_loss_head_member(), segformer_member()])
    # in a cascade (PointRend's PointHead is its last stage)
    cascade = cascade_member()
    cascade['decode_head'][0] = _loss_head_member()['decode_head']
    with pytest.raises(TypeError, match=r'member 1 \(CascadeEncoderDecoder'
                       r'\): decode head 0'):
        build(members=[unet_member(), cascade])
    # frozen and without a fused loss UFormer only runs its inference
    model = build(members=[_loss_head_member(), segformer_member()],
                  freeze=[True, False])
    with pytest.raises(TypeError, match='member 0'):
        build(members=[_loss_head_member(), segformer_member()],
              freeze=[True, False],
              fused_loss=dict(type='CrossEntropyLoss'))
    model.eval()
    with torch.no_grad():
        assert model.predict(inputs(), samples())[0].pred_sem_seg.shape == \
            (32, 32)


def test_segmentor_that_overrides_loss_is_refused():
    class OwnLoss(EncoderDecoder):

        def loss(self, inputs, data_samples):
            return {}

    member = dict(unet_member(), type=OwnLoss)
    with pytest.raises(TypeError, match=r'member 0 \(OwnLoss\): OwnLoss '
                       r'overrides loss\(\)'):
        build(members=[member, segformer_member()])
