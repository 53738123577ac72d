"""Checks that every segmentation loss of mmseg_ext must pass."""
from typing import Callable, Tuple

import torch
from torch import Tensor


def value_and_grad(loss: Callable, pred: Tensor, target: Tensor,
                   **kwargs) -> Tuple[Tensor, Tensor]:
    """The loss of ``pred`` and its gradient w.r.t. ``pred``."""
    pred = pred.detach().clone().requires_grad_()
    value = loss(pred, target, **kwargs)
    value.backward()
    return value.detach(), pred.grad


def assert_same_value_and_grad(ours: Callable, theirs: Callable, pred: Tensor,
                               target: Tensor) -> None:
    """Both losses agree on ``pred`` (the head passes ignore_index=255)."""
    ours_value, ours_grad = value_and_grad(
        ours, pred, target, ignore_index=255)
    theirs_value, theirs_grad = value_and_grad(
        theirs, pred, target, ignore_index=255)
    torch.testing.assert_close(ours_value, theirs_value)
    torch.testing.assert_close(ours_grad, theirs_grad)


def assert_ignored_pixels_inert(loss: Callable, channels: int,
                                seed: int) -> None:
    """Logits at ignored pixels change neither the loss nor any gradient,
    and get an exactly zero gradient themselves."""
    gen = torch.Generator().manual_seed(seed)
    target = torch.randint(0, max(channels, 2), (2, 6, 6), generator=gen)
    ignored = torch.rand(2, 6, 6, generator=gen) < 0.3
    target[ignored] = 255
    pred = torch.randn(2, channels, 6, 6, dtype=torch.float64, generator=gen)
    mask = ignored.unsqueeze(1).expand_as(pred)
    other = pred.clone()
    other[mask] = 100.0 * torch.randn(
        int(mask.sum()), dtype=torch.float64, generator=gen)
    value, grad = value_and_grad(loss, pred, target)
    other_value, other_grad = value_and_grad(loss, other, target)
    torch.testing.assert_close(value, other_value)
    torch.testing.assert_close(grad, other_grad)
    assert bool((grad[mask] == 0).all())
    assert bool((grad[~mask] != 0).any())


def assert_zero_pixel_weight_is_ignoring(loss: Callable, seed: int) -> None:
    """A sampler's pixel weight of 0 leaves the pixel out like 255 does."""
    gen = torch.Generator().manual_seed(seed)
    pred = torch.randn(2, 3, 4, 4, dtype=torch.float64, generator=gen)
    target = torch.randint(0, 3, (2, 4, 4), generator=gen)
    weight = (torch.rand(2, 4, 4, generator=gen) > 0.3).double()
    torch.testing.assert_close(
        loss(pred, target, weight=weight),
        loss(pred, target.masked_fill(weight == 0, 255)))


def assert_half_precision_close(loss: Callable, channels: int) -> None:
    """bfloat16 logits give the float32 loss of the same (rounded) logits,
    in bfloat16, with a bfloat16 gradient."""
    gen = torch.Generator().manual_seed(0)
    pred = torch.randn(2, channels, 8, 8, generator=gen).bfloat16()
    target = torch.randint(0, max(channels, 2), (2, 8, 8), generator=gen)
    target[0, 0] = 255
    value, grad = value_and_grad(loss, pred, target)
    ref_value, ref_grad = value_and_grad(loss, pred.float(), target)
    assert value.dtype == grad.dtype == torch.bfloat16
    torch.testing.assert_close(value.float(), ref_value, rtol=1e-2, atol=0)
    torch.testing.assert_close(grad.float(), ref_grad, rtol=2e-2, atol=1e-4)
