"""Both losses inside mmseg decode heads: built by scope, reported by name,
and a tiny head trained a few iterations lowers each of them."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch import nn

from mmseg_ext.models.losses import LovaszLoss, TverskyLoss
from mmseg_ext.registry import HOOKS, MODELS
from tests.helpers import REPO

CE = dict(type='CrossEntropyLoss', loss_weight=1.0, loss_name='loss_ce')


def _head(loss_decode, binary=False):
    cfg = dict(
        type='FCNHead',
        in_channels=4,
        channels=8,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.0,
        num_classes=2 if binary else 3,
        out_channels=1 if binary else None,
        threshold=0.5 if binary else None,
        loss_decode=loss_decode)
    with DefaultScope.overwrite_default_scope('mmseg_ext'):
        return MODELS.build(cfg)


def _batch(binary=False, seed=0):
    """Features (2, 4, 8, 8) and labels that a 1x1 conv can learn."""
    gen = torch.Generator().manual_seed(seed)
    features = torch.randn(2, 4, 8, 8, generator=gen)
    labels = features[:, :2 if binary else 3].argmax(1)
    labels[:, 0, :3] = 255
    samples = []
    for label in labels:
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label[None])
        samples.append(sample)
    return (features, ), samples


def _train(head, binary=False, steps=25):
    inputs, samples = _batch(binary)
    optimizer = torch.optim.Adam(head.parameters(), lr=0.02)
    history = []
    for _ in range(steps):
        losses = head.loss(inputs, samples, train_cfg={})
        total = sum(v for k, v in losses.items() if k.startswith('loss'))
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        history.append({k: v.item() for k, v in losses.items()})
    return history


@pytest.mark.parametrize('loss_cfg, binary, name', [
    (dict(type='TverskyLoss'), False, 'loss_tversky'),
    (dict(type='TverskyLoss', alpha=0.2, beta=0.8,
          gamma=4 / 3), True, 'loss_tversky'),
    (dict(type='LovaszLoss'), False, 'loss_lovasz'),
    (dict(type='LovaszLoss', per_image=True), True, 'loss_lovasz'),
])
def test_tiny_head_training_lowers_each_loss(loss_cfg, binary, name):
    torch.manual_seed(0)
    head = _head(loss_cfg, binary)
    assert type(head.loss_decode) in (TverskyLoss, LovaszLoss)
    history = _train(head, binary)
    first, last = history[0][name], history[-1][name]
    assert set(history[0]) == {name, 'acc_seg'}
    assert last < 0.8 * first, (first, last)


def test_lovasz_in_a_loss_list_with_ce_reports_both_names():
    torch.manual_seed(0)
    head = _head([CE, dict(type='LovaszLoss', loss_weight=0.5)])
    assert isinstance(head.loss_decode[1], LovaszLoss)
    history = _train(head)
    assert set(history[0]) == {'loss_ce', 'loss_lovasz', 'acc_seg'}
    for name in ('loss_ce', 'loss_lovasz'):
        assert history[-1][name] < history[0][name]
    # the Lovász item is the weighted loss of the logits
    inputs, samples = _batch()
    with torch.no_grad():
        losses = head.loss(inputs, samples, train_cfg={})
        logits = head.forward(inputs)
        labels = torch.stack([s.gt_sem_seg.data[0] for s in samples])
        expected = 0.5 * LovaszLoss()(logits, labels, ignore_index=255)
    torch.testing.assert_close(losses['loss_lovasz'], expected)


def test_binary_lovasz_and_tversky_with_sigmoid_ce():
    torch.manual_seed(0)
    head = _head([
        dict(CE, use_sigmoid=True),
        dict(type='LovaszLoss'),
        dict(type='TverskyLoss')
    ],
                 binary=True)
    history = _train(head, binary=True)
    assert set(
        history[0]) == {'loss_ce', 'loss_lovasz', 'loss_tversky', 'acc_seg'}
    total = [sum(v for k, v in h.items() if k != 'acc_seg') for h in history]
    assert total[-1] < total[0]


@pytest.mark.parametrize('fragment, variable, names', [
    ('lovasz.py', 'loss_lovasz', ['loss_lovasz']),
    ('tversky.py', 'loss_tversky', ['loss_tversky']),
    ('ce_lovasz.py', 'loss_ce_lovasz', ['loss_ce', 'loss_lovasz']),
    ('ce_then_lovasz.py', 'loss_ce_then_lovasz', ['loss_ce', 'loss_lovasz']),
])
def test_config_fragments_build_decode_head_losses(fragment, variable, names):
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'losses', fragment))
    head = _head(cfg[variable])
    losses = head.loss_decode
    losses = list(losses) if isinstance(losses, nn.ModuleList) else [losses]
    assert [loss.loss_name for loss in losses] == names
    history = _train(head, steps=2)
    assert set(history[0]) == {*names, 'acc_seg'}
    if fragment == 'ce_then_lovasz.py':
        # Lovász is off until the hook switches it on
        assert [loss.loss_weight for loss in losses] == [1.0, 0.0]
        assert history[0]['loss_lovasz'] == 0
        with DefaultScope.overwrite_default_scope('mmseg_ext'):
            hook = HOOKS.build(cfg.ce_then_lovasz_hook)
        assert hook.switch_ratio == 0.8
        assert hook.loss_weights == {
            'decode_head.loss_ce': 0.0,
            'decode_head.loss_lovasz': 1.0
        }
