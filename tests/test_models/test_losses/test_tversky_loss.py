"""TverskyLoss: hand values, gradients, ignored pixels, binary mode, parity."""
import json
import math

import numpy as np
import pytest
import torch
from mmseg.models.losses import TverskyLoss as MMSegTverskyLoss

from mmseg_ext.models.losses import LovaszLoss, TverskyLoss, tversky_loss
from tests.test_models.test_losses.checks import (
    assert_half_precision_close, assert_ignored_pixels_inert,
    assert_same_value_and_grad, assert_zero_pixel_weight_is_ignoring)


def _logits(probs):
    """Logits whose softmax over dim 1 is ``probs``."""
    return torch.tensor(probs, dtype=torch.float64).log()


# one image of 2x2 pixels, 2 classes, every probability 1/2; label 255 is
# ignored, so class 0 has 1 target pixel, class 1 has 2
HALF = torch.zeros(1, 2, 2, 2, dtype=torch.float64)
LABELS = torch.tensor([[[0, 1], [1, 255]]])


def _ti(tp, fp, fn, alpha=0.3, beta=0.7, smooth=1.0):
    return (tp + smooth) / (tp + alpha * fp + beta * fn + smooth)


def test_hand_computed_softmax_value():
    # class 0: TP = .5, FP = .5 + .5, FN = .5; class 1: TP = 1, FP = .5,
    # FN = 1 (over the 3 counted pixels)
    ti0, ti1 = _ti(0.5, 1.0, 0.5), _ti(1.0, 0.5, 1.0)
    loss = TverskyLoss()(HALF, LABELS)
    assert loss.item() == pytest.approx(((1 - ti0) + (1 - ti1)) / 2)
    focal = TverskyLoss(gamma=2.0, class_weight=[1.0, 3.0])(HALF, LABELS)
    expected = (math.sqrt(1 - ti0) + 3 * math.sqrt(1 - ti1)) / 2
    assert focal.item() == pytest.approx(expected)


def test_hand_computed_free_alpha_beta_and_loss_weight():
    ti0 = _ti(0.5, 1.0, 0.5, alpha=2.0, beta=0.0, smooth=0.5)
    ti1 = _ti(1.0, 0.5, 1.0, alpha=2.0, beta=0.0, smooth=0.5)
    loss = TverskyLoss(alpha=2.0, beta=0.0, smooth=0.5, loss_weight=4.0)
    assert loss(HALF, LABELS).item() == pytest.approx(4.0 * ((1 - ti0) +
                                                             (1 - ti1)) / 2)


def test_hand_computed_sigmoid_value():
    # one channel: sigmoid(log 3) = 3/4 for every pixel; foreground = label 1
    logits = torch.full((1, 1, 2, 2), math.log(3.0), dtype=torch.float64)
    tp, fp, fn = 2 * 0.75, 0.75, 2 * 0.25
    loss = TverskyLoss(alpha=0.5, beta=0.5)(logits, LABELS)
    assert loss.item() == pytest.approx(1 - _ti(tp, fp, fn, 0.5, 0.5))


def test_batch_mode_sums_counts_over_images():
    torch.manual_seed(0)
    pred = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    target = torch.randint(0, 3, (2, 4, 5))
    target[1, 0] = 255
    batch = TverskyLoss(per_image=False)(pred, target)
    # the batch is one image made of both, side by side
    side = TverskyLoss(per_image=True)(torch.cat(list(pred), dim=-1)[None],
                                       torch.cat(list(target), -1)[None])
    assert batch.item() == pytest.approx(side.item())
    per_image = TverskyLoss(reduction='none')(pred, target)
    assert per_image.shape == (2, )
    assert TverskyLoss()(pred, target).item() == pytest.approx(
        per_image.mean().item())


@pytest.mark.parametrize('kwargs', [
    dict(),
    dict(alpha=0.5, beta=0.5, smooth=0.5),
    dict(alpha=0.1, beta=0.9, class_weight=[0.5, 1.0, 2.0, 1.5]),
])
def test_parity_with_mmseg_tversky(kwargs):
    torch.manual_seed(1)
    pred = torch.randn(3, 4, 9, 7) * 3
    target = torch.randint(0, 4, (3, 9, 7))
    target[0, :3] = 255
    target[2] = 1
    assert_same_value_and_grad(
        TverskyLoss(**kwargs), MMSegTverskyLoss(**kwargs), pred, target)


@pytest.mark.parametrize('ignore_index', [0, 2])
def test_parity_with_mmseg_when_the_ignored_label_is_a_class(ignore_index):
    """mmseg leaves that class's term out and still divides by C."""
    torch.manual_seed(4)
    pred = torch.randn(2, 4, 6, 5) * 2
    target = torch.randint(0, 4, (2, 6, 5))
    assert (target == ignore_index).any()
    kwargs = dict(ignore_index=ignore_index)
    assert_same_value_and_grad(
        TverskyLoss(**kwargs), MMSegTverskyLoss(**kwargs), pred, target)


@pytest.mark.parametrize('loss', [TverskyLoss, LovaszLoss])
def test_zero_weight_is_zero_for_large_half_precision_logits(loss):
    pred = torch.full((2, 19, 64, 64), 5.0, dtype=torch.float16,
                      requires_grad=True)
    target = torch.randint(0, 19, (2, 64, 64))
    value = loss(loss_weight=0.0)(pred, target)
    assert value.item() == 0.0
    value.backward()
    assert torch.equal(pred.grad, torch.zeros_like(pred))


@pytest.mark.parametrize('channels', [1, 3])
@pytest.mark.parametrize('kwargs', [
    dict(),
    dict(gamma=4 / 3, per_image=False, alpha=0.7, beta=0.2),
    dict(skip_absent_classes=True, smooth=0.1, class_weight=None),
])
def test_gradcheck(channels, kwargs):
    torch.manual_seed(2)
    pred = torch.randn(
        2, channels, 3, 4, dtype=torch.float64, requires_grad=True)
    target = torch.randint(0, max(channels, 2), (2, 3, 4))
    target[0, 0] = 255
    weight = torch.rand(2, 3, 4, dtype=torch.float64) + 0.5

    def fn(x):
        return tversky_loss(x, target, weight=weight, **kwargs)

    assert torch.autograd.gradcheck(fn, (pred, ))


@pytest.mark.parametrize('channels', [1, 4])
@pytest.mark.parametrize('per_image', [True, False])
def test_ignored_pixels_change_neither_loss_nor_gradient(channels, per_image):
    assert_ignored_pixels_inert(
        TverskyLoss(per_image=per_image, gamma=1.5), channels, seed=3)


@pytest.mark.parametrize('channels', [1, 3])
def test_a_batch_of_ignored_pixels_gives_finite_values(channels):
    # no pixel counts: TI = smooth / smooth = 1, the loss is 0 (with
    # smooth=0 the 0/0 is taken as a perfect score too)
    pred = torch.randn(2, channels, 3, 3, requires_grad=True)
    target = torch.full((2, 3, 3), 255)
    for smooth in (1.0, 0.0):
        loss = TverskyLoss(smooth=smooth, gamma=2.0)(pred, target)
        assert loss.item() == 0
        loss.backward()
        assert bool((pred.grad == 0).all())


def test_pixel_weight_zero_is_like_ignoring():
    assert_zero_pixel_weight_is_ignoring(TverskyLoss(), seed=4)


@pytest.mark.parametrize('kwargs', [
    dict(),
    dict(alpha=0.6, beta=0.9, gamma=2.0, per_image=False),
    dict(class_weight=[2.0], smooth=0.0),
])
def test_sigmoid_mode_is_the_two_class_softmax_foreground_term(kwargs):
    """softmax([0, z]) = (sigmoid(z), 1 - sigmoid(z)): the 2-class softmax
    loss averages the foreground term (the sigmoid loss of z against y) and
    the background term (the sigmoid loss of -z against 1 - y)."""
    torch.manual_seed(5)
    z = torch.randn(2, 1, 4, 6, dtype=torch.float64)
    y = torch.randint(0, 2, (2, 4, 6))
    y[1, 2] = 255
    flipped = torch.where(y == 255, y, 1 - y)
    softmax_kwargs = dict(kwargs)
    if 'class_weight' in kwargs:
        softmax_kwargs['class_weight'] = kwargs['class_weight'] * 2
    two_class = TverskyLoss(**softmax_kwargs)(torch.cat(
        [torch.zeros_like(z), z], 1), y)
    fg = TverskyLoss(**kwargs)(z, y)
    bg = TverskyLoss(**kwargs)(-z, flipped)
    torch.testing.assert_close(two_class, (fg + bg) / 2)


def test_skip_absent_classes_averages_the_others():
    # class 2 is neither labelled nor predicted (its logit is very low)
    torch.manual_seed(6)
    pred = torch.randn(1, 3, 4, 4, dtype=torch.float64)
    pred[:, 2] = -20
    target = torch.randint(0, 2, (1, 4, 4))

    def term(c):
        weight = [0.0, 0.0, 0.0]
        weight[c] = 3.0  # mean over 3 classes of w_c * loss_c = loss_c
        return TverskyLoss(class_weight=weight)(pred, target)

    skipped = TverskyLoss(skip_absent_classes=True)(pred, target)
    torch.testing.assert_close(skipped, (term(0) + term(1)) / 2)
    assert TverskyLoss()(pred, target).item() == pytest.approx(
        (term(0) + term(1) + term(2)).item() / 3)


def test_ignore_index_own_or_the_heads():
    target = torch.tensor([[[0, 1], [1, 7]]])
    as_ignored = LABELS  # 255 at the pixel labelled 7 here
    expected = TverskyLoss()(HALF, as_ignored)
    # the head passes 7
    torch.testing.assert_close(TverskyLoss()(HALF, target, ignore_index=7),
                               expected)
    # its own wins over the head's
    torch.testing.assert_close(
        TverskyLoss(ignore_index=7)(HALF, target, ignore_index=255), expected)


def test_class_weight_from_files(tmp_path):
    npy, js = tmp_path / 'w.npy', tmp_path / 'w.json'
    np.save(npy, np.array([1.0, 3.0]))
    js.write_text(json.dumps([1.0, 3.0]))
    expected = TverskyLoss(class_weight=[1.0, 3.0])(HALF, LABELS)
    for path in (npy, js):
        loss = TverskyLoss(class_weight=str(path))
        assert loss.class_weight == [1.0, 3.0]
        torch.testing.assert_close(loss(HALF, LABELS), expected)


def test_zero_weight_is_not_computed_but_keeps_the_graph():
    pred = HALF.clone().requires_grad_()
    loss = TverskyLoss(loss_weight=0.0)(pred, LABELS)
    assert loss.item() == 0
    loss.backward()
    assert bool((pred.grad == 0).all())


@pytest.mark.parametrize('kwargs, name', [
    (dict(alpha=-0.1), 'alpha'),
    (dict(beta=-1), 'beta'),
    (dict(beta=float('nan')), 'beta'),
    (dict(alpha='0.3'), 'alpha'),
    (dict(smooth=-1), 'smooth'),
    (dict(gamma=0), 'gamma'),
    (dict(class_weight=[1.0, -1.0]), 'class_weight'),
    (dict(class_weight=[[1.0]]), 'class_weight'),
    (dict(reduction='avg'), 'reduction'),
    (dict(per_image='yes'), 'per_image'),
    (dict(loss_name=''), 'loss_name'),
])
def test_bad_arguments_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TverskyLoss(**kwargs)


def test_bad_inputs_raise_value_error_naming_them():
    with pytest.raises(ValueError, match='class_weight'):
        TverskyLoss(class_weight=[1.0, 2.0, 3.0])(HALF, LABELS)
    with pytest.raises(ValueError, match='target'):
        TverskyLoss()(HALF, torch.tensor([[[0, 1], [2, 255]]]))
    with pytest.raises(ValueError, match='target'):
        TverskyLoss()(HALF, LABELS[:, :1])
    with pytest.raises(ValueError, match='reduction_override'):
        TverskyLoss()(HALF, LABELS, reduction_override='avg')


@pytest.mark.parametrize('channels', [1, 3])
def test_bfloat16_logits_are_computed_in_float32(channels):
    assert_half_precision_close(TverskyLoss(), channels)
