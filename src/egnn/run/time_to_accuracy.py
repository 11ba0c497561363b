"""Time to accuracy: when a run's validation metric first reached a target, from its learning curve.

``python -m egnn.run.time_to_accuracy --target 0.0071 eager=<run dir> compiled=<run dir>``
reads each run's ``csv/metrics.csv`` (``time/train_s`` is logged at every validation by
:class:`egnn.run.callbacks.WallClock`) and ``metrics.json``, and writes
``results/benchmark/time_to_accuracy.json``, which ``make tables`` renders in the README.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import yaml

from egnn.atomic import atomic_write_json
from egnn.run.csv_history import read_rows
from egnn.run.provenance import machine

TIME_KEY = "time/train_s"


def time_to_target(csv_path: Path, target: float, metric: str = "val/mse") -> dict | None:
    """The first validation row with ``metric < target`` (strictly, as early stopping's
    ``stopping_threshold``): ``{"epoch", "time_s", "value"}``, or None when the run never got
    there; with ``"train_steps"`` (the row's ``step`` + 1: optimizer steps taken) when the curve
    has a ``step`` column. Raises when the curve has no ``time/train_s`` column."""
    rows = [r for r in read_rows(Path(csv_path)) if r.get(metric, "") != ""]
    if rows and TIME_KEY not in rows[0]:
        raise ValueError(
            f"{csv_path} has no {TIME_KEY!r} column: train with the WallClock callback "
            "(callbacks.wall_clock, on by default)"
        )
    for row in rows:
        if float(row[metric]) < target and row.get(TIME_KEY, "") != "":
            reached = {
                "epoch": int(float(row["epoch"])),
                "time_s": float(row[TIME_KEY]),
                "value": float(row[metric]),
            }
            if row.get("step", "") != "":
                reached["train_steps"] = int(float(row["step"])) + 1
            return reached
    return None


def curve_end(csv_path: Path, metric: str = "val/mse") -> dict:
    """Best value of ``metric`` and the last validation's epoch and time: where a run stood when it
    ended (or was stopped) without reaching the target."""
    rows = [r for r in read_rows(Path(csv_path)) if r.get(metric, "") and r.get(TIME_KEY, "")]
    if not rows:
        return {}
    return {
        "best_value": min(float(r[metric]) for r in rows),
        "last_epoch": int(float(rows[-1]["epoch"])),
        "last_time_s": float(rows[-1][TIME_KEY]),
    }


def run_summary(label: str, run_dir: Path, target: float, metric: str) -> dict:
    metrics_file = run_dir / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    overrides_file = run_dir / ".hydra" / "overrides.yaml"
    if "command" not in metrics and overrides_file.is_file():  # a run stopped before its end
        metrics["command"] = " ".join(
            ["python train.py", *yaml.safe_load(overrides_file.read_text())]
        )
    config_file = run_dir / "config_resolved.yaml"
    if "num_threads" not in metrics and config_file.is_file():
        metrics["num_threads"] = yaml.safe_load(config_file.read_text()).get("num_threads")
    csv_path = run_dir / "csv" / "metrics.csv"
    reached = time_to_target(csv_path, target, metric)
    end = curve_end(csv_path, metric)
    if "time_per_epoch_s" not in metrics and end:
        metrics["time_per_epoch_s"] = end["last_time_s"] / (end["last_epoch"] + 1)
    return {
        "label": label,
        "run_dir": os.path.relpath(run_dir),
        "reached": reached is not None,
        "finished": metrics_file.is_file(),
        **(reached or end),
        **{
            key: metrics[key]
            for key in (
                "compiled",
                "num_threads",
                "git_commit",
                "command",
                "time_per_epoch_s",
                "train_cpu_s",
                "load_average_1min_median",
                "beside",
            )
            if key in metrics
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="LABEL=RUN_DIR pairs")
    parser.add_argument("--target", type=float, required=True)
    parser.add_argument("--metric", default="val/mse")
    parser.add_argument("--out", type=Path, default=Path("results/benchmark/time_to_accuracy.json"))
    args = parser.parse_args(argv)
    runs = []
    for item in args.runs:
        label, sep, run_dir = item.partition("=")
        if not sep or not run_dir or not Path(run_dir).is_dir():
            parser.error(f"expected LABEL=RUN_DIR with an existing run folder, got {item!r}")
        runs.append(run_summary(label, Path(run_dir), args.target, args.metric))
    # The machine of the runs (the summary runs right after them); each run has its own threads.
    where = {key: value for key, value in machine().items() if key != "threads"}
    summary = {"metric": args.metric, "target": args.target, "machine": where, "runs": runs}
    atomic_write_json(args.out, summary)
    for run in runs:
        when = (
            f"{run['time_s']:.1f} s (epoch {run['epoch']})"
            if run["reached"]
            else f"not reached (best {run.get('best_value')} by {run.get('last_time_s')} s)"
        )
        print(f"{run['label']}: {args.metric} < {args.target} after {when}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
