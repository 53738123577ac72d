"""``tools/analysis_tools/plot_curves.py``: training curves of runs.

``python tools/analysis_tools/plot_curves.py WORK_DIR [WORK_DIR ...] --out
PNG [--keys loss mIoU aAcc mAcc] [--labels A B ...]`` reads each work dir's
mmengine scalar logs (:mod:`mmseg_ext.visualization.training_curves`) and
draws every key against the iteration, one subplot per key, the runs
overlaid.
"""
import argparse
import os
import os.path as osp
from typing import List, Optional

from mmseg_ext.visualization.training_curves import (DEFAULT_KEYS,
                                                     curves_figure_size,
                                                     load_training_curves,
                                                     plot_training_curves)

__all__ = ['parse_args', 'main', 'run_labels']


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the arguments of ``plot_curves.py``."""
    parser = argparse.ArgumentParser(
        description='Plot loss and validation metrics against the iteration '
        'from mmengine JSON logs, several runs overlaid')
    parser.add_argument('work_dirs', nargs='+', metavar='WORK_DIR',
                        help='work dir(s) of tools/train.py')
    parser.add_argument('--out', required=True, help='PNG file to write')
    parser.add_argument('--keys', nargs='+', default=list(DEFAULT_KEYS),
                        help='scalars to plot, one subplot each')
    parser.add_argument('--labels', nargs='+',
                        help='legend label per WORK_DIR (default: the work '
                        'dir names)')
    return parser.parse_args(argv)


def run_labels(work_dirs: List[str],
               labels: Optional[List[str]] = None) -> List[str]:
    """Legend labels: ``labels``, else the work dir names (full paths where
    two names are equal)."""
    if labels is not None:
        if len(labels) != len(work_dirs):
            raise ValueError(f'{len(labels)} --labels for {len(work_dirs)} '
                             'work dirs: give one label per work dir')
        return list(labels)
    names = [osp.basename(osp.normpath(d)) for d in work_dirs]
    if len(set(names)) < len(names):
        return [osp.normpath(d) for d in work_dirs]
    return names


def main(argv: Optional[List[str]] = None) -> str:
    """Write the PNG; return its path."""
    args = parse_args(argv)
    labels = run_labels(args.work_dirs, args.labels)
    if len(set(labels)) < len(labels):
        raise ValueError(f'--labels must differ, got {labels}')
    runs = {
        label: load_training_curves(d)
        for label, d in zip(labels, args.work_dirs)
    }
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    missing = plot_training_curves(runs, args.out, args.keys)
    height, width = curves_figure_size(len(args.keys))
    for key in missing:
        print(f'warning: no run logged "{key}"')
    print(f'wrote {args.out} ({width}x{height}): {", ".join(args.keys)} of '
          f'{", ".join(labels)}')
    return args.out
