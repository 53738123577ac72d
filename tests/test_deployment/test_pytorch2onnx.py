"""tools/deployment/pytorch2onnx.py and mmseg_ext/deployment/pytorch2onnx.py.

The four families' parity is in test_parity.py; here: the tool, its
metadata, the checkpoint checks and the errors that name the module.
"""
import os.path as osp

import pytest
import torch
from torch import nn

from mmseg_ext.cli.pytorch2onnx import main
from mmseg_ext.deployment import (ExportError, export_onnx, export_segmentor,
                                  load_segmentor, read_metadata, verify_onnx)
from tests.helpers import DEMO_CONFIG, REPO

pytest.importorskip('onnxruntime')

SEGFORMER_DEMO = osp.join(
    REPO, 'configs', 'demo',
    'segformer_mit-b0-c64-convhead_2xb4-800iter_synthetic-binary-128x128.py')


def test_tool_writes_file_with_metadata(tiny_unet_run, tmp_path, capsys):
    config, ckpt, _ = tiny_unet_run
    out = str(tmp_path / 'unet.onnx')
    meta = main([config, ckpt, '--out', out, '--verify'])
    assert read_metadata(out) == meta
    assert 'wrote' in capsys.readouterr().out
    # the config's whole mode, test-time padding and normalisation; no
    # Resize in the synthetic test pipeline, so 512x512 by default
    assert meta['model'] == 'EncoderDecoder'
    assert meta['test_mode'] == 'whole' and meta['size_divisor'] == 16
    assert meta['mean'] == [123.675, 116.28, 103.53]
    assert meta['bgr_to_rgb'] is True and meta['pad_val'] == 0
    assert meta['input_shape'] == [512, 512] and meta['dynamic'] is False
    assert meta['classes'] == ['background', 'obstacle']
    assert meta['palette'] == [[0, 0, 0], [255, 0, 0]]
    assert meta['fuse'] is None


def test_load_segmentor_reverts_syncbn_and_checks_the_checkpoint(
        tiny_unet_run, tmp_path, capsys):
    config, ckpt, _ = tiny_unet_run
    model, _, loaded = load_segmentor(config, ckpt)
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in model.modules())
    assert not model.training and 'state_dict' in loaded
    # a U-Net checkpoint for the SegFormer config: refused, nothing written
    out = tmp_path / 'x.onnx'
    with pytest.raises(SystemExit) as exc:
        main([SEGFORMER_DEMO, ckpt, '--out', str(out)])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert 'does not fit the model' in err and ckpt in err
    assert not out.exists()


class _Eigh(nn.Module):
    """Uses an operator ONNX lacks (found when the graph is converted)."""

    def forward(self, x):
        return x + 0 * torch.linalg.eigvalsh(
            x[:, :, :2, :2] @ x[:, :, :2, :2]).sum()


class _RaisesWhenTraced(nn.Module):
    """Fails inside its forward while the exporter traces."""

    def forward(self, x):
        if torch.jit.is_tracing():
            raise RuntimeError('data-dependent control flow')
        return x


@pytest.fixture(scope='module')
def unet():
    return load_segmentor(DEMO_CONFIG, None)[0]


@pytest.mark.parametrize('bad,reason', [(_Eigh, 'aten::linalg_eigvalsh'),
                                        (_RaisesWhenTraced, 'control flow')])
def test_export_errors_name_the_module(unet, bad, reason):
    original = unet.decode_head.conv_seg
    unet.decode_head.conv_seg = nn.Sequential(original, bad())
    try:
        with pytest.raises(ExportError) as err:
            export_onnx(unet, None, (32, 32))
    finally:
        unet.decode_head.conv_seg = original
    message = str(err.value)
    assert f'{bad.__name__} (model.decode_head.conv_seg.1)' in message
    assert reason in message


def test_heads_with_their_own_predict_are_refused(unet):
    head = unet.decode_head
    original = type(head)
    head.__class__ = type('PointLikeHead', (original, ),
                          dict(predict=lambda self, *args: None))
    try:
        with pytest.raises(ExportError, match=r'PointLikeHead.*predict\(\)'):
            export_onnx(unet, None, (32, 32))
    finally:
        head.__class__ = original


def test_binary_uformer_with_probability_fusion(tmp_path):
    """One sigmoid channel, fuse='probs' (logit of the mean probability),
    unequal weights, dynamic shape: the graph equals PyTorch at two
    sizes. Two U-Net members keep it fast (random weights)."""
    member = dict(config=DEMO_CONFIG)
    options = dict(
        model=dict(
            _delete_=True,
            type='UFormer',
            members=[member, member],
            num_classes=2,
            out_channels=1,
            threshold=0.4,
            weights=[0.7, 0.3],
            fuse='probs',
            data_preprocessor=dict(
                type='SegDataPreProcessor',
                mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375],
                bgr_to_rgb=True,
                pad_val=0,
                seg_pad_val=255,
                test_cfg=dict(size_divisor=16))))
    model, cfg, _ = load_segmentor(DEMO_CONFIG, None, options)
    out = str(tmp_path / 'uformer.onnx')
    meta = export_segmentor(model, cfg, out, shape=(32, 32), dynamic=True)
    assert meta['out_channels'] == 1 and meta['threshold'] == 0.4
    assert meta['fuse'] == 'probs'
    assert meta['weights'] == pytest.approx([0.7, 0.3])
    for shape in [(32, 32), (48, 64)]:
        assert verify_onnx(model, out, shape, batch_size=2) <= 1e-4
