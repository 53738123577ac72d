"""mmseg's CrossEntropyLoss with class weights that work on ignored pixels.

mmseg 1.2.2's ``cross_entropy`` averages a class-weighted loss by
``torch.stack([class_weight[cls] for cls in label])``: it indexes the class
weights with every label, ``ignore_index`` (255) included, so any batch with
an ignored pixel raises ``IndexError`` (open-mmlab/mmsegmentation#3734), and
the Python loop over the batch is slow. Every Cityscapes batch has ignored
pixels, so upstream's class-weighted CE cannot train on it.

Inside scope ``mmseg_ext``, ``type='CrossEntropyLoss'`` builds this subclass:
without ``class_weight`` (or with ``use_sigmoid``/``use_mask``) it is
mmseg's loss unchanged; with ``class_weight`` it gives mmseg's value and
gradient wherever mmseg gives one (no ignored pixel, or an ``ignore_index``
that is a valid class index), and where mmseg raises it averages the softmax
loss over the class weights of the labelled pixels, plus 1 per ignored
pixel unless ``avg_non_ignore``. The class-weighted mean is summed in
float32, so it stays finite under float16 autocast.
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

    Identical to :func:`mmseg.models.losses.cross_entropy` (value, gradient
    and dtype) wherever that one works. With ``class_weight``,
    ``reduction='mean'`` and no ``avg_factor`` the summed loss is divided by
    the sum of the class weights of the labelled pixels (PyTorch's weighted
    mean) plus, with ``avg_non_ignore=False``, one term per ignored pixel:
    ``class_weight[ignore_index]`` when ``-C <= ignore_index < C`` (mmseg's
    denominator), else 1 (mmseg raises ``IndexError`` there, #3734), as an
    ignored pixel adds 1 to mmseg's unweighted denominator. Both sums and
    the division are done in float32 (float64 for float64 inputs) and the
    result is cast to mmseg's dtype: mmseg's float16 sum of the class
    weights of a full batch (float16 logits, e.g. under autocast) overflows
    to inf and its loss is 0.

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
    if weight is not None:
        weight = weight.float()
    # mmseg's dtype: that of ``(loss * weight).sum() / class_weight[label]``
    out_dtype = torch.promote_types(loss.dtype, class_weight.dtype)
    if weight is not None:
        out_dtype = torch.promote_types(out_dtype, weight.dtype)
    # sum and divide in float32 (or wider): a float16 sum of the pixel
    # weights of a 512 x 1024 batch is inf, and the loss 0 (autocast)
    acc_dtype = torch.promote_types(out_dtype, torch.float32)
    num_classes = class_weight.numel()
    labelled = label != ignore_index
    if avg_non_ignore:
        ignored_weight = 0.0
    elif -num_classes <= ignore_index < num_classes:
        # mmseg: class_weight[ignore_index], as for any other label
        ignored_weight = class_weight[ignore_index].to(acc_dtype)
    else:
        # mmseg raises IndexError (#3734); count it as 1, as without weights
        ignored_weight = 1.0
    pixel_weights = torch.where(
        labelled,
        class_weight.to(acc_dtype)[label.masked_fill(~labelled, 0)],
        ignored_weight)
    return weight_reduce_loss(
        loss.to(acc_dtype), weight=weight, reduction='mean',
        avg_factor=pixel_weights.sum()).to(out_dtype)


@MODELS.register_module()
class CrossEntropyLoss(MMSegCrossEntropyLoss):
    """mmseg's ``CrossEntropyLoss``; class weights work on ignored pixels.

    Same arguments as :class:`mmseg.models.losses.CrossEntropyLoss`
    (``use_sigmoid``, ``use_mask``, ``reduction``, ``class_weight`` — a list
    or a file — ``loss_weight``, ``loss_name``, ``avg_non_ignore``). It
    gives mmseg's value and gradient wherever mmseg gives one; only the
    softmax, class-weighted mean with ignored pixels whose ``ignore_index``
    is no class index (255), where mmseg raises ``IndexError``, is ours,
    and the class-weighted mean of float16 logits, which mmseg overflows to
    0: see :func:`cross_entropy`. Use ``avg_non_ignore=True`` with class
    weights to get PyTorch's weighted mean.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not (self.use_sigmoid or self.use_mask):
            self.cls_criterion = cross_entropy
