"""``egnn-record RUN [RUN ...]``: turn run folders into committed records.

Writes ``results/<experiment>/<name>.json`` (name from the job's Hydra overrides, see
:mod:`egnn.records.naming`); with ``--curve`` also the learning curve as ``<name>.csv``, and with
``--test-from EVAL`` the evaluation's test metrics and its prediction samples
(``samples/<name>.json``, what the report draws).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from egnn.records.io import read_metrics, seal_file, write_record
from egnn.records.naming import record_path
from egnn.records.schema import RecordError, make_record

SAMPLES_FILE = "samples.json"  # what egnn-eval writes beside its metrics.json (egnn.run.samples)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "run_dirs",
        nargs="+",
        type=Path,
        help="run folders holding metrics.json (record files with --seal)",
    )
    parser.add_argument("--results-dir", type=Path, default=Path("results"))
    parser.add_argument(
        "--name",
        default=None,
        help="record under this model name (e.g. dropout0.1 for a probe run)",
    )
    parser.add_argument(
        "--experiment",
        default=None,
        help="record under this experiment folder (e.g. nbody_plus_ideas for probe runs)",
    )
    parser.add_argument(
        "--test-from",
        type=Path,
        default=None,
        help="an egnn-eval output folder of this run's checkpoint whose test metrics replace the"
        " run's (one run folder only); its prediction samples are kept for the report",
    )
    parser.add_argument(
        "--curve", action="store_true", help="keep the run's learning curve (<name>.csv)"
    )
    parser.add_argument(
        "--replace", action="store_true", help="overwrite a record of another run of that name"
    )
    parser.add_argument(
        "--seal",
        action="store_true",
        help="add or renew the sha256 of the record files given (ones you trust), then exit",
    )
    args = parser.parse_args(argv)
    if args.seal:
        for path in args.run_dirs:
            try:
                seal_file(path)
            except RecordError as err:
                raise SystemExit(f"error: {err}") from None
            print(f"sealed {path}")
        return
    if args.test_from and len(args.run_dirs) != 1:
        raise SystemExit(f"error: --test-from takes one run folder, got {len(args.run_dirs)}")
    test_eval = read_metrics(args.test_from) if args.test_from else None
    for run_dir in args.run_dirs:
        metrics = read_metrics(run_dir)
        if test_eval is not None:
            best, tested = metrics.get("best_checkpoint"), test_eval.get("checkpoint")
            if not best or not tested or Path(tested).resolve() != Path(best).resolve():
                raise SystemExit(
                    f"error: {args.test_from} evaluated {tested!r}, not the best checkpoint of"
                    f" {run_dir} ({best!r}), whose training facts the record keeps"
                )
        record = make_record(metrics, args.name, test_eval)
        if args.experiment:
            record["experiment"] = args.experiment
        path = record_path(args.results_dir, record)
        try:
            write_record(path, record, replace=args.replace)
        except RecordError as err:
            raise SystemExit(f"error: {err}") from None
        print(f"wrote {path}")
        curve = run_dir / "csv" / "metrics.csv"
        if args.curve and curve.is_file():
            shutil.copyfile(curve, path.with_suffix(".csv"))
            print(f"wrote {path.with_suffix('.csv')}")
        samples = args.test_from / SAMPLES_FILE if args.test_from else None
        if samples is not None and samples.is_file():
            target = path.parent / "samples" / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(samples, target)
            print(f"wrote {target}")


if __name__ == "__main__":
    main()
