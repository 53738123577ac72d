"""The weight grid, confusion counts, metrics and ranking of the search."""
import math

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.structures import PixelData
from mmseg.evaluation import IoUMetric
from mmseg.structures import SegDataSample

from mmseg_ext.utils.scope import adopt_mmseg_scope
from mmseg_ext.evaluation.uformer_weight_search import (
    WeightSearchResult, accumulate_confusions, confusion_matrix,
    confusion_metrics, format_table, simplex_grid, weight_candidates)
from mmseg_ext.registry import MODELS
from tests.helpers import DEMO_CONFIG


def test_simplex_grid_two_and_three_members():
    assert simplex_grid(2, 0.5) == [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
    grid = simplex_grid(3, 0.1)
    assert len(grid) == math.comb(10 + 2, 2) == 66
    assert len({tuple(w) for w in grid}) == 66
    for weights in grid:
        assert sum(weights) == pytest.approx(1.0)
        assert all(round(w * 10, 9) == round(w * 10) for w in weights)
    for vertex in ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]):
        assert vertex in grid
    assert [0.3, 0.3, 0.4] in grid


@pytest.mark.parametrize('step', [0.3, 0.15, 0.0, -0.1, 1.5])
def test_simplex_grid_rejects_a_step_that_does_not_divide_1(step):
    with pytest.raises(ValueError, match='step'):
        simplex_grid(2, step)


def test_weight_candidates_tag_vertices_and_current():
    grid, tags = weight_candidates(2, 0.5, current=[0.5, 0.5])
    assert grid == [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
    assert tags == [['m0 alone'], ['current'], ['m1 alone']]
    grid, tags = weight_candidates(2, 0.5, current=[0.25, 0.75])
    assert grid[-1] == [0.25, 0.75] and tags[-1] == ['current']
    assert len(grid) == 4


def test_confusion_matrix_hand_computed():
    gt = torch.tensor([[0, 0, 1], [2, 255, 1], [7, 2, 2]])
    pred = torch.tensor([[0, 1, 1], [2, 0, 0], [1, 2, 1]])
    # 255 is ignored, 7 is no class: neither counts
    expected = torch.tensor([[1, 1, 0], [1, 1, 0], [0, 1, 2]])
    assert torch.equal(confusion_matrix(pred, gt, 3, 255), expected)
    assert confusion_matrix(pred, gt, 3, 255).dtype == torch.long
    # with the last row: the pixel labelled 7, predicted 1
    with_row = confusion_matrix(pred, gt, 3, 255, out_of_range_row=True)
    assert torch.equal(with_row,
                       torch.cat([expected, torch.tensor([[0, 1, 0]])]))
    assert with_row.dtype == torch.long
    with pytest.raises(ValueError, match=r'\(C \+ 1, C\)'):
        confusion_metrics(torch.zeros(5, 3, dtype=torch.long))


def test_confusion_metrics_equal_mmseg_iou_metric():
    rng = torch.Generator().manual_seed(0)
    metric = IoUMetric(ignore_index=255)
    metric.dataset_meta = dict(classes=('a', 'b', 'c', 'd'))
    total = torch.zeros(4, 4, dtype=torch.long)
    for _ in range(3):
        # class 3 appears in neither: NaN, left out of the means
        gt = torch.randint(0, 3, (9, 11), generator=rng)
        pred = torch.randint(0, 3, (9, 11), generator=rng)
        gt[torch.rand(9, 11, generator=rng) < 0.2] = 255
        metric.process({}, [
            dict(
                pred_sem_seg=dict(data=pred[None]),
                gt_sem_seg=dict(data=gt[None]))
        ])
        total += confusion_matrix(pred, gt, 4, 255)
    expected = metric.compute_metrics(metric.results)
    got = confusion_metrics(total)
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert got[key] == pytest.approx(expected[key], abs=0.005)
    assert np.isnan(got['IoU'][3]) and np.isnan(got['Acc'][3])
    intersect = total.diagonal().double()
    union = total.sum(0) + total.sum(1) - total.diagonal()
    assert got['IoU'][:3] == pytest.approx((intersect / union)[:3] * 100)


def _result(confusions, metric='mIoU'):
    candidates = [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
    tags = [['m0 alone'], ['current'], ['m1 alone']]
    return WeightSearchResult(candidates, tags,
                              torch.stack(confusions), metric=metric)


def test_ranking_by_metric_and_ties_keep_the_current_weights():
    perfect = torch.tensor([[5, 0], [0, 5]])
    half = torch.tensor([[5, 0], [5, 0]])  # always class 0
    result = _result([half, perfect, perfect])
    assert result.ranking == [1, 2, 0]
    assert result.best == 1 and result.metrics[1]['mIoU'] == 100.0
    assert result.metrics[0]['mIoU'] == pytest.approx(25.0)
    # mAcc: 50 for "always 0", 70 for this one
    mixed = torch.tensor([[2, 3], [0, 5]])
    result = _result([half, mixed, half], metric='mAcc')
    assert result.best == 1
    report = result.to_dict(['a', 'b'])
    assert report['best']['weights'] == [0.5, 0.5]
    assert report['best']['IoU'] == {'a': 40.0, 'b': 62.5}
    assert [row['rank'] for row in report['candidates']] == [1, 2, 3]
    with pytest.raises(ValueError, match='metric'):
        _result([half, half, half], metric='mDice')


def test_format_table_lists_members_current_top_and_best():
    perfect = torch.tensor([[5, 0], [0, 5]])
    half = torch.tensor([[5, 0], [5, 0]])
    table = format_table(_result([half, perfect, half]), top=1)
    lines = table.splitlines()
    assert lines[0].split() == ['rank', 'weights', 'mIoU', 'mAcc', 'aAcc',
                                'note']
    assert 'each member alone:' in lines and 'best:' in lines
    assert 'top 1 of 3:' in lines and 'current weights:' in lines
    best_row = '    1  [0.5, 0.5]  100.00  100.00  100.00  current'
    assert table.count(best_row) == 3  # current, top 1, best
    assert '[1.0, 0.0]   25.00   50.00   50.00  m0 alone' in table


@pytest.mark.parametrize('out_channels', [2, 1])
def test_accumulate_confusions_equal_uformer_predict(synthetic_root,
                                                     out_channels):
    """Every candidate scores as UFormer.predict with those weights does.

    Random members, padded inputs (32 -> 48), binary and two-channel.
    """
    cfg = Config.fromfile(DEMO_CONFIG)
    adopt_mmseg_scope(cfg)
    init_default_scope('mmseg_ext')
    member = dict(config=DEMO_CONFIG, test_cfg=dict(mode='whole'))
    torch.manual_seed(out_channels)
    model = MODELS.build(
        dict(
            type='UFormer',
            members=[member, member],
            out_channels=out_channels,
            threshold=0.5 if out_channels == 1 else None,
            fuse='probs' if out_channels == 1 else 'logits',
            data_preprocessor=dict(
                cfg.model.data_preprocessor,
                test_cfg=dict(size_divisor=48)))).eval()
    with torch.no_grad():  # classifiers that do not say one class only
        for member in model.members:
            member.decode_head.conv_seg.weight.normal_(0, 3)
            member.decode_head.conv_seg.bias.zero_()
    cfg.val_dataloader.dataset.data_root = synthetic_root
    cfg.val_dataloader.batch_size = 2
    loader = Runner.build_dataloader(cfg.val_dataloader)
    candidates = [[1.0, 0.0], [0.3, 0.7], [0.0, 1.0]]
    confusions = accumulate_confusions(
        model, loader, candidates, num_classes=2, progress=False)
    assert confusions.shape == (3, 3, 2)
    assert int(confusions[0].sum()) == 4 * 32 * 32
    # three different fusions: the comparison below is not vacuous
    assert len({tuple(c.flatten().tolist()) for c in confusions}) == 3
    for weights, confusion in zip(candidates, confusions):
        model.fixed_weights.copy_(torch.tensor(weights))
        expected = torch.zeros(3, 2, dtype=torch.long)
        with torch.no_grad():
            for data in loader:
                for out in model.test_step(data):
                    expected += confusion_matrix(
                        out.pred_sem_seg.data[0],
                        out.gt_sem_seg.data[0],
                        2,
                        255,
                        out_of_range_row=True)
        assert torch.equal(confusion, expected)


def _mmseg_reference(pairs, num_classes, ignore_index):
    """mmseg ``IoUMetric`` numbers of ``(pred, gt)`` pairs, unrounded.

    ``intersect_and_union`` per pair, summed, then ``total_area_to_metrics``,
    as ``IoUMetric.compute_metrics`` does.
    """
    areas = [
        IoUMetric.intersect_and_union(pred, gt, num_classes, ignore_index)
        for pred, gt in pairs
    ]
    # the areas are exact whole counts; in float64 the ratios are too
    totals = [sum(area[i] for area in areas).double() for i in range(4)]
    per_class = IoUMetric.total_area_to_metrics(*totals, ['mIoU'])
    return dict(
        aAcc=float(per_class['aAcc']) * 100,
        mIoU=float(np.nanmean(per_class['IoU'])) * 100,
        mAcc=float(np.nanmean(per_class['Acc'])) * 100,
        IoU=per_class['IoU'] * 100,
        Acc=per_class['Acc'] * 100)


def _random_pairs(seed, num_images, num_classes, ignore_index, shape=(9, 11)):
    """Predictions in ``0..C-1``; labels in ``0..C+2`` and ignored pixels."""
    rng = torch.Generator().manual_seed(seed)
    pairs = []
    for _ in range(num_images):
        pred = torch.randint(0, num_classes, shape, generator=rng)
        gt = torch.randint(0, num_classes + 3, shape, generator=rng)
        gt[torch.rand(shape, generator=rng) < 0.2] = ignore_index
        pairs.append((pred, gt))
    return pairs


def _assert_metrics_equal(got, expected):
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert got[key] == pytest.approx(expected[key], abs=1e-6), key
    for key in ('IoU', 'Acc'):
        np.testing.assert_allclose(got[key], expected[key], atol=1e-6,
                                   equal_nan=True)


@pytest.mark.parametrize('ignore_index', [255, 0])
def test_confusion_metrics_equal_mmseg_with_labels_out_of_range(
        ignore_index):
    """A label >= C that is not ignored counts its prediction, as in mmseg.

    mmseg's ``intersect_and_union`` masks only ``ignore_index``: such a
    pixel is in no class's ground-truth area, but its predicted class's area
    and union (an FP) count it.
    """
    num_classes = 4
    pairs = _random_pairs(0, 3, num_classes, ignore_index)
    assert any(bool(((gt >= num_classes) & (gt != ignore_index)).any())
               for _, gt in pairs)
    expected = _mmseg_reference(pairs, num_classes, ignore_index)
    total = sum(
        confusion_matrix(pred, gt, num_classes, ignore_index,
                         out_of_range_row=True) for pred, gt in pairs)
    assert total.shape == (num_classes + 1, num_classes)
    _assert_metrics_equal(confusion_metrics(total), expected)
    # the weight search scores its (K, C + 1, C) counts the same way
    result = WeightSearchResult([[1.0, 0.0], [0.0, 1.0]],
                                [['m0 alone'], ['m1 alone']],
                                torch.stack([total, total]))
    for metrics in result.metrics:
        _assert_metrics_equal(metrics, expected)


class _StubUFormer:
    """What :func:`accumulate_confusions` uses of a UFormer.

    ``inputs`` are already the members' logits ``(M, N, C, H, W)``.
    """

    def __init__(self, num_members: int):
        self.members = [None] * num_members
        self.weights = torch.full((num_members, ), 1.0 / num_members)

    @staticmethod
    def data_preprocessor(data, training):
        return data

    @staticmethod
    def member_logits(inputs, metas):
        return inputs

    @staticmethod
    def fuse(logits, weights):
        return (weights[:, None, None, None, None] * logits).sum(0)

    @staticmethod
    def postprocess_result(seg_logits, samples):
        for sample, logits in zip(samples, seg_logits):
            sample.pred_sem_seg = PixelData(data=logits.argmax(0)[None])
        return samples


def test_accumulate_confusions_equal_mmseg_with_labels_out_of_range():
    """The search's counts give mmseg's numbers on labels >= C too."""
    num_classes, shape = 3, (8, 10)
    rng = torch.Generator().manual_seed(1)
    batches, gts = [], []
    for _ in range(2):
        logits = torch.randn((2, 2, num_classes) + shape, generator=rng)
        samples = []
        for _ in range(2):
            gt = torch.randint(0, num_classes + 3, shape, generator=rng)
            gt[torch.rand(shape, generator=rng) < 0.2] = 255
            gts.append(gt)
            sample = SegDataSample(metainfo=dict(img_shape=shape))
            sample.gt_sem_seg = PixelData(data=gt[None])
            samples.append(sample)
        batches.append(dict(inputs=logits, data_samples=samples))
    candidates = [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
    confusions = accumulate_confusions(
        _StubUFormer(2), batches, candidates, num_classes, progress=False)
    result = WeightSearchResult(candidates, [[], ['current'], []],
                                confusions)
    for k, weights in enumerate(candidates):
        w = torch.tensor(weights)
        preds = [
            logits.argmax(0) for batch in batches
            for logits in (w[:, None, None, None, None] *
                           batch['inputs']).sum(0)
        ]
        _assert_metrics_equal(
            result.metrics[k],
            _mmseg_reference(zip(preds, gts), num_classes, 255))
