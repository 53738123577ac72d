"""End to end: tools/dist_train.sh (2 CPU processes), dist_test.sh, test.py."""
import json
import os.path as osp

import numpy as np
import pytest

from tests.helpers import (DEMO_CONFIG, as_cli_options, free_port, run_tool,
                           tiny_cfg_options)


@pytest.fixture(scope='module')
def trained(synthetic_root, tmp_path_factory):
    """Train the tiny config for 4 iterations with 2 gloo processes."""
    work_dir = str(tmp_path_factory.mktemp('dist_train'))
    options = tiny_cfg_options(synthetic_root, max_iters=4, interval=4)
    proc = run_tool(
        ['bash', 'tools/dist_train.sh', DEMO_CONFIG, '2', '--work-dir',
         work_dir, '--cfg-options', *as_cli_options(options)],
        PORT=str(free_port()))
    return work_dir, options, proc.stdout + proc.stderr


def _report(work_dir: str) -> dict:
    with open(osp.join(work_dir, 'test_report.json')) as f:
        return json.load(f)


def test_dist_train_uses_two_gloo_processes(trained):
    work_dir, _, log = trained
    assert osp.isfile(osp.join(work_dir, 'iter_4.pth'))
    assert 'Distributed training on CPU' in log
    assert 'Distributed launcher: pytorch' in log
    assert 'Distributed training: True' in log
    assert 'backend=gloo, world_size=2, device=cpu' in log
    assert 'device: cpu, backend: gloo, world size: 2 (launcher pytorch)' \
        in log
    # the validation at the last iteration ran over the val split
    assert 'mIoU' in log


def test_dist_test_and_test_agree_and_write_json(trained, tmp_path):
    work_dir, options, _ = trained
    ckpt = osp.join(work_dir, 'iter_4.pth')
    test_options = as_cli_options({
        'test_dataloader.dataset.data_root':
        options['test_dataloader.dataset.data_root']
    })
    single_dir, dist_dir = str(tmp_path / 'single'), str(tmp_path / 'dist')
    proc = run_tool([
        'bash', '-c', '"$PYTHON" tools/test.py "$@"', '_', DEMO_CONFIG, ckpt,
        '--work-dir', single_dir, '--cfg-options', *test_options
    ])
    log = proc.stdout + proc.stderr
    assert 'per class results' in log and 'obstacle' in log
    run_tool([
        'bash', 'tools/dist_test.sh', DEMO_CONFIG, ckpt, '2', '--work-dir',
        dist_dir, '--cfg-options', *test_options
    ],
             PORT=str(free_port()))

    single, dist = _report(single_dir), _report(dist_dir)
    assert single['classes'] == ['background', 'obstacle']
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert 0.0 <= single['metrics'][key] <= 100.0
        # the same checkpoint on the same images: same numbers
        assert dist['metrics'][key] == pytest.approx(single['metrics'][key])
    ious = [single['per_class']['IoU'][c] for c in single['classes']]
    accs = [single['per_class']['Acc'][c] for c in single['classes']]
    assert single['metrics']['mIoU'] == pytest.approx(np.mean(ious), abs=0.01)
    assert single['metrics']['mAcc'] == pytest.approx(np.mean(accs), abs=0.01)
    assert single['checkpoint'] == ckpt


def test_test_tool_names_missing_checkpoint(tmp_path):
    with pytest.raises(AssertionError, match='does not exist'):
        run_tool([
            'bash', '-c', '"$PYTHON" tools/test.py "$@"', '_', DEMO_CONFIG,
            str(tmp_path / 'missing.pth')
        ])


def test_upstream_mmseg_train_tool_runs_our_config(synthetic_root, tmp_path):
    """mmseg's own tools/train.py finds our runner and metric by scope."""
    import mmseg
    upstream = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools',
                        'train.py')
    options = tiny_cfg_options(synthetic_root, max_iters=2, interval=2)
    proc = run_tool([
        'bash', '-c', '"$PYTHON" "$@"', '_', upstream, DEMO_CONFIG,
        '--work-dir',
        str(tmp_path), '--cfg-options', *as_cli_options(options)
    ])
    assert osp.isfile(tmp_path / 'iter_2.pth')
    assert 'per class results' in proc.stdout + proc.stderr


def test_test_tool_tta_and_out(trained, tmp_path):
    """--tta (SegTTAModel over 3 scales x 2 flips) and --out label maps."""
    work_dir, options, _ = trained
    out_dir = tmp_path / 'preds'
    run_tool([
        'bash', '-c', '"$PYTHON" tools/test.py "$@"', '_', DEMO_CONFIG,
        osp.join(work_dir, 'iter_4.pth'), '--work-dir',
        str(tmp_path), '--tta', '--out',
        str(out_dir), '--cfg-options', *as_cli_options({
            'test_dataloader.dataset.data_root':
            options['test_dataloader.dataset.data_root']
        })
    ])
    report = _report(str(tmp_path))
    assert 0.0 <= report['metrics']['mIoU'] <= 100.0
    written = sorted(p.name for p in out_dir.iterdir())
    assert written == ['0000.png', '0001.png', '0002.png', '0003.png']
