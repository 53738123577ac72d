"""The converter entry points in tools/dataset_converters/."""
import os.path as osp
import runpy

import pytest

from mmseg_ext.cli import convert_cityscapes as cityscapes
from mmseg_ext.cli import convert_pascal_person_part as pascal_person_part
from mmseg_ext.cli import convert_semantic_drone as semantic_drone
from tests.helpers import REPO, run_tool
from tests.test_datasets.fake_releases import make_drone_release


def test_semantic_drone_script(tmp_path):
    """One real run as a script: progress bar, report, files."""
    make_drone_release(str(tmp_path / 'release'), num=6)
    out = tmp_path / 'out'
    proc = run_tool([
        'bash', '-c', '"$PYTHON" tools/dataset_converters/semantic_drone.py '
        '"$@"', '_',
        str(tmp_path / 'release'),
        str(out), '--flavour', 'multiclass', '--test-count', '1'
    ])
    assert 'Semantic Drone multiclass: train 4, val 1, test 1' in proc.stdout
    assert '6/6' in proc.stdout  # the progress bar
    assert len(list((out / 'multiclass' / 'ann_dir').glob('*/*.png'))) == 6


@pytest.mark.parametrize('script,module', [
    ('semantic_drone.py', semantic_drone),
    ('pascal_person_part.py', pascal_person_part),
    ('cityscapes.py', cityscapes),
])
def test_scripts_are_thin(script, module):
    path = osp.join(REPO, 'tools', 'dataset_converters', script)
    namespace = runpy.run_path(path, run_name='imported')
    assert namespace['main'] is module.main
    with open(path) as f:
        assert 'sys.path' not in f.read()
