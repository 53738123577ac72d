"""The package's floors (docs/architecture.md): no import runs upwards.

Every ``import`` and ``from ... import`` in ``mmseg_ext/`` (module level or
inside a function, relative or absolute) is read with :mod:`ast`, and the
subpackage it reaches must be on the importing subpackage's floor or below.
"""
import ast
import os
import os.path as osp
import sys
from typing import Dict, Iterator, List, Set, Tuple

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PACKAGE = osp.join(REPO, 'mmseg_ext')

_GROUND = {'registry', 'version'}
#: What each subpackage of mmseg_ext may import from mmseg_ext.
ALLOWED: Dict[str, Set[str]] = {
    'registry': set(),
    'version': set(),
    'utils': _GROUND,
    'models': _GROUND | {'utils'},
    'datasets': _GROUND | {'utils'},
    'visualization': _GROUND | {'utils'},
    'evaluation': _GROUND | {'utils', 'models', 'datasets'},
    'engine': _GROUND | {'utils', 'models', 'datasets', 'evaluation'},
    'analysis': _GROUND | {
        'utils', 'models', 'datasets', 'evaluation', 'engine', 'visualization'
    },
    'apis': _GROUND | {
        'utils', 'models', 'datasets', 'evaluation', 'engine', 'visualization'
    },
    'deployment': _GROUND | {
        'utils', 'models', 'datasets', 'evaluation', 'engine', 'visualization',
        'apis'
    },
    'cli': _GROUND | {
        'utils', 'models', 'datasets', 'evaluation', 'engine', 'visualization',
        'analysis', 'apis', 'deployment'
    },
}


def _module_name(path: str) -> List[str]:
    """``mmseg_ext/a/b.py`` -> ``['mmseg_ext', 'a', 'b']`` (a package's
    ``__init__`` is the package)."""
    parts = osp.relpath(path, REPO)[:-3].split(os.sep)
    return parts[:-1] if parts[-1] == '__init__' else parts


def imports_of(path: str) -> Iterator[Tuple[int, str]]:
    """``(line, absolute module name)`` of every import in a file."""
    module = _module_name(path)
    is_package = path.endswith('__init__.py')
    for node in ast.walk(ast.parse(open(path, encoding='utf-8').read())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # from . import x in a/b.py is package a; in a/__init__.py, a
                base = module if is_package else module[:-1]
                base = base[:len(base) - node.level + 1]
                name = '.'.join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ''
            # from mmseg_ext import apis reaches mmseg_ext.apis
            yield node.lineno, name
            for alias in node.names:
                yield node.lineno, f'{name}.{alias.name}'


def _subpackage(module: List[str]) -> str:
    return module[1] if len(module) > 1 else ''


def upward_imports() -> List[str]:
    """``file:line: floor imports target`` for each import above the file's
    floor."""
    found = []
    for root, _, files in os.walk(PACKAGE):
        for name in sorted(files):
            if not name.endswith('.py'):
                continue
            path = osp.join(root, name)
            floor = _subpackage(_module_name(path))
            if floor not in ALLOWED:  # mmseg_ext/__init__.py gathers all
                continue
            for line, target in imports_of(path):
                parts = target.split('.')
                if parts[0] != 'mmseg_ext' or len(parts) < 2:
                    continue
                reached = parts[1]
                if reached != floor and reached not in ALLOWED[floor]:
                    found.append(f'{osp.relpath(path, REPO)}:{line}: '
                                 f'{floor} imports {target}')
    return found


def test_every_subpackage_has_a_floor():
    """A new subpackage must be placed in ALLOWED (and the docs)."""
    subpackages = {
        name[:-3] if name.endswith('.py') else name
        for name in os.listdir(PACKAGE)
        if not name.startswith(('_', '.')) and (
            name.endswith('.py') or osp.isdir(osp.join(PACKAGE, name)))
    }
    assert subpackages == set(ALLOWED), (
        'place the new subpackage in ALLOWED here and in '
        'docs/architecture.md: ' + str(subpackages ^ set(ALLOWED)))


def test_no_import_runs_upwards():
    found = upward_imports()
    assert not found, 'imports above their floor:\n' + '\n'.join(found)


@pytest.mark.parametrize('floor, target', [('utils', 'models'),
                                           ('utils', 'datasets'),
                                           ('utils', 'cli'),
                                           ('utils', 'apis'),
                                           ('models', 'cli'),
                                           ('models', 'apis')])
def test_the_rules_forbid(floor, target):
    """The rules the layout promises contributors."""
    assert target not in ALLOWED[floor]


def test_an_upward_import_is_found(tmp_path, monkeypatch):
    """The checker sees relative, absolute and function-level imports."""
    pkg = tmp_path / 'mmseg_ext' / 'utils'
    pkg.mkdir(parents=True)
    (tmp_path / 'mmseg_ext' / '__init__.py').write_text('')
    (pkg / '__init__.py').write_text('from ..models import X\n')
    (pkg / 'a.py').write_text('def f():\n    import mmseg_ext.cli.test\n'
                              'from .b import y\nfrom mmseg_ext import apis\n')
    monkeypatch.setattr(sys.modules[__name__], 'REPO', str(tmp_path))
    monkeypatch.setattr(sys.modules[__name__], 'PACKAGE',
                        str(tmp_path / 'mmseg_ext'))
    found = upward_imports()
    assert any('utils imports mmseg_ext.models' in f for f in found)
    assert any('utils imports mmseg_ext.cli.test' in f for f in found)
    assert any('utils imports mmseg_ext.apis' in f for f in found)
    assert len({f.split(': ')[0] for f in found}) == 3
