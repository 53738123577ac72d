"""Per-image scores (image_scores), computed by hand."""
import math

import pytest
import torch

from mmseg_ext.evaluation.confusion import image_scores


def test_classes_in_prediction_or_ground_truth():
    gt = torch.tensor([[0, 0, 1, 1], [0, 0, 1, 1]])
    pred = torch.tensor([[0, 2, 1, 1], [0, 0, 1, 0]])
    scores = image_scores(pred, gt, num_classes=4, ignore_index=255)
    # class 0: TP 3, FP 1, FN 1 -> 3/5; class 1: TP 3, FN 1 -> 3/4;
    # class 2: predicted once, not in GT -> 0; class 3: absent -> left out
    assert scores['mIoU'] == pytest.approx((3 / 5 + 3 / 4 + 0) / 3 * 100)
    # accuracy over the classes of the ground truth only: 3/4 and 3/4
    assert scores['mAcc'] == pytest.approx(75.0)
    assert scores['aAcc'] == pytest.approx(6 / 8 * 100)


def test_ignored_pixels_do_not_count():
    gt = torch.tensor([[0, 255], [1, 255]])
    pred = torch.tensor([[0, 1], [1, 1]])  # wrong only where ignored
    assert image_scores(pred, gt, 2) == dict(mIoU=100.0, mAcc=100.0,
                                             aAcc=100.0)
    nothing = image_scores(pred, torch.full_like(gt, 255), 2)
    assert all(math.isnan(v) for v in nothing.values())
    with pytest.raises(ValueError, match='differ in shape'):
        image_scores(pred, gt[:1], 2)
