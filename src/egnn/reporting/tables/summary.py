"""The README's compact table: one row per experiment and model (one per budget for QM9)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from egnn.records import load_records
from egnn.reporting import paper
from egnn.reporting.tables.autoencoder import AUTOENCODER_DATASETS, protocol_runs
from egnn.reporting.tables.cells import mean_std, minutes_range
from egnn.reporting.tables.nbody import nbody_records
from egnn.reporting.tables.qm9 import QM9_CPU_BUDGET


def summary_table(results_dir: Path) -> str:
    """The README's compact table: per experiment and model, the paper's number beside ours
    (mean ± std over seeds), with the seeds, epochs and wall time per run behind it."""
    lines = [
        "| Experiment, metric | Model | Paper | Ours | Seeds | Epochs run | Wall time / run |",
        "|---|---|---|---|---|---|---|",
    ]
    records = nbody_records(results_dir)
    for name in list(paper.NBODY) + sorted(set(records) - set(paper.NBODY)):
        ref = paper.NBODY.get(name, {"label": paper.EXTRA_LABELS.get(name, name)})
        runs = records.get(name, [])
        lines.append(
            f"| N-body (Table 2), MSE | {ref['label']} | {ref.get('test/mse', '—')} "
            f"| {mean_std([r['test/mse'] for r in runs], '.4f')} | {len(runs) or '—'} "
            + _epochs_and_wall(runs)
        )
    for experiment, dataset in AUTOENCODER_DATASETS.items():
        records = load_records(results_dir, experiment)
        for name, label in paper.AUTOENCODER_LABELS.items():
            runs = protocol_runs(records.get(name, []))
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


def _epochs_and_wall(runs: list[dict]) -> str:
    """``"| 100 | 30-176 min |"``: range of the epochs run and of the wall time per run."""
    epochs = sorted({r["epochs"] for r in runs if r.get("epochs")})
    span = "—" if not epochs else f"{epochs[0]}" + (f"-{epochs[-1]}" if len(epochs) > 1 else "")
    wall = minutes_range([r["train_time_s"] / 60 for r in runs if r.get("train_time_s")])
    return f"| {span} | {wall} |"
