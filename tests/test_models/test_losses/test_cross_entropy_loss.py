"""CrossEntropyLoss: mmseg's, class weights that survive ignored pixels."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmseg.models.losses import CrossEntropyLoss as MMSegCrossEntropyLoss

from mmseg_ext.models.losses import CrossEntropyLoss
from mmseg_ext.registry import MODELS
from tests.test_models.test_losses.checks import value_and_grad

WEIGHTS = [0.5, 2.0, 1.0]


def _logits_labels(ignored: bool):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 5, 4, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 3, (2, 5, 4), generator=g)
    if ignored:
        labels[0, :2] = 255
        labels[1, 4, 1] = 255
    return logits, labels


def test_scope_builds_ours_and_mmseg_prefix_upstream():
    with DefaultScope.overwrite_default_scope('mmseg_ext'):
        ours = MODELS.build(dict(type='CrossEntropyLoss'))
        upstream = MODELS.build(dict(type='mmseg.CrossEntropyLoss'))
    assert type(ours) is CrossEntropyLoss
    assert type(upstream) is MMSegCrossEntropyLoss


@pytest.mark.parametrize('avg_non_ignore', [False, True])
@pytest.mark.parametrize('class_weight', [None, WEIGHTS])
def test_equals_mmseg_where_mmseg_works(avg_non_ignore, class_weight):
    # mmseg works with class weights only when no pixel is ignored
    for ignored in ([False] if class_weight else [False, True]):
        logits, labels = _logits_labels(ignored)
        kwargs = dict(class_weight=class_weight, loss_weight=0.7,
                      avg_non_ignore=avg_non_ignore)
        ours = CrossEntropyLoss(**kwargs)(logits, labels, ignore_index=255)
        theirs = MMSegCrossEntropyLoss(**kwargs)(
            logits, labels, ignore_index=255)
        torch.testing.assert_close(ours, theirs)


def test_mmseg_fails_on_ignored_pixels_with_class_weights():
    """The upstream bug this class exists for (if fixed, drop the class)."""
    logits, labels = _logits_labels(ignored=True)
    with pytest.raises(IndexError):
        MMSegCrossEntropyLoss(class_weight=WEIGHTS, avg_non_ignore=True)(
            logits, labels, ignore_index=255)


def test_class_weighted_mean_over_labelled_pixels_is_pytorchs():
    logits, labels = _logits_labels(ignored=True)
    loss = CrossEntropyLoss(class_weight=WEIGHTS, avg_non_ignore=True)(
        logits, labels, ignore_index=255)
    expected = F.cross_entropy(
        logits, labels, weight=torch.tensor(WEIGHTS, dtype=torch.float64),
        ignore_index=255)
    torch.testing.assert_close(loss, expected)


def test_without_avg_non_ignore_ignored_pixels_weigh_one():
    logits, labels = _logits_labels(ignored=True)
    loss = CrossEntropyLoss(class_weight=WEIGHTS)(
        logits, labels, ignore_index=255)
    weights = torch.tensor(WEIGHTS, dtype=torch.float64)
    summed = F.cross_entropy(
        logits, labels, weight=weights, ignore_index=255, reduction='sum')
    labelled = labels != 255
    denominator = weights[labels[labelled]].sum() + (~labelled).sum()
    torch.testing.assert_close(loss, summed / denominator)


def test_ignored_pixels_get_no_gradient():
    logits, labels = _logits_labels(ignored=True)
    logits.requires_grad_(True)
    CrossEntropyLoss(class_weight=WEIGHTS, avg_non_ignore=True)(
        logits, labels, ignore_index=255).backward()
    ignored = (labels == 255).unsqueeze(1).expand_as(logits)
    assert torch.all(logits.grad[ignored] == 0)
    assert torch.any(logits.grad[~ignored] != 0)


def test_in_range_ignore_index_counts_its_class_weight_like_mmseg():
    """Review repro: mmseg 0.101542, old mmseg_ext 0.084619 (ignored pixel
    counted as 1 instead of class_weight[0] = 0.5 in the denominator)."""
    pred = torch.tensor([[[2., 1.], [0., 3.]]]).view(1, 2, 1, 2)
    label = torch.tensor([[0, 1]]).view(1, 1, 2)
    kwargs = dict(class_weight=[0.5, 2.0])
    ours = CrossEntropyLoss(**kwargs)(pred, label, ignore_index=0)
    theirs = MMSegCrossEntropyLoss(**kwargs)(pred, label, ignore_index=0)
    torch.testing.assert_close(theirs, torch.tensor(0.101542))
    torch.testing.assert_close(ours, theirs)


@pytest.mark.parametrize('ignore_index', [0, 1, 2, -1])
@pytest.mark.parametrize('avg_non_ignore', [False, True])
@pytest.mark.parametrize('class_weight', [None, WEIGHTS])
def test_equals_mmseg_with_an_ignore_index_that_is_a_class(
        ignore_index, avg_non_ignore, class_weight):
    # mmseg indexes class_weight with the ignored label: no crash here
    logits, labels = _logits_labels(ignored=False)
    if ignore_index < 0:
        labels[0, :2] = ignore_index
    assert bool((labels == ignore_index).any())
    pixel_weight = torch.rand(
        labels.shape, generator=torch.Generator().manual_seed(1))
    kwargs = dict(class_weight=class_weight, loss_weight=0.7,
                  avg_non_ignore=avg_non_ignore)
    for weight in (None, pixel_weight):
        ours = value_and_grad(CrossEntropyLoss(**kwargs), logits, labels,
                              weight=weight, ignore_index=ignore_index)
        theirs = value_and_grad(MMSegCrossEntropyLoss(**kwargs), logits,
                                labels, weight=weight,
                                ignore_index=ignore_index)
        torch.testing.assert_close(ours, theirs)


def _conv_logits(size: int):
    """A head's logits: fp16 when the 1x1 conv runs under fp16 autocast."""
    g = torch.Generator().manual_seed(0)
    features = torch.randn(2, 3, size, size, generator=g)
    labels = torch.randint(0, 3, (2, size, size), generator=g)
    labels[0, :4] = 255
    conv = torch.nn.Conv2d(3, 3, 1)
    with torch.no_grad():
        conv.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
        conv.bias.zero_()
    return features, conv, labels


@pytest.mark.parametrize('avg_non_ignore', [False, True])
def test_class_weighted_mean_under_float16_autocast(avg_non_ignore):
    # 2 x 256 x 256 pixels: their float16 weight sum (> 65504) is inf
    features, conv, labels = _conv_logits(256)
    loss = CrossEntropyLoss(class_weight=WEIGHTS,
                            avg_non_ignore=avg_non_ignore)
    expected = loss(conv(features), labels, ignore_index=255)
    with torch.autocast('cpu', dtype=torch.float16):
        logits = conv(features)
        assert logits.dtype == torch.float16
        value = loss(logits, labels, ignore_index=255)
    # F.cross_entropy autocasts to float32, so mmseg's result is float32
    assert value.dtype == torch.float32
    assert value.item() > 0
    torch.testing.assert_close(value, expected, rtol=2e-3, atol=0)


def test_class_weighted_mean_of_float16_logits():
    features, conv, labels = _conv_logits(256)
    loss = CrossEntropyLoss(class_weight=WEIGHTS)
    with torch.no_grad():
        logits = conv(features)
    value, grad = value_and_grad(loss, logits.half(), labels,
                                 ignore_index=255)
    ref_value, ref_grad = value_and_grad(loss, logits.half().float(), labels,
                                         ignore_index=255)
    assert value.dtype == grad.dtype == torch.float16
    torch.testing.assert_close(value.float(), ref_value, rtol=2e-3, atol=0)
    torch.testing.assert_close(grad.float(), ref_grad, rtol=1e-2, atol=1e-7)
