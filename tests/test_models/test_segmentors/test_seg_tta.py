"""SegTTAModel: binary heads merge probabilities, not re-sigmoided ones."""
import torch
from mmengine.registry import DefaultScope

from mmseg_ext.models.segmentors import SegTTAModel
from mmseg_ext.registry import MODELS
from tests.test_models.test_segmentors.uformer_parts import (
    build, inputs, samples, segformer_member, unet_member)


def _tta(model):
    with DefaultScope.overwrite_default_scope('mmseg_ext'):
        return MODELS.build(dict(type='SegTTAModel', module=model))


def test_resolves_to_ours_in_the_mmseg_ext_scope():
    assert isinstance(_tta(build()), SegTTAModel)


def _predictions(model, flips):
    """The model's predictions of one image under each flip."""
    x, out = inputs(n=1), []
    with torch.no_grad():
        for flip in flips:
            data = samples(n=1, num_classes=2)
            image = x
            if flip:
                data[0].set_metainfo(
                    dict(flip=True, flip_direction='horizontal'))
                image = x.flip(3)
            out.append(model.predict(image, data)[0])
    return out


def _binary_model():
    bce = dict(type='CrossEntropyLoss', use_sigmoid=True)
    return build(
        members=[unet_member(2, loss_decode=bce),
                 segformer_member(2, loss_decode=bce)],
        num_classes=2, out_channels=1, threshold=0.5)


def test_binary_identity_tta_equals_plain_prediction():
    model = _binary_model()
    # the members' own init gives near-zero logits: spread them so that
    # the prediction holds both classes
    conv_seg = model.members[0].decode_head.conv_seg
    torch.nn.init.normal_(conv_seg.weight, std=3.0,
                          generator=torch.Generator().manual_seed(0))
    conv_seg.bias.data.zero_()
    model.eval()
    plain = _predictions(model, [False])[0]
    fraction = plain.pred_sem_seg.data.mean().item()
    assert 0.0 < fraction < 1.0  # both classes: a re-sigmoid shows
    merged = _tta(model).merge_preds([_predictions(model, [False, False])])
    assert torch.equal(merged[0].pred_sem_seg.data, plain.pred_sem_seg.data)
    torch.testing.assert_close(merged[0].seg_logits.data,
                               plain.seg_logits.data)


def test_binary_flip_tta_averages_the_unflipped_probabilities():
    model = _binary_model()
    model.eval()
    plain, flipped = _predictions(model, [False, True])
    merged = _tta(model).merge_preds([[plain, flipped]])[0]
    mean = (plain.seg_logits.data + flipped.seg_logits.data) / 2
    torch.testing.assert_close(merged.seg_logits.data, mean)
    assert torch.equal(merged.pred_sem_seg.data, (mean > 0.5).to(mean))


def test_multi_class_is_mmseg_merge():
    model = build()
    model.eval()
    preds = _predictions(model, [False, True])
    merged = _tta(model).merge_preds([preds])[0]
    probs = sum(p.seg_logits.data.softmax(0) for p in preds) / 2
    assert torch.equal(merged.pred_sem_seg.data, probs.argmax(0, keepdim=True))
