"""Export -> onnxruntime parity on tiny trained checkpoints.

For each family of the zoo (U-Net, DeepLabV3+, SegFormer + SegformerConvHead,
UFormer), a model trained 2 iterations on the generated data is exported
and run on the val split: the fp32 logits of onnxruntime and PyTorch on the
same normalised input differ by at most 1e-3, and the masks of the full
torch-free path (``mmseg_ext_deploy.OrtSegmentor`` on the image files)
equal mmseg's inference (``init_model`` + ``test_step``) on >= 99.9 % of
the pixels. Between them the cases cover softmax and one-channel sigmoid
heads, fixed and dynamic shapes, and UFormer's 'logits' and 'probs'
fusion.
"""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from mmseg_ext.apis import build_split_dataset
from mmseg_ext.deployment import (SegmentorLogits, export_segmentor,
                                  load_segmentor)
from tests.helpers import REPO, train_in_process

ort = pytest.importorskip('onnxruntime')
OrtSegmentor = pytest.importorskip('mmseg_ext_deploy').OrtSegmentor

LOGITS_ATOL = 1e-3
MIN_MASK_AGREEMENT = 0.999
SEGFORMER_DEMO = osp.join(
    REPO, 'configs', 'demo',
    'segformer_mit-b0-c64-convhead_2xb4-800iter_synthetic-binary-128x128.py')
UNET_DEMO = osp.join(
    REPO, 'configs', 'demo',
    'unet-s5-d16-c16_fcn_2xb4-800iter_synthetic-binary-128x128.py')
# mmseg's DeepLabV3+ at ResNetV1c-18 (as mmseg's r18-d8 configs) with
# narrow heads and ONE sigmoid channel (the zoo's binary head), from
# scratch, on the generated binary data
DEEPLAB_CONFIG = """
_base_ = [
    'mmseg::_base_/models/deeplabv3plus_r50-d8.py',
    '{repo}/configs/_base_/datasets/synthetic_binary.py',
    '{repo}/configs/_base_/default_runtime.py',
    '{repo}/configs/_base_/schedules/demo_adamw_800iter.py',
    '{repo}/configs/_base_/models/binary_sigmoid_head.py',
]
bce = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=(32, 32), test_cfg=dict(size_divisor=8)),
    backbone=dict(depth=18, init_cfg=None),
    decode_head=dict(
        _base_.binary_head, c1_in_channels=64, c1_channels=8,
        in_channels=512, channels=16, loss_decode=bce),
    auxiliary_head=dict(
        _base_.binary_head, in_channels=256, channels=16, loss_decode=bce))
"""


def _deeplab_config(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp('deeplab_cfg') / 'deeplabv3plus_r18.py'
    path.write_text(DEEPLAB_CONFIG.format(repo=REPO))
    return str(path)


@pytest.fixture(scope='module')
def trained(request, tiny_unet_run, tiny_uformer_run, synthetic_root,
            tmp_path_factory):
    """Lazily trained tiny checkpoints, one per family: ``(config, ckpt)``."""
    cache = {}

    def get(family: str):
        if family in cache:
            return cache[family]
        if family == 'unet':
            config, ckpt, _ = tiny_unet_run
        elif family == 'uformer':
            config, ckpt, _ = tiny_uformer_run
        else:
            config = (
                SEGFORMER_DEMO if family == 'segformer' else
                _deeplab_config(tmp_path_factory))
            work_dir = str(tmp_path_factory.mktemp(f'export_{family}'))
            ckpt = train_in_process(
                config, synthetic_root, work_dir, validate=False)
        cache[family] = config, ckpt
        return cache[family]

    return get


# (family, extra cfg-options, dynamic, expected out_channels)
CASES = [
    ('unet', {}, False, 2),
    ('deeplabv3plus', {}, True, 1),
    ('segformer', {}, False, 2),
    ('uformer', {}, True, 2),
    ('uformer', {
        'model.fuse': 'probs'
    }, True, 2),
]


@pytest.mark.parametrize(
    'family,extra,dynamic,out_channels',
    CASES,
    ids=[f'{c[0]}-{"-".join(c[1].values()) or "default"}' for c in CASES])
def test_onnxruntime_matches_pytorch(family, extra, dynamic, out_channels,
                                     trained, synthetic_root, tmp_path):
    config, ckpt = trained(family)
    options = {
        'val_dataloader.dataset.data_root': synthetic_root,
        'test_dataloader.dataset.data_root': synthetic_root,
        **extra
    }
    # load_segmentor is init_model with the checkpoint checked key by key
    model, cfg, loaded = load_segmentor(config, ckpt, options)
    out = str(tmp_path / f'{family}.onnx')
    # the generated images are 32x32 (a multiple of every size divisor)
    meta = export_segmentor(
        model, cfg, out, loaded, shape=(32, 32), dynamic=dynamic)
    assert meta['out_channels'] == out_channels
    assert meta['classes'] == ['background', 'obstacle']
    assert meta['input_shape'] == (None if dynamic else [32, 32])
    dataset = build_split_dataset(cfg, 'val')
    session = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    wrapper = SegmentorLogits(model).eval()
    runtime = OrtSegmentor(out, intra_op_num_threads=1)

    worst = 0.0
    agree = dict(logits=0, runtime=0)
    total = 0
    for index in range(len(dataset)):
        item = dataset[index]
        with torch.no_grad():
            batch = model.data_preprocessor(pseudo_collate([item]), False)
            expected = wrapper(batch['inputs'])
            # mmseg's inference: preprocessing, predict, post-processing
            reference = model.test_step(pseudo_collate([item]))[0]
        ref_mask = reference.pred_sem_seg.data[0]
        got = session.run(['logits'], {'input': batch['inputs'].numpy()})[0]
        worst = max(worst, float(np.abs(got - expected.numpy()).max()))
        # the onnxruntime logits, post-processed by mmseg
        ours = model.postprocess_result(
            torch.from_numpy(got), batch['data_samples'])[0]
        agree['logits'] += int((ours.pred_sem_seg.data[0] == ref_mask).sum())
        # the torch-free path: image file -> mask
        image = cv2.imread(reference.img_path, cv2.IMREAD_COLOR)
        pred = runtime.predict(image)
        assert pred.mask.shape == tuple(ref_mask.shape)
        agree['runtime'] += int((pred.mask == ref_mask.numpy()).sum())
        total += ref_mask.numel()
    assert worst <= LOGITS_ATOL, f'max |ORT - PyTorch| = {worst}'
    for path, count in agree.items():
        assert count / total >= MIN_MASK_AGREEMENT, (path, count / total)
