"""Build configs that inherit ``mmseg::`` bases inside the mmseg_ext scope.

mmengine marks every dict that comes from a ``mmseg::`` base with
``_scope_='mmseg'``, and builds it (and everything built inside it, such as a
decode head's ``loss_decode`` or a val loop's metrics) in mmseg's registries,
where mmseg_ext's classes do not exist. :func:`adopt_mmseg_scope` removes
those marks when the config's ``default_scope`` is ``'mmseg_ext'``, so the
whole config is built in our child registries: mmseg_ext's classes win and
every mmseg class still resolves through the parent. ``type='mmseg.X'`` keeps
reaching upstream's class. Marks of other scopes (``mmpretrain`` ...) stay.

A ``_scope_='mmseg'`` written by hand is removed too (mmengine stores both
alike); write ``type='mmseg.X'`` to pin one component to upstream. The
adoption happens in :meth:`DeviceAwareRunner.from_cfg`: a config that sets
``runner_type='Runner'`` (mmengine's) does not get it.
"""
from typing import Any

from mmengine.config import Config, ConfigDict

from mmseg_ext.registry import SCOPE

__all__ = ['adopt_mmseg_scope']


def _strip(node: Any) -> int:
    """Drop ``_scope_='mmseg'`` below ``node``; return how many went."""
    dropped = 0
    if isinstance(node, dict):
        if node.get('_scope_') == 'mmseg':
            del node['_scope_']
            dropped += 1
        for value in node.values():
            dropped += _strip(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            dropped += _strip(value)
    return dropped


def adopt_mmseg_scope(cfg: Config) -> int:
    """Re-home the ``mmseg::`` parts of ``cfg`` into the mmseg_ext scope.

    Args:
        cfg (Config): A loaded config; changed in place.

    Returns:
        int: Number of ``_scope_`` marks removed (0 when ``cfg`` is not in
        the mmseg_ext scope).
    """
    if cfg.get('default_scope') != SCOPE:
        return 0
    return sum(
        _strip(value) for value in cfg._cfg_dict.values()
        if isinstance(value, (ConfigDict, dict, list, tuple)))
