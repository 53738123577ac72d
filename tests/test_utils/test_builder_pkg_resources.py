"""load_config reads ``mmseg::`` configs without pkg_resources warnings.

mmengine 0.10.7 resolves every ``mmseg::`` base config through
``mmengine.utils.is_installed``, which imports and reloads the deprecated
``pkg_resources``: each reload warned ``pkg_resources is deprecated as an
API`` (9 times for the demo UFormer, in every training process; issue 13,
item 2). The tests run in a fresh interpreter with ``-W default``: pytest's
own filters (setup.cfg) would hide the warning here.
"""
import os
import subprocess
import sys

import pytest

from tests.helpers import REPO, UFORMER_DEMO_CONFIG

WARNING = 'pkg_resources is deprecated'

#: What the tools do: read the config, build the model (a UFormer reads
#: its members' configs then, each with ``mmseg::`` bases).
THROUGH_MMSEG_EXT = """
import sys
from mmseg_ext.utils import build_segmentor, load_config
cfg = load_config(sys.argv[1])
model = build_segmentor(cfg, init_weights=False)
print(type(model).__name__, len(model.members))
"""
#: The same config read by mmengine alone: the environment does warn.
MMENGINE_ALONE = """
import sys
from mmengine.config import Config
Config.fromfile(sys.argv[1])
"""


def _run(code: str, config: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop('PYTHONWARNINGS', None)
    proc = subprocess.run(
        [sys.executable, '-W', 'default', '-c', code, config],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_load_config_and_build_do_not_warn_about_pkg_resources():
    control = _run(MMENGINE_ALONE, UFORMER_DEMO_CONFIG)
    if WARNING not in control.stderr:
        pytest.skip('this mmengine/setuptools does not warn: nothing to '
                    'check')
    proc = _run(THROUGH_MMSEG_EXT, UFORMER_DEMO_CONFIG)
    assert proc.stdout.split() == ['UFormer', '2']
    assert 'pkg_resources' not in proc.stderr, proc.stderr
