"""DefaultOptimWrapperConstructor (mmseg_ext scope): no weight decay on
UFormer's weight_logits by default (issue 11, item 14)."""
import pytest
import torch
import torch.nn as nn
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from tests.test_models.test_segmentors.uformer_parts import build

WD = 0.01


def _optim_wrapper(model: nn.Module, **cfg):
    """As the runner builds it: mmengine's build_optim_wrapper in scope."""
    cfg = dict(
        type='OptimWrapper',
        optimizer=dict(type='AdamW', lr=0.1, weight_decay=WD),
        **cfg)
    with DefaultScope.overwrite_default_scope('mmseg_ext'):
        return build_optim_wrapper(model, cfg)


def _learned() -> nn.Module:
    return build(learn_weights=True, fused_loss=dict(type='CrossEntropyLoss'))


def _decay_of(optim_wrapper, param: torch.Tensor) -> list:
    groups = optim_wrapper.optimizer.param_groups
    return [g['weight_decay'] for g in groups
            if any(p is param for p in g['params'])]


def _all_params_once(optim_wrapper, model: nn.Module) -> bool:
    ids = [id(p) for g in optim_wrapper.optimizer.param_groups
           for p in g['params']]
    return sorted(ids) == sorted(id(p) for p in model.parameters())


def test_weight_logits_get_no_weight_decay_by_default():
    """Before: weight_logits sat in the one group with weight_decay 0.01."""
    model = _learned()
    optim_wrapper = _optim_wrapper(model)
    assert type(optim_wrapper).__name__ == 'OptimWrapper'
    groups = optim_wrapper.optimizer.param_groups
    assert _decay_of(optim_wrapper, model.weight_logits) == [0.0]
    holder = [g for g in groups if g['weight_decay'] == 0.0]
    assert len(holder) == 1 and holder[0]['params'] == [model.weight_logits]
    assert holder[0]['lr'] == 0.1
    others = [p for g in groups if g['weight_decay'] == WD
              for p in g['params']]
    assert len(others) == len(list(model.parameters())) - 1
    assert _all_params_once(optim_wrapper, model)
    # the wrapper knows about both groups (mmengine records them at build)
    assert optim_wrapper.base_param_settings is not None


def test_one_step_leaves_weight_logits_without_gradient_unchanged():
    """AdamW's decoupled decay would multiply them by 1 - lr * wd."""
    model = _learned()
    theta = model.weight_logits.detach().clone()  # log(0.5), log(0.5)
    ours = _optim_wrapper(model)
    model.weight_logits.grad = torch.zeros_like(model.weight_logits)
    ours.step()
    assert torch.equal(model.weight_logits.detach(), theta)
    upstream = _optim_wrapper(
        model, constructor='mmengine.DefaultOptimWrapperConstructor')
    upstream.step()
    torch.testing.assert_close(model.weight_logits.detach(),
                               theta * (1 - 0.1 * WD))


def test_explicit_custom_key_for_weight_logits_wins():
    model = _learned()
    optim_wrapper = _optim_wrapper(
        model,
        paramwise_cfg=dict(
            custom_keys={'weight_logits': dict(decay_mult=1.0)}))
    assert _decay_of(optim_wrapper, model.weight_logits) == [WD]
    optim_wrapper = _optim_wrapper(
        model,
        paramwise_cfg=dict(custom_keys={'logits': dict(decay_mult=0.5)}))
    assert _decay_of(optim_wrapper, model.weight_logits) == [WD * 0.5]


def test_other_paramwise_rules_still_apply():
    model = _learned()
    optim_wrapper = _optim_wrapper(
        model,
        paramwise_cfg=dict(
            flat_decay_mult=0.5,
            custom_keys={'members.1': dict(lr_mult=0.1)}))
    assert _decay_of(optim_wrapper, model.weight_logits) == [0.0]
    head = model.members[1].decode_head.conv_seg.weight
    group = [g for g in optim_wrapper.optimizer.param_groups
             if any(p is head for p in g['params'])][0]
    assert group['lr'] == pytest.approx(0.01)
    assert group['weight_decay'] == WD
    assert _all_params_once(optim_wrapper, model)


def test_ddp_style_wrapper_and_fixed_weights():
    class Wrapped(nn.Module):

        def __init__(self, module):
            super().__init__()
            self.module = module

    model = _learned()
    optim_wrapper = _optim_wrapper(Wrapped(model))
    assert _decay_of(optim_wrapper, model.weight_logits) == [0.0]
    # fixed weights: no parameter to exclude, mmengine's single group
    fixed = build()
    optim_wrapper = _optim_wrapper(fixed)
    assert len(optim_wrapper.optimizer.param_groups) == 1
    # no weight decay at all: nothing to change
    model = _learned()
    with DefaultScope.overwrite_default_scope('mmseg_ext'):
        optim_wrapper = build_optim_wrapper(
            model, dict(optimizer=dict(type='SGD', lr=0.1)))
    assert len(optim_wrapper.optimizer.param_groups) == 1


def test_runner_builds_it_from_a_config_without_constructor(tmp_path):
    """The runner's own path: Runner.build_optim_wrapper in its scope."""
    from mmengine.runner import Runner
    model = _learned()
    runner = Runner(model=model, work_dir=str(tmp_path),
                    default_scope='mmseg_ext')
    optim_wrapper = runner.build_optim_wrapper(
        dict(optimizer=dict(type='AdamW', lr=0.1, weight_decay=WD)))
    assert _decay_of(optim_wrapper, model.weight_logits) == [0.0]
    assert _all_params_once(optim_wrapper, model)
