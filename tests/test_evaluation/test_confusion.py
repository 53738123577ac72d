"""Per-image scores (image_scores), computed by hand."""
import math

import numpy as np
import pytest
import torch
from mmseg.evaluation.metrics import IoUMetric

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


def test_labels_out_of_range_count_as_mmseg_counts_them():
    """A label >= C, not ignored: its prediction counts (an FP), as in mmseg.

    Checked against ``IoUMetric.intersect_and_union`` and
    ``total_area_to_metrics`` on random images.
    """
    num_classes, shape = 4, (9, 11)
    rng = torch.Generator().manual_seed(3)
    for _ in range(5):
        pred = torch.randint(0, num_classes, shape, generator=rng)
        gt = torch.randint(0, num_classes + 3, shape, generator=rng)
        gt[torch.rand(shape, generator=rng) < 0.2] = 255
        assert bool(((gt >= num_classes) & (gt != 255)).any())
        areas = IoUMetric.intersect_and_union(pred, gt, num_classes, 255)
        per_class = IoUMetric.total_area_to_metrics(  # exact in float64
            *(area.double() for area in areas), ['mIoU'])
        expected = dict(
            mIoU=float(np.nanmean(per_class['IoU'])) * 100,
            mAcc=float(np.nanmean(per_class['Acc'])) * 100,
            aAcc=float(per_class['aAcc']) * 100)
        got = image_scores(pred, gt, num_classes)
        for key in ('mIoU', 'mAcc', 'aAcc'):
            assert got[key] == pytest.approx(expected[key], abs=1e-6), key
    # by hand: class 0 TP 1, FN 0, FP 1 (the pixel labelled 9) -> 1/2
    scores = image_scores(torch.tensor([[0, 0, 1]]),
                          torch.tensor([[0, 9, 1]]), 2)
    assert scores == dict(mIoU=pytest.approx(75.0), mAcc=100.0,
                          aAcc=100.0)
