"""``python -m benchmarks.e3nn_step`` (from the repository root): training-step and forward time of
the e3nn baselines (TFN, SE(3)-Transformer) on an N-body batch, ours against the same model run
through e3nn's own tensor-product module (:mod:`egnn.nn.baselines.e3nn_reference`).

One batch of 100 systems x 5 particles, fully connected (2,000 directed edges). A training step is
forward, MSE against a fixed random target, backward and an Adam step. The variants are timed in
turn, one step (and one no-grad forward) each per round, after one warm-up round; medians over the
rounds, of wall-clock and of the thread's CPU time. ``--profile`` prints torch.profiler's table
(top ops by self CPU time) of one step of each.
Set ``OMP_NUM_THREADS`` before starting (the script also sets torch's thread count).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch
from torch import Tensor, nn

from egnn.nn import build_nbody_model, fully_connected_edges
from egnn.nn.baselines.e3nn_reference import ReferenceModel


def nbody_batch(n_systems: int = 100, n_particles: int = 5, seed: int = 0) -> dict[str, Tensor]:
    """Random positions, velocities, charges (+-1) and fully connected edges; a random target."""
    g = torch.Generator().manual_seed(seed)
    n = n_systems * n_particles
    return {
        "pos": torch.randn(n, 3, generator=g),
        "vel": torch.randn(n, 3, generator=g),
        "charges": torch.randint(0, 2, (n, 1), generator=g).float() * 2 - 1,
        "edge_index": fully_connected_edges(n_particles, n_systems),
        "target": torch.randn(n, 3, generator=g),
    }


def training_step(model: nn.Module, batch: dict[str, Tensor], lr: float) -> Callable[[], None]:
    """A closure running one forward, MSE, backward and Adam step of ``model``."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    inputs = {k: v for k, v in batch.items() if k != "target"}

    def step() -> None:
        optimizer.zero_grad()
        loss = (model(**inputs) - batch["target"]).pow(2).mean()
        loss.backward()
        optimizer.step()

    return step


def forward_pass(model: nn.Module, batch: dict[str, Tensor]) -> Callable[[], None]:
    inputs = {k: v for k, v in batch.items() if k != "target"}

    def forward() -> None:
        with torch.no_grad():
            model(**inputs)

    return forward


def time_in_turn(
    fns: dict[str, Callable[[], None]], rounds: int
) -> dict[str, list[tuple[float, float]]]:
    """(wall, thread CPU) seconds of each call, the functions called in turn each round, after one
    warm-up round. On a shared machine the thread's CPU time is close to what the call takes on a
    core of its own; the wall time includes the waits for one."""
    for fn in fns.values():
        fn()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            wall, cpu = time.perf_counter(), time.thread_time()
            fn()
            times[name].append((time.perf_counter() - wall, time.thread_time() - cpu))
    return times


def medians(times: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


def profile_table(fn: Callable[[], None], rows: int = 12) -> str:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)


def variants(div: list[int]) -> dict[str, tuple[nn.Module, float]]:
    """Name -> (model, Adam learning rate of its config): each model ours and through e3nn."""
    torch.manual_seed(0)
    models = {"tfn": (build_nbody_model("tfn"), 1e-3)}
    for d in div:
        models[f"se3_transformer(div={d})"] = (build_nbody_model("se3_transformer", div=d), 5e-3)
    out = {}
    for name, (model, lr) in models.items():
        out[f"{name} ours"] = (model, lr)
        out[f"{name} e3nn"] = (ReferenceModel(model), lr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--div", type=int, nargs="+", default=[4])
    parser.add_argument("--only", nargs="*", help="variant names to keep (substring match)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    batch = nbody_batch()
    chosen = {
        name: v
        for name, v in variants(args.div).items()
        if not args.only or any(s in name for s in args.only)
    }
    steps = {name: training_step(model, batch, lr) for name, (model, lr) in chosen.items()}
    forwards = {name: forward_pass(model, batch) for name, (model, _) in chosen.items()}
    print(f"threads {torch.get_num_threads()}; load average {os.getloadavg()}")
    step_times = time_in_turn(steps, args.rounds)
    forward_times = time_in_turn(forwards, args.rounds)
    print(f"load average {os.getloadavg()}")
    print(f"{'':32s} {'step wall':>10s} {'(CPU)':>8s} {'forward wall':>13s} {'(CPU)':>9s}")
    for name in chosen:
        (step, step_cpu), (fwd, fwd_cpu) = medians(step_times[name]), medians(forward_times[name])
        print(
            f"{name:32s} {step:8.3f} s {step_cpu:6.3f} s "
            f"{fwd * 1e3:10.1f} ms {fwd_cpu * 1e3:6.1f} ms"
        )
    if args.profile:
        for name, step in steps.items():
            print(f"\n== {name}: one training step\n{profile_table(step)}")


if __name__ == "__main__":
    main()
