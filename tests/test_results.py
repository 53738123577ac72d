"""The committed real-data results: the ``tools/test.py`` reports under
``docs/results/semantic_drone/`` parse, come from the repo's configs, and
agree with the README's table and the zoo metafiles (no training here)."""
import glob
import json
import os.path as osp
import re

import pytest
import yaml

from mmseg_ext.datasets.semantic_drone_classes import DRONE_FLAVOURS
from tests.helpers import REPO

RESULTS = osp.join(REPO, 'docs', 'results', 'semantic_drone')
#: results folder -> the flavour of the drone dataset
FOLDERS = {'binary': 'binary', '5cls': 'multiclass'}
#: the reports the README's main table needs, per folder
REQUIRED = ('unet', 'segformer', 'uformer')
ROW = re.compile(r'^\|(?P<cells>.*)\|\s*$')
LINK = re.compile(r'\(docs/results/semantic_drone/(?P<path>[^)]+\.json)\)')


def _reports():
    return sorted(glob.glob(osp.join(RESULTS, '*', '*.json')))


def _load(path):
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def _table_rows(text):
    """``{json path under RESULTS: [numbers of the row]}`` of every table row
    that links a report."""
    rows = {}
    for line in text.splitlines():
        match, link = ROW.match(line), LINK.search(line)
        if not (match and link):
            continue
        numbers = [
            float(c) for c in (c.strip().strip('*') for c in
                               match['cells'].split('|'))
            if re.fullmatch(r'\d+\.\d\d', c)
        ]
        rows.setdefault(link['path'], []).append(numbers)
    return rows


def test_every_required_report_is_committed():
    for folder in FOLDERS:
        for name in REQUIRED:
            assert osp.isfile(osp.join(RESULTS, folder, name + '.json')), (
                f'docs/results/semantic_drone/{folder}/{name}.json missing')


@pytest.mark.parametrize(
    'path', _reports(), ids=lambda p: osp.relpath(p, RESULTS))
def test_report_parses_and_names_a_repo_config(path):
    report = _load(path)
    folder = osp.basename(osp.dirname(path))
    flavour = FOLDERS[folder]
    assert report['classes'] == list(DRONE_FLAVOURS[flavour]['classes'])
    metrics = report['metrics']
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert 0 < metrics[key] <= 100, (path, key)
    # mIoU is the mean of the per-class IoU (every class is present in the
    # 50 test photos), as IoUMetric computes it
    ious = list(report['per_class']['IoU'].values())
    assert metrics['mIoU'] == pytest.approx(sum(ious) / len(ious), abs=0.01)
    config = report['config']
    if osp.basename(config) == 'uformer_weights.py':
        # tune_uformer_weights.py's override, in the run's work dir
        # (work_dirs/real_drone/FLAVOUR/...); its _base_ is a zoo config
        assert f'/{flavour}/' in config, (path, config)
    else:
        token = 'drone-binary' if flavour == 'binary' else 'drone-5cls'
        assert osp.isfile(osp.join(REPO, config)), (path, config)
        assert token in osp.basename(config), (path, config)


def test_readme_table_agrees_with_the_reports():
    with open(osp.join(REPO, 'README.md'), encoding='utf-8') as f:
        rows = _table_rows(f.read())
    for folder in FOLDERS:
        for name in REQUIRED:
            assert f'{folder}/{name}.json' in rows, (
                f'README has no table row linking {folder}/{name}.json')
    assert rows, 'README links no report'
    for rel, found in rows.items():
        metrics = _load(osp.join(RESULTS, rel))['metrics']
        expected = [metrics['mIoU'], metrics['mAcc'], metrics['aAcc']]
        for numbers in found:
            # mIoU, mAcc, aAcc come first; a row may add more (val mIoU)
            assert numbers[:3] == expected, (
                f'README row for {rel}: {numbers}, report: {expected} '
                '(mIoU, mAcc, aAcc)')


def test_metafiles_agree_with_the_reports():
    """Every metafile Results entry of a CPU-scale drone recipe equals the
    committed report of its config."""
    by_config = {}
    for path in _reports():
        report = _load(path)
        by_config.setdefault(osp.basename(report['config']), []).append(
            report['metrics'])
    checked = 0
    for meta in glob.glob(osp.join(REPO, 'configs', '*', 'metafile.yaml')):
        with open(meta, encoding='utf-8') as f:
            models = (yaml.safe_load(f) or {}).get('Models') or []
        for model in models:
            for result in model.get('Results') or []:
                name = osp.basename(model['Config'])
                if name not in by_config:
                    continue
                m = result['Metrics']
                assert {'mIoU': m['mIoU'], 'mAcc': m['mAcc'],
                        'aAcc': m['aAcc']} in [
                            {k: r[k] for k in ('mIoU', 'mAcc', 'aAcc')}
                            for r in by_config[name]
                        ], (meta, name)
                checked += 1
    assert checked >= 4, 'metafiles carry no real-data result'
