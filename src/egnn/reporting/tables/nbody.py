"""N-body tables: paper Table 2 beside our records, the ideas measured for
``experiment=nbody_plus``, and the data-efficiency grid."""

from __future__ import annotations

import statistics
from pathlib import Path

from egnn.records import load_records
from egnn.reporting import paper
from egnn.reporting.tables.cells import mean_std


def nbody_records(results_dir: Path) -> dict[str, list[dict]]:
    """The N-body records by model, those of ``experiment=nbody_plus`` as ``<model>_plus``."""
    records = load_records(results_dir, "nbody")
    for name, runs in load_records(results_dir, "nbody_plus").items():
        records[f"{name}_plus"] = runs
    return records


def nbody_table(results_dir: Path) -> str:
    """Markdown table of paper Table 2 beside our N-body records (and ``experiment=nbody_plus``)."""
    records = nbody_records(results_dir)
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
