"""Draw a row-normalised confusion matrix with class names.

The drawing follows mmseg's ``tools/analysis_tools/confusion_matrix.py``
(rows ground truth, columns prediction, percentages in the cells), which the
pip package ships only as a script that sets the default scope on import,
at a size that grows with the number of classes.
"""
from typing import Sequence, Tuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ['normalize_rows', 'confusion_figure_size', 'plot_confusion_matrix']

_DPI = 100


def normalize_rows(counts: np.ndarray) -> np.ndarray:
    """Percent of each ground-truth class's pixels per predicted class.

    Args:
        counts (np.ndarray): ``(C, C)`` pixel counts, rows ground truth.

    Returns:
        np.ndarray: ``(C, C)`` float64 percentages; a row of a class without
        ground-truth pixels is NaN.
    """
    counts = np.asarray(counts, dtype=np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(totals > 0, counts / totals * 100, np.nan)


def confusion_figure_size(num_classes: int) -> Tuple[int, int]:
    """``(height, width)`` in pixels of :func:`plot_confusion_matrix`'s PNG:
    ``60 * C + 240`` high (at least 400) and 120 wider, for the colour bar.
    """
    side = max(400, 60 * num_classes + 240)
    return side, side + 120


def plot_confusion_matrix(counts: np.ndarray,
                          classes: Sequence[str],
                          out: str,
                          title: str = 'Normalised confusion matrix (%)',
                          cmap: str = 'Blues') -> Tuple[int, int]:
    """Write the row-normalised matrix of ``counts`` as a PNG.

    Args:
        counts (np.ndarray): ``(C, C)`` pixel counts, rows ground truth,
            columns prediction.
        classes (Sequence[str]): ``C`` class names.
        out (str): The PNG to write.
        title (str): Figure title.
        cmap (str): Matplotlib colour map.

    Returns:
        tuple[int, int]: ``(height, width)`` of the PNG.
    """
    counts = np.asarray(counts)
    n = len(classes)
    if counts.shape != (n, n):
        raise ValueError(f'counts has shape {counts.shape}, expected '
                         f'({n}, {n}) for classes {list(classes)}')
    percent = normalize_rows(counts)
    height, width = confusion_figure_size(n)
    fig = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(np.nan_to_num(percent, nan=0.0), cmap=cmap, vmin=0,
                      vmax=100)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(classes, rotation=45, ha='right', fontsize=8)
    ax.set_yticklabels(classes, fontsize=8)
    ax.set_xlabel('prediction')
    ax.set_ylabel('ground truth')
    ax.set_title(title, fontsize=10)
    for i in range(n):
        for j in range(n):
            value = percent[i, j]
            text = '-' if np.isnan(value) else f'{value:.1f}'
            ax.text(j, i, text, ha='center', va='center', fontsize=7,
                    color='white' if value > 60 else 'black')
    fig.tight_layout()
    fig.savefig(out, dpi=_DPI)
    return height, width
