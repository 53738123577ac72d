"""``tools/analysis_tools/confusion_matrix.py``: a split's confusion matrix.

``python tools/analysis_tools/confusion_matrix.py CONFIG CKPT --out PNG
[--split test]`` predicts every image of the split and writes:

* ``PNG``: the confusion matrix normalised per ground-truth class (rows
  ground truth, columns prediction, percent), with the class names;
* ``<PNG stem>_counts.csv`` and ``<PNG stem>_counts.npy``: the raw pixel
  counts (int64, ``ignore_index`` pixels left out).

It also prints aAcc, mIoU and mAcc computed from the counts (mmseg's
``IoUMetric`` numbers, which ``tools/test.py`` reports).
"""
import argparse
import csv
import os
import os.path as osp
from typing import List, Optional

import numpy as np
import torch
from mmengine.logging import print_log

from mmseg_ext.apis import (build_split_dataset, init_model, iter_predictions,
                            model_num_classes)
from mmseg_ext.cli.common import add_model_args, evaluator_ignore_index
from mmseg_ext.evaluation.confusion import confusion_matrix, confusion_metrics
from mmseg_ext.visualization import plot_confusion_matrix

__all__ = ['parse_args', 'main', 'counts_paths']


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the arguments of ``confusion_matrix.py``."""
    parser = argparse.ArgumentParser(
        description='Normalised confusion matrix of a split as a PNG, with '
        'the raw counts as CSV and .npy')
    add_model_args(parser)
    parser.add_argument('--out', required=True, help='PNG file to write')
    return parser.parse_args(argv)


def counts_paths(out: str) -> List[str]:
    """The ``.csv`` and ``.npy`` files written next to the PNG ``out``."""
    stem = osp.splitext(out)[0]
    return [f'{stem}_counts.csv', f'{stem}_counts.npy']


def main(argv: Optional[List[str]] = None) -> np.ndarray:
    """Count, draw and save; return the ``(C, C)`` counts."""
    args = parse_args(argv)
    if not args.out.lower().endswith('.png'):
        raise ValueError(f'--out must be a .png path, got {args.out!r}')
    model = init_model(args.config, args.checkpoint, args.device,
                       args.cfg_options)
    dataset = build_split_dataset(model.cfg, args.split)
    num_classes = model_num_classes(model)
    ignore_index = evaluator_ignore_index(model.cfg, args.split)
    classes = list(model.dataset_meta['classes'])
    # row C: predictions on labels outside 0..C-1 (not ignore_index), which
    # mmseg's IoUMetric counts as false positives; drawn and saved: rows 0..C-1
    counts = torch.zeros((num_classes + 1, num_classes), dtype=torch.long)
    print_log(f'Counting {len(dataset)} {args.split} images',
              logger='current')
    for sample in iter_predictions(model, dataset):
        counts += confusion_matrix(
            sample.pred_sem_seg.data.squeeze(0),
            sample.gt_sem_seg.data.squeeze(0), num_classes,
            ignore_index, out_of_range_row=True).cpu()
    metrics = confusion_metrics(counts)
    counts = counts[:num_classes].numpy()
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    height, width = plot_confusion_matrix(
        counts, classes, args.out,
        title=f'{osp.basename(args.config)}\n{args.split} split, '
        'rows normalised (%)')
    csv_path, npy_path = counts_paths(args.out)
    np.save(npy_path, counts)
    with open(csv_path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['ground truth \\ prediction'] + classes)
        for name, row in zip(classes, counts):
            writer.writerow([name] + [int(v) for v in row])
    print_log(
        f"{args.split}: aAcc {metrics['aAcc']:.2f}, mIoU "
        f"{metrics['mIoU']:.2f}, mAcc {metrics['mAcc']:.2f}\n"
        f'confusion matrix: {args.out} ({width}x{height}); counts: '
        f'{csv_path}, {npy_path}',
        logger='current')
    return counts
