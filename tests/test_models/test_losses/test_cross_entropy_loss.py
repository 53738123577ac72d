"""CrossEntropyLoss: mmseg's, class weights that survive ignored pixels."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmseg.models.losses import CrossEntropyLoss as MMSegCrossEntropyLoss

from mmseg_ext.models.losses import CrossEntropyLoss
from mmseg_ext.registry import MODELS

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
