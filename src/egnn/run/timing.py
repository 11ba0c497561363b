"""Forward-time measurement, the same way for every model: median over timed passes after warm-up."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping

import torch


def median_times(
    fns: Mapping[str, Callable[[], object]], n_warmup: int = 10, n_runs: int = 50, rounds: int = 5
) -> dict[str, float]:
    """Median wall time in seconds of each ``fns[name]()`` over ``n_runs`` timed calls.

    After ``n_warmup`` untimed calls of each, the timed calls come in ``rounds`` rounds; in a
    round every function runs one untimed call and then its share of timed calls back to back.
    Taking turns spreads a change of machine load over all functions alike, so their ratios hold;
    running each in a block keeps its memory allocations warm (interleaving single calls of
    functions with very different tensor sizes makes the allocator return and re-fault memory,
    which would penalise the larger one). CUDA work is synchronised before each clock read.
    """
    if n_runs < 1 or n_warmup < 0 or rounds < 1:
        raise ValueError(
            f"n_runs and rounds must be >= 1 and n_warmup >= 0, got n_runs={n_runs}, "
            f"rounds={rounds}, n_warmup={n_warmup}"
        )
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    for fn in fns.values():
        for _ in range(n_warmup):
            fn()
    rounds = min(rounds, n_runs)
    per_round = [n_runs // rounds + (k < n_runs % rounds) for k in range(rounds)]
    times: dict[str, list[float]] = {name: [] for name in fns}
    for n_calls in per_round:
        for name, fn in fns.items():
            fn()
            for _ in range(n_calls):
                sync()
                start = time.perf_counter()
                fn()
                sync()
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def median_time(fn: Callable[[], object], n_warmup: int = 10, n_runs: int = 50) -> float:
    """Median wall time in seconds of ``fn()`` over ``n_runs`` calls after ``n_warmup`` untimed ones."""
    return median_times({"fn": fn}, n_warmup, n_runs)["fn"]


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
