"""The real-data pipeline of ``scripts/run_real_drone.sh`` (convert, train
U-Net / SegFormer / UFormer on 2 processes, test, the member ensembles,
pictures, summary) on a miniature release, binary flavour, 2 iterations."""
import json
import os.path as osp
import subprocess

import cv2

from tests.helpers import REPO, free_port, run_tool
from tests.test_datasets.fake_releases import make_drone_release

TINY = ('train_cfg.max_iters=2 train_cfg.val_interval=2 '
        'param_scheduler.0.end=2 default_hooks.checkpoint.interval=2 '
        'default_hooks.logger.interval=1 train_dataloader.batch_size=2')
RUNS = ('unet', 'segformer', 'uformer', 'uformer_tuned', 'members_0.5',
        'members_tuned')


def test_run_real_drone_pipeline(tmp_path):
    release, data, work = (str(tmp_path / d)
                           for d in ('release', 'data', 'work'))
    make_drone_release(release, num=8, size=(96, 64))
    proc = run_tool(
        ['bash', 'scripts/run_real_drone.sh', release],
        timeout=900,
        FLAVOURS='binary',
        DATA=data,
        WORK_ROOT=work,
        PORT=str(free_port()),
        CONVERT_OPTS='--test-count 2 --val-ratio 0.25',
        EXTRA_OPTS=TINY)
    log = proc.stdout + proc.stderr
    assert 'train 4, val 2, test 2' in log
    assert 'backend=gloo, world_size=2, device=cpu' in log
    for run in RUNS:
        path = osp.join(work, 'binary', run, 'test_report.json')
        with open(path) as f:
            report = json.load(f)
        assert report['classes'] == ['background', 'obstacle'], run
        m = report['metrics']
        assert f"binary     {run:<15}{m['mIoU']:>7.2f}" in log, run
    # the tuned ensemble of the members trained alone pins its weights
    tuned = osp.join(work, 'binary', 'members_tuned', 'uformer_weights.py')
    with open(tuned) as f:
        assert 'weights=' in f.read()
    gallery = cv2.imread(osp.join(work, 'gallery.jpg'))
    assert gallery is not None and gallery.shape[0] > 100
    assert cv2.imread(osp.join(work, 'binary', 'curves.png')) is not None


def test_run_real_drone_needs_the_release():
    proc = subprocess.run(['bash', 'scripts/run_real_drone.sh'],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=60)
    assert proc.returncode == 2 and 'usage:' in proc.stderr
