"""Figures made from committed records: the N-body data-efficiency plot and learning curves.

``python -m egnn.reporting.plots`` writes ``results/nbody_data_efficiency/data_efficiency.png``;
``python -m egnn.reporting.plots --curve RUN/csv/metrics.csv --out FILE.png`` a learning curve.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

LABELS = {"egnn": "EGNN", "gnn": "GNN", "rf": "Radial Field"}


def data_efficiency_points(results_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """``{model: [(n_train, mean test MSE over seeds), ...]}`` sorted by n_train."""
    values: dict[tuple[str, int], list[float]] = defaultdict(list)
    for path in sorted((Path(results_dir) / "nbody_data_efficiency").glob("*.json")):
        record = json.loads(path.read_text())
        values[(record["model"], int(record["n_train"]))].append(record["test/mse"])
    points: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for (model, n), mses in sorted(values.items()):
        points[model].append((n, statistics.mean(mses)))
    return dict(points)


def plot_data_efficiency(results_dir: Path, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = data_efficiency_points(results_dir)
    if not points:
        raise SystemExit(f"error: no records under {Path(results_dir) / 'nbody_data_efficiency'}")
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for model, series in points.items():
        ns, mses = zip(*series, strict=True)
        ax.plot(ns, mses, marker="o", label=LABELS.get(model, model))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training trajectories")
    ax.set_ylabel("test MSE")
    ax.set_title("N-body: data efficiency")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def plot_learning_curve(
    csv_path: Path, out: Path, title: str, reference: float | None = None
) -> Path:
    """Training loss and validation metric per epoch from a run's ``csv/metrics.csv``."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with Path(csv_path).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    val_key = next(
        k for k in rows[0] if k.startswith("val/") and not k.endswith(("_best", "best_epoch"))
    )
    train = [(int(float(r["epoch"])), float(r["train/loss"])) for r in rows if r.get("train/loss")]
    val = [(int(float(r["epoch"])), float(r[val_key])) for r in rows if r.get(val_key)]
    fig, (ax_train, ax_val) = plt.subplots(1, 2, figsize=(8, 3.2))
    ax_train.plot(*zip(*train, strict=True), marker=".")
    ax_train.set(xlabel="epoch", ylabel="train/loss", yscale="log")
    ax_val.plot(*zip(*val, strict=True), marker=".", label="ours")
    if reference is not None:
        ax_val.axhline(reference, color="gray", linestyle="--", label="paper")
    ax_val.set(xlabel="epoch", ylabel=val_key, yscale="log")
    ax_val.legend()
    fig.suptitle(title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results-dir", type=Path, default=Path("results"))
    parser.add_argument(
        "--out", type=Path, default=Path("results/nbody_data_efficiency/data_efficiency.png")
    )
    parser.add_argument("--curve", type=Path, default=None, help="plot this metrics.csv instead")
    parser.add_argument("--title", default="learning curve")
    parser.add_argument(
        "--reference", type=float, default=None, help="paper value, drawn as a line"
    )
    args = parser.parse_args(argv)
    if args.curve is not None:
        print(f"wrote {plot_learning_curve(args.curve, args.out, args.title, args.reference)}")
        return
    print(f"wrote {plot_data_efficiency(args.results_dir, args.out)}")


if __name__ == "__main__":
    main()
