"""QM9 tables: paper Table 4 beside our records, and how each one-CPU-hour run went."""

from __future__ import annotations

from pathlib import Path

from egnn.records import load_records, read_record
from egnn.reporting import paper
from egnn.reporting.plots import read_learning_curve
from egnn.reporting.tables.cells import mean_std, relative_link

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
    """Markdown table of how each one-CPU-hour QM9 run went, a row per record (targets in the
    paper's order, then seeds), from the record and the learning curve kept beside it
    (``<name>.csv``): the validation MAE at the first, best and last checks, whether the last check
    still improved on the one before, the CPU and wall time, the load and what ran beside it."""
    lines = [
        "| Target | Seed | Test MAE | Validation MAE: first check -> best (when) -> last | "
        "Last check lower than the one before | CPU min | Wall min | Load | Ran beside | Curve |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    order = {target: i for i, target in enumerate(paper.QM9_UNITS)}
    runs = [
        (path, read_record(path)) for path in (Path(results_dir) / QM9_CPU_BUDGET).glob("*.json")
    ]
    runs = [(path, record) for path, record in runs if record.get("target") in order]
    runs.sort(key=lambda run: (order[run[1]["target"]], run[1].get("seed", 0), run[0].name))
    for path, record in runs:
        lines.append(_qm9_run_row(path, record, links_from))
    return "\n".join(lines)


def _qm9_run_row(path: Path, record: dict, links_from: Path | None) -> str:
    """One row of :func:`qm9_runs_table`: the record at ``path`` and the curve beside it."""

    def number(value: float | None, fmt: str) -> str:
        return "—" if value is None else format(value, fmt)

    curve_csv, curve_png = path.with_suffix(".csv"), path.with_suffix(".png")
    curve = read_learning_curve(curve_csv) if curve_csv.is_file() else None
    val = curve.val if curve else []
    if val:
        best_x, best = min(val, key=lambda point: point[1])
        checks = f"{val[0][1]:.4g} -> {best:.4g} ({curve.x_key} {best_x:,}) -> {val[-1][1]:.4g}"
        falling = "—" if len(val) < 2 else ("yes" if val[-1][1] < val[-2][1] else "no")
    else:
        checks = "no validation rows" if curve_csv.is_file() else "no curve kept"
        falling = "—"
    target, cpu_s, wall_s = record["target"], record.get("train_cpu_s"), record.get("train_time_s")
    link = f"[png]({relative_link(curve_png, links_from)})" if curve_png.is_file() else "—"
    return (
        f"| {target} | {record.get('seed', '—')} "
        f"| {number(record.get('test/mae'), '.4g')} {paper.QM9_UNITS[target]} | {checks} "
        f"| {falling} | {number(cpu_s and cpu_s / 60, '.0f')} "
        f"| {number(wall_s and wall_s / 60, '.0f')} "
        f"| {number(record.get('load_average_1min_median'), '.1f')} "
        f"| {record.get('beside') or '—'} | {link} |"
    )


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
