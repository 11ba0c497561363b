"""Summaries of multirun folders: python -m egnn.run.summary outputs/<task>/multirun_<time> ...
writes results/sweeps/<task>-multirun_<time>.md (one line per job: its overrides and returned
metrics; the Optuna sweeper's best parameters), which the report shows."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from egnn.atomic import atomic_write_text


def sweep_summary(sweep_dir: Path) -> str:
    """Markdown summary of a multirun folder: one line per job (overrides, returned metric) and the
    Optuna sweeper's best parameters when it wrote ``optimization_results.yaml``."""
    lines = [f"Sweep `{sweep_dir}`:", ""]
    for job in sorted(
        (p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()),
        key=lambda p: int(p.name),
    ):
        overrides = job / ".hydra" / "overrides.yaml"
        metrics_file = job / "metrics.json"
        if not overrides.exists() or not metrics_file.exists():
            lines.append(f"- job {job.name}: no metrics.json (not finished)")
            continue
        chosen = [
            o
            for o in yaml.safe_load(overrides.read_text()) or []
            if not o.startswith(
                ("experiment=", "trainer.", "task_name=", "hparams_search=", "hydra.")
            )
        ]
        metrics = json.loads(metrics_file.read_text())
        values = {
            k: v
            for k, v in metrics.items()
            if k.startswith(("val/", "test/")) and isinstance(v, float)
        }
        shown = ", ".join(
            f"{k} {v:.4g}" for k, v in sorted(values.items()) if not k.endswith("best_epoch")
        )
        lines.append(f"- job {job.name} ({' '.join(chosen)}): {shown}")
    best = sweep_dir / "optimization_results.yaml"
    if best.exists():
        result = yaml.safe_load(best.read_text())  # data, never resolved
        params = ", ".join(f"{k}={v}" for k, v in result["best_params"].items())
        lines += ["", f"Optuna's best: {params} (value {float(result['best_value']):.4g})"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sweep_dirs", nargs="+", type=Path, help="multirun folders")
    parser.add_argument("--out", type=Path, default=Path("results/sweeps"))
    args = parser.parse_args(argv)
    for sweep_dir in args.sweep_dirs:
        path = args.out / f"{sweep_dir.parent.name}-{sweep_dir.name}.md"
        atomic_write_text(path, sweep_summary(sweep_dir).rstrip("\n") + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
