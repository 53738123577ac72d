"""Ranking rows and choosing the best and worst."""
import math

import numpy as np
import pytest

from mmseg_ext.evaluation.image_ranking import (BestWorstKeeper, rank_images,
                                                select_best_worst)

NAN = math.nan


def _rows(*scores):
    return [dict(name=str(i), mIoU=m, mAcc=a) for i, (m, a) in
            enumerate(scores)]


def test_rank_ties_and_nan():
    rows = _rows((50, 60), (NAN, NAN), (70, 10), (50, 80), (50, 80))
    # 70 first; the 50s by mAcc (80, 80, 60), equal ones by position; NaN last
    assert rank_images(rows, 'mIoU') == [2, 3, 4, 0, 1]
    assert rank_images(rows, 'mAcc') == [3, 4, 0, 2, 1]
    with pytest.raises(ValueError, match='rank by one of'):
        rank_images(rows, 'aAcc')


def test_select_shrinks_and_skips_unscored():
    rows = _rows(*[(v, v) for v in (90, 80, 70, 60, 50, 40)], (NAN, NAN))
    ranking = rank_images(rows)
    assert select_best_worst(rows, ranking, 2) == ([0, 1], [5, 4])
    # 6 scored images, k=5: 3 and 3, none twice, the NaN one never
    assert select_best_worst(rows, ranking, 5) == ([0, 1, 2], [5, 4, 3])
    one = _rows((10, 10))
    assert select_best_worst(one, [0], 5) == ([0], [])
    assert select_best_worst(_rows((NAN, NAN)), [0], 1) == ([], [])
    with pytest.raises(ValueError, match='--k must be >= 1'):
        select_best_worst(rows, ranking, 0)


@pytest.mark.parametrize('k', [1, 2, 3])
def test_keeper_holds_what_the_full_ranking_draws(k):
    rng = np.random.RandomState(k)
    scores = rng.randint(0, 5, size=(40, 2)).astype(float)  # many ties
    scores[rng.rand(40) < 0.2] = NAN
    keeper = BestWorstKeeper(k)
    for i, (miou, macc) in enumerate(scores):
        keeper.add(dict(name=str(i), mIoU=miou, mAcc=macc), f'item{i}')
        assert len(keeper.kept) <= 2 * k
    best, worst = select_best_worst(keeper.rows, rank_images(keeper.rows),
                                    k)
    assert len(best) == len(worst) == k
    assert set(best + worst) <= set(keeper.kept)
    assert keeper.kept[best[0]] == f'item{best[0]}'
