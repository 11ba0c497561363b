"""Benchmark tables: our backbone against the release's formulation (``results/benchmark/``),
other benchmark runs, speed ideas, time to accuracy and autoencoder batching."""

from __future__ import annotations

import json
import re
import statistics
from collections import defaultdict
from pathlib import Path

from egnn.reporting.tables.cells import relative_link


def benchmark_table(results_dir: Path, links_from: Path | None = None) -> str:
    """Markdown tables of ``results/benchmark/cpu.json`` (ours against the release's formulation)
    and ``autoencoder_batching.json`` (time per graph against graphs per step). Links to result
    files are relative to ``links_from`` (the folder of the page they go in; default: the working
    directory, the README's)."""
    bench_dir = Path(results_dir) / "benchmark"
    lines = []
    cpu_file = bench_dir / "cpu.json"
    bench = None
    if cpu_file.exists():
        bench = json.loads(cpu_file.read_text())
        peak = bench["matmul_peak_gflops"]
        machine = bench["machine"]
        peaks = bench.get("matmul_peak_gflops_measured", [])
        cpu = f"{machine['cpu_model']}, " if "cpu_model" in machine else ""
        lines += [
            f"Machine: {cpu}{machine.get('platform', '?')}, torch {machine.get('torch', '?')}, "
            f"{machine.get('threads', '?')} thread(s); float32 matmul peak {peak:.1f} GFLOP/s"
            + (f" (the best of {len(peaks)} measurements over the run)." if peaks else "."),
            "",
            "| Shape | Forward ours / release | Speed-up | Train step ours / release | Speed-up "
            "| Forward GFLOP/s (share of peak) | Train step GFLOP/s (share of peak) |",
            "|---|---|---|---|---|---|---|",
        ]
        for case, label in (
            ("nbody", "N-body: 100 systems x 5 particles"),
            ("qm9", "QM9: 96 molecules"),
        ):
            if case not in bench:
                continue
            ref = bench[case]["reference"]
            for variant, how in (("ours", "eager"), ("ours_compiled", "torch.compile")):
                if variant not in bench[case]:
                    continue
                ours = bench[case][variant]
                cells = [f"{label}, {how}"]
                for key in ("forward_s", "train_step_s"):
                    spread = _spread(ours.get(f"{key}_speedup_per_repeat", []))
                    cells += [
                        f"{ours[key] * 1e3:.2f} / {ref[key] * 1e3:.2f} ms",
                        f"{ref[key] / ours[key]:.2f}x{spread}",
                    ]
                cells += [_gflops(ours, "forward", peak), _gflops(ours, "train_step", peak)]
                lines.append("| " + " | ".join(cells) + " |")
        scaling = ", ".join(
            f"{row['nodes']} nodes / {row['edges']} edges: {row['forward_s'] * 1e3:.0f} ms"
            for row in bench.get("scaling", [])
        )
        if scaling:
            lines += ["", f"Scaling (one radius graph, forward): {scaling}."]
    lines += other_benchmark_lines(bench_dir, links_from)
    lines += ideas_lines(bench_dir / "ideas.json")
    tta_file = bench_dir / "time_to_accuracy.json"
    same_machine = tta_file.exists() and _same_cpu(bench, json.loads(tta_file.read_text()))
    lines += time_to_accuracy_lines(
        tta_file,
        _step_at_peak_s(bench) if same_machine else None,
        (bench or {}).get("machine", {}).get("threads"),
    )
    batching_file = bench_dir / "autoencoder_batching.json"
    if batching_file.exists():
        batching = json.loads(batching_file.read_text())
        rows, machine = batching["autoencoder"], batching.get("machine", {})
        load = machine.get("load_average_1min")
        lines += [
            "",
            f"Graph autoencoder training (forward, backward, Adam), {machine.get('threads', '?')} "
            "thread(s)"
            + (
                f", load average {load:.1f} on {machine.get('cpu_count')} cores:"
                if load is not None
                else ":"
            ),
            "",
            "| Graph autoencoder | Graphs per step | Training time per graph | Speed-up over 1 |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {r['model']} | {r['batch_size']} | {r['s_per_graph'] * 1e3:.2f} ms "
            f"| {r.get('speedup_vs_batch_1', 1.0):.2f}x |"
            for r in rows
        ]
    return (
        "\n".join(lines)
        if lines
        else "No benchmark results yet (`python -m benchmarks.benchmark`)."
    )


def other_benchmark_lines(bench_dir: Path, links_from: Path | None = None) -> list[str]:
    """One row per other benchmark run kept beside ``cpu.json`` (``cpu-<when/where>.json``: other
    dates and machines): its CPU, matmul peak and the compiled backbone's speed-ups; each file
    linked relative to ``links_from`` (default: the working directory)."""
    files = sorted(Path(bench_dir).glob("cpu-*.json"))
    if not files:
        return []
    lines = [
        "",
        "Other benchmark runs (the same command on other days; the machine under this project "
        "changes), compiled backbone against the release's formulation:",
        "",
        "| File | CPU | Matmul peak | N-body forward | N-body train step | QM9 forward "
        "| QM9 train step |",
        "|---|---|---|---|---|---|---|",
    ]
    for path in files:
        bench = json.loads(path.read_text())
        cells = [
            f"[`{path.name}`]({relative_link(path, links_from)})",
            bench.get("machine", {}).get("cpu_model", "not recorded"),
            f"{bench['matmul_peak_gflops']:.0f} GFLOP/s",
        ]
        for case in ("nbody", "qm9"):
            for key in ("forward_s", "train_step_s"):
                ours = bench.get(case, {}).get("ours_compiled", {})
                ref = bench.get(case, {}).get("reference", {})
                cells.append(f"{ref[key] / ours[key]:.2f}x" if key in ours and key in ref else "—")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _same_cpu(bench: dict | None, other: dict) -> bool:
    """Whether two result files name the same CPU model (files without one never match)."""
    model = (bench or {}).get("machine", {}).get("cpu_model")
    return model is not None and model == other.get("machine", {}).get("cpu_model")


def _gflops(ours: dict, what: str, peak: float) -> str:
    """``"20.9 (26%)"``: achieved GFLOP/s of ``what`` (forward, train_step) and share of ``peak``."""
    if f"{what}_flops" not in ours:  # benchmarks from before train-step FLOPs were counted
        return "—"
    gflops = ours[f"{what}_flops"] / ours[f"{what}_s"] / 1e9
    return f"{gflops:.1f} ({100 * gflops / peak:.0f}%)"


def _step_at_peak_s(bench: dict | None) -> float | None:
    """Seconds one N-body training step's FLOPs take at the measured matmul peak, or None."""
    ours = (bench or {}).get("nbody", {}).get("ours", {})
    if "train_step_flops" not in ours:
        return None
    return ours["train_step_flops"] / (bench["matmul_peak_gflops"] * 1e9)


def _spread(ratios: list[float]) -> str:
    """`` (a-b over k runs)``: the range of the per-repeat speed-ups, when there are several."""
    if len(ratios) < 2:
        return ""
    return f" ({min(ratios):.2f}-{max(ratios):.2f} over {len(ratios)} runs)"


def time_to_accuracy_lines(
    path: Path, step_at_peak_s: float | None = None, peak_threads: int | None = None
) -> list[str]:
    """Markdown rows of ``time_to_accuracy.json`` (:mod:`egnn.run.time_to_accuracy`).

    With ``step_at_peak_s`` (one training step's FLOPs at the matmul peak) a column gives the
    floor for each run: its training steps, validation left out, at that peak; only for runs on
    the ``peak_threads`` the peak was measured with (when given)."""
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    floor = step_at_peak_s is not None
    lines = [
        "",
        f"Time to accuracy: wall time of training (validation included) until {data['metric']} "
        f"< {data['target']}"
        + (
            "; the last column is the time the run's training steps alone take at the benchmark's"
            " matmul peak (their FLOPs counted by the benchmark), a floor for any implementation"
            " of the same recipe on the benchmark's threads:"
            if floor
            else ":"
        ),
        "",
        "| Run | Reached after | Epoch | Time per epoch | Threads | Command |"
        + (" Steps at the matmul peak |" if floor else ""),
        "|---|---|---|---|---|---|" + ("---|" if floor else ""),
    ]
    for run in data["runs"]:
        reached = (
            f"{run['time_s']:.0f} s"
            if run.get("reached")
            else f"not reached: best {run['best_value']:.5f} within {run['last_time_s']:.0f} s"
            if "best_value" in run
            else "not reached"
        )
        per_epoch = f"{run['time_per_epoch_s']:.2f} s" if "time_per_epoch_s" in run else "-"
        lines.append(
            f"| {run['label']} | {reached} | {run.get('epoch', run.get('last_epoch', '-'))} "
            f"| {per_epoch} "
            f"| {run.get('num_threads', '?')} | `{run.get('command', '')}` |"
            + (_floor_cell(run, step_at_peak_s, peak_threads) if floor else "")
        )
    lines += _time_to_accuracy_medians(data["runs"], floor)
    return lines


def _time_to_accuracy_medians(runs: list[dict], floor: bool) -> list[str]:
    """A median row for each label that several runs share (``"after #1"``, ``"after #2"``...:
    ``REPEATS=k scripts/run_time_to_accuracy.sh``); the median counts only runs that reached
    the target, and says so when some did not."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for run in runs:
        groups[re.sub(r" #\d+$", "", run["label"])].append(run)
    lines = []
    for label, group in groups.items():
        reached = [run for run in group if run.get("reached")]
        if len(group) < 2 or not reached:
            continue
        of = f"{len(reached)} of {len(group)} runs" if len(reached) < len(group) else len(group)

        def median(key: str, runs: list[dict] = reached) -> float:
            return statistics.median(run[key] for run in runs)

        timed = [run for run in reached if "time_per_epoch_s" in run]
        per_epoch = f"{median('time_per_epoch_s', timed):.2f} s" if timed else "-"
        lines.append(
            f"| **{label}, median of {of}** | **{median('time_s'):.0f} s** "
            f"| {median('epoch'):.0f} | {per_epoch} "
            f"| {reached[0].get('num_threads', '?')} | |" + (" |" if floor else "")
        )
    return lines


def ideas_lines(path: Path) -> list[str]:
    """Markdown rows of ``ideas.json`` (``scripts/perf_ideas.py``): each speed idea's training
    step against the compiled one."""
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    load = data.get("load_average_1min")
    lines = [
        "",
        f"Speed ideas, `python -m benchmarks.perf_ideas`: {data['case']}, forward, backward and fused"
        f" Adam, {data['threads']} thread(s)"
        + (f", {data['cpu_model']}" if "cpu_model" in data else "")
        + (f", load average {load:.1f}" if load is not None else "")
        + "; ratios above 1 are faster than the compiled step:",
        "",
        "| Variant | Train step | Against compiled |",
        "|---|---|---|",
    ]
    for row in data["rows"]:
        lines.append(
            f"| {row['variant']} | {row['train_step_s'] * 1e3:.2f} ms "
            f"| {row['speedup_vs_compiled']:.2f}x{_spread(row.get('speedup_per_repeat', []))} |"
        )
    return lines


def _floor_cell(run: dict, step_at_peak_s: float, peak_threads: int | None) -> str:
    if "train_steps" not in run:
        return " — |"
    if peak_threads is not None and run.get("num_threads", peak_threads) != peak_threads:
        return f" — (the peak is for {peak_threads} thread(s)) |"
    return f" {run['train_steps']:,} steps: {run['train_steps'] * step_at_peak_s:.0f} s |"
