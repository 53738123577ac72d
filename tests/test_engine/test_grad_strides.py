import torch
from torch import nn

from mmseg_ext.engine.grad_strides import align_grad_strides, restride_grad


def _channels_last_view(n: int, c: int, h: int, w: int) -> torch.Tensor:
    """An NCHW tensor strided channels-last, as MiT's ``nlc_to_nchw``
    hands its feature maps over."""
    nlc = torch.randn(n, h * w, c)
    return nlc.transpose(1, 2).reshape(n, c, h, w)


def _depthwise_grad(hooked: bool):
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 4, 3, padding=1, groups=4)  # weight [4, 1, 3, 3]
    if hooked:
        assert align_grad_strides(conv) == 1  # the bias is 1-d
    x = _channels_last_view(2, 4, 6, 6)
    conv(x).square().sum().backward()
    return conv.weight


def test_premise_depthwise_grad_comes_channels_last():
    weight = _depthwise_grad(hooked=False)
    assert weight.grad.stride() != weight.stride()


def test_hooked_grad_has_the_parameters_strides_and_values():
    plain, hooked = _depthwise_grad(False), _depthwise_grad(True)
    assert hooked.grad.stride() == hooked.stride()
    assert torch.equal(hooked.grad, plain.grad)


def test_restride_grad_is_a_view_or_the_grad_itself():
    grad = torch.randn(4, 3, 1, 2).as_strided((4, 3, 1, 2), (6, 2, 99, 1))
    out = restride_grad(grad, (6, 2, 2, 1))
    assert out.stride() == (6, 2, 2, 1)
    assert out.data_ptr() == grad.data_ptr() and torch.equal(out, grad)
    # strides that differ on a dim of size > 1 are another layout: kept
    t = torch.randn(3, 4).t()
    assert restride_grad(t, (3, 1)) is t
    assert restride_grad(grad, grad.stride()) is grad
