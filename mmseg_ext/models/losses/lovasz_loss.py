"""Lovász-Softmax and Lovász-hinge losses, with one batched sort.

Berman, Rannen Triki and Blaschko, `The Lovász-Softmax loss: A tractable
surrogate for the optimization of the intersection-over-union measure in
neural networks <https://arxiv.org/abs/1705.08790>`_ (CVPR 2018).

For every scored row (a class of an image, or a class over the batch) the
loss is the Lovász extension of the Jaccard loss of that class evaluated at
the pixel errors ``m``: sort ``m`` in decreasing order, and take the dot
product with the discrete gradient of ``1 - IoU`` along that order (the
paper's Algorithm 1). Errors are ``|[y == c] - p_c|`` for Lovász-Softmax
(multi-class heads) and ``relu(1 - z * (2y - 1))`` for Lovász-hinge
(one-channel binary heads, foreground = label 1).

Here all rows are sorted at once: the errors become an (R, P) tensor and one
``torch.sort(dim=1)`` orders every row. Ignored pixels get the error -1, so
they sort after every counted pixel (errors are >= 0) and the prefix sums
that the gradient of the Jaccard loss needs are those of the counted pixels
alone; their error is then clamped to 0, so they add nothing to the loss and
get a zero gradient.
"""
from typing import List, Optional, Sequence, Union

import torch
from mmengine.utils import is_list_of
from torch import Tensor

from mmseg_ext.models.losses._utils import (SegLoss, check_choice,
                                            class_weight_tensor,
                                            flatten_target, reduce_rows)
from mmseg_ext.registry import MODELS

__all__ = ['jaccard_curve', 'lovasz_grad', 'lovasz_loss', 'LovaszLoss']

ClassesType = Union[str, Sequence[int]]


def jaccard_curve(fg_sorted: Tensor, num_fg: Tensor,
                  dtype: torch.dtype) -> Tensor:
    """Jaccard loss of the first ``i`` pixels in error order, per row.

    With ``g`` foreground pixels in the row and ``c_i`` of them among the
    first ``i``, the Jaccard loss of predicting those ``i`` pixels is
    ``1 - (g - c_i) / (g + i - c_i) = i / (g + (i - c_i))``.

    Args:
        fg_sorted (Tensor): (R, P) bool foreground in decreasing error
            order; pixels that do not count are False and last.
        num_fg (Tensor): (R,) foreground count ``g`` of each row.
        dtype (torch.dtype): Floating type of the result; float64 is used
            anyway for rows of 2**24 pixels or more (float32 counts stop
            being exact there).

    Returns:
        Tensor: (R, P); the union ``g + i - c_i`` is >= 1 from the first
        pixel on (it is foreground, so ``g >= 1``, or not, so
        ``i - c_i >= 1``).
    """
    num_pixels = fg_sorted.shape[1]
    if num_pixels >= 2**24:
        dtype = torch.float64
    union = torch.cumsum(fg_sorted.logical_not(), dim=1, dtype=dtype)
    union.add_(num_fg.to(dtype).unsqueeze(1))
    position = torch.arange(
        1, num_pixels + 1, dtype=dtype, device=fg_sorted.device)
    return union.reciprocal_().mul_(position)


def lovasz_grad(fg_sorted: Tensor,
                num_fg: Tensor,
                dtype: torch.dtype = torch.float32) -> Tensor:
    """Gradient of the Lovász extension of the Jaccard loss (Alg. 1).

    Args:
        fg_sorted (Tensor): (R, P) bool foreground in decreasing error
            order; pixels that do not count are False and last.
        num_fg (Tensor): (R,) foreground count of each row.
        dtype (torch.dtype): Floating type of the result.

    Returns:
        Tensor: (R, P); ``J_i - J_(i-1)`` with ``J`` from
        :func:`jaccard_curve` (``J_0 = 0``).
    """
    curve = jaccard_curve(fg_sorted, num_fg, dtype)
    grad = torch.empty_like(curve)
    grad[:, :1] = curve[:, :1]
    torch.sub(curve[:, 1:], curve[:, :-1], out=grad[:, 1:])
    return grad


class _LovaszExtension(torch.autograd.Function):
    """Row-wise Lovász extension of the Jaccard loss: one batched sort.

    ``forward(errors, fg, num_fg)`` with errors (R, P), >= 0 where pixels
    count and < 0 (sorted last) where they do not, returns (R,) losses.
    The gradient is ``lovasz_grad`` put back in pixel order; it is 0 at
    pixels of negative error.
    """

    @staticmethod
    def forward(ctx, errors: Tensor, fg: Tensor, num_fg: Tensor) -> Tensor:
        errors_sorted, order = torch.sort(errors, dim=1, descending=True)
        dtype = torch.promote_types(errors.dtype, torch.float32)
        grad = lovasz_grad(fg.gather(1, order), num_fg, dtype)
        grad.masked_fill_(errors_sorted < 0, 0)
        ctx.save_for_backward(order, grad)
        ctx.dtype = errors.dtype
        losses = torch.einsum('rp,rp->r', errors_sorted.to(dtype), grad)
        return losses.to(errors.dtype)

    @staticmethod
    def backward(ctx, grad_losses: Tensor):
        order, grad = ctx.saved_tensors
        grad_sorted = grad * grad_losses.to(grad.dtype).unsqueeze(1)
        grad_errors = torch.empty_like(grad_sorted).scatter_(
            1, order, grad_sorted)
        return grad_errors.to(ctx.dtype), None, None


def _lovasz_rows(errors: Tensor, fg: Tensor, num_fg: Tensor) -> Tensor:
    """Lovász extension of each row's Jaccard loss at its errors.

    Args:
        errors (Tensor): (R, P) errors >= 0, -1 at pixels that do not count.
        fg (Tensor): (R, P) bool foreground, False at pixels that do not
            count.
        num_fg (Tensor): (R,) foreground count of each row.

    Returns:
        Tensor: (R,) losses.
    """
    return _LovaszExtension.apply(errors, fg, num_fg)


def _class_index(classes: Sequence[int], num_classes: int,
                 device: torch.device) -> Tensor:
    """``classes`` as an index tensor; check they are channels."""
    index = torch.as_tensor(list(classes), dtype=torch.long, device=device)
    if bool(((index < 0) | (index >= num_classes)).any()):
        raise ValueError(f'classes {list(classes)} must lie in '
                         f'[0, {num_classes}) for {num_classes} channels')
    return index


def lovasz_loss(pred: Tensor,
                target: Tensor,
                *,
                classes: ClassesType = 'present',
                per_image: bool = False,
                class_weight: Optional[Tensor] = None,
                ignore_index: Optional[int] = 255,
                weight: Optional[Tensor] = None,
                reduction: str = 'mean') -> Tensor:
    """Lovász-Softmax (C > 1) or Lovász-hinge (C == 1) loss of logits.

    Args:
        pred (Tensor): Logits, shape (N, C, H, W).
        target (Tensor): Labels, shape (N, H, W).
        classes (str | Sequence[int]): Lovász-Softmax only: ``'present'``
            (classes in the counted target of the image, or of the batch),
            ``'all'``, or a list of class indices. Lovász-hinge always
            scores its one foreground class, as Berman's and mmseg's do.
        per_image (bool): One Jaccard loss per image and class, averaged per
            image then over images (True), or one per class over the whole
            batch (False). Defaults to False.
        class_weight (Tensor, optional): Weights (C,); each class's loss is
            multiplied by its weight before the mean over classes.
        ignore_index (int, optional): Label left out. Defaults to 255.
        weight (Tensor, optional): Pixel weights (N, H, W); the Lovász
            extension is a set function, so only ``weight > 0`` matters:
            pixels of weight 0 are left out.
        reduction (str): Over images when ``per_image``: ``'mean'``,
            ``'sum'`` or ``'none'`` (shape (N,)); a batch loss is one value.

    Returns:
        Tensor: The loss.
    """
    labels, valid = flatten_target(pred, target, ignore_index, weight)
    n, c = pred.shape[:2]
    logits = pred.reshape(n, c, -1)
    if c == 1:
        fg = ((labels == 1) & valid).unsqueeze(1)
        signs = fg.to(pred.dtype) * 2 - 1
        errors = (1 - logits * signs).relu()
    else:
        probs = logits.softmax(dim=1)
        fg = (labels.unsqueeze(1) == torch.arange(c, device=pred.device).view(
            1, c, 1)) & valid.unsqueeze(1)
        errors = torch.where(fg, 1 - probs, probs)
    errors = errors.masked_fill(~valid.unsqueeze(1), -1)
    counts = fg.sum(-1)
    if not per_image:
        # rows are classes over every pixel of the batch
        errors = errors.transpose(0, 1).reshape(1, errors.shape[1], -1)
        fg = fg.transpose(0, 1).reshape(1, fg.shape[1], -1)
        counts = counts.sum(0, keepdim=True)
    groups, k, num_pixels = errors.shape
    if class_weight is not None:
        class_weight = class_weight.expand(groups, k)
    if c > 1 and classes == 'present' and not bool((counts > 0).all()):
        # score only the rows of present classes: fewer rows to sort
        rows = counts > 0
        losses = errors.new_zeros(groups, k).masked_scatter(
            rows, _lovasz_rows(errors[rows], fg[rows], counts[rows]))
        if class_weight is not None:
            losses = losses * class_weight
        return reduce_rows(losses.sum(1) / rows.sum(1).clamp_min(1), reduction)
    if c > 1 and classes not in ('all', 'present'):
        index = _class_index(classes, k, pred.device)
        errors, fg, counts = (
            t.index_select(1, index) for t in (errors, fg, counts))
        if class_weight is not None:
            class_weight = class_weight.index_select(1, index)
    losses = _lovasz_rows(
        errors.reshape(-1, num_pixels), fg.reshape(-1, num_pixels),
        counts.reshape(-1)).view(groups, -1)
    if class_weight is not None:
        losses = losses * class_weight
    per_group = losses.mean(1)
    return reduce_rows(per_group, reduction)


@MODELS.register_module()
class LovaszLoss(SegLoss):
    """The Lovász loss option of every decode head.

    Lovász-Softmax for multi-class heads, Lovász-hinge for one-channel
    binary heads (``out_channels=1``), picked from the logits' channels.
    Unlike ``mmseg.LovaszLoss`` it builds with its defaults (batch mode with
    ``reduction='mean'``), honours the head's ``ignore_index`` and sorts all
    (image, class) rows in one batched ``torch.sort``. Where mmseg's
    accepts the same settings it gives the same value.

    Args:
        classes (str | Sequence[int]): ``'present'``, ``'all'`` or a list of
            class indices (Lovász-Softmax). Defaults to 'present'.
        per_image (bool): Per-image Jaccard losses averaged over images, or
            batch ones. Defaults to False.
        class_weight (Sequence[float] | str, optional): Weight of each class
            (one per logit channel), or a file holding them as mmseg reads.
        ignore_index (int, optional): Its own label to ignore; None (the
            default) uses the one the decode head passes (255 without one).
        reduction (str): Over images when ``per_image``: ``'mean'``,
            ``'sum'`` or ``'none'``. Defaults to 'mean'.
        loss_type (str, optional): mmseg's ``'multi_class'``/``'binary'``,
            accepted so that mmseg configs build; when given it must agree
            with the logits (``'binary'``: one channel). Defaults to None.
        loss_weight (float): Factor of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss item. Defaults to 'loss_lovasz'.
    """

    def __init__(self,
                 classes: ClassesType = 'present',
                 per_image: bool = False,
                 class_weight: Union[Sequence[float], str, None] = None,
                 ignore_index: Optional[int] = None,
                 reduction: str = 'mean',
                 loss_type: Optional[str] = None,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_lovasz') -> None:
        super().__init__(
            class_weight=class_weight,
            loss_weight=loss_weight,
            ignore_index=ignore_index,
            reduction=reduction,
            loss_name=loss_name)
        if not (classes in ('all', 'present') or
                (is_list_of(classes, int) and len(classes) > 0)):
            raise ValueError("classes must be 'all', 'present' or a "
                             f'non-empty list of ints, got {classes!r}')
        check_choice('per_image', per_image, (True, False))
        check_choice('loss_type', loss_type, (None, 'multi_class', 'binary'))
        self.classes: Union[str, List[int]] = (
            classes if isinstance(classes, str) else list(classes))
        self.per_image = per_image
        self.loss_type = loss_type

    def compute(self, pred: Tensor, target: Tensor, weight: Optional[Tensor],
                ignore_index: int, reduction: str) -> Tensor:
        """:func:`lovasz_loss` with this module's settings."""
        binary = pred.dim() == 4 and pred.shape[1] == 1
        if self.loss_type is not None and \
                (self.loss_type == 'binary') != binary:
            raise ValueError(
                f'loss_type={self.loss_type!r} does not match logits with '
                f'{pred.shape[1]} channel(s) (binary means one channel)')
        return lovasz_loss(
            pred,
            target,
            classes=self.classes,
            per_image=self.per_image,
            class_weight=class_weight_tensor(self.class_weight, pred.shape[1],
                                             pred),
            ignore_index=ignore_index,
            weight=weight,
            reduction=reduction)
