"""Time each UFormer member alone and the UFormer, inference and training.

The target: the UFormer costs at most 1.05x the sum of its members,
i.e. the ensemble adds the averaging and nothing else (no second
preprocessing, no second copy of the batch). Every model starts from the same
raw batch (uint8 images, as the dataloader gives them) and runs a data
preprocessor: each member alone its own (the UFormer's, which is the first
member's config), the UFormer its one. So the sum of the members holds one
preprocessing per member, the UFormer one in all.
"""
from typing import Dict, List, Sequence

import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch import nn

from mmseg_ext.utils.timing import median_time

__all__ = ['fake_batch', 'benchmark_uformer', 'format_rows']


def fake_batch(shape: Sequence[int], num_classes: int) -> dict:
    """A raw batch as mmseg's dataloader gives it, with random labels.

    Args:
        shape: ``(N, 3, H, W)``.
        num_classes: Labels are drawn from ``[0, num_classes)``.

    Returns:
        dict: ``inputs``, ``N`` uint8 tensors ``(3, H, W)``, and
        ``data_samples``, ``N`` ``SegDataSample`` with ``gt_sem_seg``.
    """
    n, c, h, w = shape
    gen = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(
            torch.randint(0, 256, (c, h, w), generator=gen,
                          dtype=torch.uint8))
        sample = SegDataSample(metainfo=dict(
            img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
            padding_size=[0, 0, 0, 0]))
        sample.gt_sem_seg = PixelData(data=torch.randint(
            0, num_classes, (1, h, w), generator=gen))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _train_step(model: nn.Module, preprocess: nn.Module, data: dict) -> None:
    batch = preprocess(dict(data), True)
    losses = model.loss(batch['inputs'], batch['data_samples'])
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    model.zero_grad(set_to_none=True)


def _infer(model: nn.Module, preprocess: nn.Module, data: dict) -> None:
    with torch.no_grad():
        batch = preprocess(dict(data), False)
        metas = [s.metainfo for s in batch['data_samples']]
        model.inference(batch['inputs'], metas)


def benchmark_uformer(model: nn.Module, shape: Sequence[int],
                      device: torch.device, repeats: int,
                      warmup: int) -> List[Dict[str, object]]:
    """Time every member alone and the UFormer on one raw batch.

    Inference is preprocessing + each model's ``inference`` (the member's
    own ``test_cfg``, no gradients, eval mode); the training step is
    preprocessing + ``loss`` + ``backward`` in train mode (no optimizer
    step).

    Args:
        model: A built :class:`UFormer`.
        shape: Batch shape ``(N, 3, H, W)``.
        device: Where to run.
        repeats, warmup: See :func:`median_time`.

    Returns:
        list[dict]: One row per member, their sum, and the UFormer, with
        ``infer_s`` and ``train_s`` (seconds), and a ``ratio`` row for the
        UFormer against the sum.
    """
    model = model.to(device)
    preprocess = model.data_preprocessor
    rows = []
    named = [(f'member {i} ({type(m.backbone).__name__}, '
              f'{type(m.decode_head).__name__})', m)
             for i, m in enumerate(model.members)]
    for name, net in named + [('UFormer', model)]:
        # fresh samples per model: the preprocessor writes into their metas
        data = fake_batch(shape, model.num_classes)
        net.eval()
        infer = median_time(lambda: _infer(net, preprocess, data), device,
                            repeats, warmup)
        net.train()
        train = median_time(lambda: _train_step(net, preprocess, data),
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
