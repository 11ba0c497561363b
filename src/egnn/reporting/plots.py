"""Figures made from committed records: the sweeps (N-body data efficiency, autoencoder sparsity
and embedding size) and learning curves.

``python -m egnn.reporting.plots`` writes ``results/nbody_data_efficiency/data_efficiency.png`` and
the autoencoder sweeps' ``results/ae_sparsity/sparsity.png`` and ``results/ae_embedding/embedding.png``
(each when its records exist);
``python -m egnn.reporting.plots --curve RUN/csv/metrics.csv --out FILE.png`` a learning curve.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

from egnn.reporting.records import DEFAULT_BCE_INPUT

LABELS = {
    "egnn": "EGNN",
    "gnn": "GNN",
    "rf": "Radial Field",
    "noise_gnn": "Noise-GNN",
    "community_small": "Community Small",
    "erdos_renyi": "Erdos-Renyi",
}


def sweep_points(
    results_dir: Path,
    experiment: str,
    x_key: str,
    y_key: str,
    group: tuple[str, ...] = ("model",),
    missing: dict | None = None,
) -> dict[tuple, list[tuple[float, float]]]:
    """``{group values: [(x, mean y over seeds), ...]}`` from ``results/<experiment>/*.json``;
    ``missing`` gives the value of a group key that a record lacks (default None)."""
    missing = missing or {}
    values: dict[tuple, list[float]] = defaultdict(list)
    for path in sorted((Path(results_dir) / experiment).glob("*.json")):
        record = json.loads(path.read_text())
        if y_key in record and record.get(x_key) is not None:
            key = (*(record.get(g, missing.get(g)) for g in group), float(record[x_key]))
            values[key].append(record[y_key])
    points: dict[tuple, list[tuple[float, float]]] = defaultdict(list)

    def order(item):  # None (a field a record lacks) sorts after any value
        return tuple((v is None, v if v is not None else 0) for v in item[0])

    for (*groups, x), ys in sorted(values.items(), key=order):
        points[tuple(groups)].append((x, statistics.mean(ys)))
    return dict(points)


def data_efficiency_points(results_dir: Path) -> dict[str, list[tuple[float, float]]]:
    """``{model: [(n_train, mean test MSE over seeds), ...]}`` sorted by n_train."""
    points = sweep_points(results_dir, "nbody_data_efficiency", "n_train", "test/mse")
    return {model: series for (model,), series in points.items()}


def budget_label(epochs: int | None, batch_size: int | None, bce_input: str | None = None) -> str:
    """``"200 epochs, 1 graph/step, BCE of logits"``: what a sweep's run spent and trained on, for
    its legend entry (parts a record does not state are left out)."""
    parts = [] if epochs is None else [f"{epochs} epochs"]
    if batch_size is not None:
        parts.append(f"{batch_size} {'graph' if batch_size == 1 else 'graphs'}/step")
    if bce_input is not None:
        parts.append(f"BCE of {bce_input}")
    return ", ".join(parts) or "budget not recorded"


def sweep_label(names: tuple, spent: tuple) -> str:
    """``"EGNN, Erdos-Renyi (10 epochs, 1 graph/step, BCE of probabilities)"``: a sweep's line
    (or table row) named by its group values (model, dataset) and its budget (:func:`budget_label`)."""
    return ", ".join(LABELS.get(name, str(name)) for name in names) + f" ({budget_label(*spent)})"


# Runs of different budgets or losses are separate lines (a record older than the loss option
# counts as trained on DEFAULT_BCE_INPUT).
SWEEP_BUDGET = ("epochs", "batch_size", "train_bce_input")
SWEEP_MISSING = {"train_bce_input": DEFAULT_BCE_INPUT}


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, out: Path, dpi: int = 120, rect: tuple | None = None) -> Path:
    """Lay out (within ``rect`` of the figure, default all of it), write ``out`` (creating its
    folder) and close ``fig``; returns ``out``."""
    fig.tight_layout(rect=rect)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    pyplot().close(fig)
    return out


def plot_data_efficiency(results_dir: Path, out: Path) -> Path:
    plt = pyplot()
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
    return save_figure(fig, out)


def plot_autoencoder_sweeps(results_dir: Path) -> list[Path]:
    """%Error against sparsity p (``ae_sparsity``) and %Error / F1 against the embedding size
    (``ae_embedding``), from whatever records exist; returns the figures written."""
    plt = pyplot()
    written = []
    sparsity = sweep_points(
        results_dir, "ae_sparsity", "p", "test/error", ("model", *SWEEP_BUDGET), SWEEP_MISSING
    )
    if sparsity:
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
        for (model, *spent), series in sparsity.items():
            ax.plot(*zip(*series, strict=True), marker="o", label=sweep_label((model,), spent))
        ax.set_xlabel("edge probability p")
        ax.set_ylabel("%Error (overfit set)")
        ax.set_title("Erdos-Renyi overfit set: %Error against sparsity")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
        written.append(save_figure(fig, Path(results_dir) / "ae_sparsity" / "sparsity.png"))
    group = ("model", "dataset", *SWEEP_BUDGET)
    embedding = {
        metric: sweep_points(
            results_dir, "ae_embedding", "embedding_nf", metric, group, SWEEP_MISSING
        )
        for metric in ("test/error", "test/f1")
    }
    if embedding["test/error"]:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
        for ax, (metric, points) in zip(axes, embedding.items(), strict=True):
            for (model, dataset, *spent), series in points.items():
                label = sweep_label((model, dataset), spent)
                ax.plot(*zip(*series, strict=True), marker="o", label=label)
            ax.set_xscale("log", base=2)
            ax.set_xlabel("embedding size")
            ax.set_ylabel({"test/error": "test %Error", "test/f1": "test F1"}[metric])
            ax.grid(True, alpha=0.3)
        # One legend under both panels: inside a panel it would hide points.
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=7, frameon=False)
        legend_height = 0.2 * ((len(labels) + 1) // 2)  # inches, one line per two entries
        fig.set_figheight(3.6 + legend_height)
        bottom = legend_height / fig.get_figheight()
        out = Path(results_dir) / "ae_embedding" / "embedding.png"
        written.append(save_figure(fig, out, rect=(0, bottom, 1, 1)))
    return written


def plot_learning_curve(
    csv_path: Path, out: Path, title: str, reference: float | None = None
) -> Path:
    """Training loss and validation metric per epoch from a run's ``csv/metrics.csv``."""
    import csv

    plt = pyplot()
    with Path(csv_path).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    val_key = next(
        (
            k
            for k in (rows[0] if rows else {})
            if k.startswith("val/") and not k.endswith(("_best", "best_epoch"))
        ),
        None,
    )
    train = [(int(float(r["epoch"])), float(r["train/loss"])) for r in rows if r.get("train/loss")]
    val = [(int(float(r["epoch"])), float(r[val_key])) for r in rows if val_key and r.get(val_key)]
    fig, (ax_train, ax_val) = plt.subplots(1, 2, figsize=(8, 3.2))
    if train:
        ax_train.plot(*zip(*train, strict=True), marker=".")
    ax_train.set(xlabel="epoch", ylabel="train/loss", yscale="log")
    if val:
        ax_val.plot(*zip(*val, strict=True), marker=".", label="ours")
    else:
        ax_val.text(
            0.5, 0.5, "no validation rows in this file", ha="center", transform=ax_val.transAxes
        )
    if reference is not None:
        ax_val.axhline(reference, color="gray", linestyle="--", label="paper")
    ax_val.set(xlabel="epoch", ylabel=val_key or "validation", yscale="log")
    if val or reference is not None:
        ax_val.legend()
    fig.suptitle(title)
    return save_figure(fig, out, dpi=110)


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
    if data_efficiency_points(args.results_dir):
        print(f"wrote {plot_data_efficiency(args.results_dir, args.out)}")
    for path in plot_autoencoder_sweeps(args.results_dir):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
