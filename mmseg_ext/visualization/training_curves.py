"""Training curves from mmengine's JSON scalar logs.

With mmseg's ``default_runtime`` (``vis_backends=[LocalVisBackend]``)
mmengine 0.10.7 writes, per run started in ``WORK_DIR``:

* ``WORK_DIR/<timestamp>/vis_data/scalars.json`` (``LocalVisBackend``), and
* ``WORK_DIR/<timestamp>/vis_data/<timestamp>.json`` (``LoggerHook``), the
  same records;

one JSON object per line: a training record every ``logger.interval``
iterations (``lr``, ``loss``, the loss terms, ``iter``, ``step``) and a
validation record per validation (``aAcc``, ``mIoU``, ``mAcc``, ``step``).
``step`` is the global iteration for training records; for validation it is
the iteration, or the epoch in epoch-based runs (then the validation is put
at the last training iteration logged before it). A resumed run writes a new
``<timestamp>`` folder: the folders are read in time order and a later value
of a step replaces an earlier one.
"""
import glob
import json
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = [
    'DEFAULT_KEYS', 'find_scalar_logs', 'load_scalar_log',
    'load_training_curves', 'curves_figure_size', 'plot_training_curves'
]

#: What ``plot_curves.py`` draws by default.
DEFAULT_KEYS = ('loss', 'mIoU', 'aAcc', 'mAcc')

#: ``key -> (steps, values)``, steps ascending.
Curves = Dict[str, Tuple[np.ndarray, np.ndarray]]

_SUBPLOT_PX = (480, 360)
_DPI = 100


def find_scalar_logs(work_dir: str) -> List[str]:
    """The scalar logs of a work dir (or of one run folder), oldest first.

    Args:
        work_dir (str): A ``tools/train.py`` work dir, or one of its
            ``<timestamp>`` folders.

    Returns:
        list[str]: One JSON file per run folder: ``scalars.json`` where it
        exists, else ``<timestamp>.json``.

    Raises:
        FileNotFoundError: ``work_dir`` is missing or holds no scalar log.
    """
    if not osp.isdir(work_dir):
        raise FileNotFoundError(f'{work_dir!r} is not a directory: give the '
                                'work dir of a training run.')
    logs = []
    run_dirs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data')))
    if osp.isdir(osp.join(work_dir, 'vis_data')):
        run_dirs.insert(0, osp.join(work_dir, 'vis_data'))
    for vis_dir in run_dirs:
        scalars = osp.join(vis_dir, 'scalars.json')
        stamp = osp.basename(osp.dirname(osp.abspath(vis_dir)))
        if osp.isfile(scalars):
            logs.append(scalars)
        elif osp.isfile(osp.join(vis_dir, f'{stamp}.json')):
            logs.append(osp.join(vis_dir, f'{stamp}.json'))
    if not logs:
        raise FileNotFoundError(
            f'No mmengine scalar log in {work_dir!r}: expected '
            '<timestamp>/vis_data/scalars.json (LocalVisBackend, in '
            'configs/_base_/default_runtime.py) or <timestamp>/vis_data/'
            '<timestamp>.json. Give the --work-dir of tools/train.py after '
            'it logged at least one iteration.')
    return logs


def load_scalar_log(path: str,
                    curves: Optional[Dict[str, Dict[float, float]]] = None
                    ) -> Dict[str, Dict[float, float]]:
    """Read one scalar log into ``key -> {step: value}``.

    Args:
        path (str): A ``scalars.json``-style file.
        curves (dict, optional): Values read so far (from older runs of the
            same work dir); updated in place, later values win.

    Returns:
        dict: ``key -> {step: value}`` for every numeric key but ``step``,
        ``iter`` and ``epoch``.

    Raises:
        ValueError: A line is not a JSON object.
    """
    curves = {} if curves is None else curves
    last_train_step = 0.0
    epoch_based = False
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}:{lineno} is not a JSON line '
                                 f'({err}); is this an mmengine scalar '
                                 'log?') from None
            if not isinstance(record, dict) or 'step' not in record:
                raise ValueError(f'{path}:{lineno} has no "step": not an '
                                 'mmengine scalar log record')
            step = float(record['step'])
            if 'lr' in record:  # a training record
                epoch_based = epoch_based or 'epoch' in record
                last_train_step = step
            elif epoch_based:  # validation after an epoch: step = epoch
                step = last_train_step
            for key, value in record.items():
                if key in ('step', 'iter', 'epoch') or isinstance(
                        value, bool) or not isinstance(value, (int, float)):
                    continue
                curves.setdefault(key, {})[step] = float(value)
    return curves


def load_training_curves(work_dir: str) -> Curves:
    """Every scalar of a work dir's runs against the iteration.

    Args:
        work_dir (str): See :func:`find_scalar_logs`.

    Returns:
        dict: ``key -> (steps, values)``, numpy arrays, steps ascending.
    """
    merged: Dict[str, Dict[float, float]] = {}
    for path in find_scalar_logs(work_dir):
        load_scalar_log(path, merged)
    return {
        key: (np.array(sorted(points)),
              np.array([points[s] for s in sorted(points)]))
        for key, points in merged.items()
    }


def curves_figure_size(num_keys: int) -> Tuple[int, int]:
    """``(height, width)`` in pixels of the PNG for ``num_keys`` subplots.

    Subplots are laid out two per row, each 480x360 pixels.
    """
    cols = min(2, num_keys)
    rows = math.ceil(num_keys / cols)
    return rows * _SUBPLOT_PX[1], cols * _SUBPLOT_PX[0]


def plot_training_curves(runs: Dict[str, Curves],
                         out: str,
                         keys: Sequence[str] = DEFAULT_KEYS) -> List[str]:
    """Draw ``keys`` against the iteration, one subplot per key, runs overlaid.

    Args:
        runs (dict): ``label -> curves`` (:func:`load_training_curves`).
        out (str): The PNG to write (see :func:`curves_figure_size`).
        keys (Sequence[str]): The scalars to draw.

    Returns:
        list[str]: The keys that no run logged (their subplots say so).

    Raises:
        ValueError: No run logged any of ``keys``.
    """
    if not keys:
        raise ValueError('give at least one key to plot')
    missing = [k for k in keys if not any(k in c for c in runs.values())]
    if len(missing) == len(keys):
        logged = sorted({k for c in runs.values() for k in c})
        raise ValueError(f'none of the keys {list(keys)} is in the logs; '
                         f'they hold: {logged}')
    height, width = curves_figure_size(len(keys))
    fig = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI)
    FigureCanvasAgg(fig)
    cols = min(2, len(keys))
    rows = math.ceil(len(keys) / cols)
    for i, key in enumerate(keys):
        ax = fig.add_subplot(rows, cols, i + 1)
        for label, curves in runs.items():
            if key not in curves:
                continue
            steps, values = curves[key]
            ax.plot(steps, values, label=label,
                    marker='o' if len(steps) <= 30 else None, markersize=3)
        ax.set_title(key)
        ax.set_xlabel('iteration')
        ax.grid(True, alpha=0.3)
        if key in missing:
            ax.text(0.5, 0.5, f'no "{key}" in the logs', ha='center',
                    va='center', transform=ax.transAxes)
        elif len(runs) > 1:
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=_DPI)
    return missing
