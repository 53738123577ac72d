"""A converter stopped by Ctrl-C or ``kill`` with ``--nproc 2`` leaves
nothing behind: no ``OUT/.converting``, no OUT it created, no worker."""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import REPO
from tests.test_datasets.fake_releases import make_drone_release

# The drone converter's entry point with each photo copy slowed down, so
# that the signal arrives half-way. Workers are forked and inherit the patch.
_SLOW_CONVERTER = '''
import sys
import time

from mmseg_ext.cli.convert_semantic_drone import main
from mmseg_ext.datasets.converters import semantic_drone

_copy_file = semantic_drone.copy_file


def _slow_copy_file(src, dst):
    _copy_file(src, dst)
    time.sleep(0.5)


semantic_drone.copy_file = _slow_copy_file
main(sys.argv[1:])
'''


def _tree(root):
    out = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = osp.join(folder, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = f.read()
    return out


def _copied_photos(out):
    staging = osp.join(out, '.converting')
    return [
        f for _, _, files in os.walk(staging) for f in files
        if f.endswith('.jpg')
    ]


@pytest.mark.parametrize('how, first', [('ctrl-c', True), ('kill', False)])
def test_interrupted_conversion_leaves_nothing_behind(tmp_path, how, first):
    src = str(tmp_path / 'release')
    make_drone_release(src, num=12)
    out = str(tmp_path / 'data' / 'drone')
    args = [src, out, '--flavour', 'binary', '--test-count', '2']
    before = None
    if not first:  # an earlier conversion must survive a stopped rerun
        from mmseg_ext.cli.convert_semantic_drone import main
        main(args)
        before = _tree(out)
        args.append('--overwrite')
    script = tmp_path / 'slow_converter.py'
    script.write_text(_SLOW_CONVERTER)
    proc = subprocess.Popen(
        [sys.executable, str(script)] + args + ['--nproc', '2'],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=REPO),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as in a terminal
        # and Ctrl-C's default action, as in a terminal: a job started with
        # '&' by a non-interactive shell (CI) inherits SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not _copied_photos(out):
            assert proc.poll() is None, proc.communicate()[0].decode()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        if how == 'ctrl-c':  # the terminal signals the whole group
            os.killpg(proc.pid, signal.SIGINT)
        else:  # kill PID: the main process only
            proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=60)[0].decode()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode != 0, output
    time.sleep(1.0)  # a worker left running would write on
    with pytest.raises(ProcessLookupError):  # no worker left
        os.killpg(proc.pid, 0)
    if first:
        # nor the folders it created for it (was: an empty OUT)
        assert not osp.exists(tmp_path / 'data'), _tree(tmp_path / 'data')
    else:
        assert sorted(os.listdir(out)) == ['binary']
        assert _tree(out) == before
