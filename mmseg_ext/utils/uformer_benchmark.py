"""Time each UFormer member alone and the UFormer, inference and training.

The target (issue 4): the UFormer costs at most 1.05x the sum of its members,
i.e. the ensemble adds the averaging and nothing else (no second
preprocessing, no second copy of the batch). Every model is timed on the same
preprocessed batch, so preprocessing is in none of the numbers.
"""
import copy
from typing import Dict, List, Sequence

import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch import nn

from .timing import median_time

__all__ = ['fake_batch', 'benchmark_uformer', 'format_rows']


def fake_batch(shape: Sequence[int], num_classes: int,
               device: torch.device) -> tuple:
    """A preprocessed image batch and data samples with random labels.

    Args:
        shape: ``(N, 3, H, W)``.
        num_classes: Labels are drawn from ``[0, num_classes)``.
        device: Where the tensors live.

    Returns:
        tuple: ``inputs`` ``(N, 3, H, W)`` and ``N`` ``SegDataSample``.
    """
    n, _, h, w = shape
    gen = torch.Generator().manual_seed(0)
    inputs = torch.randn(*shape, generator=gen).to(device)
    samples = []
    for _ in range(n):
        sample = SegDataSample(metainfo=dict(
            img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
            padding_size=[0, 0, 0, 0]))
        sample.gt_sem_seg = PixelData(data=torch.randint(
            0, num_classes, (1, h, w), generator=gen).to(device))
        samples.append(sample)
    return inputs, samples


def _train_step(model: nn.Module, inputs: torch.Tensor,
                samples: List[SegDataSample]) -> None:
    losses = model.loss(inputs, samples)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    model.zero_grad(set_to_none=True)


def _infer(model: nn.Module, inputs: torch.Tensor,
           samples: List[SegDataSample]) -> None:
    metas = [copy.deepcopy(s.metainfo) for s in samples]
    with torch.no_grad():
        model.inference(inputs, metas)


def benchmark_uformer(model: nn.Module, shape: Sequence[int],
                      device: torch.device, repeats: int,
                      warmup: int) -> List[Dict[str, object]]:
    """Time every member alone and the UFormer on one batch.

    Inference is each model's ``inference`` (the member's own ``test_cfg``,
    no gradients, eval mode); the training step is ``loss`` + ``backward``
    in train mode (no optimizer step).

    Args:
        model: A built :class:`UFormer`.
        shape: Batch shape ``(N, 3, H, W)``.
        device: Where to run.
        repeats, warmup: See :func:`median_time`.

    Returns:
        list[dict]: One row per member, their sum, and the UFormer, with
        ``infer_s`` and ``train_s`` (seconds) and ``ratio`` rows for the
        UFormer against the sum.
    """
    model = model.to(device)
    inputs, samples = fake_batch(shape, model.num_classes, device)
    rows = []
    named = [(f'member {i} ({type(m.backbone).__name__}, '
              f'{type(m.decode_head).__name__})', m)
             for i, m in enumerate(model.members)]
    for name, net in named + [('UFormer', model)]:
        net.eval()
        infer = median_time(lambda: _infer(net, inputs, samples), device,
                            repeats, warmup)
        net.train()
        train = median_time(lambda: _train_step(net, inputs, samples),
                            device, repeats, warmup)
        rows.append(dict(model=name, infer_s=infer, train_s=train))
    members = rows[:-1]
    total = dict(
        model='sum of members',
        infer_s=sum(r['infer_s'] for r in members),
        train_s=sum(r['train_s'] for r in members))
    uformer = rows[-1]
    ratio = dict(
        model='UFormer / sum',
        infer_s=uformer['infer_s'] / total['infer_s'],
        train_s=uformer['train_s'] / total['train_s'])
    return members + [total, uformer, ratio]


def format_rows(rows: List[Dict[str, object]], device: str) -> str:
    """A markdown table of :func:`benchmark_uformer`'s rows."""
    lines = [f'| {device} | inference (ms) | train step (ms) |',
             '|---|---|---|']
    for row in rows:
        if row['model'] == 'UFormer / sum':
            lines.append(f"| {row['model']} | {row['infer_s']:.3f}x | "
                         f"{row['train_s']:.3f}x |")
        else:
            lines.append(f"| {row['model']} | {1e3 * row['infer_s']:.1f} | "
                         f"{1e3 * row['train_s']:.1f} |")
    return '\n'.join(lines)
