"""Tversky and Focal Tversky losses for softmax and one-channel binary heads.

Tversky index of a class, from soft counts over the pixels that count
(Salehi et al. 2017, `Tversky loss function for image segmentation using 3D
fully convolutional deep networks <https://arxiv.org/abs/1706.05721>`_):

    TI = (TP + smooth) / (TP + alpha * FP + beta * FN + smooth)

and the Focal Tversky loss of that class (Abraham & Khan 2019, `A novel
Focal Tversky loss function with improved attention U-Net for lesion
segmentation <https://arxiv.org/abs/1810.07842>`_, Eq. 4):

    FTL = (1 - TI) ** (1 / gamma)

``gamma=1`` is the plain Tversky loss; the paper uses ``gamma`` in [1, 3]
(4/3 in its experiments). With this ``1 / gamma`` exponent, ``gamma > 1``
raises every class's loss, and steepens it where ``1 - TI`` is small (the
slope of ``x ** 0.75`` is 1.33 at ``x = 0.1`` and 0.77 at ``x = 0.9``): the
gradient grows for classes that are already nearly right. Some follow-ups
write ``(1 - TI) ** gamma`` instead; for that convention pass
``gamma = 1 / gamma'``.

A label ``ignore_index`` in ``[0, C)`` is a class: its pixels are left out
and its term counts as 0 in the mean over the ``C`` classes, as in mmseg's
TverskyLoss.
"""
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from mmseg_ext.models.losses._utils import (SegLoss, check_choice,
                                            check_non_negative,
                                            class_weight_tensor,
                                            flatten_target, reduce_rows)
from mmseg_ext.registry import MODELS

__all__ = ['tversky_loss', 'TverskyLoss']


def _soft_counts(pred: Tensor, labels: Tensor,
                 weight: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """Per image and class: soft TP, predicted mass and target mass.

    Args:
        pred (Tensor): Logits (N, C, P); softmax over C, or a sigmoid when
            C == 1 (the channel then scores label 1).
        labels (Tensor): Labels (N, P), 0 where ``weight`` is 0.
        weight (Tensor): Pixel weights (N, P), 0 at ignored pixels.

    Returns:
        tuple[Tensor, Tensor, Tensor]: TP, sum of probabilities and sum of
        targets, each (N, C).
    """
    if pred.shape[1] == 1:
        probs = pred.sigmoid()
        target = (labels == 1).to(weight.dtype) * weight
        tp = (probs[:, 0] * target).sum(-1, keepdim=True)
        gt = target.sum(-1, keepdim=True)
    else:
        probs = pred.softmax(dim=1)
        index = labels.unsqueeze(1)
        p_true = probs.gather(1, index).squeeze(1) * weight
        tp = p_true.new_zeros(probs.shape[:2]).scatter_add_(1, labels, p_true)
        gt = weight.new_zeros(probs.shape[:2]).scatter_add_(1, labels, weight)
    mass = torch.bmm(probs, weight.unsqueeze(-1)).squeeze(-1)
    return tp, mass, gt


def _predicted(pred: Tensor, valid: Tensor) -> Tensor:
    """Whether each class is the hard prediction of a valid pixel, (N, C)."""
    if pred.shape[1] == 1:
        return ((pred[:, 0] > 0) & valid).any(-1, keepdim=True)
    hits = torch.zeros(pred.shape[:2], dtype=torch.long, device=pred.device)
    hits.scatter_add_(1, pred.argmax(dim=1), valid.long())
    return hits > 0


def tversky_loss(pred: Tensor,
                 target: Tensor,
                 *,
                 alpha: float = 0.3,
                 beta: float = 0.7,
                 gamma: float = 1.0,
                 smooth: float = 1.0,
                 class_weight: Optional[Tensor] = None,
                 per_image: bool = True,
                 skip_absent_classes: bool = False,
                 ignore_index: Optional[int] = 255,
                 weight: Optional[Tensor] = None,
                 reduction: str = 'mean') -> Tensor:
    """(Focal) Tversky loss of logits, vectorised over classes and images.

    Softmax over the channels when C > 1; when C == 1 (a binary head with
    ``out_channels=1``) a sigmoid, and the loss is that of the foreground
    (label 1) alone. Per class: ``(1 - TI) ** (1 / gamma)``, times its class
    weight; averaged over classes (``mean_c w_c * loss_c``, mmseg's
    convention), then over images.

    Args:
        pred (Tensor): Logits, shape (N, C, H, W).
        target (Tensor): Labels, shape (N, H, W).
        alpha (float): Weight of false positives, >= 0. Defaults to 0.3.
        beta (float): Weight of false negatives, >= 0. Defaults to 0.7.
        gamma (float): Focal Tversky exponent: the loss is raised to
            ``1 / gamma``. Defaults to 1.0 (plain Tversky).
        smooth (float): Added to numerator and denominator. Defaults to 1.
        class_weight (Tensor, optional): Weights, shape (C,).
        per_image (bool): Sum TP/FP/FN per image (True, as mmseg) or over
            the whole batch (False). Defaults to True.
        skip_absent_classes (bool): Leave out of the mean the classes absent
            from both the target and the hard prediction (argmax, or
            ``logit > 0`` for one channel) of an image (of the batch if not
            ``per_image``). Defaults to False (mmseg averages them all).
        ignore_index (int, optional): Label left out. Defaults to 255.
        weight (Tensor, optional): Pixel weights, shape (N, H, W); they scale
            each pixel's contribution to TP, FP and FN.
        reduction (str): Over images: ``'mean'``, ``'sum'`` or ``'none'``
            (shape (N,), or (1,) when not ``per_image``).

    Returns:
        Tensor: The loss.
    """
    labels, valid = flatten_target(pred, target, ignore_index, weight)
    n, c = pred.shape[:2]
    # half-precision logits are summed over many pixels: in float32
    dtype = torch.promote_types(pred.dtype, torch.float32)
    logits = pred.reshape(n, c, -1).to(dtype)
    pixel_weight = valid.to(dtype)
    if weight is not None:
        pixel_weight = pixel_weight * weight.reshape(n, -1).to(dtype)
    tp, mass, gt = _soft_counts(logits, labels, pixel_weight)
    if not per_image:
        tp, mass, gt = (t.sum(0, keepdim=True) for t in (tp, mass, gt))
    denominator = tp + alpha * (mass - tp) + beta * (gt - tp) + smooth
    nonzero = denominator > 0
    index = (tp + smooth) / torch.where(nonzero, denominator,
                                        torch.ones_like(denominator))
    losses = 1 - torch.where(nonzero, index, torch.ones_like(index))
    if gamma != 1:
        # x ** (1 / gamma) has an infinite slope at 0 for gamma > 1: the
        # base is kept >= eps, and a perfect score stays exactly 0
        eps = torch.finfo(losses.dtype).eps
        losses = torch.where(losses > 0,
                             losses.clamp_min(eps).pow(1.0 / gamma),
                             torch.zeros_like(losses))
    if class_weight is not None:
        losses = losses * class_weight
    ignored_class = ignore_index is not None and 0 <= ignore_index < c
    if ignored_class:
        # mmseg's convention: the ignored class adds 0 to the mean over C
        losses = losses.index_fill(1, losses.new_tensor(
            [ignore_index], dtype=torch.long), 0.0)
    if skip_absent_classes:
        kept = (gt > 0) | _predicted(logits, valid)
        if ignored_class:
            kept[:, ignore_index] = False
        if not per_image:
            kept = kept.any(0, keepdim=True)
        per_row = (losses * kept).sum(1) / kept.sum(1).clamp_min(1)
    else:
        per_row = losses.mean(1)
    return reduce_rows(per_row, reduction).to(pred.dtype)


@MODELS.register_module()
class TverskyLoss(SegLoss):
    """Tversky loss, with the Focal Tversky exponent and a binary mode.

    A drop-in for ``mmseg.TverskyLoss``: with softmax logits, ``alpha + beta
    = 1`` and ``gamma=1`` it gives mmseg's value; unlike mmseg's it takes any
    ``alpha, beta >= 0``, works on one-channel (sigmoid) binary heads, has
    the focal term, honours the head's ``ignore_index`` and has no Python
    loop over classes. See :func:`tversky_loss` for the maths.

    Args:
        alpha (float): Weight of false positives, >= 0. Defaults to 0.3.
        beta (float): Weight of false negatives, >= 0. Defaults to 0.7.
        gamma (float): Focal Tversky exponent (> 0; the loss is raised to
            ``1 / gamma``, Abraham & Khan 2019). Defaults to 1.0.
        smooth (float): Smoothing term, >= 0. Defaults to 1.
        class_weight (Sequence[float] | str, optional): Weight of each class
            (one per logit channel), or a file holding them as mmseg reads.
        per_image (bool): TP/FP/FN per image or over the batch.
            Defaults to True (as mmseg).
        skip_absent_classes (bool): Leave classes absent from both target
            and prediction out of the mean. Defaults to False.
        ignore_index (int, optional): Its own label to ignore; None (the
            default) uses the one the decode head passes (255 without one).
        reduction (str): Over images: ``'mean'``, ``'sum'`` or ``'none'``.
        loss_weight (float): Factor of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss item. Defaults to 'loss_tversky'.
    """

    def __init__(self,
                 alpha: float = 0.3,
                 beta: float = 0.7,
                 gamma: float = 1.0,
                 smooth: float = 1.0,
                 class_weight: Union[Sequence[float], str, None] = None,
                 per_image: bool = True,
                 skip_absent_classes: bool = False,
                 ignore_index: Optional[int] = None,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_tversky') -> None:
        super().__init__(
            class_weight=class_weight,
            loss_weight=loss_weight,
            ignore_index=ignore_index,
            reduction=reduction,
            loss_name=loss_name)
        self.alpha = check_non_negative('alpha', alpha)
        self.beta = check_non_negative('beta', beta)
        self.smooth = check_non_negative('smooth', smooth)
        self.gamma = check_non_negative('gamma', gamma)
        if self.gamma == 0:
            raise ValueError('gamma must be > 0, got 0')
        check_choice('per_image', per_image, (True, False))
        check_choice('skip_absent_classes', skip_absent_classes, (True, False))
        self.per_image = per_image
        self.skip_absent_classes = skip_absent_classes

    def compute(self, pred: Tensor, target: Tensor, weight: Optional[Tensor],
                ignore_index: int, reduction: str) -> Tensor:
        """:func:`tversky_loss` with this module's settings."""
        return tversky_loss(
            pred,
            target,
            alpha=self.alpha,
            beta=self.beta,
            gamma=self.gamma,
            smooth=self.smooth,
            class_weight=class_weight_tensor(self.class_weight, pred.shape[1],
                                             pred),
            per_image=self.per_image,
            skip_absent_classes=self.skip_absent_classes,
            ignore_index=ignore_index,
            weight=weight,
            reduction=reduction)
