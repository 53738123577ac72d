"""Confusion counts and mmseg's IoU numbers, for a split or one image.

The numbers are mmseg ``IoUMetric``'s (through its
:meth:`~mmseg.evaluation.metrics.IoUMetric.total_area_to_metrics`): pixels
labelled ``ignore_index`` do not count, and a class absent from both the
ground truth and the prediction is NaN and left out of the means.

Per image (:func:`image_scores`) this gives the per-image mIoU and mAcc of the
seed reports' best/worst galleries (they call mAcc "mPA", mean pixel
accuracy):

* ``mIoU``: the mean over the classes present in the ground truth **or** the
  prediction of ``TP / (TP + FP + FN)``; a class predicted but absent from
  the ground truth counts with IoU 0;
* ``mAcc``: the mean over the classes present in the ground truth of
  ``TP / (TP + FN)`` (a class absent from the ground truth has no accuracy);
* ``aAcc``: correct pixels over labelled pixels.

An image whose pixels are all ignored has NaN scores.
"""
import warnings
from typing import Dict

import numpy as np
import torch
from mmseg.evaluation.metrics import IoUMetric
from torch import Tensor

__all__ = ['confusion_matrix', 'confusion_metrics', 'image_scores']


def confusion_matrix(pred: Tensor, gt: Tensor, num_classes: int,
                     ignore_index: int) -> Tensor:
    """Pixel counts per (ground truth, prediction) class pair.

    Args:
        pred (Tensor): Predicted labels ``(H, W)`` in ``0..C-1``.
        gt (Tensor): Ground truth labels ``(H, W)``; ``ignore_index`` and
            values outside ``0..C-1`` are not counted.
        num_classes (int): ``C``.
        ignore_index (int): Label of pixels to ignore.

    Returns:
        Tensor: ``(C, C)`` int64, rows ground truth, columns prediction.
    """
    gt = gt.to(pred.device).long()
    valid = (gt != ignore_index) & (gt >= 0) & (gt < num_classes)
    index = gt[valid] * num_classes + pred[valid].long()
    return torch.bincount(
        index, minlength=num_classes**2).reshape(num_classes, num_classes)


def confusion_metrics(confusion: Tensor) -> Dict[str, object]:
    """mmseg ``IoUMetric`` numbers of one confusion matrix.

    Args:
        confusion (Tensor): ``(C, C)`` counts, rows ground truth.

    Returns:
        dict: ``aAcc``, ``mIoU``, ``mAcc`` (floats, percent, unrounded) and
        ``IoU``, ``Acc`` (``(C, )`` numpy arrays, percent, NaN for a class
        absent from both ground truth and predictions).
    """
    confusion = confusion.double().cpu()
    intersect = confusion.diagonal()
    label = confusion.sum(dim=1)
    pred = confusion.sum(dim=0)
    per_class = IoUMetric.total_area_to_metrics(
        intersect, pred + label - intersect, pred, label, ['mIoU'])
    result: Dict[str, object] = dict(aAcc=float(per_class['aAcc']) * 100)
    with warnings.catch_warnings():  # all-NaN: the mean is NaN, say nothing
        warnings.simplefilter('ignore', RuntimeWarning)
        for name in ('IoU', 'Acc'):
            values = np.asarray(per_class[name], dtype=np.float64) * 100
            result[f'm{name}'] = float(np.nanmean(values))
            result[name] = values
    return result


def image_scores(pred: Tensor, gt: Tensor, num_classes: int,
                 ignore_index: int = 255) -> Dict[str, float]:
    """Per-image ``mIoU``, ``mAcc`` and ``aAcc`` (percent; see the module).

    Args:
        pred (Tensor): Predicted labels ``(H, W)`` in ``0..C-1``.
        gt (Tensor): Ground truth labels ``(H, W)``.
        num_classes (int): ``C``.
        ignore_index (int): Label of pixels to ignore. Defaults to 255.

    Returns:
        dict[str, float]: ``mIoU``, ``mAcc`` and ``aAcc``; NaN when no pixel
        is labelled.
    """
    if tuple(pred.shape) != tuple(gt.shape):
        raise ValueError(f'prediction {tuple(pred.shape)} and ground truth '
                         f'{tuple(gt.shape)} differ in shape')
    metrics = confusion_metrics(
        confusion_matrix(pred, gt, num_classes, ignore_index))
    return {name: metrics[name] for name in ('mIoU', 'mAcc', 'aAcc')}
