"""PyTorch eager vs onnxruntime on the CPU, same threads, same inputs.

The target: onnxruntime at least 1.5x faster than PyTorch eager for the
demo UFormer at 512x512 on the CPU. Each model (a UFormer and each of its
members alone, or a single segmentor) is timed as the exported graph
computes it, :class:`SegmentorLogits` (normalised batch -> logits at the
input size): PyTorch in eval mode under ``torch.no_grad`` with
``torch.set_num_threads(threads)``, onnxruntime on the file exported by
:func:`export_onnx` with ``intra_op_num_threads=threads`` (one inter-op
thread, sequential execution). Both get the same float32 batch, and the
two are timed alternately.
"""
import statistics
import time
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from .pytorch2onnx import export_onnx
from .segmentor_logits import SegmentorLogits

__all__ = [
    'OPT_LEVELS', 'ort_session', 'benchmark_models', 'models_to_time',
    'format_table'
]

#: ``--opt-level`` names of onnxruntime's graph optimisation levels.
OPT_LEVELS = ('disable', 'basic', 'extended', 'all')


def ort_session(model: object, threads: int, opt_level: str = 'all'):
    """An onnxruntime CPU session with ``threads`` intra-op threads.

    Args:
        model (str | bytes): The ONNX file or its bytes.
        threads (int): ``intra_op_num_threads`` (inter-op: 1).
        opt_level (str): One of :data:`OPT_LEVELS`.

    Returns:
        onnxruntime.InferenceSession
    """
    import onnxruntime as ort
    levels = dict(
        disable=ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        basic=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        extended=ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        all=ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = levels[opt_level]
    return ort.InferenceSession(
        model, sess_options=options, providers=['CPUExecutionProvider'])


def models_to_time(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """``(name, segmentor)``: a UFormer and each member, or the model."""
    members = getattr(model, 'members', None)
    if members is None:
        return [(type(model).__name__, model)]
    rows = [('UFormer', model)]
    for i, member in enumerate(members):
        rows.append((f'member {i} ({type(member.backbone).__name__} + '
                     f'{type(member.decode_head).__name__})', member))
    return rows


def _interleaved(first: Callable[[], object], second: Callable[[], object],
                 repeats: int, warmup: int) -> Tuple[float, float]:
    """Median seconds of two calls timed alternately, so that a change of
    the machine's load hits both alike."""
    for _ in range(warmup):
        first()
        second()
    times: Tuple[List[float], List[float]] = ([], [])
    for _ in range(repeats):
        for fn, bucket in zip((first, second), times):
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def benchmark_models(
        models: Sequence[Tuple[str, nn.Module]],
        shape: Sequence[int],
        threads: int,
        repeats: int = 10,
        warmup: int = 2,
        opt_level: str = 'all') -> List[Dict[str, object]]:
    """Time each model in PyTorch and onnxruntime on one batch.

    Args:
        models: ``(name, segmentor)`` pairs (eval mode, CPU).
        shape: Batch shape ``(N, 3, H, W)`` (a fixed-shape export).
        threads: Threads of both (``torch.set_num_threads``,
            ``intra_op_num_threads``).
        repeats, warmup: Timed and untimed calls of each, alternating
            (PyTorch, onnxruntime, PyTorch, ...).
        opt_level: onnxruntime graph optimisation (:data:`OPT_LEVELS`).

    Returns:
        list[dict]: Per model ``model``, ``torch_s``, ``ort_s`` (median
        seconds per batch), ``speedup`` (``torch_s / ort_s``) and
        ``max_abs_diff`` of the logits.
    """
    if opt_level not in OPT_LEVELS:
        raise ValueError(f'opt_level must be one of {OPT_LEVELS}')
    n, _, h, w = shape
    torch.set_num_threads(int(threads))
    gen = torch.Generator().manual_seed(0)
    inputs = torch.randn(n, 3, h, w, generator=gen)
    feed = {'input': inputs.numpy()}
    rows = []
    for name, model in models:
        model = model.eval()
        wrapper = SegmentorLogits(model).eval()
        # the serialised model goes to onnxruntime directly, not via a file
        session = ort_session(
            export_onnx(model, None, (h, w), batch_size=n), threads,
            opt_level)

        def run_torch():
            with torch.no_grad():
                return wrapper(inputs)

        def run_ort():
            return session.run(['logits'], feed)[0]

        diff = float(np.abs(run_ort() - run_torch().numpy()).max())
        torch_s, ort_s = _interleaved(run_torch, run_ort, repeats, warmup)
        rows.append(
            dict(
                model=name,
                torch_s=torch_s,
                ort_s=ort_s,
                speedup=torch_s / ort_s,
                max_abs_diff=diff))
    return rows


def format_table(rows: List[Dict[str, object]], batch: int) -> str:
    """A markdown table of :func:`benchmark_models`' rows (ms per image)."""
    lines = [
        '| model | PyTorch eager (ms/img) | onnxruntime (ms/img) | '
        'speed-up | max abs diff |', '|---|---|---|---|---|'
    ]
    for row in rows:
        lines.append(
            f"| {row['model']} | {1e3 * row['torch_s'] / batch:.1f} | "
            f"{1e3 * row['ort_s'] / batch:.1f} | {row['speedup']:.2f}x | "
            f"{row['max_abs_diff']:.1e} |")
    return '\n'.join(lines)
