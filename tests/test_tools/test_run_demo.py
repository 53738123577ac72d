"""The demo pipeline of ``scripts/run_demo.sh`` (generate, 2-process
UFormer training, test, report), for 2 iterations on tiny images."""
import json
import os
import os.path as osp
import subprocess

import cv2
import pytest

from tests.helpers import (REPO, as_cli_options, free_port, run_tool,
                           tiny_runtime_options)


def test_run_demo_pipeline(tmp_path):
    data, work_dir = str(tmp_path / 'data'), str(tmp_path / 'work')
    proc = run_tool(
        ['bash', 'scripts/run_demo.sh', '--cfg-options',
         *as_cli_options(tiny_runtime_options(data, 2, 2))],
        DATA=data, WORK_DIR=work_dir, TRAIN_IMAGES='4', VAL_IMAGES='2',
        IMG_SIZE='32', PORT=str(free_port()))
    log = proc.stdout + proc.stderr
    assert len(os.listdir(osp.join(data, 'ann_dir', 'train'))) == 4
    assert 'backend=gloo, world_size=2, device=cpu' in log
    assert 'm0.decode.loss_ce' in log and 'm1.decode.loss_ce' in log
    with open(osp.join(work_dir, 'test_report.json')) as f:
        report = json.load(f)
    assert report['classes'] == ['background', 'obstacle']
    assert report['checkpoint'] == osp.join(work_dir, 'iter_2.pth')
    tail = log[log.index('== demo result: uformer, binary'):]
    metrics = report['metrics']
    assert (f"aAcc {metrics['aAcc']:.2f}  mIoU {metrics['mIoU']:.2f}  "
            f"mAcc {metrics['mAcc']:.2f}") in tail
    # the pictures step: curves, the best/worst grid (+ CSV), confusion
    for name in ('curves.png', 'best_worst.png', 'confusion.png'):
        image = cv2.imread(osp.join(work_dir, name))
        assert image is not None and image.size > 0, name
    with open(osp.join(work_dir, 'per_image_scores.csv')) as f:
        assert len(f.read().strip().splitlines()) == 1 + 2  # header + val


@pytest.mark.parametrize('env, message', [
    (dict(FLAVOUR='rgb'), 'FLAVOUR=rgb: use binary or multiclass'),
    (dict(MODEL='vit'), 'MODEL=vit: use uformer, unet or segformer'),
])
def test_run_demo_names_a_bad_choice(env, message):
    proc = subprocess.run(['bash', 'scripts/run_demo.sh'],
                          cwd=REPO,
                          env=dict(os.environ, PYTHON='python3', **env),
                          capture_output=True,
                          text=True,
                          timeout=60)
    assert proc.returncode == 2 and message in proc.stderr
