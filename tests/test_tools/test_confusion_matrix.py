"""tools/analysis_tools/confusion_matrix.py on a trained U-Net."""
import csv

import cv2
import numpy as np

from mmseg_ext.cli.confusion_matrix import counts_paths, main
from mmseg_ext.visualization import confusion_figure_size


def test_png_and_counts(tiny_unet_run, synthetic_root, data_options,
                        tmp_path):
    config, checkpoint, _ = tiny_unet_run
    out = str(tmp_path / 'cm.png')
    counts = main([config, checkpoint, '--out', out, '--split', 'val'] +
                  data_options)
    assert cv2.imread(out).shape[:2] == confusion_figure_size(2)
    csv_path, npy_path = counts_paths(out)
    np.testing.assert_array_equal(np.load(npy_path), counts)
    with open(csv_path) as f:
        table = list(csv.reader(f))
    assert table[0][1:] == ['background', 'obstacle']
    assert [row[0] for row in table[1:]] == ['background', 'obstacle']
    np.testing.assert_array_equal(
        np.array([[int(v) for v in row[1:]] for row in table[1:]]), counts)
    # every labelled ground-truth pixel of the 4 val images counted once
    gts = [
        cv2.imread(f'{synthetic_root}/ann_dir/val/{i:04d}.png',
                   cv2.IMREAD_UNCHANGED) for i in range(4)
    ]
    labelled = sum(int((gt != 255).sum()) for gt in gts)
    assert counts.sum() == labelled
    np.testing.assert_array_equal(
        counts.sum(axis=1), [sum(int((gt == c).sum()) for gt in gts)
                             for c in (0, 1)])
