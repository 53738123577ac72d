"""mmengine's default optimizer-wrapper constructor, without weight decay
on UFormer's learned member weights."""
from typing import List

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor as \
    MMEngineDefaultOptimWrapperConstructor
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

from mmseg_ext.registry import OPTIM_WRAPPER_CONSTRUCTORS

__all__ = ['DefaultOptimWrapperConstructor']

WEIGHT_LOGITS = 'weight_logits'


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class DefaultOptimWrapperConstructor(MMEngineDefaultOptimWrapperConstructor):
    """mmengine's ``DefaultOptimWrapperConstructor`` plus one default rule:
    UFormer's ``weight_logits`` get no weight decay.

    With ``learn_weights=True`` a UFormer learns its member weights as
    ``softmax(weight_logits)``. Weight decay pulls ``weight_logits``
    towards 0, i.e. the weights towards equal, whatever the fused loss
    says; so by default the ``weight_logits`` of every UFormer in the model
    are moved to a param group of their own with ``weight_decay=0``.
    Everything else is built exactly as mmengine does.

    Registered under mmengine's name in the ``mmseg_ext`` scope, so every
    config with ``default_scope = 'mmseg_ext'`` and no ``constructor`` gets
    it (mmengine's ``build_optim_wrapper`` looks the default name up in the
    current scope). The rule is skipped when:

    * the optimizer has no ``weight_decay`` (or 0);
    * ``paramwise_cfg.custom_keys`` has a key that matches the parameter's
      name by mmengine's rule (a substring of it, e.g. ``'weight_logits'``):
      that key's ``decay_mult`` decides, e.g.
      ``custom_keys={'weight_logits': dict(decay_mult=1.0)}`` to decay them;
    * the config names another constructor, e.g.
      ``constructor='mmengine.DefaultOptimWrapperConstructor'`` (upstream's).

    Args:
        optim_wrapper_cfg (dict): As mmengine's.
        paramwise_cfg (dict, optional): As mmengine's.
    """

    def __call__(self, model: nn.Module) -> OptimWrapper:
        """Build the optimizer wrapper for ``model`` (DDP-wrapped or not).

        Args:
            model (nn.Module): The model.

        Returns:
            OptimWrapper: mmengine's, with each UFormer's ``weight_logits``
            in a group of its own with ``weight_decay=0`` (see above).
        """
        optim_wrapper = super().__call__(model)
        if not self.base_wd:
            return optim_wrapper
        module = model.module if hasattr(model, 'module') else model
        custom_keys = self.paramwise_cfg.get('custom_keys', {})
        no_decay: List[nn.Parameter] = []
        names = []
        for prefix, submodule in module.named_modules():
            param = submodule._parameters.get(WEIGHT_LOGITS)
            if param is None or not param.requires_grad or \
                    not getattr(submodule, 'learn_weights', False):
                continue
            # the name mmengine's add_params matches custom_keys against
            matched = f'{prefix}.{WEIGHT_LOGITS}'
            if any(key in matched for key in custom_keys):
                continue
            no_decay.append(param)
            names.append(f'{prefix}.{WEIGHT_LOGITS}' if prefix else
                         WEIGHT_LOGITS)
        if not no_decay:
            return optim_wrapper
        ids = {id(p) for p in no_decay}
        optimizer = optim_wrapper.optimizer
        kept = []
        for group in optimizer.param_groups:
            group['params'] = [p for p in group['params'] if id(p) not in ids]
            if group['params']:
                kept.append(group)
        optimizer.param_groups[:] = kept
        optimizer.add_param_group(dict(params=no_decay, weight_decay=0.0))
        # the wrapper records the number of groups when it is built
        # (base_param_settings): build it again around the new groups
        wrapper_cfg = self.optim_wrapper_cfg.copy()
        wrapper_cfg.setdefault('type', 'OptimWrapper')
        optim_wrapper = OPTIM_WRAPPERS.build(
            wrapper_cfg, default_args=dict(optimizer=optimizer))
        print_log(
            f'{", ".join(names)}: weight_decay 0 (UFormer member weights; '
            "set optim_wrapper.paramwise_cfg.custom_keys={'weight_logits': "
            'dict(decay_mult=1.0)} to decay them)',
            logger='current')
        return optim_wrapper
