"""LossScheduleHook: switch at an iteration, scoped names, resume, errors."""
import glob
import os.path as osp
from types import SimpleNamespace
from unittest.mock import MagicMock

import pytest
from mmengine.config import Config
from mmengine.hooks import Hook
from mmseg.models.losses import CrossEntropyLoss
from torch import nn

from mmseg_ext.engine.hooks import LossScheduleHook
from mmseg_ext.engine.runner import DeviceAwareRunner
from mmseg_ext.models.losses import LovaszLoss
from mmseg_ext.registry import HOOKS
from tests.helpers import REPO, tiny_cfg_options

CE_LOVASZ_CONFIG = osp.join(
    REPO, 'configs', 'demo',
    'unet-s5-d16-c16_fcn-ce-lovasz_2xb4-800iter_synthetic-binary-128x128.py')


def _head(*losses):
    head = nn.Module()
    head.loss_decode = nn.ModuleList(losses)
    return head


def _model():
    model = nn.Module()
    model.decode_head = _head(
        CrossEntropyLoss(loss_name='loss_ce'), LovaszLoss(loss_weight=0.0))
    model.auxiliary_head = _head(
        CrossEntropyLoss(loss_weight=0.4, loss_name='loss_ce'))
    return model


def _runner(model=None, iteration=0, max_iters=10):
    return SimpleNamespace(
        model=model if model is not None else _model(),
        iter=iteration,
        max_iters=max_iters,
        logger=MagicMock())


def _weights(model):
    return {
        path: loss.loss_weight
        for path, loss in LossScheduleHook.losses_of(model)
    }


def _run(hook, runner, iterations):
    """Call the hook the way a train loop does; weights seen at each iter."""
    seen = []
    hook.before_train(runner)
    for it in iterations:
        runner.iter = it
        hook.before_train_iter(runner, batch_idx=it)
        seen.append(_weights(runner.model))
    return seen


def test_switches_at_the_iteration_and_logs_it():
    hook = LossScheduleHook(
        switch_iter=3, loss_weights={
            'loss_ce': 0.0,
            'loss_lovasz': 1.0
        })
    runner = _runner()
    seen = _run(hook, runner, range(6))
    before = {
        'decode_head.loss_decode.0': 1.0,
        'decode_head.loss_decode.1': 0.0,
        'auxiliary_head.loss_decode.0': 0.4
    }
    after = {
        'decode_head.loss_decode.0': 0.0,
        'decode_head.loss_decode.1': 1.0,
        'auxiliary_head.loss_decode.0': 0.0
    }
    assert seen == [before] * 3 + [after] * 3
    runner.logger.info.assert_called_once()
    message = runner.logger.info.call_args[0][0]
    assert 'iteration 3' in message
    assert 'decode_head.loss_decode.1 (loss_lovasz): 0 -> 1' in message


def test_module_path_keys_scope_the_switch_to_one_head():
    hook = LossScheduleHook(
        switch_ratio=0.5,
        loss_weights={
            'decode_head.loss_ce': 0.0,
            'decode_head.loss_lovasz': 1.0
        })
    runner = _runner(max_iters=8)
    assert hook.switch_at(runner) == 4
    seen = _run(hook, runner, range(8))
    assert seen[3]['decode_head.loss_decode.0'] == 1.0
    assert seen[4] == {
        'decode_head.loss_decode.0': 0.0,
        'decode_head.loss_decode.1': 1.0,
        'auxiliary_head.loss_decode.0': 0.4
    }


def test_prefix_keys_reach_the_heads_of_ensemble_members():
    """A UFormer's heads live at members.<i>.decode_head."""
    ensemble = nn.Module()
    ensemble.members = nn.ModuleList([_model(), _model()])
    hook = LossScheduleHook(
        switch_iter=1,
        loss_weights={
            'decode_head.loss_ce': 0.0,
            'members.1.decode_head.loss_lovasz': 1.0
        })
    seen = _run(hook, _runner(model=ensemble), range(2))
    assert seen[1] == {
        'members.0.decode_head.loss_decode.0': 0.0,
        'members.0.decode_head.loss_decode.1': 0.0,
        'members.0.auxiliary_head.loss_decode.0': 0.4,
        'members.1.decode_head.loss_decode.0': 0.0,
        'members.1.decode_head.loss_decode.1': 1.0,
        'members.1.auxiliary_head.loss_decode.0': 0.4
    }


def test_resuming_past_the_switch_sets_the_weights_before_training():
    hook = LossScheduleHook(switch_iter=5, loss_weights={'loss_lovasz': 2.0})
    runner = _runner(iteration=7)  # a fresh model, as after --resume
    hook.before_train(runner)
    assert _weights(runner.model)['decode_head.loss_decode.1'] == 2.0
    assert 'training starts at iteration 7' in (
        runner.logger.info.call_args[0][0])
    # not before the switch
    runner = _runner(iteration=4)
    LossScheduleHook(
        switch_iter=5, loss_weights={
            'loss_lovasz': 2.0
        }).before_train(runner)
    assert _weights(runner.model)['decode_head.loss_decode.1'] == 0.0


def test_unwraps_a_model_wrapper():
    model = _model()
    runner = _runner(nn.DataParallel(model))
    hook = LossScheduleHook(
        switch_iter=0, loss_weights={'auxiliary_head.loss_ce': 0.1})
    _run(hook, runner, [0])
    assert model.auxiliary_head.loss_decode[0].loss_weight == 0.1
    assert model.decode_head.loss_decode[0].loss_weight == 1.0


def test_unknown_loss_is_refused_before_training_and_names_the_known():
    hook = LossScheduleHook(
        switch_iter=100, loss_weights={'decode_head.loss_dice': 1.0})
    with pytest.raises(ValueError, match='loss_dice') as err:
        hook.before_train(_runner())
    assert 'decode_head.loss_decode.1.loss_lovasz' in str(err.value)
    with pytest.raises(ValueError, match='loss_ce'):
        LossScheduleHook(
            switch_iter=0, loss_weights={
                'backbone.loss_ce': 1.0
            }).before_train(_runner())


@pytest.mark.parametrize('kwargs, name', [
    (dict(loss_weights={'loss_ce': 0.0}), 'switch_iter'),
    (dict(switch_iter=1, switch_ratio=0.5, loss_weights={'loss_ce': 0.0
                                                         }), 'switch_ratio'),
    (dict(switch_iter=-1, loss_weights={'loss_ce': 0.0}), 'switch_iter'),
    (dict(switch_iter=2.5, loss_weights={'loss_ce': 0.0}), 'switch_iter'),
    (dict(switch_ratio=1.5, loss_weights={'loss_ce': 0.0}), 'switch_ratio'),
    (dict(switch_iter=1, loss_weights={}), 'loss_weights'),
    (dict(switch_iter=1, loss_weights={'loss_ce': -1.0}), 'loss_weights'),
])
def test_bad_arguments_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        LossScheduleHook(**kwargs)


class _WeightProbe(Hook):
    """Records the decode head's loss weights at each iteration."""
    priority = 'LOW'  # after LossScheduleHook (NORMAL)

    def __init__(self):
        self.seen = {}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        losses = runner.model.decode_head.loss_decode
        self.seen[runner.iter] = [loss.loss_weight for loss in losses]


def _train(data_root, work_dir, max_iters, resume=False):
    cfg = Config.fromfile(CE_LOVASZ_CONFIG)
    cfg.merge_from_dict(
        tiny_cfg_options(data_root, max_iters=max_iters, interval=2))
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    cfg.resume = resume
    cfg.custom_hooks = [
        dict(
            type='LossScheduleHook',
            switch_iter=3,
            loss_weights={'decode_head.loss_ce': 0.0})
    ]
    runner = DeviceAwareRunner.from_cfg(cfg)
    probe = _WeightProbe()
    runner.register_hook(probe)
    runner.train()
    return probe.seen


def test_in_a_real_run_and_after_resume(synthetic_root, tmp_path):
    assert HOOKS.get('LossScheduleHook') is LossScheduleHook
    work_dir = str(tmp_path)
    # 2 iterations, then resume from iter_2.pth for 2 more
    assert _train(
        synthetic_root, work_dir, max_iters=2) == {
            0: [1.0, 1.0],
            1: [1.0, 1.0]
        }
    assert _train(
        synthetic_root, work_dir, max_iters=5, resume=True) == {
            2: [1.0, 1.0],
            3: [0.0, 1.0],
            4: [0.0, 1.0]
        }
    # resume again, past the switch: the weights hold from the first iteration
    assert _train(
        synthetic_root, work_dir, max_iters=6, resume=True) == {
            5: [0.0, 1.0]
        }
    with open(max(glob.glob(osp.join(work_dir, '*', '*.log')))) as f:
        logs = f.read()
    assert 'training starts at iteration 5' in logs
    assert 'loss_lovasz' in logs
