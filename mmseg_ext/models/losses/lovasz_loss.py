"""Lovász-Softmax and Lovász-hinge losses, with one batched sort.

Berman, Rannen Triki and Blaschko, `The Lovász-Softmax loss: A tractable
surrogate for the optimization of the intersection-over-union measure in
neural networks <https://arxiv.org/abs/1705.08790>`_ (CVPR 2018).

For every scored row (a class of an image, or a class over the batch) the
loss is the Lovász extension of the Jaccard loss of that class evaluated at
the pixel errors ``m``: sort ``m`` in decreasing order and take the dot
product with the discrete gradient of ``1 - IoU`` along that order (the
paper's Algorithm 1). Errors are ``|[y == c] - p_c|`` for Lovász-Softmax
(multi-class heads) and ``relu(1 - z * (2y - 1))`` for Lovász-hinge
(one-channel binary heads, foreground = label 1).

All rows are sorted at once: the errors form an (R, P) tensor and one
``torch.sort(dim=1)`` orders every row. Each pixel of a row has an int8
code: -1 (foreground), +1 (background) or 0 (ignored). Ignored pixels get
the error -1, so they sort after every counted pixel (errors are >= 0) and
the prefix counts that the Jaccard loss needs are those of the counted
pixels. The derivative of an error w.r.t. the class probability (``|[y ==
c] - p|``) or the logit (``1 + code * z``) is the code, 0 at ignored
pixels, so forward and backward are fused in one autograd function that
saves only the sort order and the gradient, sorts in place (the errors'
bit patterns as integers: the same order, a faster sort) and reuses its
buffers (on the CPU, fresh memory is what costs most after the sort).
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmengine.utils import is_seq_of
from torch import Tensor

from mmseg_ext.models.losses._utils import (SegLoss, check_choice,
                                            class_weight_tensor,
                                            flatten_target, reduce_rows)
from mmseg_ext.registry import MODELS

__all__ = ['lovasz_grad', 'lovasz_loss', 'LovaszLoss']

ClassesType = Union[str, Sequence[int]]
FG, IGNORED, BG = -1, 0, 1
# The bit patterns of IEEE floats >= +0.0, read as signed integers of the
# same width, are ordered like the floats, and negative floats (the ignored
# pixels' -1) read as negative integers: sorting the integer view gives the
# float sort's order, and integer sorts are faster.
_SORT_KEY = {torch.float32: torch.int32, torch.float64: torch.int64}


def _sorted_lovasz_grad(codes_sorted: Tensor, num_fg: Tensor,
                        out: Tensor) -> Tensor:
    """Gradient of the Lovász extension of the Jaccard loss, into ``out``.

    With ``g`` foreground pixels in a row, and ``c_i`` foreground and
    ``b_i`` background pixels among its first ``i`` (all counted), the
    Jaccard loss of predicting those ``i`` pixels is
    ``J_i = 1 - (g - c_i) / (g + b_i) = i / (g + b_i)``, and the gradient is
    ``J_i - J_(i-1)`` (>= 0).

    Args:
        codes_sorted (Tensor): (R, P) codes (-1 foreground, +1 background,
            0 ignored) in decreasing error order; ignored pixels last.
        num_fg (Tensor): (R,) foreground count ``g`` of each row.
        out (Tensor): (R, P) floating buffer for the result.

    Returns:
        Tensor: ``out``; its values at ignored pixels are meaningless.
    """
    num_pixels = codes_sorted.shape[1]
    # float32 counts are exact below 2**24
    dtype = torch.float64 if num_pixels >= 2**24 else out.dtype
    union = torch.empty(
        codes_sorted.shape, dtype=dtype, device=codes_sorted.device)
    union.copy_(codes_sorted).add_(1)  # 0 fg, 1 ignored, 2 bg
    union[:, 0] += 2 * num_fg.to(dtype)
    union.cumsum_(1)  # 2 * (g + b_i), >= 1 everywhere
    position = torch.arange(
        2, 2 * num_pixels + 1, 2, dtype=dtype, device=union.device)
    jaccard = torch.div(position, union, out=union)
    out[:, :1] = jaccard[:, :1]
    torch.sub(jaccard[:, 1:], jaccard[:, :-1], out=out[:, 1:])
    return out


def lovasz_grad(fg_sorted: Tensor,
                num_fg: Tensor,
                dtype: torch.dtype = torch.float32) -> Tensor:
    """Gradient of the Lovász extension of the Jaccard loss (Alg. 1).

    Args:
        fg_sorted (Tensor): (R, P) bool foreground of counted pixels, in
            decreasing error order.
        num_fg (Tensor): (R,) foreground count of each row.
        dtype (torch.dtype): Floating type of the result.

    Returns:
        Tensor: (R, P) ``J_i - J_(i-1)``, ``J_i`` the Jaccard loss of the
        first ``i`` pixels (``J_0 = 0``).
    """
    codes = torch.where(fg_sorted, FG, BG).to(torch.int8)
    out = torch.empty(codes.shape, dtype=dtype, device=codes.device)
    return _sorted_lovasz_grad(codes, num_fg, out)


class _LovaszExtension(torch.autograd.Function):
    """Row-wise Lovász loss of probabilities or logits: one batched sort.

    ``forward(x, codes, num_fg, hinge)``: ``x`` (R, P) holds the class's
    probability (Lovász-Softmax) or the logit (``hinge``), ``codes`` (R, P)
    the int8 pixel codes, ``num_fg`` (R,) the foreground counts. Returns
    the (R,) losses; the gradient w.r.t. ``x`` is 0 at ignored pixels.
    """

    @staticmethod
    def forward(ctx, x: Tensor, codes: Tensor, num_fg: Tensor,
                hinge: bool) -> Tensor:
        errors = torch.empty_like(x)
        if hinge:
            errors.copy_(codes).mul_(x).add_(1).relu_()
        else:
            errors.copy_(codes == FG).sub_(x).abs_()
        errors.masked_fill_(codes == IGNORED, -1)
        order = torch.empty(errors.shape, dtype=torch.long, device=x.device)
        # sorted in place, as integers: ``errors`` holds the sorted errors
        # from here on
        keys = errors.view(_SORT_KEY[errors.dtype])
        torch.sort(keys, dim=1, descending=True, out=(keys, order))
        codes_sorted = codes.gather(1, order)
        grad = _sorted_lovasz_grad(codes_sorted, num_fg,
                                   torch.empty_like(errors))
        errors.clamp_min_(0)
        if hinge:  # the ReLU is flat where the error is 0
            grad.mul_(errors > 0)
        losses = errors.mul_(grad).sum(1)
        # d error / d x is the code, 0 at ignored pixels. (For Lovász-Softmax
        # an error of 0 means p = 0 or 1, where the softmax passes no
        # gradient.)
        grad.mul_(errors.copy_(codes_sorted))
        ctx.save_for_backward(order, grad)
        # fresh memory costs more than keeping this buffer: the gradient
        # w.r.t. x is scattered into it
        ctx.spare = errors
        return losses

    @staticmethod
    def backward(ctx, grad_losses: Tensor) -> Tuple[Tensor, None, None, None]:
        order, grad = ctx.saved_tensors
        # reuse the spare buffer once (a second backward gets a new one)
        grad_x, ctx.spare = ctx.spare, None
        if grad_x is None:
            grad_x = torch.empty_like(grad)
        grad_x.scatter_(1, order, grad)
        return grad_x.mul_(grad_losses.unsqueeze(1)), None, None, None


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
    hinge = c == 1
    dtype = torch.promote_types(pred.dtype, torch.float32)
    x = pred.reshape(n, c, -1).to(dtype)
    if not hinge:
        x = x.softmax(dim=1)
    labels = labels.masked_fill(~valid, -1)
    if per_image:  # rows: (image, class)
        labels, valid = labels.unsqueeze(1), valid.unsqueeze(1)
    else:  # rows: classes over every pixel of the batch
        x = x.transpose(0, 1).reshape(1, c, -1)
        labels, valid = labels.view(1, 1, -1), valid.view(1, 1, -1)
    if hinge:  # one row, label 1
        is_fg = labels == 1
        num_fg = is_fg.sum(-1)
    else:
        is_fg = labels == torch.arange(c, device=pred.device).view(1, c, 1)
        # foreground counts from the labels: (G, C), ignored ones dropped
        num_fg = labels.new_zeros(labels.shape[0], c + 1).scatter_add_(
            1,
            torch.where(valid, labels, c).squeeze(1),
            valid.long().squeeze(1))[:, :c]
    codes = torch.where(is_fg, torch.tensor(FG, dtype=torch.int8),
                        valid.to(torch.int8))
    groups, k, num_pixels = x.shape
    if class_weight is not None:
        class_weight = class_weight.expand(groups, k)
    if not hinge and classes == 'present' and not bool((num_fg > 0).all()):
        # score only the rows of present classes: fewer rows to sort
        rows = num_fg > 0
        losses = x.new_zeros(groups, k).masked_scatter(
            rows,
            _LovaszExtension.apply(x[rows], codes[rows], num_fg[rows], hinge))
        if class_weight is not None:
            losses = losses * class_weight
        return reduce_rows(
            losses.sum(1) / rows.sum(1).clamp_min(1), reduction).to(pred.dtype)
    if not hinge and classes not in ('all', 'present'):
        index = _class_index(classes, k, pred.device)
        x, codes, num_fg = (
            t.index_select(1, index) for t in (x, codes, num_fg))
        if class_weight is not None:
            class_weight = class_weight.index_select(1, index)
    losses = _LovaszExtension.apply(
        x.reshape(-1, num_pixels), codes.reshape(-1, num_pixels),
        num_fg.reshape(-1), hinge).view(groups, -1)
    if class_weight is not None:
        losses = losses * class_weight
    return reduce_rows(losses.mean(1), reduction).to(pred.dtype)


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
            with the logits (``'binary'``: one channel). With ``'binary'``
            the logits may also have mmseg's binary shape (N, H, W), read as
            (N, 1, H, W). Defaults to None.
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
                (is_seq_of(classes, int) and not isinstance(classes, str)
                 and len(classes) > 0)):
            raise ValueError("classes must be 'all', 'present' or a "
                             f'non-empty sequence of ints, got {classes!r}')
        check_choice('per_image', per_image, (True, False))
        check_choice('loss_type', loss_type, (None, 'multi_class', 'binary'))
        self.classes: Union[str, List[int]] = (
            classes if isinstance(classes, str) else list(classes))
        self.per_image = per_image
        self.loss_type = loss_type

    def compute(self, pred: Tensor, target: Tensor, weight: Optional[Tensor],
                ignore_index: int, reduction: str) -> Tensor:
        """:func:`lovasz_loss` with this module's settings.

        ``pred`` is (N, C, H, W), or (N, H, W) with ``loss_type='binary'``
        (mmseg's shape for Lovász-hinge logits, the same loss as
        (N, 1, H, W)).
        """
        if pred.dim() == 3:
            if self.loss_type != 'binary':
                raise ValueError(
                    f'pred has shape {tuple(pred.shape)}: (N, H, W) logits '
                    "are read as binary only with loss_type='binary' "
                    f'(now {self.loss_type!r}); otherwise pass '
                    '(N, C, H, W) logits')
            pred = pred.unsqueeze(1)
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
