"""Gradients in their parameters' strides, so that DDP copies them as is.

Convolutions over channels-last-strided inputs return channels-last weight
gradients. mmseg's MiT hands its feature maps over as such views
(``nlc_to_nchw`` is a transpose plus reshape), so the depthwise 3x3 weights
of its MixFFN (``[C, 1, 3, 3]``) and every 1x1 convolution behind it get
gradients whose strides differ from the parameter's on the size-1 dims.
autograd keeps them (for a size-1 dim the stride addresses nothing), but
DDP compares strides exactly: it warns ``Grad strides do not match bucket
view strides`` and copies those gradients into its buckets the slow way.

:func:`align_grad_strides` registers a hook on each parameter with a size-1
dim that gives such a gradient the parameter's strides. It is a view of the
same memory, element for element (no copy, no new values), so training is
unchanged; only DDP's bucket copy sees matching strides.
"""
from typing import Sequence

import torch
from torch import Tensor, nn

__all__ = ['align_grad_strides', 'restride_grad']


def restride_grad(grad: Tensor, stride: Sequence[int]) -> Tensor:
    """``grad`` with ``stride`` when they differ only on size-1 dims.

    Args:
        grad (Tensor): A dense gradient, any shape.
        stride (Sequence[int]): The parameter's strides.

    Returns:
        Tensor: ``grad`` itself, or a view of its memory with ``stride``
        (the same elements: a size-1 dim's stride addresses nothing).
    """
    if grad.layout != torch.strided or tuple(grad.stride()) == tuple(stride):
        return grad
    if all(size == 1 or have == want for size, have, want in zip(
            grad.shape, grad.stride(), stride)):
        return grad.as_strided(grad.shape, tuple(stride),
                               grad.storage_offset())
    return grad


def align_grad_strides(model: nn.Module) -> int:
    """Hook every trainable parameter with a size-1 dim (see the module).

    Call it before wrapping the model in DDP.

    Args:
        model (nn.Module): The model.

    Returns:
        int: How many parameters got the hook.
    """
    count = 0
    for param in model.parameters():
        if param.requires_grad and param.dim() > 1 and 1 in param.shape:
            stride = tuple(param.stride())
            param.register_hook(
                lambda grad, stride=stride: restride_grad(grad, stride))
            count += 1
    return count
