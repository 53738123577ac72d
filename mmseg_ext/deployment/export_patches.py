"""ONNX-exportable stand-ins for modules that trace with baked-in sizes.

torch's TorchScript ONNX exporter records Python ints as constants. Two
modules of the zoo compute sizes that way, so their graphs fail on any
other input size (``--dynamic``):

- ``nn.MultiheadAttention``: ``F.multi_head_attention_forward`` bakes in
  the key length whenever the key is not the query (SegFormer MiT's
  spatial-reduction attention);
- mmseg's ``Upsample`` (U-Net's ``InterpConv``): ``int(size * scale)``.

The stand-ins compute the same values with every size symbolic;
:func:`exportable_modules` swaps them in for the time of an export.
"""
import math
from contextlib import contextmanager
from typing import Callable, Iterator, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmseg.models.utils import Upsample
from torch import Tensor, nn

__all__ = ['OnnxMultiheadAttention', 'OnnxUpsample', 'exportable_modules']


class OnnxMultiheadAttention(nn.Module):
    """``nn.MultiheadAttention``'s inference forward, export-friendly.

    It shares the wrapped module's parameters (nothing is copied) and
    supports what mmseg's transformers use: packed in-projection (query,
    key and value of one width), biases, no masks, no ``bias_k``/``bias_v``,
    no zero attention, eval mode.

    Args:
        attn (nn.MultiheadAttention): The module to stand in for.

    Raises:
        NotImplementedError: The module uses a feature the stand-in lacks,
            naming it.
    """

    def __init__(self, attn: nn.MultiheadAttention) -> None:
        super().__init__()
        unsupported = []
        if not attn._qkv_same_embed_dim:
            unsupported.append('kdim/vdim different from embed_dim')
        if attn.bias_k is not None or attn.bias_v is not None:
            unsupported.append('add_bias_kv=True')
        if attn.add_zero_attn:
            unsupported.append('add_zero_attn=True')
        if unsupported:
            raise NotImplementedError(
                'nn.MultiheadAttention with ' + ', '.join(unsupported) +
                ' cannot be exported (only packed query/key/value '
                'projections are supported)')
        self.attn = attn

    def forward(self,
                query: Tensor,
                key: Tensor,
                value: Tensor,
                key_padding_mask: Optional[Tensor] = None,
                need_weights: bool = True,
                attn_mask: Optional[Tensor] = None,
                average_attn_weights: bool = True,
                is_causal: bool = False) -> Tuple[Tensor, None]:
        """Attention output, ``nn.MultiheadAttention``'s first result.

        Args:
            query (Tensor): ``(L, N, E)`` (``(N, L, E)`` if batch first).
            key (Tensor): ``(S, N, E)`` (``(N, S, E)`` if batch first).
            value (Tensor): Same shape as ``key``.
            key_padding_mask, attn_mask, is_causal: Must be unset.
            need_weights, average_attn_weights: Ignored: the weights are
                not returned (callers that export use only the output).

        Returns:
            tuple: The output, shaped as ``query``, and None.
        """
        if key_padding_mask is not None or attn_mask is not None or \
                is_causal:
            raise NotImplementedError(
                'nn.MultiheadAttention with an attention or padding mask '
                'cannot be exported')
        attn = self.attn
        heads = attn.num_heads
        width = attn.embed_dim
        if not attn.batch_first:  # to (N, L, E)
            query, key, value = (
                t.transpose(0, 1) for t in (query, key, value))
        weight, bias = attn.in_proj_weight, attn.in_proj_bias
        w_q, w_k, w_v = weight.chunk(3)
        b_q, b_k, b_v = (None, None, None) if bias is None else bias.chunk(3)
        # (N, L, E) -> (N, heads, L, E / heads); -1 keeps L symbolic
        q = F.linear(query, w_q, b_q).unflatten(-1, (heads, -1))
        k = F.linear(key, w_k, b_k).unflatten(-1, (heads, -1))
        v = F.linear(value, w_v, b_v).unflatten(-1, (heads, -1))
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
        scale = 1.0 / math.sqrt(width // heads)
        weights = ((q * scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        out = (weights @ v).transpose(1, 2).flatten(2)  # (N, L, E)
        out = attn.out_proj(out)
        if not attn.batch_first:
            out = out.transpose(0, 1)
        return out, None


class OnnxUpsample(nn.Module):
    """mmseg's ``Upsample`` with a traced (symbolic) output size.

    ``Upsample(scale_factor=s)`` resizes to ``int(side * s)``, a Python int
    that tracing freezes; this computes ``floor(side * s)`` on the traced
    sizes instead (the same value, so the same bilinear sampling).

    Args:
        upsample (Upsample): The module to stand in for.
    """

    def __init__(self, upsample: Upsample) -> None:
        super().__init__()
        self.upsample = upsample

    def forward(self, x: Tensor) -> Tensor:
        """Resize ``x`` ``(N, C, H, W)`` as the wrapped module does."""
        up = self.upsample
        if up.size or not torch.jit.is_tracing():
            return up(x)
        factors = up.scale_factor
        if not isinstance(factors, tuple):
            factors = (factors, factors)
        # traced, x.size(i) is a 0-dim tensor: the size stays symbolic
        size = [
            torch.floor(x.size(i + 2) * torch.tensor(float(f))).long()
            for i, f in enumerate(factors)
        ]
        return F.interpolate(
            x, size=size, mode=up.mode, align_corners=up.align_corners)


#: Module class -> stand-in constructor, swapped in by exportable_modules.
STAND_INS: List[Tuple[type, Callable[[nn.Module], nn.Module]]] = [
    (nn.MultiheadAttention, OnnxMultiheadAttention),
    (Upsample, OnnxUpsample),
]


def _slots(model: nn.Module) -> List[Tuple[nn.Module, str, Callable]]:
    """``(parent, name, stand-in)`` of every module to swap in ``model``."""
    slots = []
    for parent in model.modules():
        if isinstance(parent, (OnnxMultiheadAttention, OnnxUpsample)):
            continue
        for name, child in parent.named_children():
            for kind, stand_in in STAND_INS:
                if type(child) is kind:
                    slots.append((parent, name, stand_in))
                    break
    return slots


@contextmanager
def exportable_modules(model: nn.Module) -> Iterator[int]:
    """Swap the stand-ins in for the modules they replace.

    Args:
        model (nn.Module): Changed in place, restored on exit.

    Yields:
        int: How many modules were swapped.
    """
    slots = _slots(model)
    originals = [getattr(parent, name) for parent, name, _ in slots]
    try:
        for (parent, name, stand_in), module in zip(slots, originals):
            setattr(parent, name, stand_in(module))
        yield len(slots)
    finally:
        for (parent, name, _), module in zip(slots, originals):
            setattr(parent, name, module)
