"""Confusion counts and mmseg's IoU numbers, for a split or one image.

The numbers are mmseg ``IoUMetric``'s (through its
:meth:`~mmseg.evaluation.metrics.IoUMetric.total_area_to_metrics`): pixels
labelled ``ignore_index`` do not count, and a class absent from both the
ground truth and the prediction is NaN and left out of the means.

A pixel whose label is outside ``0..C-1`` but not ``ignore_index`` counts as
in mmseg's ``IoUMetric.intersect_and_union`` (which masks only
``ignore_index``): in no class's ground-truth area, but its prediction counts
in the predicted class's area and union (a false positive), and in no
``aAcc`` denominator. The ``(C + 1, C)`` matrix of
``confusion_matrix(..., out_of_range_row=True)`` keeps these pixels in its
last row; a ``(C, C)`` one drops them (and so differs from mmseg when there
are any).

Per image (:func:`image_scores`) this gives the per-image mIoU and mAcc that
rank the best/worst galleries (mAcc is also known as "mPA", mean pixel
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


def confusion_matrix(pred: Tensor,
                     gt: Tensor,
                     num_classes: int,
                     ignore_index: int,
                     out_of_range_row: bool = False) -> Tensor:
    """Pixel counts per (ground truth, prediction) class pair.

    Args:
        pred (Tensor): Predicted labels ``(H, W)`` in ``0..C-1``.
        gt (Tensor): Ground truth labels ``(H, W)``; ``ignore_index`` is not
            counted, nor are values outside ``0..C-1`` unless
            ``out_of_range_row``.
        num_classes (int): ``C``.
        ignore_index (int): Label of pixels to ignore.
        out_of_range_row (bool): Add a last row counting, per predicted
            class, the pixels labelled outside ``0..C-1`` (not
            ``ignore_index``), which mmseg's ``IoUMetric`` counts in the
            predicted areas. Defaults to False.

    Returns:
        Tensor: ``(C, C)`` int64, or ``(C + 1, C)`` with
        ``out_of_range_row``; rows ground truth, columns prediction.
    """
    gt = gt.to(pred.device).long()
    # rows of ``counts``: 0 labels < 0, 1..C the classes, C + 1 labels >= C;
    # one clamp and one mask: no slower than masking out the range
    index = (gt.clamp(-1, num_classes) + 1) * num_classes + pred.long()
    counts = torch.bincount(
        index[gt != ignore_index],
        minlength=(num_classes + 2) * num_classes).reshape(
            num_classes + 2, num_classes)
    if not out_of_range_row:
        return counts[1:num_classes + 1]
    return torch.cat(
        [counts[1:num_classes + 1], counts[:1] + counts[num_classes + 1:]])


def confusion_metrics(confusion: Tensor) -> Dict[str, object]:
    """mmseg ``IoUMetric`` numbers of one confusion matrix.

    Args:
        confusion (Tensor): ``(C, C)`` or ``(C + 1, C)`` counts, rows ground
            truth (the last row of a ``(C + 1, C)`` one: labels outside
            ``0..C-1``, see :func:`confusion_matrix`).

    Returns:
        dict: ``aAcc``, ``mIoU``, ``mAcc`` (floats, percent, unrounded) and
        ``IoU``, ``Acc`` (``(C, )`` numpy arrays, percent, NaN for a class
        absent from both ground truth and predictions).

    Raises:
        ValueError: ``confusion`` is neither ``(C, C)`` nor ``(C + 1, C)``.
    """
    if confusion.dim() != 2 or confusion.shape[0] - confusion.shape[1] \
            not in (0, 1):
        raise ValueError('confusion must be (C, C) or (C + 1, C), got '
                         f'{tuple(confusion.shape)}')
    confusion = confusion.double().cpu()
    in_range = confusion[:confusion.shape[1]]
    intersect = in_range.diagonal()
    label = in_range.sum(dim=1)
    pred = confusion.sum(dim=0)  # out-of-range labels too, as mmseg
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
        gt (Tensor): Ground truth labels ``(H, W)``; a label outside
            ``0..C-1`` that is not ``ignore_index`` counts as in mmseg
            (see the module).
        num_classes (int): ``C``.
        ignore_index (int): Label of pixels to ignore. Defaults to 255.

    Returns:
        dict[str, float]: ``mIoU``, ``mAcc`` and ``aAcc``; all NaN when
        every pixel is ignored, ``mAcc`` and ``aAcc`` NaN when none is
        labelled in ``0..C-1``.
    """
    if tuple(pred.shape) != tuple(gt.shape):
        raise ValueError(f'prediction {tuple(pred.shape)} and ground truth '
                         f'{tuple(gt.shape)} differ in shape')
    metrics = confusion_metrics(
        confusion_matrix(
            pred, gt, num_classes, ignore_index, out_of_range_row=True))
    return {name: metrics[name] for name in ('mIoU', 'mAcc', 'aAcc')}
