"""``tools/analysis_tools/best_worst.py``: the k best and k worst images.

``python tools/analysis_tools/best_worst.py CONFIG CKPT --out-dir DIR
[--k 5] [--split test] [--rank-by mIoU]`` predicts every image of the split,
scores each (:mod:`mmseg_ext.evaluation.image_ranking`: per-image mIoU over
the classes present in the ground truth or the prediction, mAcc, the mean
pixel accuracy or "mPA", over those in the ground truth) and writes:

* ``DIR/best_worst.png``: the k best then the k worst images, one per row,
  columns image | ground truth | prediction, or for a UFormer image |
  ground truth | each member | fused, each panel titled with its scores;
* ``DIR/per_image_scores.csv``: one line per image, best first (``rank``,
  ``name``, ``index``, ``mIoU``, ``mAcc``, and ``m{i}_mIoU``, ``m{i}_mAcc``
  per UFormer member).

A UFormer is ranked by its fused prediction.
"""
import argparse
import os
import os.path as osp
from typing import Dict, List, Optional

import mmcv
from mmengine.logging import print_log

from mmseg_ext.apis import (build_split_dataset, init_model, iter_predictions,
                            model_num_classes)
from mmseg_ext.cli.common import add_model_args, evaluator_ignore_index
from mmseg_ext.evaluation.image_ranking import (SCORE_KEYS, BestWorstKeeper,
                                                member_count, rank_images,
                                                score_sample,
                                                select_best_worst,
                                                write_scores_csv)
from mmseg_ext.models.segmentors.uformer import UFormer
from mmseg_ext.visualization import colorize, draw_grid, full_palette

__all__ = ['parse_args', 'main', 'GRID_NAME', 'CSV_NAME']

#: File names written into ``--out-dir``.
GRID_NAME = 'best_worst.png'
CSV_NAME = 'per_image_scores.csv'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the arguments of ``best_worst.py``."""
    parser = argparse.ArgumentParser(
        description='Per-image scores of a split; a grid of the k best and '
        'k worst predictions and a CSV of all')
    add_model_args(parser)
    parser.add_argument(
        '--k', type=int, default=5, help='how many best and worst to draw')
    parser.add_argument(
        '--rank-by', choices=SCORE_KEYS, default='mIoU',
        help='the per-image score to rank by')
    parser.add_argument(
        '--out-dir', required=True,
        help=f'folder for {GRID_NAME} and {CSV_NAME}')
    return parser.parse_args(argv)


def _scores_title(row: Dict[str, object], prefix: str = '') -> str:
    return (f"mIoU {float(row[prefix + 'mIoU']):.1f}  "
            f"mAcc {float(row[prefix + 'mAcc']):.1f}")


def _member_titles(model) -> List[str]:
    titles = []
    for i, member in enumerate(getattr(model, 'members', [])):
        backbone = getattr(member, 'backbone', None)
        titles.append(f'm{i} ({type(backbone or member).__name__})')
    return titles


def main(argv: Optional[List[str]] = None) -> List[Dict[str, object]]:
    """Score the split, write the grid and the CSV; return the rows."""
    args = parse_args(argv)
    if args.k < 1:  # before the model is built
        raise ValueError(f'--k must be >= 1, got {args.k}')
    model = init_model(args.config, args.checkpoint, args.device,
                       args.cfg_options)
    if isinstance(model, UFormer):
        model.keep_member_preds = True
    dataset = build_split_dataset(model.cfg, args.split)
    if len(dataset) == 0:
        raise ValueError(f'The {args.split} split of {args.config} is empty.')
    num_classes = model_num_classes(model)
    ignore_index = evaluator_ignore_index(model.cfg, args.split)
    print_log(f'Scoring {len(dataset)} {args.split} images',
              logger='current')
    keeper = BestWorstKeeper(args.k, args.rank_by)
    for sample in iter_predictions(model, dataset):
        row = score_sample(sample, num_classes, ignore_index)
        row['index'] = len(keeper.rows)
        keeper.add(row, sample)
    rows = keeper.rows
    ranking = rank_images(rows, args.rank_by)
    os.makedirs(args.out_dir, exist_ok=True)
    csv_path = osp.join(args.out_dir, CSV_NAME)
    write_scores_csv(rows, ranking, csv_path)

    best, worst = select_best_worst(rows, ranking, args.k, args.rank_by)
    if not best:
        raise ValueError(f'No {args.split} image has a labelled pixel: '
                         'nothing to rank.')
    palette = full_palette(model.dataset_meta['palette'], num_classes)
    grid = []
    for kind, pos in [('best', i) for i in best] + [('worst', i)
                                                      for i in worst]:
        row, sample = rows[pos], keeper.kept[pos]
        rank = ranking.index(pos) + 1
        image = mmcv.imread(sample.metainfo['img_path'], channel_order='rgb')
        cells = [(image, f"{kind} (#{rank}): {row['name']}"),
                 (colorize(sample.gt_sem_seg.data[0].cpu().numpy(), palette,
                           ignore_index), 'ground truth')]
        for m in range(member_count(sample)):
            pred = sample.get(f'pred_sem_seg_m{m}').data[0].cpu().numpy()
            cells.append((colorize(pred, palette), _scores_title(row,
                                                                 f'm{m}_')))
        cells.append((colorize(sample.pred_sem_seg.data[0].cpu().numpy(),
                               palette), _scores_title(row)))
        grid.append(cells)
    members = _member_titles(model)
    columns = ['image', 'ground truth'] + (
        members + ['fused'] if members else ['prediction'])
    grid_path = osp.join(args.out_dir, GRID_NAME)
    height, width = draw_grid(grid, grid_path, columns)
    print_log(
        f'{len(rows)} images ranked by {args.rank_by}; {len(best)} best and '
        f'{len(worst)} worst drawn: {grid_path} ({width}x{height}); scores: '
        f'{csv_path}',
        logger='current')
    return rows
