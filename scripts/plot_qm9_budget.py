"""Validation MAE against training steps and against minutes of QM9 runs that spend one budget
in different ways (e.g. 10,000 molecules for 12 epochs against 40,000 molecules for 3), or that
compute one function at different costs (``--time wall``: our model and the release's formulation
trained side by side for the same wall-clock minutes).

    python scripts/plot_qm9_budget.py outputs/homo_budget/b_n40000_e3 outputs/homo_budget/c_n20000_e6 \
        --curve "10,000 molecules x 12 epochs=results/qm9_cpu/egnn-homo-seed0.csv" \
        --out report/notes/qm9_budget_homo.png

Reads each run folder's ``csv/metrics.csv`` (``val/mae``, ``step``, ``time/cpu_s``,
``time/train_s``) and ``config_resolved.yaml`` (training molecules, epochs); ``--curve
LABEL=CSV`` adds a learning curve without times (a record's CSV: steps only). A step costs the
same in every run (96 molecules), so the steps panel compares the runs whatever else ran on the
machine; the CPU panel adds the validations' cost. Prints a Markdown table of every validation.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from omegaconf import OmegaConf

from egnn.reporting.plots import pyplot, save_figure


def curve(csv_path: Path) -> list[dict]:
    """One row per validation: ``step``, ``epoch``, ``mae``, and ``cpu_min``, ``wall_min`` (None
    when the CSV has no times)."""
    rows = []
    with open(csv_path, newline="") as handle:
        for row in csv.DictReader(handle):
            if not row.get("val/mae"):
                continue
            cpu, wall = row.get("time/cpu_s"), row.get("time/train_s")
            rows.append(
                {
                    "step": int(row["step"]),
                    "epoch": int(row["epoch"]),
                    "cpu_min": float(cpu) / 60 if cpu else None,
                    "wall_min": float(wall) / 60 if wall else None,
                    "mae": float(row["val/mae"]),
                }
            )
    return rows


MODEL_LABELS = {"egnn": "ours", "egnn_release": "release's formulation"}


def label(run_dir: Path) -> str:
    """``"10,000 molecules x 12 epochs"`` from the run's resolved config, preceded by the model
    (``"release's formulation, ..."``) when it is not ours."""
    config = OmegaConf.load(run_dir / "config_resolved.yaml")
    n_train = config.data.n_train or 100_000
    budget = f"{n_train:,} molecules x {config.trainer.max_epochs} epochs"
    name = OmegaConf.select(config, "model.net.name", default="egnn")
    return budget if name == "egnn" else f"{MODEL_LABELS.get(name, name)}, {budget}"


def model_label(run_dir: Path) -> str:
    """``"ours"`` or ``"release's formulation"``: the run's model, for runs of one schedule."""
    config = OmegaConf.load(run_dir / "config_resolved.yaml")
    name = OmegaConf.select(config, "model.net.name", default="egnn")
    return MODEL_LABELS.get(name, name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dirs", nargs="*", type=Path, help="run folders")
    parser.add_argument(
        "--curve", action="append", default=[], help="LABEL=CSV: a learning curve without times"
    )
    parser.add_argument("--out", type=Path, required=True, help="PNG file")
    parser.add_argument("--unit", default="meV", help="the target's unit (axis label)")
    parser.add_argument(
        "--time",
        choices=("cpu", "wall"),
        default="cpu",
        help="second panel: CPU minutes of each process, or wall-clock minutes (runs side by side)",
    )
    parser.add_argument(
        "--until",
        type=float,
        default=None,
        help="leave out validations after this many wall-clock minutes (the equal-time budget)",
    )
    args = parser.parse_args(argv)
    plt = pyplot()
    # Runs of one schedule that differ by model (--time wall) are named by their model.
    name_of = model_label if args.time == "wall" else label
    curves = [(name_of(d), d / "csv" / "metrics.csv") for d in args.run_dirs]
    for item in args.curve:
        name, sep, path = item.rpartition("=")
        if not sep or not name:
            raise SystemExit(f"error: --curve takes LABEL=CSV, got {item!r}")
        curves.append((name, Path(path)))
    minutes = f"{args.time}_min"
    fig, (ax_steps, ax_time) = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for k, (name, csv_path) in enumerate(curves):
        rows, color = curve(csv_path), f"C{k}"
        if args.until is not None:
            rows = [r for r in rows if r["wall_min"] is None or r["wall_min"] <= args.until]
        ax_steps.plot([r["step"] for r in rows], [r["mae"] for r in rows], "o-", ms=3, c=color)
        timed = [r for r in rows if r[minutes] is not None]
        ax_time.plot([r[minutes] for r in timed], [r["mae"] for r in timed], "o-", ms=3, c=color)
        ax_steps.plot([], [], "o-", ms=3, c=color, label=name)
        print(f"\n{name} ({csv_path})\n")
        print("| step | epoch | CPU min | wall min | val MAE |")
        print("|---:|---:|---:|---:|---:|")
        for r in rows:
            cpu, wall = (
                "-" if r[key] is None else f"{r[key]:.1f}" for key in ("cpu_min", "wall_min")
            )
            print(f"| {r['step']} | {r['epoch']} | {cpu} | {wall} | {r['mae']:.1f} |")
    ax_steps.set_xlabel("training steps (96 molecules each)")
    ax_time.set_xlabel(
        "CPU minutes of the training process (one thread)"
        if args.time == "cpu"
        else "wall-clock minutes of training (validation included)"
    )
    ax_steps.set_ylabel(f"validation MAE ({args.unit})")
    ax_steps.set_yscale("log")
    ax_steps.legend(fontsize=8)
    for ax in (ax_steps, ax_time):
        ax.grid(alpha=0.3, which="both")
    print(f"\nwrote {save_figure(fig, args.out)}")


if __name__ == "__main__":
    main()
