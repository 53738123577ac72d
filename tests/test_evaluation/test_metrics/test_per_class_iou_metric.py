"""PerClassIoUMetric: same summary as mmseg's IoUMetric plus a kept table."""
import pytest
import torch
from mmseg.evaluation.metrics import IoUMetric
from mmseg.structures import SegDataSample
from mmengine.structures import PixelData

from mmseg_ext.evaluation import PerClassIoUMetric


def _sample(pred, gt):
    sample = SegDataSample()
    sample.pred_sem_seg = PixelData(data=torch.tensor(pred)[None])
    sample.gt_sem_seg = PixelData(data=torch.tensor(gt)[None])
    return sample.to_dict()


def test_hand_computed_per_class_values():
    # 2x3 image; class 0: TP=2 FP=1 FN=1 -> IoU 2/4, Acc 2/3
    #            class 1: TP=1 FP=1 FN=1 -> IoU 1/3, Acc 1/2; 255 ignored
    pred = [[0, 0, 1], [0, 1, 1]]
    gt = [[0, 0, 0], [1, 1, 255]]
    meta = dict(classes=('a', 'b'))
    ours, upstream = PerClassIoUMetric(), IoUMetric()
    for metric in (ours, upstream):
        metric.dataset_meta = meta
        metric.process([{}], [_sample(pred, gt)])
    summary = ours.compute_metrics(ours.results)
    assert summary == upstream.compute_metrics(upstream.results)
    table = ours.last_report['per_class']
    assert table['IoU'] == {'a': 50.0, 'b': 33.33}
    assert table['Acc'] == {'a': 66.67, 'b': 50.0}
    # aAcc = 3 correct of 5 labelled pixels
    assert summary['aAcc'] == pytest.approx(60.0)
    assert summary['mIoU'] == pytest.approx((50.0 + 33.33) / 2, abs=0.01)


def test_absent_class_is_null_not_zero():
    pred = [[0, 0], [0, 0]]
    gt = [[0, 0], [0, 0]]
    metric = PerClassIoUMetric()
    metric.dataset_meta = dict(classes=('a', 'b'))
    metric.process([{}], [_sample(pred, gt)])
    metric.compute_metrics(metric.results)
    assert metric.last_report['per_class']['IoU'] == {'a': 100.0, 'b': None}
