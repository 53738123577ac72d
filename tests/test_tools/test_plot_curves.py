"""tools/analysis_tools/plot_curves.py on real and hand-written logs."""
import json
import os

import cv2
import numpy as np
import pytest

from mmseg_ext.cli.plot_curves import main, run_labels
from mmseg_ext.visualization import curves_figure_size, load_training_curves


def _write_log(path, records):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        for record in records:
            f.write(json.dumps(record) + '\n')


def test_plots_two_trained_runs(tiny_unet_run, tiny_uformer_run, tmp_path):
    out = str(tmp_path / 'curves.png')
    main([tiny_unet_run[2], tiny_uformer_run[2], '--out', out,
          '--labels', 'unet', 'uformer'])
    picture = cv2.imread(out)
    assert picture.shape[:2] == curves_figure_size(4) == (720, 960)
    assert picture.std() > 0  # not a blank canvas
    curves = load_training_curves(tiny_unet_run[2])
    assert list(curves['loss'][0]) == [1.0, 2.0]
    assert list(curves['mIoU'][0]) == [2.0]  # validation at iteration 2


def test_resumed_and_epoch_based_logs(tmp_path):
    """Later runs replace earlier values of a step; an epoch-based
    validation sits at the last training iteration before it."""
    work = tmp_path / 'work'
    _write_log(str(work / '20240101_000000' / 'vis_data' / 'scalars.json'), [
        dict(lr=0.1, loss=3.0, iter=1, step=1),
        dict(lr=0.1, loss=2.5, iter=2, step=2),
        dict(lr=0.1, loss=9.9, iter=3, step=3),
    ])
    # resumed from iteration 2: its iteration 3 replaces the crashed one's
    _write_log(
        str(work / '20240102_000000' / 'vis_data' / '20240102_000000.json'), [
            dict(lr=0.1, loss=2.0, iter=3, step=3),
            dict(mIoU=40.0, aAcc=80.0, mAcc=50.0, step=3),
        ])
    curves = load_training_curves(str(work))
    np.testing.assert_array_equal(curves['loss'][0], [1, 2, 3])
    np.testing.assert_array_equal(curves['loss'][1], [3.0, 2.5, 2.0])
    np.testing.assert_array_equal(curves['mIoU'][0], [3])
    assert 'iter' not in curves and 'step' not in curves

    epochs = tmp_path / 'epochs'
    _write_log(str(epochs / '20240101_000000' / 'vis_data' / 'scalars.json'),
               [
                   dict(lr=0.1, loss=1.0, epoch=1, iter=10, step=10),
                   dict(mIoU=30.0, step=1),  # validation after epoch 1
                   dict(lr=0.1, loss=0.5, epoch=2, iter=10, step=20),
                   dict(mIoU=35.0, step=2),
               ])
    np.testing.assert_array_equal(
        load_training_curves(str(epochs))['mIoU'][0], [10, 20])


def test_clear_errors(tmp_path):
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match='No mmengine scalar log in'):
        main([str(empty), '--out', str(tmp_path / 'x.png')])
    with pytest.raises(FileNotFoundError, match='is not a directory'):
        main([str(tmp_path / 'missing'), '--out', str(tmp_path / 'x.png')])
    bad = tmp_path / 'bad'
    _write_log(str(bad / 'r' / 'vis_data' / 'scalars.json'), [])
    (bad / 'r' / 'vis_data' / 'scalars.json').write_text('{"step": 1}\nxx\n')
    with pytest.raises(ValueError, match=r'scalars.json:2 is not a JSON'):
        main([str(bad), '--out', str(tmp_path / 'x.png')])
    (bad / 'r' / 'vis_data' / 'scalars.json').write_text(
        '{"lr": 0.1, "loss": 1.0, "step": 1}\n')
    with pytest.raises(ValueError,
                       match=r"none of the keys.*\['loss', 'lr'\]"):
        main([str(bad), '--out', str(tmp_path / 'x.png'), '--keys', 'nope'])
    with pytest.raises(ValueError, match='one label per work dir'):
        run_labels(['a', 'b'], ['only-one'])
    assert run_labels(['x/run', 'y/run']) == ['x/run', 'y/run']
