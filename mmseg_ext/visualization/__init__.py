"""Pictures for analysis: training curves, prediction grids, confusion."""
from .confusion_plot import (confusion_figure_size, normalize_rows,
                             plot_confusion_matrix)
from .mask_drawing import IGNORE_COLOR, colorize, full_palette, overlay
from .prediction_grid import GridCell, draw_grid, grid_figure_size
from .training_curves import (DEFAULT_KEYS, curves_figure_size,
                              find_scalar_logs, load_scalar_log,
                              load_training_curves, plot_training_curves)

__all__ = [
    'confusion_figure_size', 'normalize_rows', 'plot_confusion_matrix',
    'IGNORE_COLOR', 'colorize', 'full_palette', 'overlay', 'GridCell',
    'draw_grid', 'grid_figure_size', 'DEFAULT_KEYS', 'curves_figure_size',
    'find_scalar_logs', 'load_scalar_log', 'load_training_curves',
    'plot_training_curves'
]
