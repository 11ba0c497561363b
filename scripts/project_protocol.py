"""Projected wall time of a full training protocol from a short run of it.

    python scripts/project_protocol.py outputs/gpu_check/runs/qm9/<run> --epochs 1000

Reads the run's learning curve (``csv/metrics.csv``: ``time/train_s``, the wall time at the end of
every validation, logged by ``egnn.run.callbacks.WallClock``), takes the median time between
consecutive end-of-epoch validations (one epoch's training plus its validation; the first epoch,
which also holds the sanity check and warm-up, is left out when later ones exist) and multiplies
it by ``--epochs``. Prints one line and writes ``projection.json`` into the run folder (or
``--out``).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from pathlib import Path

TIME_KEY = "time/train_s"


def epoch_end_times(csv_path: Path) -> list[tuple[int, float]]:
    """``(epoch, wall seconds since fit start)`` at each epoch's last validation, in order."""
    ends: dict[int, float] = {}
    with open(csv_path, newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get(TIME_KEY):
                ends[int(row["epoch"])] = float(row[TIME_KEY])  # the epoch's last validation wins
    return sorted(ends.items())


def epoch_seconds(ends: list[tuple[int, float]]) -> list[float]:
    """Seconds per epoch between consecutive epoch ends (a gap of k epochs counts as k); the
    first epoch's own time when it is the only one."""
    if not ends:
        raise ValueError(f"no {TIME_KEY!r} values: the run validated no epoch")
    if len(ends) == 1:
        epoch, seconds = ends[0]
        return [seconds / (epoch + 1)]
    return [(t1 - t0) / (e1 - e0) for (e0, t0), (e1, t1) in zip(ends[:-1], ends[1:], strict=True)]


def project(run_dir: Path, epochs: int) -> dict:
    """The projection of ``run_dir``'s protocol to ``epochs`` epochs."""
    ends = epoch_end_times(run_dir / "csv" / "metrics.csv")
    per_epoch = epoch_seconds(ends)
    median = statistics.median(per_epoch)
    metrics_file = run_dir / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
    return {
        "run_dir": str(run_dir),
        "epochs_measured": len(ends),
        "epoch_s_median": median,
        "epoch_s": per_epoch,
        "first_epoch_included": len(ends) == 1,
        "projected_epochs": epochs,
        "projected_s": median * epochs,
        "projected_h": median * epochs / 3600,
        "n_train": metrics.get("n_train"),
        "batch_size": metrics.get("batch_size"),
        "machine": metrics.get("machine"),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dir", type=Path, help="a run folder with csv/metrics.csv")
    parser.add_argument("--epochs", type=int, default=1000, help="epochs of the full protocol")
    parser.add_argument("--out", type=Path, default=None, help="default: <run_dir>/projection.json")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        raise SystemExit(f"error: --epochs must be >= 1, got {args.epochs}")
    csv_path = args.run_dir / "csv" / "metrics.csv"
    if not csv_path.is_file():
        raise SystemExit(f"error: {csv_path} does not exist (did the run start training?)")
    try:
        result = project(args.run_dir, args.epochs)
    except ValueError as err:
        raise SystemExit(f"error: {csv_path}: {err}") from None
    out = args.out or args.run_dir / "projection.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(
        f"projected {args.epochs}-epoch protocol: {result['projected_h']:.2f} h "
        f"({result['epoch_s_median']:.1f} s per epoch, median of {len(result['epoch_s'])}"
        f"{' (first epoch only)' if result['first_epoch_included'] else ''}; "
        f"{result['n_train']} training molecules, batch {result['batch_size']})"
    )
    return result


if __name__ == "__main__":
    main()
