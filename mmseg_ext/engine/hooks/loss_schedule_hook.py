"""Re-weight a model's losses at an iteration: CE first, then Lovász.

The Lovász-Softmax authors (Berman et al., CVPR 2018,
https://arxiv.org/abs/1705.08790) suggest "optimizing with cross-entropy
first and finetuning with our loss, or combining the two losses" (FAQ of
github.com/bermanmaxim/LovaszSoftmax). :class:`LossScheduleHook` does the
first for any decode head: it sets the ``loss_weight`` of the loss modules
it names when the iteration comes.
"""
import math
from typing import Dict, List, Optional, Tuple

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn

from mmseg_ext.registry import HOOKS

__all__ = ['LossScheduleHook']


@HOOKS.register_module()
class LossScheduleHook(Hook):
    """Set the weights of named losses from an iteration on.

    A loss is any submodule of the model with ``loss_name`` and
    ``loss_weight`` (every mmseg and mmseg_ext loss), in every decode and
    auxiliary head and every member of a multi-model segmentor. A key of
    ``loss_weights`` is a ``loss_name`` (all losses of that name) or
    ``<module path>.<loss_name>`` (only those under that module, e.g.
    ``'decode_head.loss_ce'`` leaves the auxiliary head's ``loss_ce`` as it
    is). The weights are absolute values.

    Resume-safe: the weights are not part of a checkpoint, so
    :meth:`before_train` sets them again when training resumes at or past
    the switch iteration.

    Example:
        >>> # CE + Lovász; Lovász alone for the last 20% of the iterations
        >>> custom_hooks = [
        ...     dict(type='LossScheduleHook', switch_ratio=0.8,
        ...          loss_weights={'decode_head.loss_ce': 0.0,
        ...                        'decode_head.loss_lovasz': 1.0})]

    Args:
        loss_weights (dict[str, float]): New ``loss_weight`` (>= 0) by key.
        switch_iter (int, optional): 0-based iteration from which the
            weights hold: iterations ``switch_iter, switch_iter + 1, ...``
            train with them.
        switch_ratio (float, optional): Instead of ``switch_iter``: that
            fraction of the run's ``max_iters`` (rounded), in [0, 1].
    """

    priority = 'NORMAL'

    def __init__(self,
                 loss_weights: Dict[str, float],
                 switch_iter: Optional[int] = None,
                 switch_ratio: Optional[float] = None) -> None:
        if (switch_iter is None) == (switch_ratio is None):
            raise ValueError('give exactly one of switch_iter and '
                             f'switch_ratio, got switch_iter={switch_iter!r}'
                             f', switch_ratio={switch_ratio!r}')
        if switch_iter is not None and (isinstance(switch_iter, bool)
                                        or not isinstance(switch_iter, int)
                                        or switch_iter < 0):
            raise ValueError(
                f'switch_iter must be an int >= 0, got {switch_iter!r}')
        if switch_ratio is not None and not (isinstance(
                switch_ratio, (int, float)) and 0 <= switch_ratio <= 1):
            raise ValueError(
                f'switch_ratio must be in [0, 1], got {switch_ratio!r}')
        if not isinstance(loss_weights, dict) or not loss_weights:
            raise ValueError('loss_weights must be a non-empty dict of '
                             f'name: weight, got {loss_weights!r}')
        for key, value in loss_weights.items():
            if isinstance(value, bool) or not isinstance(
                    value, (int, float)) or not math.isfinite(value) or \
                    value < 0:
                raise ValueError(f'loss_weights[{key!r}] must be a finite '
                                 f'number >= 0, got {value!r}')
        self.loss_weights = {k: float(v) for k, v in loss_weights.items()}
        self.switch_iter = switch_iter
        self.switch_ratio = switch_ratio
        self._applied = False

    def switch_at(self, runner) -> int:
        """The iteration from which the new weights hold in ``runner``."""
        if self.switch_iter is not None:
            return self.switch_iter
        return round(self.switch_ratio * runner.max_iters)

    @staticmethod
    def losses_of(model: nn.Module) -> List[Tuple[str, nn.Module]]:
        """``(module path, loss)`` of every loss module of ``model``."""
        if is_model_wrapper(model):
            model = model.module
        return [
            (path, module) for path, module in model.named_modules()
            if hasattr(module, 'loss_name') and hasattr(module, 'loss_weight')
        ]

    def targets(self,
                model: nn.Module) -> Dict[str, List[Tuple[str, nn.Module]]]:
        """The losses each key names; ``ValueError`` for a key naming none.
        """
        losses = self.losses_of(model)
        found = {}
        for key in self.loss_weights:
            hits = [(p, m) for p, m in losses if m.loss_name == key]
            if not hits and '.' in key:
                # the module path must contain the prefix's components:
                # 'decode_head.loss_ce' also names members.0.decode_head's
                prefix, name = key.rsplit('.', 1)
                hits = [(p, m) for p, m in losses if m.loss_name == name
                        and f'.{prefix}.' in f'.{p}.']
            if not hits:
                known = ', '.join(f'{p}.{m.loss_name}'
                                  for p, m in losses) or 'none'
                raise ValueError(
                    f'LossScheduleHook: no loss matches {key!r}; the '
                    f'model has: {known}')
            found[key] = hits
        return found

    def _apply(self, runner, why: str) -> None:
        changes = []
        for key, hits in self.targets(runner.model).items():
            for path, loss in hits:
                changes.append(f'{path} ({loss.loss_name}): '
                               f'{loss.loss_weight:g} -> '
                               f'{self.loss_weights[key]:g}')
                loss.loss_weight = self.loss_weights[key]
        self._applied = True
        runner.logger.info(f'LossScheduleHook: {why}, loss weights set: ' +
                           '; '.join(changes))

    def before_train(self, runner) -> None:
        """Check the keys; when training starts (or resumes) at or past
        the switch, set the weights now."""
        self.targets(runner.model)
        switch = self.switch_at(runner)
        if runner.iter >= switch:
            self._apply(
                runner, f'training starts at iteration {runner.iter}, '
                f'switch at {switch}')

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        """Switch when the iteration comes."""
        if not self._applied and runner.iter >= self.switch_at(runner):
            self._apply(runner, f'iteration {runner.iter}')
