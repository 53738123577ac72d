"""Search the member weights of a :class:`UFormer` for the best mIoU.

The members run once per batch; their logits are fused for every weight
candidate through UFormer's own predict path (:meth:`UFormer.fuse` at the
padded input size, then :meth:`UFormer.postprocess_result`), so a candidate's
numbers are the ones ``tools/test.py`` reports for a UFormer with those
weights. Only a ``(K, C + 1, C)`` confusion matrix per candidate is kept
(its last row: pixels labelled outside ``0..C-1``, not ``ignore_index``),
never the logits of the whole split.

The metrics are mmseg's ``IoUMetric`` ones (its
:meth:`~mmseg.evaluation.metrics.IoUMetric.total_area_to_metrics`): pixels
labelled ``ignore_index`` do not count, a pixel labelled outside ``0..C-1``
(not ``ignore_index``) counts in its predicted class's area and union only, a
class absent from both ground truth and predictions is NaN and left out of
the means, and the labels are taken as the dataset loaded them
(``reduce_zero_label`` already applied).
"""
import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.utils import track_iter_progress
from mmseg.structures import SegDataSample
from torch import Tensor

from mmseg_ext.evaluation.confusion import (confusion_matrix,
                                            confusion_metrics)
from mmseg_ext.models.segmentors.uformer import UFormer

__all__ = [
    'METRICS', 'simplex_grid', 'weight_candidates', 'confusion_matrix',
    'confusion_metrics', 'accumulate_confusions', 'WeightSearchResult',
    'search_uformer_weights', 'format_weights', 'format_table'
]

#: Metrics a search can rank by (mmseg ``IoUMetric`` names, in percent).
METRICS = ('mIoU', 'mAcc', 'aAcc')


def simplex_grid(num_members: int, step: float) -> List[List[float]]:
    """All weight vectors whose entries are multiples of ``step``, summing 1.

    Args:
        num_members (int): Number of members ``M`` (>= 1).
        step (float): Grid step; ``1 / step`` must be a whole number.

    Returns:
        list[list[float]]: ``comb(1 / step + M - 1, M - 1)`` vectors of ``M``
        weights, in lexicographic order of the first weight descending (the
        vertices, each member alone, are included).

    Raises:
        ValueError: ``step`` is not in ``(0, 1]`` or does not divide 1.
    """
    if not 0 < step <= 1:
        raise ValueError(f'step must be in (0, 1], got {step}')
    parts = round(1 / step)
    if not math.isclose(parts * step, 1.0, rel_tol=0, abs_tol=1e-9):
        raise ValueError(
            f'step {step} does not divide 1 into a whole number of parts: '
            'use e.g. 0.5, 0.25, 0.2, 0.1 or 0.05')
    if num_members < 1:
        raise ValueError(f'num_members must be >= 1, got {num_members}')

    def compositions(total: int, slots: int):
        if slots == 1:
            yield (total, )
            return
        for first in range(total, -1, -1):
            for rest in compositions(total - first, slots - 1):
                yield (first, ) + rest

    return [[round(c / parts, 6) for c in counts]
            for counts in compositions(parts, num_members)]


def weight_candidates(
        num_members: int,
        step: float,
        current: Optional[Sequence[float]] = None
) -> Tuple[List[List[float]], List[List[str]]]:
    """The grid of :func:`simplex_grid` plus the current weights.

    Args:
        num_members (int): Number of members.
        step (float): Grid step.
        current (Sequence[float], optional): The model's weights now; added
            as a candidate unless a grid point equals them.

    Returns:
        tuple: The candidates (lists of ``num_members`` weights) and, per
        candidate, its tags: ``'m{i} alone'`` for a vertex, ``'current'``
        for the current weights.
    """
    grid = simplex_grid(num_members, step)
    tags: List[List[str]] = [[] for _ in grid]
    for k, weights in enumerate(grid):
        if max(weights) == 1.0:
            tags[k].append(f'm{weights.index(1.0)} alone')
    if current is not None:
        current = [round(float(w), 6) for w in current]
        for k, weights in enumerate(grid):
            if all(math.isclose(a, b, abs_tol=1e-6)
                   for a, b in zip(weights, current)):
                tags[k].append('current')
                break
        else:
            grid.append(current)
            tags.append(['current'])
    return grid, tags


@torch.no_grad()
def accumulate_confusions(model: UFormer,
                          dataloader: Sequence[dict],
                          candidates: Sequence[Sequence[float]],
                          num_classes: int,
                          ignore_index: int = 255,
                          progress: bool = True) -> Tensor:
    """Run the members once over ``dataloader``; count every candidate.

    Per batch: preprocess (the UFormer's ``data_preprocessor``), each
    member's inference logits (:meth:`UFormer.member_logits`), then for each
    candidate :meth:`UFormer.fuse` and :meth:`UFormer.postprocess_result`, as
    :meth:`UFormer.predict` does, and the confusion counts against the
    batch's ``gt_sem_seg``.

    Args:
        model (UFormer): The model, on its device, in eval mode.
        dataloader (Iterable[dict]): Batches as mmengine's dataloaders give
            them (``inputs``, ``data_samples`` with ``gt_sem_seg``).
        candidates (Sequence[Sequence[float]]): ``K`` weight vectors, one
            weight per member; each is normalised as UFormer normalises the
            ``weights`` of its config.
        num_classes (int): ``C``, the dataset's number of classes.
        ignore_index (int): Label not counted. Defaults to 255.
        progress (bool): Show a progress bar over the batches.

    Returns:
        Tensor: ``(K, C + 1, C)`` int64 confusion counts on the CPU (rows
        ground truth, the last one labels outside ``0..C-1``; see
        :func:`confusion_matrix` with ``out_of_range_row``).
    """
    num_members = len(model.members)
    weights = torch.stack([
        UFormer.normalize_weights(w, num_members) for w in candidates
    ]).to(model.weights.device)
    confusions = torch.zeros((len(weights), num_classes + 1, num_classes),
                             dtype=torch.long,
                             device=weights.device)
    batches = dataloader
    if progress and len(dataloader):
        batches = track_iter_progress((dataloader, len(dataloader)))
    for data in batches:
        data = model.data_preprocessor(data, False)
        samples = data['data_samples']
        metas = [sample.metainfo for sample in samples]
        logits = model.member_logits(data['inputs'], metas)
        for k, w in enumerate(weights):
            results = model.postprocess_result(
                model.fuse(logits, weights=w),
                [SegDataSample(metainfo=meta) for meta in metas])
            for result, sample in zip(results, samples):
                confusions[k] += confusion_matrix(
                    result.pred_sem_seg.data.squeeze(0),
                    sample.gt_sem_seg.data.squeeze(0),
                    num_classes,
                    ignore_index,
                    out_of_range_row=True)
    return confusions.cpu()


@dataclass
class WeightSearchResult:
    """The outcome of a weight search.

    Attributes:
        candidates (list[list[float]]): ``K`` weight vectors.
        tags (list[list[str]]): Per candidate, ``'m{i} alone'`` and/or
            ``'current'``.
        confusions (Tensor): ``(K, C + 1, C)`` (or ``(K, C, C)``) confusion
            counts, as :func:`accumulate_confusions` gives them.
        metric (str): The metric ranked by, one of :data:`METRICS`.
        metrics (list[dict]): Per candidate, :func:`confusion_metrics`.
        ranking (list[int]): Candidate indices, best first.
    """
    candidates: List[List[float]]
    tags: List[List[str]]
    confusions: Tensor
    metric: str = 'mIoU'
    metrics: List[Dict[str, object]] = field(init=False)
    ranking: List[int] = field(init=False)

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f'metric must be one of {METRICS}, got '
                             f'{self.metric!r}')
        self.metrics = [confusion_metrics(c) for c in self.confusions]

        def key(k: int) -> tuple:
            # best metric, then the other two; a tie keeps the current
            # weights, then the first candidate
            values = [self.metrics[k][self.metric]] + [
                self.metrics[k][m] for m in METRICS if m != self.metric
            ]
            values = [-v if v == v else math.inf for v in values]
            return (*values, 'current' not in self.tags[k], k)

        self.ranking = sorted(range(len(self.candidates)), key=key)

    @property
    def best(self) -> int:
        """Index of the best candidate."""
        return self.ranking[0]

    def tagged(self, tag: str) -> Optional[int]:
        """Index of the candidate with ``tag``, or None."""
        for k, tags in enumerate(self.tags):
            if tag in tags:
                return k
        return None

    def to_dict(self, classes: Sequence[str]) -> Dict[str, object]:
        """Candidates best first, with their metrics, as JSON-ready dicts.

        Args:
            classes (Sequence[str]): The class names, for the per-class
                values.

        Returns:
            dict: ``metric``, ``best`` and ``candidates`` (each: ``rank``,
            ``weights``, ``tags``, ``aAcc``, ``mIoU``, ``mAcc`` and the
            per-class ``IoU``/``Acc``, NaN written as None).
        """

        def number(value) -> Optional[float]:
            return None if value != value else round(float(value), 4)

        rows = []
        for rank, k in enumerate(self.ranking, 1):
            m = self.metrics[k]
            row: Dict[str, object] = dict(
                rank=rank, weights=self.candidates[k], tags=self.tags[k])
            row.update({name: number(m[name]) for name in METRICS})
            for name in ('IoU', 'Acc'):
                row[name] = {
                    c: number(v)
                    for c, v in zip(classes, m[name])
                }
            rows.append(row)
        return dict(metric=self.metric, best=rows[0], candidates=rows)


def search_uformer_weights(model: UFormer,
                           dataloader: Sequence[dict],
                           num_classes: int,
                           step: float = 0.1,
                           metric: str = 'mIoU',
                           ignore_index: int = 255,
                           progress: bool = True) -> WeightSearchResult:
    """Grid-search the weight simplex of ``model`` on ``dataloader``.

    The candidates are every weight vector with entries multiple of
    ``step`` (each member alone included) and the model's current weights.

    Args:
        model (UFormer): The model, on its device, in eval mode.
        dataloader (Iterable[dict]): The evaluation batches.
        num_classes (int): The dataset's number of classes.
        step (float): Grid step; ``1 / step`` must be whole.
        metric (str): What to rank by: ``'mIoU'``, ``'mAcc'`` or
            ``'aAcc'``.
        ignore_index (int): Label not counted. Defaults to 255.
        progress (bool): Show a progress bar.

    Returns:
        WeightSearchResult: Every candidate's metrics, ranked.
    """
    if metric not in METRICS:
        raise ValueError(f'metric must be one of {METRICS}, got {metric!r}')
    candidates, tags = weight_candidates(
        len(model.members), step, current=model.weights.tolist())
    confusions = accumulate_confusions(
        model,
        dataloader,
        candidates,
        num_classes,
        ignore_index=ignore_index,
        progress=progress)
    return WeightSearchResult(candidates, tags, confusions, metric=metric)


def format_weights(weights: Sequence[float]) -> str:
    """``[0.3, 0.7]``: the shortest exact spelling of each weight."""
    return '[' + ', '.join(repr(round(float(w), 6)) for w in weights) + ']'


def format_table(result: WeightSearchResult, top: int = 10) -> str:
    """The members alone, the current weights, the top candidates, the best.

    Args:
        result (WeightSearchResult): A search result.
        top (int): How many of the best candidates to list.

    Returns:
        str: A plain-text table, one candidate per row.
    """
    rank_of = {k: rank for rank, k in enumerate(result.ranking, 1)}
    num_members = len(result.candidates[0])
    listed = result.ranking[:top]
    sections = [
        ('each member alone',
         [result.tagged(f'm{i} alone') for i in range(num_members)]),
        ('current weights', [result.tagged('current')]),
        (f'top {len(listed)} of {len(result.ranking)}', listed),
        ('best', [result.best]),
    ]
    weights_width = max(
        len('weights'),
        *(len(format_weights(w)) for w in result.candidates))
    header = (f'{"rank":>5}  {"weights":<{weights_width}}  '
              + '  '.join(f'{m:>6}' for m in METRICS) + '  note')
    lines = [header, '-' * len(header)]
    for title, indices in sections:
        lines.append(f'{title}:')
        for k in indices:
            if k is None:
                continue
            weights = format_weights(result.candidates[k])
            values = '  '.join(f'{result.metrics[k][m]:6.2f}'
                               for m in METRICS)
            note = ', '.join(result.tags[k])
            lines.append(f'{rank_of[k]:>5}  {weights:<{weights_width}}  '
                         f'{values}  {note}'.rstrip())
    return '\n'.join(lines)
