"""What TverskyLoss and LovaszLoss share: argument checks and inputs.

Private to :mod:`mmseg_ext.models.losses`. Both losses follow mmseg's loss
contract: ``loss(seg_logits, seg_label, weight=seg_weight,
ignore_index=head.ignore_index)`` with logits ``(N, C, H, W)`` and labels
``(N, H, W)``; a one-channel head (``out_channels=1``) is binary.
"""
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmseg.models.losses.utils import get_class_weight
from torch import Tensor, nn

__all__ = [
    'REDUCTIONS', 'SegLoss', 'check_non_negative', 'check_choice',
    'load_class_weight', 'class_weight_tensor', 'flatten_target', 'reduce_rows'
]

REDUCTIONS = ('mean', 'sum', 'none')


def check_non_negative(name: str, value: float) -> float:
    """Return ``value`` as a float; raise ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        # a bad config value, reported like the others (mmseg style)
        raise ValueError(  # noqa: TRY004
            f'{name} must be a number, got {value!r}')
    if not math.isfinite(value) or value < 0:
        raise ValueError(f'{name} must be finite and >= 0, got {value!r}')
    return float(value)


def check_choice(name: str, value: object, choices: Sequence) -> None:
    """Raise ``ValueError`` naming ``name`` if ``value`` is not a choice."""
    if value not in choices:
        raise ValueError(f'{name} must be one of {tuple(choices)}, '
                         f'got {value!r}')


def load_class_weight(
        class_weight: Union[Sequence[float], str,
                            None]) -> Optional[List[float]]:
    """Read ``class_weight`` the way mmseg does and check it.

    Args:
        class_weight (Sequence[float] | str | None): Weights, or a path to a
            ``.npy``/``.json``/``.yaml``/``.pkl`` file holding them
            (:func:`mmseg.models.losses.utils.get_class_weight`).

    Returns:
        list[float] | None: One finite weight >= 0 per class.
    """
    if class_weight is None:
        return None
    values = get_class_weight(class_weight)
    try:
        weights = torch.as_tensor(values, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(
            f'class_weight must be a list of numbers, got {values!r}') from err
    if weights.dim() != 1 or weights.numel() == 0:
        raise ValueError('class_weight must be a non-empty 1-D list, got '
                         f'shape {tuple(weights.shape)}')
    if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()):
        raise ValueError(
            f'class_weight must be finite and >= 0, got {weights.tolist()}')
    return weights.tolist()


def class_weight_tensor(class_weight: Optional[List[float]], num: int,
                        like: Tensor) -> Optional[Tensor]:
    """``class_weight`` as a tensor of ``like``; check it has ``num`` items."""
    if class_weight is None:
        return None
    if len(class_weight) != num:
        raise ValueError(
            f'class_weight has {len(class_weight)} entries but the logits '
            f'have {num} channel(s)')
    return like.new_tensor(class_weight)


def flatten_target(pred: Tensor,
                   target: Tensor,
                   ignore_index: Optional[int],
                   weight: Optional[Tensor] = None,
                   num_labels: Optional[int] = None) -> Tuple[Tensor, Tensor]:
    """Check the shapes; flatten labels and mark the pixels that count.

    Args:
        pred (Tensor): Logits, shape (N, C, H, W).
        target (Tensor): Labels, shape (N, H, W).
        ignore_index (int, optional): Label of the pixels left out.
        weight (Tensor, optional): Pixel weights, shape (N, H, W) or
            (N, 1, H, W) (a sampler's ``seg_weight``); pixels of weight 0
            are left out like ignored ones.
        num_labels (int, optional): Labels must lie in ``[0, num_labels)``;
            defaults to C (2 for a one-channel logit).

    Returns:
        tuple[Tensor, Tensor]: ``labels`` (N, H*W) long, 0 at left-out
        pixels, and ``valid`` (N, H*W) bool.
    """
    if pred.dim() != 4:
        raise ValueError(
            f'pred must have shape (N, C, H, W), got {tuple(pred.shape)}')
    n, c, h, w = pred.shape
    if target.shape != (n, h, w):
        raise ValueError(f'target must have shape {(n, h, w)} to match pred '
                         f'{tuple(pred.shape)}, got {tuple(target.shape)}')
    labels = target.reshape(n, h * w).long()
    valid = labels != ignore_index if ignore_index is not None else \
        torch.ones_like(labels, dtype=torch.bool)
    if weight is not None:
        valid = valid & (weight.reshape(n, h * w) > 0)
    if num_labels is None:
        num_labels = max(c, 2)
    bad = valid & ((labels < 0) | (labels >= num_labels))
    if bool(bad.any()):
        raise ValueError(
            f'target holds label {int(labels[bad][0])}, outside '
            f'[0, {num_labels}) and not ignore_index={ignore_index}')
    return labels.masked_fill(~valid, 0), valid


def reduce_rows(losses: Tensor, reduction: str) -> Tensor:
    """Reduce per-image losses (N,) by ``'mean'``, ``'sum'`` or ``'none'``."""
    if reduction == 'mean':
        return losses.mean()
    if reduction == 'sum':
        return losses.sum()
    return losses


class SegLoss(nn.Module):
    """Base of mmseg_ext's losses: the mmseg loss contract, checked.

    Holds ``loss_weight``, ``class_weight`` (a list, or a path as in mmseg),
    its own ``ignore_index`` (``None``: use the one the head passes, else 255)
    and ``loss_name``, which must start with ``loss_`` for the loss to be
    back-propagated (mmseg sums every item whose name holds ``loss``).

    Args:
        class_weight (Sequence[float] | str, optional): Per-class weights.
        loss_weight (float): Factor of the loss. Defaults to 1.0.
        ignore_index (int, optional): Label to ignore. Defaults to None.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'`` over images.
        loss_name (str): Name of the loss item.
    """

    def __init__(self,
                 class_weight: Union[Sequence[float], str, None] = None,
                 loss_weight: float = 1.0,
                 ignore_index: Optional[int] = None,
                 reduction: str = 'mean',
                 loss_name: str = 'loss') -> None:
        super().__init__()
        check_choice('reduction', reduction, REDUCTIONS)
        if not isinstance(loss_name, str) or not loss_name:
            raise ValueError(
                f'loss_name must be a non-empty str, got {loss_name!r}')
        self.class_weight = load_class_weight(class_weight)
        self.loss_weight = float(loss_weight)
        self.ignore_index = ignore_index
        self.reduction = reduction
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        """Name of the loss item in the losses dict (and in the log)."""
        return self._loss_name

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                ignore_index: Optional[int] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of logits (N, C, H, W) against labels (N, H, W).

        A loss of weight 0 (for example before a
        :class:`~mmseg_ext.engine.hooks.LossScheduleHook` switches it on)
        is not computed.

        Args:
            pred (Tensor): Logits, shape (N, C, H, W).
            target (Tensor): Labels, shape (N, H, W).
            weight (Tensor, optional): Pixel weights (N, H, W), a sampler's.
            ignore_index (int, optional): The head's ignore index.
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: ``loss_weight`` times the loss.
        """
        if reduction_override is not None:
            check_choice('reduction_override', reduction_override, REDUCTIONS)
        if self.ignore_index is not None:
            ignore_index = self.ignore_index
        elif ignore_index is None:
            ignore_index = 255
        if self.loss_weight == 0:
            # (pred * 0).sum(): pred.sum() * 0 is nan once fp16 sums overflow
            return (pred * 0).sum()
        return self.loss_weight * self.compute(
            pred,
            target,
            weight=weight,
            ignore_index=ignore_index,
            reduction=reduction_override or self.reduction)

    def compute(self, pred: Tensor, target: Tensor, weight: Optional[Tensor],
                ignore_index: int, reduction: str) -> Tensor:
        """The unweighted loss; see :meth:`forward`."""
        raise NotImplementedError
