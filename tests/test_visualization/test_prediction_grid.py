"""The grid PNG has the documented size."""
import cv2
import numpy as np
import pytest

from mmseg_ext.visualization import draw_grid, grid_figure_size


def test_grid_size_and_errors(tmp_path):
    picture = np.zeros((8, 12, 3), np.uint8)
    picture[:, 6:] = 255
    rows = [[(picture, 'a'), (picture, 'b')]] * 3
    out = str(tmp_path / 'grid.png')
    size = draw_grid(rows, out, ['left', 'right'], cell_px=100)
    assert size == grid_figure_size(3, 2, 100) == (325, 200)
    assert cv2.imread(out).shape[:2] == size
    with pytest.raises(ValueError, match='same number of panels'):
        draw_grid([rows[0], rows[0][:1]], out)
    with pytest.raises(ValueError, match='no rows'):
        draw_grid([], out)
