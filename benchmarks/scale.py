"""Scale benchmark: the EGNN on radius graphs of random point clouds from 1k to 1M nodes.

Random points at constant density (``--neighbours`` expected within the cutoff r = 1), one graph.
Every (implementation, N, threads) runs in its own subprocess, so its peak memory is that
process's own: the peak resident set size (VmHWM, reset after setup) above the process's size
after setup, read after each phase (neighbour list, forward, forward + backward; the phases grow in that order), with glibc's
mmap threshold fixed at 128 kB so that freed tensors leave the RSS. Each process
also runs under an address-space cap (``--cap-gb`` above its setup size): a case that needs more
ends as ``out_of_memory`` instead of pressing on the machine.

Implementations:

- ``ours``: :func:`egnn.graphs.radius_graph` (vesin cell lists) + :class:`egnn.nn.EGNN`.
- ``egnn_pytorch_dense``: lucidrains' egnn-pytorch layers on all N^2 pairs.
- ``egnn_pytorch_knn``: the same with ``num_nearest_neighbors`` = k and ``valid_radius`` = r^2
  (its neighbour-limited mode: N^2 distances for the ranking, messages on N * k pairs).
- ``cdist``: a radius graph from ``torch.cdist`` (N^2 distances), neighbour list only.

Per case: neighbour-list time, forward time (no grad), forward + backward time, peak memory per
phase, edges (pairs that carry a message) per second, the FLOPs of the matrix products (torch's
FLOP counter, fitted as a * pairs + b * nodes on two small clouds) and their rate as a fraction of
this process's 1024^3 float32 matmul rate. Times are medians over ``--repeats`` (fewer for the
largest sizes).

Usage::

    python benchmarks/scale.py run --out results/benchmark/scale   # all cases, then the plot
    python benchmarks/scale.py report --out results/benchmark/scale  # table + plot from records
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HIDDEN = 32  # node and message width F of every model here
LAYERS = 2
IN_FEATURES = 8
PHASES = ("graph", "forward", "forward_backward")
IMPLEMENTATIONS = ("ours", "egnn_pytorch_dense", "egnn_pytorch_knn", "cdist")


# ----------------------------------------------------------------------------- one case


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"/proc/self/status has no {field}")


def _peak_mb() -> float:
    """The process's peak resident set size since the last :func:`_reset_peak` (VmHWM)."""
    return _status_mb("VmHWM")


def _reset_peak() -> None:
    """Reset VmHWM to the current RSS (Linux: write 5 to /proc/self/clear_refs), so that the
    peak of a phase does not hide below the peak of the warm-up."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def _resident_mb() -> float:
    return _status_mb("VmRSS")


def _address_space_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _cloud(n: int, neighbours: float, seed: int = 0):
    """n points uniform in a cube of the density that puts ``neighbours`` in a unit ball."""
    import torch

    density = neighbours / (4.0 / 3.0 * math.pi)
    side = (n / density) ** (1.0 / 3.0)
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, generator=g) * side, torch.randn(n, IN_FEATURES, generator=g)


def _timed(fn, repeats: int):
    """(first result, median seconds): one call, then ``repeats`` more if repeats > 1 (the first
    call then only warms up)."""
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    return result, (first if repeats <= 1 else _median(fn, repeats))


def _median(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _matmul_gflops() -> float:
    import torch

    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    torch.mm(a, b)
    return 2 * 1024**3 / _median(lambda: torch.mm(a, b), 5) / 1e9


class _Case:
    """One implementation: builds its graph and model, runs forward and backward."""

    def __init__(self, impl: str, neighbours: float, k: int) -> None:
        import torch

        self.impl, self.k = impl, k
        torch.manual_seed(0)
        if impl == "ours":
            from egnn.nn import EGNN

            self.model = EGNN(IN_FEATURES, HIDDEN, 1, n_layers=LAYERS)
        elif impl.startswith("egnn_pytorch"):
            import egnn_pytorch

            nearest = k if impl == "egnn_pytorch_knn" else 0
            self.embed = torch.nn.Linear(IN_FEATURES, HIDDEN)
            self.model = torch.nn.ModuleList(
                egnn_pytorch.EGNN(dim=HIDDEN, num_nearest_neighbors=nearest, valid_radius=1.0)
                for _ in range(LAYERS)
            )

    def graph(self, pos):
        import torch

        if self.impl == "ours":
            from egnn.graphs import radius_graph

            return radius_graph(pos, 1.0)
        if self.impl == "cdist":
            close = torch.cdist(pos, pos) < 1.0
            close.fill_diagonal_(False)
            return close.nonzero().t()
        return None  # egnn-pytorch finds its pairs inside the layer

    def pairs(self, n: int, graph) -> int:
        """Pairs that go through the message MLP (cdist: the edges it finds)."""
        if self.impl in ("ours", "cdist"):
            return int(graph.shape[1])
        if self.impl == "egnn_pytorch_dense":
            return n * n
        return n * min(self.k, n)

    def forward(self, h, pos, graph):
        if self.impl == "ours":
            out_h, out_x = self.model(h, pos, graph)
            return out_h.sum() + out_x.sum()
        feats, coors = self.embed(h)[None], pos[None]
        for layer in self.model:
            feats, coors = layer(feats, coors)
        return feats.sum() + coors.sum()


def _flop_fit(case: _Case, neighbours: float) -> dict:
    """FLOPs of the matrix products as a * pairs + b * nodes, fitted on two small clouds."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    rows = []
    for n, density in ((200, 8.0), (400, 32.0)):  # pairs and nodes vary independently
        pos, h = _cloud(n, density, seed=1)
        graph = case.graph(pos)
        with FlopCounterMode(display=False) as fwd, torch.no_grad():
            case.forward(h, pos, graph)
        pos.requires_grad_(True)
        with FlopCounterMode(display=False) as both:
            case.forward(h, pos, graph).backward()
        rows.append((case.pairs(n, graph), n, fwd.get_total_flops(), both.get_total_flops()))
    (p1, n1, f1, b1), (p2, n2, f2, b2) = rows
    det = p1 * n2 - p2 * n1

    def solve(y1, y2):
        if abs(det) < 1e-9 * abs(p1 * n2):  # pairs proportional to nodes (k nearest): per pair
            return y2 / p2, 0.0
        return (y1 * n2 - y2 * n1) / det, (p1 * y2 - p2 * y1) / det

    (fa, fb), (ba, bb) = solve(f1, f2), solve(b1, b2)
    return {"forward": (fa, fb), "forward_backward": (ba, bb)}


def _warm_up(case: _Case, neighbours: float) -> None:
    """All phases once on a 200-node cloud: one-off initialisations (thread pools, allocator
    arenas, lazy library state) then fall before the memory baseline, not into the first phase."""
    import torch

    pos, h = _cloud(200, neighbours, seed=2)
    graph = case.graph(pos)
    if case.impl != "cdist":
        with torch.no_grad():
            case.forward(h, pos, graph)
        case.forward(h, pos.requires_grad_(True), graph).backward()


def run_case(args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    record = {
        "impl": args.impl,
        "n": args.n,
        "threads": args.threads,
        "neighbours_target": args.neighbours,
        "cap_gb": args.cap_gb,
        "hidden": HIDDEN,
        "layers": LAYERS,
    }
    case = _Case(args.impl, args.neighbours, args.k)
    _warm_up(case, args.neighbours)
    pos, h = _cloud(args.n, args.neighbours)
    # Peak memory of a phase = the process's peak RSS after it minus its RSS after setup.
    _reset_peak()
    base = _resident_mb()
    record["setup_rss_mb"] = base
    record["setup_peak_mb"] = _peak_mb()
    resource.setrlimit(
        resource.RLIMIT_AS,
        (_address_space_bytes() + int(args.cap_gb * 2**30), resource.RLIM_INFINITY),
    )
    phase = "graph"
    try:
        graph, graph_s = _timed(lambda: case.graph(pos), args.repeats)
        record["graph_s"] = graph_s if graph is not None else None
        record["graph_peak_mb"] = _peak_mb() - base
        pairs = case.pairs(args.n, graph)
        record["pairs"] = pairs
        record["pairs_per_node"] = pairs / args.n
        if args.impl != "cdist":
            phase = "forward"
            with torch.no_grad():
                record["forward_s"] = _timed(lambda: case.forward(h, pos, graph), args.repeats)[1]
            record["forward_peak_mb"] = _peak_mb() - base
        if args.backward and args.impl != "cdist":
            phase = "forward_backward"
            pos.requires_grad_(True)
            record["forward_backward_s"] = _timed(
                lambda: case.forward(h, pos, graph).backward(), args.repeats
            )[1]
            record["forward_backward_peak_mb"] = _peak_mb() - base
        record["status"] = "ok"
    except (RuntimeError, MemoryError) as error:
        message = str(error).splitlines()[0][:200]
        if "memory" not in message.lower() and not isinstance(error, MemoryError):
            raise
        record["status"] = f"out_of_memory in {phase}"
    graph = None
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    record["matmul_gflops"] = _matmul_gflops()
    if args.impl != "cdist":
        fit = _flop_fit(case, args.neighbours)
    for name in ("forward", "forward_backward"):
        if f"{name}_s" in record and "pairs" in record:
            a, b = fit[name]
            flops = a * record["pairs"] + b * args.n
            record[f"{name}_gflop"] = flops / 1e9
            record[f"{name}_matmul_fraction"] = (
                flops / record[f"{name}_s"] / 1e9 / record["matmul_gflops"]
            )
            record[f"{name}_pairs_per_s"] = record["pairs"] / record[f"{name}_s"]
    return record


# ----------------------------------------------------------------------------- the plan


def plan(quick: bool) -> list[dict]:
    """(impl, n, threads, repeats, backward) of every case, smallest first."""
    if quick:
        return [
            {"impl": impl, "n": n, "threads": 1, "repeats": 1, "backward": True}
            for impl in IMPLEMENTATIONS
            for n in (100, 200)
        ]
    cases = []
    for threads in (1, 2):
        for n, repeats in ((1_000, 5), (2_000, 3), (10_000, 3), (100_000, 1), (1_000_000, 1)):
            # forward + backward holds ~2 kB per edge: 1M nodes would need ~40 GB
            cases.append(
                {
                    "impl": "ours",
                    "n": n,
                    "threads": threads,
                    "repeats": repeats,
                    "backward": n <= 100_000,
                }
            )
        for n in (1_000, 10_000):
            cases.append(
                {"impl": "cdist", "n": n, "threads": threads, "repeats": 3, "backward": False}
            )
        for impl, sizes in (
            ("egnn_pytorch_dense", (1_000, 2_000, 4_000)),
            ("egnn_pytorch_knn", (1_000, 10_000, 20_000)),
        ):
            for n in sizes if threads == 1 else sizes[:1]:
                cases.append(
                    {
                        "impl": impl,
                        "n": n,
                        "threads": threads,
                        "repeats": 3 if n <= 1_000 else 1,
                        "backward": True,
                    }
                )
    return cases


def machine() -> dict:
    import torch

    model = platform.processor()
    try:
        with open("/proc/cpuinfo") as info:
            model = next(
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    return {
        "cpu_model": model,
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "platform": platform.platform(),
    }


def run_all(args) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records_path = out / "records.jsonl"
    done = set()
    if records_path.exists() and args.resume:
        for line in records_path.read_text().splitlines():
            r = json.loads(line)
            done.add((r["impl"], r["n"], r["threads"]))
    elif records_path.exists():
        records_path.unlink()
    started = time.time()
    try:
        import egnn_pytorch  # noqa: F401

        available = IMPLEMENTATIONS
    except ImportError:  # the benchmark-only extra is not installed
        available = ("ours", "cdist")
    for case in plan(args.quick):
        key = (case["impl"], case["n"], case["threads"])
        if key in done or case["impl"] not in available:
            continue
        command = [
            sys.executable,
            __file__,
            "case",
            "--impl",
            case["impl"],
            "--n",
            str(case["n"]),
            "--threads",
            str(case["threads"]),
            "--repeats",
            str(case["repeats"]),
            "--neighbours",
            str(args.neighbours),
            "--k",
            str(args.k),
            "--cap-gb",
            str(args.cap_gb),
        ]
        if case["backward"]:
            command.append("--backward")
        # Every allocation above 128 kB gets its own mapping, returned to the OS when freed, so
        # the peak RSS follows the live tensors at every size (glibc's default threshold moves
        # up to 32 MB, and smaller tensors would then stay in its heap).
        env = dict(
            os.environ, OMP_NUM_THREADS=str(case["threads"]), MALLOC_MMAP_THRESHOLD_="131072"
        )
        t0 = time.time()
        try:
            done_proc = subprocess.run(
                command, capture_output=True, text=True, env=env, timeout=args.case_timeout
            )
            lines = [line for line in done_proc.stdout.splitlines() if line.startswith("{")]
            if done_proc.returncode == 0 and lines:
                record = json.loads(lines[-1])
            else:
                record = {
                    **case,
                    "status": f"failed rc={done_proc.returncode}: "
                    + (done_proc.stderr.strip().splitlines() or ["?"])[-1][:200],
                }
        except subprocess.TimeoutExpired:
            record = {**case, "status": f"timeout after {args.case_timeout} s"}
        record["wall_s"] = time.time() - t0
        record["load_average_1min"] = os.getloadavg()[0]
        print(json.dumps(record), flush=True)
        with records_path.open("a") as f:
            f.write(json.dumps(record) + "\n")
    meta = {
        "machine": machine(),
        "total_s": time.time() - started,
        "command": "python benchmarks/scale.py run " + " ".join(sys.argv[2:]),
        "neighbours_target": args.neighbours,
        "k": args.k,
        "cap_gb": args.cap_gb,
        "hidden": HIDDEN,
        "layers": LAYERS,
    }
    (out / "machine.json").write_text(json.dumps(meta, indent=2) + "\n")
    report(args)


# ----------------------------------------------------------------------------- report


def _fmt(value, digits=3):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


LABELS = {
    "ours": "ours (radius graph + EGNN)",
    "egnn_pytorch_dense": "egnn-pytorch dense",
    "egnn_pytorch_knn": "egnn-pytorch k-nearest",
    "cdist": "torch.cdist radius graph",
}


def table(records: list[dict]) -> str:
    head = (
        "| implementation | threads | N | pairs/node | neighbour list s | forward s | fwd+bwd s "
        "| peak MB fwd | peak MB fwd+bwd | B/pair fwd | B/pair fwd+bwd | pairs/s fwd+bwd "
        "| matmul fraction fwd+bwd | status |"
    )
    rows = [head, "|" + "|".join(["---"] * 14) + "|"]
    for r in sorted(
        records, key=lambda r: (r["threads"], IMPLEMENTATIONS.index(r["impl"]), r["n"])
    ):
        pairs = r.get("pairs")

        def per_pair(key, r=r, pairs=pairs):
            return r[key] * 2**20 / pairs if pairs and r.get(key) is not None else None

        rows.append(
            "| "
            + " | ".join(
                [
                    LABELS[r["impl"]],
                    str(r["threads"]),
                    f"{r['n']:,}",
                    _fmt(r.get("pairs_per_node")),
                    _fmt(r.get("graph_s")),
                    _fmt(r.get("forward_s")),
                    _fmt(r.get("forward_backward_s")),
                    _fmt(r.get("forward_peak_mb") or r.get("graph_peak_mb"), 4),
                    _fmt(r.get("forward_backward_peak_mb"), 4),
                    _fmt(per_pair("forward_peak_mb") or per_pair("graph_peak_mb")),
                    _fmt(per_pair("forward_backward_peak_mb")),
                    _fmt(r.get("forward_backward_pairs_per_s")),
                    _fmt(r.get("forward_backward_matmul_fraction"), 2),
                    r.get("status", "?"),
                ]
            )
            + " |"
        )
    return "\n".join(rows) + "\n"


def plot(records: list[dict], path: Path) -> None:
    """Log-log time and peak memory against N, one thread (a failed size named in the legend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    styles = {"ours": "o-", "egnn_pytorch_dense": "s--", "egnn_pytorch_knn": "^--", "cdist": "x:"}
    for impl in IMPLEMENTATIONS:
        rows = sorted(
            (r for r in records if r["impl"] == impl and r["threads"] == 1), key=lambda r: r["n"]
        )
        if not rows:
            continue
        key = "graph" if impl == "cdist" else "forward"
        failed = [r["n"] for r in rows if r.get(f"{key}_s") is None]
        cap = rows[0].get("cap_gb")
        label = LABELS[impl] + (f" (N={min(failed):,}: over the {cap:g} GB cap)" if failed else "")
        what = "neighbour list" if key == "graph" else key
        for ax, metric in ((axes[0], "s"), (axes[1], "peak_mb")):
            pts = [(r["n"], r[f"{key}_{metric}"]) for r in rows if r.get(f"{key}_{metric}")]
            if pts:
                ax.loglog(*zip(*pts, strict=True), styles[impl], label=f"{label}: {what}")
        if impl != "ours":
            continue
        for name, style, text in (
            ("graph", "o:", "neighbour list"),
            ("forward_backward", "o-.", "forward+backward"),
        ):
            for ax, metric in ((axes[0], "s"), (axes[1], "peak_mb")):
                pts = [(r["n"], r[f"{name}_{metric}"]) for r in rows if r.get(f"{name}_{metric}")]
                if pts:
                    ax.loglog(
                        *zip(*pts, strict=True), style, color="C0", alpha=0.6, label=f"ours: {text}"
                    )
    axes[0].set(xlabel="nodes N", ylabel="seconds (median, 1 thread)", title="time")
    axes[1].set(xlabel="nodes N", ylabel="peak memory above setup, MB", title="peak memory")
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6.5)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def report(args) -> None:
    out = Path(args.out)
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    (out / "table.md").write_text(table(records))
    plot(records, out / "scale.png")
    print(table(records))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run every case in its own process, then write table and plot")
    run.add_argument("--quick", action="store_true", help="two tiny sizes per implementation (CI)")
    run.add_argument("--resume", action="store_true", help="keep records of cases already run")
    run.add_argument("--case-timeout", type=int, default=900)
    rep = sub.add_parser("report", help="table.md and scale.png from records.jsonl")
    case = sub.add_parser("case", help="one case (internal); prints one JSON record")
    case.add_argument("--impl", choices=IMPLEMENTATIONS, required=True)
    case.add_argument("--n", type=int, required=True)
    case.add_argument("--threads", type=int, default=1)
    case.add_argument("--repeats", type=int, default=3)
    case.add_argument("--backward", action="store_true")
    for p in (run, rep, case):
        p.add_argument("--out", default="results/benchmark/scale")
        p.add_argument(
            "--neighbours",
            type=float,
            default=16.0,
            help="expected nodes within the cutoff at the cloud's density",
        )
        p.add_argument(
            "--k", type=int, default=16, help="k of egnn-pytorch's neighbour-limited mode"
        )
        p.add_argument(
            "--cap-gb",
            type=float,
            default=10.0,
            help="address space a case may add above its setup size",
        )
    args = parser.parse_args(argv)
    if args.command == "case":
        print(json.dumps(run_case(args)), flush=True)
    elif args.command == "run":
        run_all(args)
    else:
        report(args)


if __name__ == "__main__":
    main()
