"""Wall-clock timing for the benchmark scripts."""
import statistics
import time
from typing import Callable

import torch

__all__ = ['median_time']


def median_time(fn: Callable[[], object], device: torch.device,
                repeats: int, warmup: int) -> float:
    """Median wall time of ``fn()`` in seconds (CUDA-synchronised).

    Args:
        fn: The work to time.
        device: Where it runs; CUDA is synchronised around each call.
        repeats: Timed calls (>= 1).
        warmup: Untimed calls first.

    Returns:
        float: The median of ``repeats`` timings.
    """
    sync = (torch.cuda.synchronize
            if device.type == 'cuda' else (lambda: None))
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
