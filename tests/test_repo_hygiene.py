"""The package and its configs stand on their own sources.

Comments, docstrings and config READMEs cite the paper, the dataset or
upstream's behaviour, or state a target as what it is; none of them points
at a planning note, a seed report or a tracker entry of this project.
"""
import os
import os.path as osp
import re

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: Folders walked, relative to the repository root.
ROOTS = ('mmseg_ext', 'configs')
#: File types checked.
SUFFIXES = ('.py', '.md')
#: What no checked file may mention.
FORBIDDEN = re.compile(r'DESIGN\.md|seed reports?|seeds/|\bissues?\b',
                       re.IGNORECASE)


def _checked_files():
    for root in ROOTS:
        for folder, dirs, files in os.walk(osp.join(REPO_ROOT, root)):
            dirs[:] = sorted(d for d in dirs if d != '__pycache__')
            for name in sorted(files):
                if name.endswith(SUFFIXES):
                    yield osp.join(folder, name)


def _hits(path):
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            match = FORBIDDEN.search(line)
            if match:
                yield number, match.group(0), line.strip()


def test_walk_finds_the_package_and_the_configs():
    files = [osp.relpath(p, REPO_ROOT) for p in _checked_files()]
    assert osp.join('mmseg_ext', '__init__.py') in files
    assert any(f.startswith('configs') and f.endswith('.md') for f in files)


def test_forbidden_pattern_matches_what_it_should():
    for text in ('see DESIGN.md', 'the seed report', 'seed reports',
                 'shared/seeds/000', 'the issue', 'Issues', "issue's"):
        assert FORBIDDEN.search(text), text
    for text in ('random seed', 'seed=0', 'DESIGN', 'tissue', 'issued',
                 'test_report.json'):
        assert not FORBIDDEN.search(text), text


def test_no_file_mentions_design_notes_seed_reports_or_issues():
    found = [
        f'{osp.relpath(path, REPO_ROOT)}:{number}: {match!r} in: {line}'
        for path in _checked_files()
        for number, match, line in _hits(path)
    ]
    assert not found, (
        'cite the paper, the dataset or upstream\'s behaviour instead:\n' +
        '\n'.join(found))
