"""LovaszLoss: hand values, gradients, ignored pixels, parity, one sort."""
import pytest
import torch
from mmseg.models.losses import LovaszLoss as MMSegLovaszLoss

from mmseg_ext.models.losses import LovaszLoss, lovasz_grad, lovasz_loss
from tests.test_models.test_losses.checks import (
    assert_half_precision_close, assert_ignored_pixels_inert,
    assert_same_value_and_grad, assert_zero_pixel_weight_is_ignoring)


def _lovasz_by_hand(errors, fg):
    """Berman's Algorithm 1 on one row, in plain Python."""
    order = sorted(range(len(errors)), key=lambda i: -errors[i])
    total = sum(fg)
    loss, previous, seen_fg, seen_bg = 0.0, 0.0, 0, 0
    for i in order:
        seen_fg += fg[i]
        seen_bg += 1 - fg[i]
        jaccard = 1 - (total - seen_fg) / (total + seen_bg)
        loss += max(errors[i], 0.0) * (jaccard - previous)
        previous = jaccard
    return loss


def test_lovasz_grad_hand_computed():
    # fg in error order: bg, fg, bg, fg with 2 foreground pixels; Jaccard
    # losses of the prefixes: 1/3, 2/3, 3/4, 1
    grad = lovasz_grad(
        torch.tensor([[False, True, False, True]]), torch.tensor([2]),
        torch.float64)
    torch.testing.assert_close(
        grad, torch.tensor([[1 / 3, 1 / 3, 1 / 12, 1 / 4]],
                           dtype=torch.float64))


def test_hand_computed_hinge_value():
    # errors 1 - z * (2y - 1) = [-1, .5, 1.5, 1] -> relu -> sorted
    # 1.5 (bg), 1 (fg), .5 (bg), 0 (fg): 1.5/3 + 1/3 + .5/12 = 0.875; the
    # fifth pixel is ignored
    z = torch.tensor([[[[2.0, -0.5, 0.5, 0.0, 9.0]]]], dtype=torch.float64)
    y = torch.tensor([[[1, 0, 0, 1, 255]]])
    assert LovaszLoss()(z, y).item() == pytest.approx(0.875)
    assert LovaszLoss(per_image=True)(z, y).item() == pytest.approx(0.875)


def test_hand_computed_softmax_value():
    # p(class 1) = [.9, .4, .2], labels [1, 1, 0]: class 1 errors
    # [.1, .6, .2] -> .6/2 + .2/6 + .1/3 = 11/30; class 0 errors
    # [.1, .6, .2] with fg = pixel 3 -> .6/2 + .2/2 = .4
    p1 = torch.tensor([0.9, 0.4, 0.2], dtype=torch.float64)
    logits = torch.stack([(1 - p1).log(), p1.log()]).view(1, 2, 1, 3)
    y = torch.tensor([[[1, 1, 0]]])
    assert LovaszLoss()(logits, y).item() == pytest.approx((11 / 30 + .4) / 2)
    assert LovaszLoss(classes=[1])(logits, y).item() == pytest.approx(11 / 30)
    weighted = LovaszLoss(class_weight=[2.0, 1.0])(logits, y)
    assert weighted.item() == pytest.approx((11 / 30 + .8) / 2)


@pytest.mark.parametrize('per_image', [True, False])
@pytest.mark.parametrize('classes', ['present', 'all', [0, 2, 2]])
def test_matches_algorithm_1_row_by_row(per_image, classes):
    torch.manual_seed(0)
    pred = torch.randn(2, 3, 3, 4, dtype=torch.float64)
    target = torch.randint(0, 3, (2, 3, 4))
    target[0][target[0] == 2] = 0  # class 2 absent from image 0
    target[1, 0] = 255
    probs = pred.softmax(1)
    groups = [(0, ), (1, )] if per_image else [(0, 1)]
    expected = []
    for group in groups:
        terms = []
        for c in (range(3) if isinstance(classes, str) else classes):
            fg, errors = [], []
            for n in group:
                for p, y in zip(probs[n, c].flatten(), target[n].flatten()):
                    if y != 255:
                        fg.append(int(y == c))
                        errors.append(abs(fg[-1] - p.item()))
            if classes == 'present' and sum(fg) == 0:
                continue
            terms.append(_lovasz_by_hand(errors, fg))
        expected.append(sum(terms) / len(terms))
    loss = LovaszLoss(classes=classes, per_image=per_image)(pred, target)
    assert loss.item() == pytest.approx(sum(expected) / len(expected))


def test_binary_hinge_and_softmax_are_the_lovasz_extension_of_one_jaccard():
    """Both surrogates extend the foreground Jaccard loss; at hard
    predictions each equals it: margins of 1 make the hinge errors 0 or 2
    (so hinge = 2 (1 - IoU)), saturated softmax makes the errors 0 or 1."""
    torch.manual_seed(1)
    y = torch.randint(0, 2, (1, 4, 5))
    y[0, 0, 0], y[0, 0, 1] = 0, 1
    y[0, 1, 1] = 255
    predicted = torch.rand(1, 4, 5) > 0.5
    valid = y != 255
    inter = (predicted & (y == 1) & valid).sum().item()
    union = ((predicted | (y == 1)) & valid).sum().item()
    jaccard_loss = 1 - inter / union
    z = torch.where(predicted, 1.0, -1.0).double().unsqueeze(1)
    hinge = LovaszLoss()(z, y)
    softmax = LovaszLoss(classes=[1])(torch.cat([torch.zeros_like(z), 40 * z],
                                                1), y)
    assert hinge.item() == pytest.approx(2 * jaccard_loss)
    assert softmax.item() == pytest.approx(jaccard_loss)


def test_softmax_at_one_hot_predictions_is_one_minus_class_iou():
    torch.manual_seed(2)
    target = torch.randint(0, 3, (1, 5, 5))
    predicted = torch.randint(0, 3, (1, 5, 5))
    logits = 60.0 * torch.nn.functional.one_hot(predicted, 3).permute(
        0, 3, 1, 2).double()
    ious = []
    for c in range(3):
        inter = ((predicted == c) & (target == c)).sum().item()
        union = ((predicted == c) | (target == c)).sum().item()
        ious.append(inter / union)
    loss = LovaszLoss(classes='all')(logits, target)
    assert loss.item() == pytest.approx(1 - sum(ious) / 3)


@pytest.mark.parametrize('classes', ['present', 'all', [1, 3]])
@pytest.mark.parametrize('per_image', [True, False])
@pytest.mark.parametrize('class_weight', [None, [1.0, 2.0, 0.5, 3.0]])
def test_parity_with_mmseg_lovasz_softmax(classes, per_image, class_weight):
    torch.manual_seed(3)
    pred = torch.randn(3, 4, 6, 7)
    target = torch.randint(0, 4, (3, 6, 7))
    target[0][target[0] == 3] = 1
    target[1, :2] = 255
    # mmseg accepts per_image=False only with reduction='none'
    theirs_loss = MMSegLovaszLoss(
        classes=classes,
        per_image=per_image,
        class_weight=class_weight,
        reduction='mean' if per_image else 'none')
    ours_loss = LovaszLoss(
        classes=classes, per_image=per_image, class_weight=class_weight)
    assert_same_value_and_grad(ours_loss, theirs_loss, pred, target)


@pytest.mark.parametrize('per_image', [True, False])
def test_parity_with_mmseg_lovasz_hinge(per_image):
    torch.manual_seed(4)
    pred = torch.randn(3, 1, 5, 6)
    target = torch.randint(0, 2, (3, 5, 6))
    target[2] = 0  # no foreground: the hinge still scores the image
    target[0, 1] = 255
    theirs_loss = MMSegLovaszLoss(
        loss_type='binary',
        per_image=per_image,
        reduction='mean' if per_image else 'none')
    assert_same_value_and_grad(
        LovaszLoss(per_image=per_image), theirs_loss, pred, target)


@pytest.mark.parametrize('per_image', [True, False])
def test_binary_accepts_mmseg_binary_shape_n_h_w(per_image):
    """(N, H, W) logits, the shape mmseg documents for its Lovász-hinge, are
    accepted with loss_type='binary' (was: refused for "4 channel(s)"), with
    mmseg's value and gradient and the value of (N, 1, H, W)."""
    torch.manual_seed(6)
    pred = torch.randn(3, 4, 5)
    target = torch.randint(0, 2, (3, 4, 5))
    target[0, 1] = 255
    ours_loss = LovaszLoss(loss_type='binary', per_image=per_image)
    theirs_loss = MMSegLovaszLoss(
        loss_type='binary',
        per_image=per_image,
        reduction='mean' if per_image else 'none')
    assert_same_value_and_grad(ours_loss, theirs_loss, pred, target)
    torch.testing.assert_close(
        ours_loss(pred, target), ours_loss(pred.unsqueeze(1), target))


def test_n_h_w_logits_need_loss_type_binary():
    pred = torch.randn(2, 4, 5)
    target = torch.zeros(2, 4, 5, dtype=torch.long)
    for loss_type in (None, 'multi_class'):
        with pytest.raises(ValueError, match=r"\(2, 4, 5\).*loss_type="
                           r"'binary' \(now " + repr(loss_type)):
            LovaszLoss(loss_type=loss_type)(pred, target)


def test_parity_with_mmseg_per_image_reduction_none_and_sum():
    torch.manual_seed(5)
    pred = torch.randn(3, 4, 5, 5)
    target = torch.randint(0, 4, (3, 5, 5))
    for reduction in ('none', 'sum'):
        ours = LovaszLoss(per_image=True, reduction=reduction)(pred, target)
        theirs = MMSegLovaszLoss(
            per_image=True, reduction=reduction)(
                pred, target, ignore_index=255)
        torch.testing.assert_close(ours, theirs)
    assert ours.shape == ()
    assert LovaszLoss(
        per_image=True, reduction='none')(pred, target).shape == (3, )


@pytest.mark.parametrize('per_image', [True, False])
@pytest.mark.parametrize('channels, classes', [(1, 'present'), (3, 'present'),
                                               (3, 'all'), (3, [2, 0])])
def test_gradcheck(channels, per_image, classes):
    torch.manual_seed(6)
    pred = torch.randn(
        2, channels, 3, 4, dtype=torch.float64, requires_grad=True)
    target = torch.randint(0, max(channels, 2), (2, 3, 4))
    target[1, 0] = 255
    weight = None if channels == 1 else torch.tensor([1.0, 2.0, 0.5],
                                                     dtype=torch.float64)

    def fn(x):
        return lovasz_loss(
            x,
            target,
            classes=classes,
            per_image=per_image,
            class_weight=weight)

    assert torch.autograd.gradcheck(fn, (pred, ))


@pytest.mark.parametrize('channels', [1, 4])
@pytest.mark.parametrize('per_image', [True, False])
@pytest.mark.parametrize('classes', ['present', 'all'])
def test_ignored_pixels_change_neither_loss_nor_gradient(
        channels, per_image, classes):
    assert_ignored_pixels_inert(
        LovaszLoss(classes=classes, per_image=per_image), channels, seed=7)


def test_all_ignored_image_scores_zero_and_no_gradient():
    pred = torch.randn(2, 3, 2, 2, requires_grad=True)
    target = torch.full((2, 2, 2), 255)
    target[1] = 1
    loss = LovaszLoss(per_image=True, reduction='none')(pred, target)
    assert loss[0].item() == 0
    loss.sum().backward()
    assert bool((pred.grad[0] == 0).all())


@pytest.mark.parametrize('channels', [1, 3])
@pytest.mark.parametrize('per_image', [True, False])
def test_a_batch_of_ignored_pixels_gives_zero(channels, per_image):
    pred = torch.randn(2, channels, 3, 3, requires_grad=True)
    target = torch.full((2, 3, 3), 255)
    loss = LovaszLoss(per_image=per_image)(pred, target)
    assert loss.item() == 0
    loss.backward()
    assert bool((pred.grad == 0).all())


def test_batch_mode_is_one_image_made_of_the_batch():
    torch.manual_seed(8)
    pred = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    target = torch.randint(0, 3, (2, 4, 5))
    target[0, 0] = 255
    side = (torch.cat(list(pred), -1)[None], torch.cat(list(target), -1)[None])
    for classes in ('present', 'all'):
        torch.testing.assert_close(
            LovaszLoss(classes=classes)(pred, target),
            LovaszLoss(classes=classes, per_image=True)(*side))


@pytest.mark.parametrize('per_image', [True, False])
@pytest.mark.parametrize('channels', [1, 5])
def test_one_batched_sort(monkeypatch, per_image, channels):
    calls = []
    sort = torch.sort

    def counting_sort(*args, **kwargs):
        calls.append(args[0].shape)
        return sort(*args, **kwargs)

    monkeypatch.setattr(torch, 'sort', counting_sort)
    pred = torch.randn(3, channels, 4, 4, requires_grad=True)
    target = torch.randint(0, max(channels, 2), (3, 4, 4))
    LovaszLoss(per_image=per_image, classes='all')(pred, target).backward()
    rows = (3 if per_image else 1) * channels
    assert calls == [(rows, 16 * (1 if per_image else 3))]


def test_pixel_weight_zero_is_like_ignoring():
    assert_zero_pixel_weight_is_ignoring(LovaszLoss(), seed=9)


def test_builds_with_defaults_where_mmseg_does_not():
    with pytest.raises(AssertionError):
        MMSegLovaszLoss()
    loss = LovaszLoss()
    assert (loss.classes, loss.per_image, loss.reduction) == ('present', False,
                                                              'mean')
    assert loss.loss_name == 'loss_lovasz'


@pytest.mark.parametrize('kwargs, name', [
    (dict(classes='some'), 'classes'),
    (dict(classes=[]), 'classes'),
    (dict(classes=[0, 1.5]), 'classes'),
    (dict(per_image=None), 'per_image'),
    (dict(reduction='avg'), 'reduction'),
    (dict(loss_type='ternary'), 'loss_type'),
    (dict(class_weight=[1.0, -2.0]), 'class_weight'),
])
def test_bad_arguments_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        LovaszLoss(**kwargs)


def test_bad_inputs_raise_value_error_naming_them():
    pred = torch.randn(1, 3, 2, 2)
    target = torch.zeros(1, 2, 2, dtype=torch.long)
    with pytest.raises(ValueError, match='classes'):
        LovaszLoss(classes=[0, 3])(pred, target)
    with pytest.raises(ValueError, match='class_weight'):
        LovaszLoss(class_weight=[1.0, 1.0])(pred, target)
    with pytest.raises(ValueError, match='loss_type'):
        LovaszLoss(loss_type='binary')(pred, target)
    with pytest.raises(ValueError, match='loss_type'):
        LovaszLoss(loss_type='multi_class')(pred[:, :1], target)
    with pytest.raises(ValueError, match='target'):
        LovaszLoss()(pred[:, :1], target + 2)


@pytest.mark.parametrize('channels', [1, 3])
def test_bfloat16_logits_are_computed_in_float32(channels):
    assert_half_precision_close(LovaszLoss(), channels)


def test_classes_may_be_a_tuple():
    """mmengine configs often turn lists into tuples."""
    torch.manual_seed(5)
    pred = torch.randn(2, 4, 5, 5)
    target = torch.randint(0, 4, (2, 5, 5))
    assert LovaszLoss(classes=(1, 3))(pred, target).item() == pytest.approx(
        LovaszLoss(classes=[1, 3])(pred, target).item())
