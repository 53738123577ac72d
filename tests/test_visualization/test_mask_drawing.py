"""Palette completion, colouring and overlays."""
import numpy as np
import pytest

from mmseg_ext.visualization import (IGNORE_COLOR, colorize, full_palette,
                                     overlay)


def test_full_palette_keeps_given_colours():
    palette = full_palette([[1, 2, 3]], 3)
    assert palette.shape == (3, 3) and palette.dtype == np.uint8
    assert palette[0].tolist() == [1, 2, 3]
    np.testing.assert_array_equal(palette, full_palette([[1, 2, 3]], 3))
    assert full_palette(None, 2).shape == (2, 3)


def test_colorize_and_overlay_by_hand():
    palette = np.array([[0, 0, 0], [200, 100, 0]], np.uint8)
    mask = np.array([[0, 1], [255, 7]])
    colours = colorize(mask, palette)
    assert colours[0, 1].tolist() == [200, 100, 0]
    assert colours[1, 0].tolist() == list(IGNORE_COLOR)  # ignored
    assert colours[1, 1].tolist() == list(IGNORE_COLOR)  # no colour for 7
    image = np.full((2, 2, 3), 100, np.uint8)
    blended = overlay(image, np.array([[0, 1], [1, 0]]), palette, 0.25)
    assert blended[0, 0].tolist() == [75, 75, 75]
    assert blended[0, 1].tolist() == [125, 100, 75]
    with pytest.raises(ValueError, match='opacity'):
        overlay(image, mask, palette, 1.5)
    with pytest.raises(ValueError, match='differ in size'):
        overlay(image, mask[:1], palette)
