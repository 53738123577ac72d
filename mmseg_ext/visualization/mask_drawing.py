"""Colour label maps with a dataset palette, and blend them over images."""
from typing import Optional, Sequence

import numpy as np

__all__ = ['IGNORE_COLOR', 'full_palette', 'colorize', 'overlay']

#: RGB colour of ignored (``ignore_index``) pixels in drawn masks.
IGNORE_COLOR = (255, 255, 255)


def full_palette(palette: Optional[Sequence[Sequence[int]]],
                 num_classes: int) -> np.ndarray:
    """``palette`` (RGB per class) completed to ``num_classes`` colours.

    Missing colours are drawn like mmseg's ``BaseSegDataset`` draws a
    palette for classes without one: random, seed 42.

    Args:
        palette (Sequence[Sequence[int]], optional): RGB triplets, e.g. a
            model's ``dataset_meta['palette']``.
        num_classes (int): Number of classes.

    Returns:
        np.ndarray: ``(num_classes, 3)`` uint8 RGB colours.
    """
    given = np.asarray(palette if palette is not None else [],
                       dtype=np.int64).reshape(-1, 3)[:num_classes]
    if len(given) < num_classes:
        extra = np.random.RandomState(42).randint(
            0, 255, size=(num_classes, 3))[len(given):]
        given = np.concatenate([given, extra])
    return given.clip(0, 255).astype(np.uint8)


def colorize(mask: np.ndarray,
             palette: np.ndarray,
             ignore_index: int = 255) -> np.ndarray:
    """RGB picture of a label map.

    Args:
        mask (np.ndarray): ``(H, W)`` class ids.
        palette (np.ndarray): ``(C, 3)`` uint8 RGB colours
            (:func:`full_palette`).
        ignore_index (int): Drawn in :data:`IGNORE_COLOR`, as is any id
            without a colour.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 RGB.
    """
    mask = np.asarray(mask).astype(np.int64)
    valid = (mask >= 0) & (mask < len(palette)) & (mask != ignore_index)
    out = np.empty(mask.shape + (3, ), dtype=np.uint8)
    out[...] = IGNORE_COLOR
    out[valid] = palette[mask[valid]]
    return out


def overlay(image: np.ndarray, mask: np.ndarray, palette: np.ndarray,
            opacity: float = 0.5) -> np.ndarray:
    """``image`` with the coloured ``mask`` blended over it.

    Args:
        image (np.ndarray): ``(H, W, 3)`` uint8, in the channel order of
            ``palette`` (RGB, or BGR with a BGR palette).
        mask (np.ndarray): ``(H, W)`` class ids.
        palette (np.ndarray): ``(C, 3)`` uint8 colours.
        opacity (float): Weight of the mask colour, in ``[0, 1]``.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8.
    """
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f'opacity must be in [0, 1], got {opacity}')
    if image.shape[:2] != mask.shape[:2]:
        raise ValueError(f'image {image.shape[:2]} and mask '
                         f'{mask.shape[:2]} differ in size')
    colours = colorize(mask, palette).astype(np.float32)
    blended = image.astype(np.float32) * (1 - opacity) + colours * opacity
    return blended.round().clip(0, 255).astype(np.uint8)
