"""Forward-time measurement, the same way for every model: median over timed passes after warm-up."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


def median_time(fn: Callable[[], object], n_warmup: int = 10, n_runs: int = 50) -> float:
    """Median wall time in seconds of ``fn()`` over ``n_runs`` calls after ``n_warmup`` untimed ones.

    CUDA work is synchronised before each clock read.
    """
    if n_runs < 1 or n_warmup < 0:
        raise ValueError(
            f"n_runs must be >= 1 and n_warmup >= 0, got n_runs={n_runs}, n_warmup={n_warmup}"
        )
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    for _ in range(n_warmup):
        fn()
    times = []
    for _ in range(n_runs):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def forward_time(
    model: torch.nn.Module, batch: object, n_warmup: int = 10, n_runs: int = 50
) -> dict:
    """Median inference time of ``model(batch)`` (eval mode, no grad) with the thread count used."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            seconds = median_time(lambda: model(batch), n_warmup, n_runs)
    finally:
        model.train(was_training)
    return {
        "forward_time_s": seconds,
        "forward_time_threads": torch.get_num_threads(),
        "forward_time_runs": n_runs,
    }
