"""Row normalisation and the confusion PNG."""
import cv2
import numpy as np
import pytest

from mmseg_ext.visualization import (confusion_figure_size, normalize_rows,
                                     plot_confusion_matrix)


def test_normalize_rows_by_hand():
    percent = normalize_rows(np.array([[3, 1, 0], [0, 0, 0], [2, 2, 4]]))
    np.testing.assert_allclose(percent[0], [75, 25, 0])
    assert np.isnan(percent[1]).all()  # no ground-truth pixel
    np.testing.assert_allclose(percent[2], [25, 25, 50])


def test_png_size_and_shape_check(tmp_path):
    out = str(tmp_path / 'cm.png')
    counts = np.arange(25).reshape(5, 5)
    size = plot_confusion_matrix(counts, list('abcde'), out)
    assert size == confusion_figure_size(5) == (540, 660)
    assert cv2.imread(out).shape[:2] == size
    with pytest.raises(ValueError, match=r'expected \(2, 2\)'):
        plot_confusion_matrix(counts, ['a', 'b'], out)
