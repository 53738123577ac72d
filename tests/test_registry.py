"""mmseg_ext's child registries: scope resolution and upstream isolation."""
import subprocess
import sys
import textwrap

import pytest
from mmengine.registry import DefaultScope
from mmseg.models.decode_heads import FCNHead
from mmseg.registry import MODELS as MMSEG_MODELS

import mmseg_ext.registry as ext_registry


def test_every_registry_is_a_child_of_mmseg_in_scope_mmseg_ext():
    import mmseg.registry as mmseg_registry
    for name in ext_registry.__all__:
        if name == 'SCOPE':
            continue
        child = getattr(ext_registry, name)
        assert child.scope == 'mmseg_ext', name
        assert child.parent is getattr(mmseg_registry, name), name
        assert child._locations, f'{name} has no lazy-import locations'


def test_our_class_wins_in_our_scope_and_mmseg_prefix_reaches_upstream():
    class FCNHeadShadow(FCNHead):
        """Stands for a mmseg_ext class named like an upstream one."""

    ext_registry.MODELS.register_module(name='FCNHead', module=FCNHeadShadow)
    try:
        with DefaultScope.overwrite_default_scope('mmseg_ext'):
            assert ext_registry.MODELS.get('FCNHead') is FCNHeadShadow
            assert ext_registry.MODELS.get('mmseg.FCNHead') is FCNHead
            # every other mmseg class still resolves through the parent
            assert ext_registry.MODELS.get('ASPPHead').__module__.startswith(
                'mmseg.')
            assert ext_registry.MODELS.get('DepthwiseSeparableASPPHead')
        # mmseg's own registry still maps the name to upstream's class
        with DefaultScope.overwrite_default_scope('mmseg'):
            assert MMSEG_MODELS.get('FCNHead') is FCNHead
    finally:
        ext_registry.MODELS._module_dict.pop('FCNHead')


def test_build_in_scope_mmseg_ext_resolves_our_metric():
    from mmseg_ext.evaluation import PerClassIoUMetric
    with DefaultScope.overwrite_default_scope('mmseg_ext'):
        metric = ext_registry.METRICS.build(dict(type='PerClassIoUMetric'))
        upstream = ext_registry.METRICS.build(dict(type='mmseg.IoUMetric'))
    assert type(metric) is PerClassIoUMetric
    assert type(upstream).__module__.startswith('mmseg.')


def test_import_leaves_mmseg_registries_unchanged():
    """Snapshot every mmseg registry before and after importing mmseg_ext."""
    script = textwrap.dedent('''
        import mmseg.registry as r
        from mmseg.utils import register_all_modules
        register_all_modules(init_default_scope=False)
        def snap():
            out = {}
            for name in dir(r):
                reg = getattr(r, name)
                if hasattr(reg, 'module_dict'):
                    out[name] = {k: f'{v.__module__}.{v.__qualname__}'
                                 for k, v in reg.module_dict.items()}
            return out
        before = snap()
        import mmseg_ext
        from mmengine.registry import DefaultScope
        after = snap()
        assert sum(len(v) for v in before.values()) > 100, before.keys()
        assert before == after, [k for k in before if before[k] != after[k]]
        print('UNCHANGED', len(before))
    ''')
    proc = subprocess.run([sys.executable, '-c', script],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'UNCHANGED' in proc.stdout


def test_unknown_type_error_names_it():
    with DefaultScope.overwrite_default_scope('mmseg_ext'):
        with pytest.raises(KeyError, match='NoSuchHead'):
            ext_registry.MODELS.build(dict(type='NoSuchHead'))


@pytest.mark.parametrize('name', ['TverskyLoss', 'LovaszLoss'])
def test_our_losses_win_in_scope_and_mmseg_prefix_reaches_upstream(name):
    import mmseg.models.losses as mmseg_losses

    import mmseg_ext.models.losses as ext_losses
    cfg = dict(per_image=True) if name == 'LovaszLoss' else {}
    with DefaultScope.overwrite_default_scope('mmseg_ext'):
        ours = ext_registry.MODELS.build(dict(type=name))
        upstream = ext_registry.MODELS.build(dict(type=f'mmseg.{name}', **cfg))
    assert type(ours) is getattr(ext_losses, name)
    assert type(upstream) is getattr(mmseg_losses, name)
    with DefaultScope.overwrite_default_scope('mmseg'):
        assert MMSEG_MODELS.get(name) is getattr(mmseg_losses, name)
