"""The summary of a multirun: one row per swept setting, mean ± std over its seeds.

Written into the sweep folder at the end of every multirun (:class:`SweepSummaryCallback`, a Hydra
callback of ``configs/hydra/default.yaml``), and again on demand from any sweep folders::

    egnn-sweep-summary outputs/nbody/multirun_2026-12-06_23-10-00 [more sweep folders ...]

Files: ``summary.md`` (a table), ``summary.csv`` (the same numbers) and ``summary.png`` (mean ± std
of the first test metric per setting with every run's value as a point and the paper's value
marked where there is one; needs the ``report`` extra). A setting is a job's command-line
overrides without its seed (and without Hydra's own keys); jobs that differ only in the seed are
averaged. Jobs without ``metrics.json`` (failed or still running) are counted as missing.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import math
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from hydra.experimental.callback import Callback

from egnn.atomic import atomic_write_text
from egnn.extras import is_installed
from egnn.reporting import paper

log = logging.getLogger(__name__)

SUMMARY_FILES = ("summary.md", "summary.csv", "summary.png")
# Overrides that never make a setting of their own.
NOT_A_SETTING = ("seed=", "hydra.", "hparams_search=", "launcher=")


def job_folders(sweep_dir: Path) -> list[Path]:
    """The job folders of a multirun (``0``, ``1``, ...), in job order."""
    return sorted(
        (p for p in Path(sweep_dir).iterdir() if p.is_dir() and p.name.isdigit()),
        key=lambda p: int(p.name),
    )


def read_job(job_dir: Path) -> dict[str, Any]:
    """``{"setting", "overrides", "metrics"}`` of one job folder (``metrics`` None when the job
    wrote none)."""
    overrides_file = job_dir / ".hydra" / "overrides.yaml"
    overrides = yaml.safe_load(overrides_file.read_text()) if overrides_file.is_file() else []
    metrics_file = job_dir / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else None
    setting = " ".join(o for o in overrides or [] if not o.startswith(NOT_A_SETTING))
    return {"setting": setting, "overrides": overrides or [], "metrics": metrics}


def _varying(settings: list[str]) -> list[str]:
    """Each setting without the overrides that every job shares (e.g. ``experiment=nbody``)."""
    split = [s.split() for s in settings]
    shared = set.intersection(*(set(s) for s in split)) if split else set()
    return [" ".join(o for o in s if o not in shared) or "(all jobs)" for s in split]


def paper_value(metrics: dict, name: str) -> float | None:
    """The paper's value of metric ``name`` for the experiment and model of a job, if it has one."""
    experiment, model = metrics.get("experiment"), metrics.get("model")
    paper_data = metrics.get("dataset") in (None, "small") and metrics.get("n_train") in (
        None,
        3000,
    )
    if experiment == "nbody" and model in paper.NBODY and paper_data:  # Table 2's setting only
        return paper.NBODY[model].get(name)
    if experiment in paper.AUTOENCODER and model in paper.AUTOENCODER[experiment]:
        return paper.AUTOENCODER[experiment][model].get(name)
    # QM9 at any budget (qm9, qm9_cpu, qm9_cpu_1h): the paper's MAE of the target, as the QM9
    # table of the notes puts it beside every budget.
    qm9 = str(experiment).startswith("qm9") and metrics.get("target") in paper.QM9
    if qm9 and name == "test/mae":
        return paper.QM9[metrics["target"]]
    return None


def _mean_std(values: list[float]) -> tuple[float, float | None]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None


def summarise(sweep_dirs: Iterable[Path]) -> dict[str, Any]:
    """Rows of the summary of ``sweep_dirs`` taken together: ``{"metrics": [names], "rows":
    [{"setting", "n", "missing", "values": {name: [floats]}, "paper": {name: value}}]}``."""
    jobs = [read_job(job) for sweep in sweep_dirs for job in job_folders(Path(sweep))]
    labels = _varying([job["setting"] for job in jobs])
    rows: dict[str, dict] = {}
    names: list[str] = []
    for label, job in zip(labels, jobs, strict=True):
        row = rows.setdefault(label, {"setting": label, "n": 0, "missing": 0, "values": {}})
        row.setdefault("paper", {})
        metrics = job["metrics"]
        if metrics is None:
            row["missing"] += 1
            continue
        row["n"] += 1
        for name, value in metrics.items():
            if not name.startswith(("test/", "val/")) or not isinstance(value, (int, float)):
                continue
            if name.endswith("best_epoch") or (name.startswith("val/") and "_best" not in name):
                continue
            if name not in names:
                names.append(name)
            row["values"].setdefault(name, []).append(float(value))
            reference = paper_value(metrics, name)
            if reference is not None:
                row["paper"][name] = reference
    names.sort(key=lambda n: (not n.startswith("test/"), n))
    return {"metrics": names, "rows": list(rows.values())}


def _cell(values: list[float] | None) -> str:
    if not values:
        return "-"
    mean, std = _mean_std([v for v in values if math.isfinite(v)] or values)
    return f"{mean:.4g}" if std is None else f"{mean:.4g} ± {std:.2g}"


def markdown(summary: dict, sweep_dirs: list[Path]) -> str:
    """The summary as a Markdown table (mean ± std over seeds, n runs, the paper's value)."""
    names = summary["metrics"]
    papers = [n for n in names if any(n in row["paper"] for row in summary["rows"])]
    header = ["setting", "n", *names, *(f"paper {n}" for n in papers)]
    lines = [
        "Sweep summary of " + ", ".join(f"`{d}`" for d in sweep_dirs),
        "",
        "Mean ± standard deviation over the runs of each setting (n runs; missing: no metrics.json).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for row in summary["rows"]:
        n = str(row["n"]) + (f" ({row['missing']} missing)" if row["missing"] else "")
        cells = [row["setting"], n, *(_cell(row["values"].get(name)) for name in names)]
        cells += [f"{row['paper'][p]:.4g}" if p in row["paper"] else "-" for p in papers]
        lines.append("| " + " | ".join(cells) + " |")
    for sweep_dir in sweep_dirs:  # the Optuna sweeper's choice
        best = Path(sweep_dir) / "optimization_results.yaml"
        if best.is_file():
            result = yaml.safe_load(best.read_text()) or {}  # data, never resolved
            params = " ".join(f"{k}={v}" for k, v in (result.get("best_params") or {}).items())
            lines += [
                "",
                f"Optuna's best in `{sweep_dir}`: {params} (value {result.get('best_value')})",
            ]
    return "\n".join(lines) + "\n"


def csv_text(summary: dict) -> str:
    """The summary as CSV: setting, n, missing, then mean, std and paper value of each metric."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    names = summary["metrics"]
    writer.writerow(
        ["setting", "n", "missing", *(f"{n} {s}" for n in names for s in ("mean", "std", "paper"))]
    )
    for row in summary["rows"]:
        cells: list = [row["setting"], row["n"], row["missing"]]
        for name in names:
            values = row["values"].get(name)
            mean, std = _mean_std(values) if values else (None, None)
            cells += [mean, std, row["paper"].get(name)]
        writer.writerow(["" if c is None else c for c in cells])
    return buffer.getvalue()


def plot(summary: dict, path: Path) -> Path | None:
    """Mean ± std of the first test metric per setting, each run as a point, the paper's value as
    a red cross; None when matplotlib (the ``report`` extra) is missing or nothing finished."""
    names = [n for n in summary["metrics"] if n.startswith("test/")] or summary["metrics"]
    rows = [row for row in summary["rows"] if names and row["values"].get(names[0])]
    if not rows or not is_installed("matplotlib"):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    name = names[0]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(rows) + 2), 3.6))
    for x, row in enumerate(rows):
        values = row["values"][name]
        mean, std = _mean_std(values)
        ax.errorbar(x, mean, yerr=std or 0.0, fmt="o", color="C0", capsize=6, markersize=8)
        ax.scatter([x + 0.12] * len(values), values, color="C1", s=14, zorder=3)
        if name in row["paper"]:
            ax.scatter([x], [row["paper"][name]], marker="x", color="red", s=60, zorder=4)
    labels = [row["setting"].replace(" ", "\n") for row in rows]  # one override per line
    ax.set_xticks(range(len(rows)), labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(name)
    ax.set_title(f"{name}: mean ± std (blue), runs (orange), paper (red x)", fontsize=9)
    positive = [v for row in rows for v in row["values"][name] if v > 0]
    if positive and max(positive) / min(positive) > 20:
        ax.set_yscale("log")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def write_summary(sweep_dirs: list[Path], out_dir: Path | None = None) -> list[Path]:
    """Write ``summary.md``, ``summary.csv`` and ``summary.png`` of ``sweep_dirs`` into
    ``out_dir`` (default: the first sweep folder); returns the files written."""
    sweep_dirs = [Path(d) for d in sweep_dirs]
    out_dir = Path(out_dir) if out_dir is not None else sweep_dirs[0]
    summary = summarise(sweep_dirs)
    atomic_write_text(out_dir / "summary.md", markdown(summary, sweep_dirs))
    atomic_write_text(out_dir / "summary.csv", csv_text(summary))
    written = [out_dir / "summary.md", out_dir / "summary.csv"]
    figure = plot(summary, out_dir / "summary.png")
    return written + ([figure] if figure else [])


class SweepSummaryCallback(Callback):
    """Hydra callback: at the end of every multirun, write the summary into the sweep folder and
    print its table (the launcher's jobs have all ended by then, whichever launcher ran them)."""

    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if not sweep_dir.is_dir() or not job_folders(sweep_dir):
            return
        try:
            written = write_summary([sweep_dir])
        except Exception as err:  # a summary must never turn a finished sweep into a failure
            log.warning("no sweep summary written for %s: %s", sweep_dir, err)
            return
        log.info("sweep summary:\n%s", (sweep_dir / "summary.md").read_text())
        log.info("wrote %s", ", ".join(str(p) for p in written))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sweep_dirs", nargs="+", type=Path, help="multirun folders")
    parser.add_argument(
        "--out", type=Path, default=None, help="folder of the summary (default: the first sweep's)"
    )
    args = parser.parse_args(argv)
    for path in write_summary(args.sweep_dirs, args.out):
        print(f"wrote {path}")
    print(((args.out or args.sweep_dirs[0]) / "summary.md").read_text())


if __name__ == "__main__":
    main()
