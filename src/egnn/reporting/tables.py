"""README and notes tables generated from ``results/``: paper numbers beside ours (mean +- std
over seeds).

``python -m egnn.reporting.tables --readme README.md --notes report/notes`` rewrites, in whichever
of these pages holds them, the text between the markers ``<!-- summary-table:start -->`` /
``<!-- summary-table:end -->``, ``<!-- nbody-table:... -->``, ``<!-- nbody-ideas-table:... -->``,
``<!-- nbody-data-efficiency-table:... -->``,
``<!-- qm9-table:... -->``, ``<!-- qm9-runs-table:... -->``,
``<!-- autoencoder-table:... -->``, ``<!-- ae-sparsity-table:... -->``,
``<!-- ae-embedding-table:... -->`` and ``<!-- benchmark-table:... -->``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
from collections import defaultdict
from pathlib import Path

from egnn.atomic import atomic_write_text
from egnn.errors import ConfigError
from egnn.records import (
    bce_input_of,
    decoder_fixed,
    load_records,
    read_record,
    test_ensemble_of,
)
from egnn.reporting import paper
from egnn.reporting.plots import (
    SWEEP_BUDGET,
    SWEEP_MISSING,
    read_learning_curve,
    sweep_label,
    sweep_points,
)


def mean_std(values: list[float], fmt: str) -> str:
    if not values:
        return "not run"
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{format(statistics.mean(values), fmt)} ± {format(statistics.stdev(values), fmt)}"


def nbody_table(results_dir: Path) -> str:
    """Markdown table of paper Table 2 beside our N-body records (and ``experiment=nbody_plus``)."""
    records = load_records(results_dir, "nbody")
    for name, runs in load_records(results_dir, "nbody_plus").items():
        records[f"{name}_plus"] = runs
    lines = [
        "| Model | Paper MSE | Our test MSE | Seeds | Best epoch | Wall time / run | Paper fwd (GPU) | Our fwd (CPU, 1 thread) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    names = list(paper.NBODY) + sorted(set(records) - set(paper.NBODY))
    for name in names:
        ref = paper.NBODY.get(name, {"label": paper.EXTRA_LABELS.get(name, name)})
        runs = records.get(name, [])
        mse = mean_std([r["test/mse"] for r in runs], ".4f")
        epochs = mean_std([r["best_epoch"] for r in runs if "best_epoch" in r], ".0f")
        wall = mean_std([r["train_time_s"] / 60 for r in runs if "train_time_s" in r], ".1f")
        fwd = mean_std([r["forward_time_s"] * 1000 for r in runs if "forward_time_s" in r], ".2f")
        lines.append(
            "| {label} | {p_mse} | {mse} | {n} | {ep} | {wall} | {p_fwd} | {fwd} |".format(
                label=ref.get("label", name),
                p_mse=ref.get("test/mse", "—"),
                mse=mse,
                n=len(runs) or "—",
                ep=epochs if runs else "—",
                wall=f"{wall} min" if runs else "—",
                p_fwd=f"{ref['forward_time_s'] * 1000:.1f} ms" if "forward_time_s" in ref else "—",
                fwd=f"{fwd} ms" if runs else "—",
            )
        )
    lines.append("")
    for name in names:
        runs = sorted(records.get(name, []), key=lambda r: r["seed"])
        if runs:
            label = paper.NBODY.get(name, {}).get("label", paper.EXTRA_LABELS.get(name, name))
            seeds = ", ".join(f"seed {r['seed']}: {r['test/mse']:.5f}" for r in runs)
            lines.append(f"- {label} test MSE per seed: {seeds}")
    return "\n".join(lines)


def _epochs_and_wall(runs: list[dict]) -> str:
    """``"| 100 | 30-176 min |"``: range of the epochs run and of the wall time per run."""
    epochs = sorted({r["epochs"] for r in runs if r.get("epochs")})
    span = "—" if not epochs else f"{epochs[0]}" + (f"-{epochs[-1]}" if len(epochs) > 1 else "")
    wall = _minutes_range([r["train_time_s"] / 60 for r in runs if r.get("train_time_s")])
    return f"| {span} | {wall} |"


def _protocol_runs(runs: list[dict]) -> list[dict]:
    """Autoencoder runs at the paper's protocol (one graph per step, one draw per prediction,
    trained decoder); the default training loss (the release's) where runs with both exist."""
    kept = [
        r
        for r in runs
        if r.get("batch_size", 1) == 1 and test_ensemble_of(r) == 1 and not decoder_fixed(r)
    ]
    default = [r for r in kept if bce_input_of(r) == "probabilities"]
    return default or kept


def summary_table(results_dir: Path) -> str:
    """The README's compact table: per experiment and model, the paper's number beside ours
    (mean ± std over seeds), with the seeds, epochs and wall time per run behind it."""
    lines = [
        "| Experiment, metric | Model | Paper | Ours | Seeds | Epochs run | Wall time / run |",
        "|---|---|---|---|---|---|---|",
    ]
    records = load_records(results_dir, "nbody")
    for name, runs in load_records(results_dir, "nbody_plus").items():
        records[f"{name}_plus"] = runs
    for name in list(paper.NBODY) + sorted(set(records) - set(paper.NBODY)):
        ref = paper.NBODY.get(name, {"label": paper.EXTRA_LABELS.get(name, name)})
        runs = records.get(name, [])
        lines.append(
            f"| N-body (Table 2), MSE | {ref['label']} | {ref.get('test/mse', '—')} "
            f"| {mean_std([r['test/mse'] for r in runs], '.4f')} | {len(runs) or '—'} "
            + _epochs_and_wall(runs)
        )
    for experiment, dataset in (
        ("ae_community", "Community Small"),
        ("ae_erdos_renyi", "Erdos-Renyi"),
    ):
        records = load_records(results_dir, experiment)
        for name, label in paper.AUTOENCODER_LABELS.items():
            runs = _protocol_runs(records.get(name, []))
            lines.append(
                f"| Autoencoder, {dataset} (Table 3), %Error | {label} "
                f"| {paper.AUTOENCODER[experiment][name]['test/error']} "
                f"| {mean_std([r['test/error'] for r in runs], '.3f')} | {len(runs) or '—'} "
                + _epochs_and_wall(runs)
            )
    for experiment, budget in (("qm9", "full protocol"), (QM9_CPU_BUDGET, "one CPU hour")):
        runs_of = defaultdict(list)
        for runs in load_records(results_dir, experiment).values():
            for run in runs:
                runs_of[run["target"]].append(run)
        if not runs_of:
            continue
        # One row per budget, the targets side by side (their own table is in the QM9 notes).
        targets = [t for t in paper.QM9 if t in runs_of]
        ours = ", ".join(
            f"{t} {mean_std([r['test/mae'] for r in runs_of[t]], '.4g')}" for t in targets
        )
        reported = ", ".join(f"{t} {paper.QM9[t]}" for t in targets)
        units = ", ".join(f"{t} {paper.QM9_UNITS[t]}" for t in targets)
        seeds = sorted({len(runs_of[t]) for t in targets})
        lines.append(
            f"| QM9 (Table 4), {budget}, MAE of {len(targets)} of {len(paper.QM9)} targets"
            f" ({units}) | EGNN | {reported} | {ours} | {'-'.join(map(str, seeds))} "
            + _epochs_and_wall([run for t in targets for run in runs_of[t]])
        )
    return "\n".join(lines)


def nbody_ideas_table(results_dir: Path) -> str:
    """Markdown table of the ideas measured for ``experiment=nbody_plus`` (records under
    ``results/nbody_plus_ideas/``, one run each), best first, beside the paper recipe's EGNN run of
    the same seed (``results/nbody/egnn-seed<k>.json``)."""
    ideas = [run for runs in load_records(results_dir, "nbody_plus_ideas").values() for run in runs]
    if not ideas:
        return "No idea measured yet (records go to `results/nbody_plus_ideas/`)."
    baseline = {
        r["seed"]: r["test/mse"] for r in load_records(results_dir, "nbody").get("egnn", [])
    }
    lines = [
        "| Idea | Seed | Test MSE | vs paper recipe, same seed | Best epoch | Wall time | Command |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in sorted(ideas, key=lambda r: r["test/mse"]):
        reference = baseline.get(run["seed"])
        change = f"{100 * (run['test/mse'] / reference - 1):+.1f}%" if reference else "—"
        lines.append(
            f"| {run['model']} | {run['seed']} | {run['test/mse']:.5f} | {change} | "
            f"{run.get('best_epoch', '—')} | {run.get('train_time_s', 0) / 60:.1f} min | "
            f"`{run.get('command', '')}` |"
        )
    return "\n".join(lines)


STOP_LABELS = {
    "early_stopping": "early stop",
    "stopping_threshold": "target reached",
    "max_epochs": "epoch cap",
    "max_time": "time budget",
}


def _duration_s(value: str) -> float | None:
    """Seconds of a Lightning ``max_time`` string ``DD:HH:MM:SS`` (None when not that form)."""
    try:
        days, hours, minutes, seconds = (int(part) for part in value.strip("'\"").split(":"))
    except ValueError:
        return None
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def stop_label(record: dict, max_epochs: int = 10000) -> str:
    """How a run ended (its ``stopped_by``). Records older than that key are read from their
    command (a ``trainer.max_time`` the training time reached) and epochs (``max_epochs``, the
    cap); any other old record is taken as early-stopped (what every run of the grids without
    a budget did before the key existed)."""
    reason = record.get("stopped_by")
    if reason is None:
        budget = next(
            (
                _duration_s(arg.split("=", 1)[1])
                for arg in record.get("command", "").split()
                if arg.startswith("trainer.max_time=")
            ),
            None,
        )
        if budget is not None and record.get("train_time_s", 0) >= 0.98 * budget:
            reason = "max_time"
        elif record.get("epochs", 0) >= max_epochs:
            reason = "max_epochs"
        else:
            reason = "early_stopping"
    return STOP_LABELS.get(reason, reason)


def data_efficiency_table(results_dir: Path) -> str:
    """Markdown table of the data-efficiency grid (``results/nbody_data_efficiency/``): test MSE
    per training-set size and model (mean over seeds; the lowest of a size in bold), with the best
    epoch, the epochs run and how the run ended."""
    records = load_records(results_dir, "nbody_data_efficiency")
    models = [m for m in ("egnn", "rf", "gnn") if m in records] + sorted(
        set(records) - {"egnn", "rf", "gnn"}
    )
    if not models:
        return "No run yet (records go to `results/nbody_data_efficiency/`)."
    sizes = sorted({r["n_train"] for runs in records.values() for r in runs})
    labels = [paper.NBODY.get(m, {}).get("label", m) for m in models]
    lines = [
        "| Training trajectories | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(models),
    ]
    for size in sizes:
        runs = {m: [r for r in records[m] if r["n_train"] == size] for m in models}
        means = {m: statistics.mean(r["test/mse"] for r in rs) for m, rs in runs.items() if rs}
        cells = []
        for model in models:
            if model not in means:
                cells.append("not run")
                continue
            value = format(means[model], ".4f")
            if means[model] == min(means.values()):
                value = f"**{value}**"
            ends = "; ".join(
                f"best epoch {r.get('best_epoch', '?')}, {r.get('epochs', '?')} epochs,"
                f" {stop_label(r)}"
                for r in runs[model]
            )
            cells.append(f"{value} ({ends})")
        lines.append(f"| {size} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# The QM9 budget every target is trained at on CPU (configs/experiment/qm9_cpu_1h.yaml).
QM9_CPU_BUDGET = "qm9_cpu_1h"


def qm9_table(results_dir: Path) -> str:
    """Markdown table of paper Table 4 (EGNN) beside our QM9 records: the full protocol and the
    one-CPU-hour budget (:data:`QM9_CPU_BUDGET`), with what each budget run cost."""
    lines = [
        "| Target | Unit | Paper MAE | Ours: full protocol | Ours: one CPU hour "
        f"(`{QM9_CPU_BUDGET}`) | Budget used |",
        "|---|---|---|---|---|---|",
    ]
    full, cpu = load_records(results_dir, "qm9"), load_records(results_dir, QM9_CPU_BUDGET)

    def by_target(grouped: dict[str, list[dict]], target: str) -> list[dict]:
        return [r for runs in grouped.values() for r in runs if r.get("target") == target]

    for target, unit in paper.QM9_UNITS.items():
        full_runs, cpu_runs = by_target(full, target), by_target(cpu, target)
        lines.append(
            f"| {target} | {unit} | {paper.QM9[target]} | "
            f"{mean_std([r['test/mae'] for r in full_runs], '.4g') if full_runs else 'not run yet'} | "
            f"{mean_std([r['test/mae'] for r in cpu_runs], '.4g') if cpu_runs else 'not run yet'} "
            f"| {_qm9_budget_used(cpu_runs[0]) if cpu_runs else '—'} |"
        )
    return "\n".join(lines)


def qm9_runs_table(results_dir: Path, links_from: Path | None = None) -> str:
    """Markdown table of how each one-CPU-hour QM9 run went, from its record and the learning
    curve kept beside it (``<name>.csv``): the validation MAE at the first, best and last checks,
    whether the last check still improved on the one before, the CPU and wall time, the load and
    what ran beside it."""
    lines = [
        "| Target | Test MAE | Validation MAE: first check -> best (when) -> last | "
        "Last check lower than the one before | CPU min | Wall min | Load | Ran beside | Curve |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    folder = Path(results_dir) / QM9_CPU_BUDGET
    by_target = {}
    for path in sorted(folder.glob("*.json")):
        record = read_record(path)
        by_target.setdefault(record.get("target"), (path, record))
    for target in paper.QM9_UNITS:
        if target not in by_target:
            continue
        path, record = by_target[target]
        curve_csv, curve_png = path.with_suffix(".csv"), path.with_suffix(".png")
        curve = read_learning_curve(curve_csv) if curve_csv.is_file() else None
        val = curve.val if curve else []
        if val:
            best_x, best = min(val, key=lambda point: point[1])
            best_at = f"{curve.x_key} {best_x:,}"
            checks = f"{val[0][1]:.4g} -> {best:.4g} ({best_at}) -> {val[-1][1]:.4g}"
            falling = "—" if len(val) < 2 else ("yes" if val[-1][1] < val[-2][1] else "no")
        else:
            checks, falling = "no curve kept", "—"
        load = record.get("load_average_1min_median")
        cpu_s = record.get("train_cpu_s")
        link = f"[png]({relative_link(curve_png, links_from)})" if curve_png.is_file() else "—"
        lines.append(
            f"| {target} | {record['test/mae']:.4g} {paper.QM9_UNITS[target]} | {checks} | "
            f"{falling} | {f'{cpu_s / 60:.0f}' if cpu_s is not None else '—'} | "
            f"{record['train_time_s'] / 60:.0f} | {f'{load:.1f}' if load is not None else '—'} | "
            f"{record.get('beside') or '—'} | {link} |"
        )
    return "\n".join(lines)


def _qm9_budget_used(record: dict) -> str:
    """``"100000 train molecules, 4 epochs, 58 CPU min (1.5 h wall, load 2.1)"``: what one budget
    run cost, its CPU time beside its wall time on a shared machine."""
    used = f"{record.get('n_train') or 100000} train molecules, {record['epochs']} epochs"
    wall_h = record["train_time_s"] / 3600
    if record.get("train_cpu_s") is None:
        return f"{used}, {wall_h:.1f} h wall"
    load = record.get("load_average_1min_median")
    return f"{used}, {record['train_cpu_s'] / 60:.0f} CPU min ({wall_h:.1f} h wall" + (
        f", load {load:.1f})" if load is not None else ")"
    )


def _minutes_range(minutes: list[float]) -> str:
    """``"31 min"`` for one run, ``"30-176 min"`` for several: wall times of runs on a machine whose
    speed changed between sessions, where a mean and spread would mislead."""
    if not minutes:
        return "—"
    low, high = round(min(minutes)), round(max(minutes))
    return f"{low} min" if low == high else f"{low}-{high} min"


def autoencoder_table(results_dir: Path) -> str:
    """Markdown table of paper Table 3 beside our graph autoencoder records (both datasets)."""
    datasets = {"ae_community": "Community Small", "ae_erdos_renyi": "Erdos-Renyi"}
    lines = [
        "| Dataset | Model | Paper BCE | Ours BCE | Paper %Error | Ours %Error | Paper F1 | Ours F1 "
        "| Seeds | Graphs / step | Test passes | Epochs | Wall time per run | Training BCE of |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for experiment, dataset in datasets.items():
        records = load_records(results_dir, experiment)
        for name, label in paper.AUTOENCODER_LABELS.items():
            ref = paper.AUTOENCODER[experiment][name]
            # One row per graphs-per-step setting, number of test passes, training loss, decoder
            # (trained or fixed) and draws averaged per test prediction: runs of different
            # protocols are never averaged.
            by_setting = defaultdict(list)
            for run in records.get(name, []):
                setting = (
                    run.get("batch_size", "?"),
                    run.get("test_draws") or 1,
                    bce_input_of(run),
                    decoder_fixed(run),
                    test_ensemble_of(run),
                )
                by_setting[setting].append(run)
            ordered = sorted(
                by_setting.items(),
                # Graphs per step numerically (unknown last), then the rest of the setting as is.
                key=lambda kv: (
                    not isinstance(kv[0][0], int),
                    str(kv[0][0]).zfill(6),
                    *kv[0][1:],
                ),
            )
            for (batch, passes, bce_input, fixed, ensemble), runs in ordered or [
                (("—", "—", "—", False, 1), [])
            ]:

                def ours(key: str, fmt: str, runs=runs) -> str:
                    values = [r[key] for r in runs if key in r]
                    return mean_std(values, fmt) if values else ("—" if runs else "not run")

                epochs = ours("epochs", ".0f") if any(r.get("epochs") for r in runs) else "—"
                # Averaged draws leave a few wrong entries in 10^5: one more digit to read them.
                error_fmt, f1_fmt = (".4f", ".5f") if ensemble > 1 else (".3f", ".3f")
                wall = [r["train_time_s"] / 60 for r in runs if r.get("train_time_s")]
                lines.append(
                    f"| {dataset} | {label}{' (decoder fixed)' if fixed else ''}"
                    f"{f', {ensemble} draws averaged' if ensemble > 1 else ''} "
                    f"| {'—' if ref['test/bce'] is None else ref['test/bce']} "
                    f"| {ours('test/bce', '.2f')} | {ref['test/error']} "
                    f"| {ours('test/error', error_fmt)} | {ref['test/f1']:.3f} "
                    f"| {ours('test/f1', f1_fmt)} | {len(runs) or '—'} | {batch} | {passes} "
                    f"| {epochs} "
                    f"| {_minutes_range(wall)} "
                    f"| {'—' if ref['test/bce'] is None else bce_input} |"
                )
    return "\n".join(lines)


def sweep_cell(error: float, f1: float | None) -> str:
    """``"%Error (F1)"`` of a sweep point: two decimals, or two significant digits below 0.1
    %Error, and F1 to five decimals above 0.999 (a near-perfect run keeps its digits)."""
    cell = f"{error:.2f}" if error >= 0.1 else f"{error:.2g}"
    if f1 is None:
        return cell
    return f"{cell} ({f1:.5f})" if f1 > 0.999 else f"{cell} ({f1:.3f})"


def sweep_table(
    results_dir: Path, experiment: str, x_key: str, x_label: str, group: tuple[str, ...]
) -> str:
    """Markdown table of an autoencoder sweep (``results/<experiment>/``): test %Error (F1) per
    value of ``x_key``, one row per ``group`` value (model, dataset) and training budget, means
    over seeds (the numbers behind the sweep's plot, rows in the order of its legend)."""
    error, f1 = (
        sweep_points(results_dir, experiment, x_key, metric, (*group, *SWEEP_BUDGET), SWEEP_MISSING)
        for metric in ("test/error", "test/f1")
    )
    if not error:
        return f"No run yet (records go to `results/{experiment}/`)."
    xs = sorted({x for series in error.values() for x, _ in series})
    lines = [
        f"| %Error (F1) at {x_label} | " + " | ".join(f"{x:g}" for x in xs) + " |",
        "|---|" + "---|" * len(xs),
    ]
    for key, series in error.items():
        names, spent = key[: len(group)], key[len(group) :]
        f1_at = dict(f1.get(key, []))
        cells = {x: sweep_cell(value, f1_at.get(x)) for x, value in series}
        lines.append(
            f"| {sweep_label(names, spent)} | "
            + " | ".join(cells.get(x, "not run") for x in xs)
            + " |"
        )
    return "\n".join(lines)


def embedding_table(results_dir: Path) -> str:
    """The embedding-size sweep (``results/ae_embedding/``), a row per model and dataset."""
    return sweep_table(
        results_dir, "ae_embedding", "embedding_nf", "embedding size", ("model", "dataset")
    )


def sparsity_table(results_dir: Path) -> str:
    """The sparsity sweep on the overfit set (``results/ae_sparsity/``), a row per model."""
    return sweep_table(results_dir, "ae_sparsity", "p", "edge probability p", ("model",))


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


def relative_link(path: Path, links_from: Path | None) -> str:
    """``path`` as a link from a page in ``links_from`` (as given when ``links_from`` is None)."""
    if links_from is None:
        return Path(path).as_posix()
    return Path(os.path.relpath(Path(path).resolve(), Path(links_from).resolve())).as_posix()


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


def replace_between(text: str, marker: str, body: str) -> str:
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    if start not in text or end not in text:
        raise ValueError(f"markers {start} / {end} not found")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results-dir", type=Path, default=Path("results"))
    parser.add_argument("--readme", type=Path, default=None, help="rewrite the tables of this file")
    parser.add_argument(
        "--notes", type=Path, default=None, help="and those of the *.md files in this folder"
    )
    args = parser.parse_args(argv)
    results = args.results_dir
    # Each table as a function of the folder of the page it goes in (for relative links).
    tables = {
        "summary-table": lambda page_dir: summary_table(results),
        "nbody-table": lambda page_dir: nbody_table(results),
        "nbody-ideas-table": lambda page_dir: nbody_ideas_table(results),
        "nbody-data-efficiency-table": lambda page_dir: data_efficiency_table(results),
        "qm9-table": lambda page_dir: qm9_table(results),
        "qm9-runs-table": lambda page_dir: qm9_runs_table(results, links_from=page_dir),
        "autoencoder-table": lambda page_dir: autoencoder_table(results),
        "ae-sparsity-table": lambda page_dir: sparsity_table(results),
        "ae-embedding-table": lambda page_dir: embedding_table(results),
        "benchmark-table": lambda page_dir: benchmark_table(results, links_from=page_dir),
    }
    try:
        if args.readme is None:
            print("\n\n".join(table(None) for table in tables.values()))
            return
        pages = [args.readme] + (sorted(args.notes.glob("*.md")) if args.notes else [])
        filled, texts = set(), {}
        for page in pages:  # every table is made before any page is written
            texts[page] = page.read_text()
            for marker, table in tables.items():
                if f"<!-- {marker}:start -->" in texts[page]:
                    texts[page] = replace_between(texts[page], marker, table(page.parent))
                    filled.add(marker)
    except ConfigError as err:  # a damaged record, one that breaks the schema, a missing extra
        parser.exit(2, f"error: {err}\n")
    for page, text in texts.items():
        atomic_write_text(page, text)
        print(f"updated {page}")
    missing = [marker for marker in tables if marker not in filled]
    if missing:
        raise SystemExit(f"markers not found in {[str(p) for p in pages]}: {missing}")


if __name__ == "__main__":
    main()
