"""mmseg's CrossEntropyLoss with class weights that work on ignored pixels.

mmseg 1.2.2's ``cross_entropy`` averages a class-weighted loss by
``torch.stack([class_weight[cls] for cls in label])``: it indexes the class
weights with every label, ``ignore_index`` (255) included, so any batch with
an ignored pixel raises ``IndexError`` (open-mmlab/mmsegmentation#3734), and
the Python loop over the batch is slow. Every Cityscapes batch has ignored
pixels, so upstream's class-weighted CE cannot train on it.

Inside scope ``mmseg_ext``, ``type='CrossEntropyLoss'`` builds this subclass:
without ``class_weight`` (or with ``use_sigmoid``/``use_mask``) it is
mmseg's loss unchanged; with ``class_weight`` the softmax loss is averaged
over the class weights of the labelled pixels, as
``torch.nn.functional.cross_entropy(weight=..., ignore_index=...)`` does.
``type='mmseg.CrossEntropyLoss'`` still reaches upstream's.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmseg.models.losses import CrossEntropyLoss as MMSegCrossEntropyLoss
from mmseg.models.losses import cross_entropy as mmseg_cross_entropy
from mmseg.models.losses.utils import weight_reduce_loss
from torch import Tensor

from mmseg_ext.registry import MODELS

__all__ = ['CrossEntropyLoss', 'cross_entropy']


def cross_entropy(pred: Tensor,
                  label: Tensor,
                  weight: Optional[Tensor] = None,
                  class_weight: Optional[Tensor] = None,
                  reduction: str = 'mean',
                  avg_factor: Optional[float] = None,
                  ignore_index: int = -100,
                  avg_non_ignore: bool = False) -> Tensor:
    """Softmax cross-entropy, mmseg's contract, class weights fixed.

    Identical to :func:`mmseg.models.losses.cross_entropy` except where that
    one fails: ``class_weight`` given, ``reduction='mean'`` and no
    ``avg_factor``. There the summed loss is divided by the sum of the class
    weights of the labelled pixels (PyTorch's weighted mean); with
    ``avg_non_ignore=False`` every ignored pixel adds 1 to that sum, as it
    adds 1 to mmseg's unweighted denominator. Without ignored pixels both
    settings give mmseg's value.

    Args:
        pred (Tensor): Logits of shape ``(N, C, H, W)``.
        label (Tensor): Class ids of shape ``(N, H, W)``; ``ignore_index``
            marks unlabelled pixels.
        weight (Tensor, optional): Per-pixel weights ``(N, H, W)``.
        class_weight (Tensor, optional): Per-class weights ``(C, )``.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
        avg_factor (float, optional): Divisor of the mean.
        ignore_index (int): Label id that is ignored.
        avg_non_ignore (bool): Average over labelled pixels only.

    Returns:
        Tensor: The loss: a scalar, or ``(N, H, W)`` for ``'none'``.
    """
    if class_weight is None or avg_factor is not None or reduction != 'mean':
        return mmseg_cross_entropy(
            pred, label, weight=weight, class_weight=class_weight,
            reduction=reduction, avg_factor=avg_factor,
            ignore_index=ignore_index, avg_non_ignore=avg_non_ignore)
    loss = F.cross_entropy(
        pred, label, weight=class_weight, reduction='none',
        ignore_index=ignore_index)
    labelled = label != ignore_index
    # the class weight of each labelled pixel; ignored ones weigh 0, or 1
    # without avg_non_ignore
    pixel_weights = torch.where(
        labelled, class_weight[label.masked_fill(~labelled, 0)],
        0.0 if avg_non_ignore else 1.0)
    if weight is not None:
        weight = weight.float()
    return weight_reduce_loss(
        loss, weight=weight, reduction='mean',
        avg_factor=pixel_weights.sum())


@MODELS.register_module()
class CrossEntropyLoss(MMSegCrossEntropyLoss):
    """mmseg's ``CrossEntropyLoss``; class weights work on ignored pixels.

    Same arguments as :class:`mmseg.models.losses.CrossEntropyLoss`
    (``use_sigmoid``, ``use_mask``, ``reduction``, ``class_weight`` — a list
    or a file — ``loss_weight``, ``loss_name``, ``avg_non_ignore``). Only the
    softmax, class-weighted mean differs: see :func:`cross_entropy`. Use
    ``avg_non_ignore=True`` with class weights to get PyTorch's weighted
    mean.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not (self.use_sigmoid or self.use_mask):
            self.cls_criterion = cross_entropy
