"""A grid of pictures: one row per image, one column per panel."""
from typing import List, Sequence, Tuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ['GridCell', 'grid_figure_size', 'draw_grid']

#: One panel: an ``(H, W, 3)`` uint8 RGB picture and its title.
GridCell = Tuple[np.ndarray, str]

_DPI = 100


def grid_figure_size(num_rows: int, num_cols: int,
                     cell_px: int = 200) -> Tuple[int, int]:
    """``(height, width)`` in pixels of :func:`draw_grid`'s PNG.

    Each panel takes a ``cell_px`` square (title included); the column
    headers take ``cell_px // 4`` more at the top.
    """
    return num_rows * cell_px + cell_px // 4, num_cols * cell_px


def draw_grid(rows: Sequence[Sequence[GridCell]],
              out: str,
              column_titles: Sequence[str] = (),
              cell_px: int = 200) -> Tuple[int, int]:
    """Draw ``rows`` of titled panels into a PNG.

    Args:
        rows (Sequence[Sequence[GridCell]]): One list of panels per row,
            all rows of one length.
        out (str): The PNG to write.
        column_titles (Sequence[str]): Headers above the columns.
        cell_px (int): Side of one panel in pixels.

    Returns:
        tuple[int, int]: ``(height, width)`` of the PNG
        (:func:`grid_figure_size`).
    """
    if not rows:
        raise ValueError('nothing to draw: no rows')
    num_cols = len(rows[0])
    if any(len(row) != num_cols for row in rows):
        raise ValueError('every row needs the same number of panels')
    height, width = grid_figure_size(len(rows), num_cols, cell_px)
    fig = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI)
    FigureCanvasAgg(fig)
    top = 1 - (cell_px // 4) / height
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=top,
                        wspace=0.05, hspace=0.35)
    axes: List = fig.subplots(len(rows), num_cols, squeeze=False)
    for r, row in enumerate(rows):
        for c, (picture, title) in enumerate(row):
            ax = axes[r][c]
            ax.imshow(picture, interpolation='nearest')
            ax.set_title(title, fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
    for c, title in enumerate(column_titles):
        # above the panel's own title, wherever the image aspect put it
        axes[0][c].annotate(
            title, xy=(0.5, 1), xycoords='axes fraction', xytext=(0, 14),
            textcoords='offset points', ha='center', va='bottom',
            fontsize=9, weight='bold')
    fig.savefig(out, dpi=_DPI)
    return height, width
