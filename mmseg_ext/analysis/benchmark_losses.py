"""Time mmseg_ext's losses against mmseg's: forward + backward, medians.

The measurement behind ``tools/analysis_tools/benchmark_losses.py``
(:mod:`mmseg_ext.cli.benchmark_losses`). On each device
(the CPU, and CUDA when present) it times, on the same logits and labels:
cross-entropy, mmseg's and our TverskyLoss, mmseg's and our LovaszLoss (per
image, and over the batch), and the floor of an exact Lovász loss: one bare
``torch.sort`` of the error tensor it sorts (forward only). It also times
the sort of that tensor's int32 bit patterns, which our LovaszLoss runs
(the same order as the float sort).

The targets it checks: our TverskyLoss costs at most 2x cross-entropy and
mmseg's at least 3x ours; mmseg's per-image LovaszLoss costs at least 5x
ours on GPU (1.5x on the CPU); ours, per image and over the batch, costs at
most 1.3x its sort floor.
"""
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmseg.models import losses as mmseg_losses
from torch import Tensor

from mmseg_ext.models.losses import LovaszLoss, TverskyLoss
from mmseg_ext.utils.timing import median_time

__all__ = ['make_inputs', 'loss_cases', 'run']

IGNORE_INDEX = 255
# the floor of each Lovász mode: one torch.sort of its error tensor; and the
# sort of the same tensor's int32 bit patterns, which mmseg_ext's LovaszLoss
# runs (the same order, a faster sort)
FLOORS = {
    'per image': 'torch.sort floor, per image',
    'batch': 'torch.sort floor, batch',
}
INT_SORTS = {
    'per image': 'int32-view sort, per image',
    'batch': 'int32-view sort, batch',
}


def make_inputs(shape: Sequence[int],
                num_classes: int,
                ignore_ratio: float = 0.05,
                device: str = 'cpu',
                seed: int = 0) -> Dict[str, Tensor]:
    """Logits (N, C, H, W) and blocky labels (N, H, W) with ignored pixels.

    Labels are constant over 8x8 blocks (segments, not noise); a fraction
    ``ignore_ratio`` of the pixels is set to 255.
    """
    n, h, w = shape
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, num_classes, h, w, generator=gen)
    coarse = torch.randint(
        0, num_classes, (n, 1, -(-h // 8), -(-w // 8)), generator=gen)
    labels = F.interpolate(
        coarse.float(), scale_factor=8.0, mode='nearest')[:, 0, :h, :w].long()
    labels[torch.rand(n, h, w, generator=gen) < ignore_ratio] = IGNORE_INDEX
    return dict(logits=logits.to(device), labels=labels.to(device))


def _errors(logits: Tensor, labels: Tensor, per_image: bool) -> Tensor:
    """The (rows, pixels) error tensor that the Lovász-Softmax sorts:
    ``|[y == c] - p_c|``, -1 at ignored pixels."""
    n, c = logits.shape[:2]
    probs = logits.detach().softmax(1).reshape(n, c, -1)
    labels = labels.reshape(n, 1, -1)
    fg = labels == torch.arange(c, device=labels.device).view(1, c, 1)
    errors = torch.where(fg, 1 - probs, probs)
    errors.masked_fill_(labels == IGNORE_INDEX, -1)
    if per_image:
        return errors.reshape(n * c, -1)
    return errors.transpose(0, 1).reshape(c, -1)


def loss_cases(inputs: Dict[str, Tensor]) -> Dict[str, Callable[[], None]]:
    """The timed calls, by row name, in the order printed."""
    logits = inputs['logits'].clone().requires_grad_()
    labels = inputs['labels']

    def backward(loss: torch.nn.Module) -> Callable[[], None]:

        def call() -> None:
            logits.grad = None
            loss(logits, labels, ignore_index=IGNORE_INDEX).backward()

        return call

    def sort(per_image: bool, as_int32: bool = False) -> Callable[[], None]:
        errors = _errors(logits, labels, per_image)
        if as_int32:
            errors = errors.view(torch.int32)
        return lambda: torch.sort(errors, dim=1, descending=True)

    return {
        'cross-entropy (mmseg)':
        backward(mmseg_losses.CrossEntropyLoss()),
        'TverskyLoss, mmseg':
        backward(mmseg_losses.TverskyLoss()),
        'TverskyLoss, mmseg_ext':
        backward(TverskyLoss()),
        'LovaszLoss per image, mmseg':
        backward(mmseg_losses.LovaszLoss(per_image=True)),
        'LovaszLoss per image, mmseg_ext':
        backward(LovaszLoss(per_image=True)),
        FLOORS['per image']:
        sort(per_image=True),
        INT_SORTS['per image']:
        sort(per_image=True, as_int32=True),
        'LovaszLoss batch, mmseg':
        backward(mmseg_losses.LovaszLoss(per_image=False, reduction='none')),
        'LovaszLoss batch, mmseg_ext':
        backward(LovaszLoss(per_image=False)),
        FLOORS['batch']:
        sort(per_image=False),
        INT_SORTS['batch']:
        sort(per_image=False, as_int32=True),
    }


def _targets(ms: Dict[str, float], device: str) -> List[str]:
    """The targets (see the module), measured: ratio, target, met or not."""

    def line(what: str, value: float, target: str, met: bool) -> str:
        return (f'{what}: {value:.2f}x (target {target}) '
                f'{"met" if met else "MISSED"}')

    ce = ms['cross-entropy (mmseg)']
    ours_t, mmseg_t = (ms['TverskyLoss, mmseg_ext'], ms['TverskyLoss, mmseg'])
    ours_l, mmseg_l = (ms['LovaszLoss per image, mmseg_ext'],
                       ms['LovaszLoss per image, mmseg'])
    lovasz_speedup = 5.0 if device.startswith('cuda') else 1.5
    lines = [
        line('Tversky ours / CE', ours_t / ce, '<= 2', ours_t <= 2 * ce),
        line('Tversky mmseg / ours', mmseg_t / ours_t, '>= 3', mmseg_t
             >= 3 * ours_t),
        line('Lovasz per image mmseg / ours', mmseg_l / ours_l,
             f'>= {lovasz_speedup:g}', mmseg_l >= lovasz_speedup * ours_l),
    ]
    for mode, floor in FLOORS.items():
        ours = ms[f'LovaszLoss {mode}, mmseg_ext']
        lines.append(
            line(f'Lovasz {mode} ours / sort floor', ours / ms[floor],
                 '<= 1.3', ours <= 1.3 * ms[floor]))
    lines += [
        f'(information) Lovasz {mode} ours / the int32-view sort it runs: '
        f'{ms[f"LovaszLoss {mode}, mmseg_ext"] / ms[INT_SORTS[mode]]:.2f}x'
        for mode in INT_SORTS
    ]
    return lines


def run(shape: Sequence[int],
        num_classes: int,
        repeats: int,
        warmup: int = 2,
        devices: Optional[Sequence[str]] = None,
        ignore_ratio: float = 0.05) -> str:
    """Time every case on every device; return the printed report."""
    if devices is None:
        devices = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
    n, h, w = shape
    out = [
        (f'logits ({n}, {num_classes}, {h}, {w}), {ignore_ratio:.0%} ignored '
         'pixels, forward + backward (the sort floors: forward only), '
         f'median of {repeats} after {warmup} warm-up, '
         f'torch {torch.__version__}, {torch.get_num_threads()} CPU threads')
    ]
    for device in devices:
        inputs = make_inputs(shape, num_classes, ignore_ratio, device)
        ms = {
            name: 1e3 * median_time(call, torch.device(device), repeats,
                                     warmup)
            for name, call in loss_cases(inputs).items()
        }
        ce = ms['cross-entropy (mmseg)']
        name = (
            torch.cuda.get_device_name(device)
            if device.startswith('cuda') else 'cpu')
        out += [
            '', f'device: {name}', '| loss | median ms | x CE |',
            '|---|---:|---:|'
        ]
        out += [f'| {k} | {v:.1f} | {v / ce:.2f} |' for k, v in ms.items()]
        out += [''] + _targets(ms, device)
    return '\n'.join(out)
