"""UFormer through the tools: 2-process CPU dist_train, test.py with --tta."""
import json
import math
import os.path as osp
import re

import pytest
import torch

from mmseg_ext.engine import safe_torch_load
from tests.helpers import (UFORMER_DEMO_CONFIG, as_cli_options, free_port,
                           run_tool, tiny_runtime_options)


# member 0 frozen, member 1 trained, learnable weights through a fused loss:
# under DDP, frozen parameters and the weights must not trip unused-parameter
# checks
MODEL_OPTIONS = [
    'model.freeze=[True,False]', 'model.learn_weights=True',
    'model.fused_loss.type=CrossEntropyLoss',
    'model.fused_loss.loss_weight=0.5'
]


@pytest.fixture(scope='module')
def trained_uformer(synthetic_root, tmp_path_factory):
    """The demo UFormer, 2 iterations on 2 gloo processes."""
    work_dir = str(tmp_path_factory.mktemp('uformer'))
    proc = run_tool(
        ['bash', 'tools/dist_train.sh', UFORMER_DEMO_CONFIG, '2',
         '--work-dir', work_dir, '--cfg-options',
         *as_cli_options(tiny_runtime_options(synthetic_root, 2, 2)),
         *MODEL_OPTIONS],
        PORT=str(free_port()))
    return work_dir, proc.stdout + proc.stderr


def test_dist_train_two_cpu_processes(trained_uformer):
    work_dir, log = trained_uformer
    assert 'backend=gloo, world_size=2, device=cpu' in log
    for key in ('m1.decode.loss_ce', 'fused.loss_ce', 'fused.acc_seg'):
        assert key in log
    assert 'm0.' not in log  # frozen: no losses of its own
    assert 'mIoU' in log
    ckpt = safe_torch_load(osp.join(work_dir, 'iter_2.pth'))
    keys = ckpt['state_dict']
    assert any(k.startswith('members.0.backbone.') for k in keys)
    assert any(k.startswith('members.1.decode_head.fusion_conv') for k in keys)
    assert 'fixed_weights' not in keys  # fixed weights come from the config
    # the learnable weights moved from their initialisation log(0.5)
    assert not torch.allclose(keys['weight_logits'],
                              torch.full((2, ), math.log(0.5)))


def test_dist_train_log_is_quiet(trained_uformer):
    """No pkg_resources warning (mmengine reading ``mmseg::`` bases) and no
    DDP grad-stride warning (MiT's channels-last gradients) in the log."""
    _, log = trained_uformer
    assert 'pkg_resources' not in log
    assert 'Grad strides do not match bucket view strides' not in log


def test_test_tool_with_tta(trained_uformer, synthetic_root, tmp_path):
    work_dir, _ = trained_uformer
    run_tool([
        'bash', '-c', '"$PYTHON" tools/test.py "$@"', '_',
        UFORMER_DEMO_CONFIG, osp.join(work_dir, 'iter_2.pth'), '--tta',
        '--work-dir', str(tmp_path), '--cfg-options',
        f'test_dataloader.dataset.data_root={synthetic_root}',
        *MODEL_OPTIONS
    ])
    with open(tmp_path / 'test_report.json') as f:
        report = json.load(f)
    assert report['classes'] == ['background', 'obstacle']
    assert 0.0 <= report['metrics']['mIoU'] <= 100.0


def test_validation_during_training_scores_the_saved_checkpoint(
        trained_uformer, synthetic_root, tmp_path):
    """CPU DDP has no SyncBN: each rank's BN statistics drift apart. They are
    averaged before validation and before saving, so the numbers validation
    logged are those of the checkpoint file."""
    work_dir, log = trained_uformer
    logged = re.findall(
        r'Iter\(val\) \[\d+/\d+\]\s+aAcc: ([\d.]+)\s+mIoU: ([\d.]+)\s+'
        r'mAcc: ([\d.]+)', log)
    assert len(logged) == 1
    run_tool([
        'bash', '-c', '"$PYTHON" tools/test.py "$@"', '_',
        UFORMER_DEMO_CONFIG, osp.join(work_dir, 'iter_2.pth'),
        '--work-dir', str(tmp_path), '--cfg-options',
        f'test_dataloader.dataset.data_root={synthetic_root}',
        *MODEL_OPTIONS
    ])
    with open(tmp_path / 'test_report.json') as f:
        metrics = json.load(f)['metrics']
    assert [float(v) for v in logged[0]] == pytest.approx(
        [metrics['aAcc'], metrics['mIoU'], metrics['mAcc']], abs=0.006)
