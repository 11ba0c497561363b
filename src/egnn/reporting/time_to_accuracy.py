"""Time to accuracy: when a run's validation metric first reached a target, from its learning curve.

``python -m egnn.reporting.time_to_accuracy --target 0.0071 eager=<run dir> compiled=<run dir>``
reads each run's ``csv/metrics.csv`` (``time/train_s`` is logged at every validation by
:class:`egnn.callbacks.WallClock`) and ``metrics.json``, and writes
``results/benchmark/time_to_accuracy.json``, which ``make tables`` renders in the README.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from egnn.atomic import atomic_write_json
from egnn.csv_history import read_rows

TIME_KEY = "time/train_s"


def time_to_target(csv_path: Path, target: float, metric: str = "val/mse") -> dict | None:
    """The first validation row with ``metric <= target``: ``{"epoch", "time_s", "value"}``, or
    None when the run never reached it. Raises when the curve has no ``time/train_s`` column."""
    rows = [r for r in read_rows(Path(csv_path)) if r.get(metric, "") != ""]
    if rows and TIME_KEY not in rows[0]:
        raise ValueError(
            f"{csv_path} has no {TIME_KEY!r} column: train with the WallClock callback "
            "(callbacks.wall_clock, on by default)"
        )
    for row in rows:
        if float(row[metric]) <= target and row.get(TIME_KEY, "") != "":
            return {
                "epoch": int(float(row["epoch"])),
                "time_s": float(row[TIME_KEY]),
                "value": float(row[metric]),
            }
    return None


def run_summary(label: str, run_dir: Path, target: float, metric: str) -> dict:
    metrics_file = run_dir / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    reached = time_to_target(run_dir / "csv" / "metrics.csv", target, metric)
    return {
        "label": label,
        "run_dir": str(run_dir),
        "reached": reached is not None,
        **(reached or {}),
        **{
            key: metrics[key]
            for key in ("compiled", "num_threads", "git_commit", "command", "time_per_epoch_s")
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
    atomic_write_json(args.out, {"metric": args.metric, "target": args.target, "runs": runs})
    for run in runs:
        when = f"{run['time_s']:.1f} s (epoch {run['epoch']})" if run["reached"] else "not reached"
        print(f"{run['label']}: {args.metric} <= {args.target} after {when}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
