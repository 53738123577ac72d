"""mmseg_ext/deployment/export_patches.py: stand-ins with symbolic sizes."""
import io

import numpy as np
import pytest
import torch
from mmseg.models.utils import Upsample
from torch import nn

from mmseg_ext.deployment import (OnnxMultiheadAttention, OnnxUpsample,
                                  exportable_modules)

ort = pytest.importorskip('onnxruntime')


class _ReducedAttention(nn.Module):
    """MiT-like attention: keys/values from a 2x2-strided conv, so the key
    length differs from the query length (what torch's tracer bakes in)."""

    def __init__(self, batch_first: bool) -> None:
        super().__init__()
        self.batch_first = batch_first
        self.sr = nn.Conv2d(8, 8, 2, 2)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=batch_first)
        self.up = Upsample(scale_factor=2, mode='bilinear')

    def forward(self, x):  # (N, 8, H, W)
        q = x.flatten(2).permute(2, 0, 1)  # (L, N, E)
        kv = self.sr(x).flatten(2).permute(2, 0, 1)
        if self.batch_first:
            q, kv = q.transpose(0, 1), kv.transpose(0, 1)
        out = self.attn(q, kv, kv)[0]
        if self.batch_first:
            out = out.transpose(0, 1)
        out = out.permute(1, 2, 0).reshape(x.shape)
        return self.up(out)


@pytest.mark.parametrize('batch_first', [False, True])
def test_attention_stand_in_equals_torch(batch_first):
    torch.manual_seed(0)
    attn = nn.MultiheadAttention(8, 2, batch_first=batch_first).eval()
    q, kv = torch.randn(5, 3, 8), torch.randn(2, 3, 8)  # (L, N, E)
    if batch_first:
        q, kv = q.transpose(0, 1), kv.transpose(0, 1)
    expected = attn(q, kv, kv)[0]
    got, weights = OnnxMultiheadAttention(attn)(q, kv, kv)
    assert weights is None
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-5)


def test_attention_stand_in_refuses_what_it_lacks():
    with pytest.raises(NotImplementedError, match='add_bias_kv'):
        OnnxMultiheadAttention(nn.MultiheadAttention(8, 2, add_bias_kv=True))
    stand_in = OnnxMultiheadAttention(nn.MultiheadAttention(8, 2))
    x = torch.randn(3, 1, 8)
    with pytest.raises(NotImplementedError, match='mask'):
        stand_in(x, x, x, attn_mask=torch.zeros(3, 3))


def test_upsample_stand_in_equals_mmseg():
    up = Upsample(scale_factor=2, mode='bilinear', align_corners=False)
    x = torch.randn(1, 2, 5, 7)
    # outside tracing the stand-in simply calls the module
    torch.testing.assert_close(OnnxUpsample(up)(x), up(x))
    traced = torch.jit.trace(OnnxUpsample(up), x)
    y = torch.randn(1, 2, 6, 3)
    torch.testing.assert_close(traced(y), up(y))  # sizes not baked in


def test_dynamic_export_runs_at_other_sizes_and_restores_modules():
    model = _ReducedAttention(batch_first=True).eval()
    buffer = io.BytesIO()
    with exportable_modules(model) as swapped:
        assert swapped == 2
        assert isinstance(model.attn, OnnxMultiheadAttention)
        torch.onnx.export(
            model, (torch.randn(1, 8, 8, 8), ),
            buffer,
            dynamo=False,
            opset_version=17,
            input_names=['input'],
            output_names=['out'],
            dynamic_axes=dict(
                input={
                    0: 'N',
                    2: 'H',
                    3: 'W'
                }, out={
                    0: 'N',
                    2: 'H',
                    3: 'W'
                }))
    assert type(model.attn) is nn.MultiheadAttention
    assert type(model.up) is Upsample
    session = ort.InferenceSession(buffer.getvalue())
    for shape in [(1, 8, 8, 8), (2, 8, 12, 16)]:
        x = torch.randn(*shape)
        with torch.no_grad():
            expected = model(x).numpy()
        got = session.run(None, {'input': x.numpy()})[0]
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() < 1e-5
