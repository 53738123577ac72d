"""Per-image scores of a split's predictions, ranked: the best and worst.

Scores are :func:`~mmseg_ext.evaluation.confusion.image_scores` (per-image
mIoU over the classes present in the ground truth or the prediction, mAcc
over the classes present in the ground truth, percent). For a UFormer whose
samples carry the members' predictions (``keep_member_preds``) every member
is scored too (``m0_mIoU``, ``m0_mAcc``...); ``mIoU``/``mAcc`` are the fused
prediction's. Images whose pixels are all ignored score NaN and rank last.
"""
import csv
import math
import os.path as osp
from typing import Dict, List, Sequence, Tuple

from mmseg.structures import SegDataSample

from mmseg_ext.evaluation.confusion import image_scores

__all__ = [
    'SCORE_KEYS', 'member_count', 'score_sample', 'rank_images',
    'BestWorstKeeper', 'select_best_worst', 'write_scores_csv'
]

#: The per-image scores, in CSV order.
SCORE_KEYS = ('mIoU', 'mAcc')


def member_count(sample: SegDataSample) -> int:
    """How many ``pred_sem_seg_m{i}`` a sample holds (0 for most models)."""
    count = 0
    while f'pred_sem_seg_m{count}' in sample:
        count += 1
    return count


def score_sample(sample: SegDataSample, num_classes: int,
                 ignore_index: int = 255) -> Dict[str, object]:
    """One image's row: ``name``, ``mIoU``, ``mAcc`` (and per member).

    Args:
        sample (SegDataSample): With ``gt_sem_seg``, ``pred_sem_seg`` (and
            ``pred_sem_seg_m{i}``) of one size, ``img_path`` in metainfo.
        num_classes (int): Number of classes.
        ignore_index (int): Label not scored.

    Returns:
        dict: ``name`` (the image file name), the scores.
    """
    if 'gt_sem_seg' not in sample:
        raise ValueError('the samples have no gt_sem_seg: the split\'s '
                         'pipeline must load annotations (LoadAnnotations)')
    gt = sample.gt_sem_seg.data.squeeze(0)
    preds = [('', sample.pred_sem_seg)] + [
        (f'm{i}_', sample.get(f'pred_sem_seg_m{i}'))
        for i in range(member_count(sample))
    ]
    row: Dict[str, object] = dict(
        name=osp.basename(sample.metainfo.get('img_path') or ''))
    for prefix, pred in preds:
        scores = image_scores(pred.data.squeeze(0), gt, num_classes,
                              ignore_index)
        row.update({prefix + k: scores[k] for k in SCORE_KEYS})
    return row


def _order_key(rows: Sequence[Dict[str, object]], key: str):
    """Sort key of a row position: best ``key`` first (see rank_images)."""
    if key not in SCORE_KEYS:
        raise ValueError(f'rank by one of {SCORE_KEYS}, got {key!r}')
    other = [k for k in SCORE_KEYS if k != key][0]

    def order(i: int) -> Tuple:
        values = [float(rows[i][key]), float(rows[i][other])]
        return (*[-v if not math.isnan(v) else math.inf for v in values], i)

    return order


def rank_images(rows: Sequence[Dict[str, object]],
                key: str = 'mIoU') -> List[int]:
    """Row positions, best ``key`` first.

    Ties are broken by the other score (``mAcc`` for ``mIoU`` and back),
    then by position; NaN scores come last.
    """
    return sorted(range(len(rows)), key=_order_key(rows, key))


class BestWorstKeeper:
    """Keep, while rows arrive, only what can end among the k best or worst.

    An item leaves once ``k`` kept rows rank above it and ``k`` below: those
    (or rows ranking further out) stay, so it can never come back into
    either end. Memory is ``2k + 1`` items, whatever the split's size.

    Args:
        k (int): How many best and worst will be drawn.
        key (str): The score ranked by.
    """

    def __init__(self, k: int, key: str = 'mIoU') -> None:
        if k < 1:
            raise ValueError(f'--k must be >= 1, got {k}')
        self.k = k
        self.key = key
        self.rows: List[Dict[str, object]] = []
        self.kept: Dict[int, object] = {}
        self._order = _order_key(self.rows, key)

    def add(self, row: Dict[str, object], item: object) -> None:
        """Append ``row`` (the next position) and keep ``item`` for now."""
        self.rows.append(row)
        if math.isnan(float(row[self.key])):
            return  # never drawn
        self.kept[len(self.rows) - 1] = item
        if len(self.kept) > 2 * self.k:
            order = sorted(self.kept, key=self._order)
            for position in order[self.k:-self.k]:
                del self.kept[position]


def select_best_worst(rows: Sequence[Dict[str, object]],
                      ranking: Sequence[int],
                      k: int,
                      key: str = 'mIoU') -> Tuple[List[int], List[int]]:
    """The ``k`` best (best first) and ``k`` worst (worst first) rows.

    Only rows with a ``key`` score take part (an image with no labelled
    pixel is neither). With fewer than ``2k`` of them both lists shrink to
    half (at least 1 best), so no image is shown twice.

    Args:
        rows (Sequence[dict]): :func:`score_sample` rows.
        ranking (Sequence[int]): Positions, best first (:func:`rank_images`).
        k (int): How many of each, >= 1.
        key (str): The score ranked by.

    Returns:
        tuple[list[int], list[int]]: Best and worst row positions.
    """
    if k < 1:
        raise ValueError(f'--k must be >= 1, got {k}')
    scored = [i for i in ranking if not math.isnan(float(rows[i][key]))]
    if not scored:
        return [], []
    k = min(k, max(1, len(scored) // 2))
    best = scored[:k]
    worst = list(reversed(scored[k:]))[:k]
    return best, worst


def write_scores_csv(rows: Sequence[Dict[str, object]],
                     ranking: Sequence[int], path: str) -> List[str]:
    """Write one line per image, best first: ``rank, name, index`` and the
    scores (4 decimals, ``nan`` when undefined).

    Returns:
        list[str]: The header.
    """
    score_columns = [k for k in rows[0] if k not in ('name', 'index')]
    header = ['rank', 'name', 'index'] + score_columns
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for rank, i in enumerate(ranking, 1):
            row = rows[i]
            writer.writerow([rank, row['name'], row['index']] +
                            [f'{float(row[c]):.4f}' for c in score_columns])
    return header
