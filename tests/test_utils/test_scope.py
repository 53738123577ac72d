"""adopt_mmseg_scope: mmseg:: parts of a config build in our scope."""
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch import nn

from mmseg_ext.utils import adopt_mmseg_scope
from mmseg_ext.registry import MODELS
from tests.helpers import DEMO_CONFIG


def test_mmseg_base_parts_are_marked_by_mmengine_and_rehomed():
    cfg = Config.fromfile(DEMO_CONFIG)
    # mmengine marks dicts from mmseg:: bases with _scope_='mmseg'
    assert cfg.model.get('_scope_') == 'mmseg'
    assert cfg.val_cfg.get('_scope_') == 'mmseg'
    dropped = adopt_mmseg_scope(cfg)
    assert dropped >= 2
    assert '_scope_' not in cfg.model and '_scope_' not in cfg.val_cfg


def test_config_outside_our_scope_is_left_alone():
    cfg = Config(dict(default_scope='mmseg', model=dict(type='X',
                                                        _scope_='mmseg')))
    assert adopt_mmseg_scope(cfg) == 0
    assert cfg.model._scope_ == 'mmseg'


def test_our_loss_resolves_inside_an_mmseg_base_model():
    """A loss registered only in mmseg_ext builds inside mmseg's FCN-UNet."""

    @MODELS.register_module(name='_ScopeProbeLoss')
    class ScopeProbeLoss(nn.Module):

        def __init__(self, loss_name='loss_probe', **kwargs):
            super().__init__()
            self._loss_name = loss_name

        @property
        def loss_name(self):
            return self._loss_name

    try:
        cfg = Config.fromfile(DEMO_CONFIG)
        cfg.model.decode_head.loss_decode = dict(type='_ScopeProbeLoss')
        adopt_mmseg_scope(cfg)
        with DefaultScope.overwrite_default_scope('mmseg_ext'):
            model = MODELS.build(cfg.model)
        assert isinstance(model.decode_head.loss_decode, ScopeProbeLoss)
    finally:
        MODELS._module_dict.pop('_ScopeProbeLoss')
