"""Figures made from committed records: the sweeps (N-body data efficiency, autoencoder sparsity
and embedding size), learning curves, and the prediction samples of evaluations (N-body
trajectories, adjacency reconstructions). Needs the ``report`` extra (matplotlib).

``python -m egnn.reporting.plots --out-dir DIR`` writes ``DIR/data_efficiency.png``,
``DIR/sparsity.png`` and ``DIR/embedding.png`` (each when its records exist);
``python -m egnn.reporting.plots --curve RUN/csv/metrics.csv --out FILE.png`` a learning curve.

Every axis is labelled with its unit (N-body lengths are the simulation's own unit), epoch axes
have integer ticks, and legends sit outside the axes.
"""

from __future__ import annotations

import argparse
import csv
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from egnn.extras import require_extra
from egnn.records import BCE_INPUT_BEFORE_OPTION, read_json_record
from egnn.reporting import paper

#: Training trajectories of the paper's N-body table (Table 2), where its figures come from.
PAPER_N_TRAIN = 3000

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
        record = read_json_record(path)
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
# counts as trained on BCE_INPUT_BEFORE_OPTION).
SWEEP_BUDGET = ("epochs", "batch_size", "train_bce_input")
SWEEP_MISSING = {"train_bce_input": BCE_INPUT_BEFORE_OPTION}

# Axis labels of logged metrics, with units.
METRIC_LABELS = {
    "val/mse": "validation MSE (length unit²)",
    "val/bce": "validation BCE (nats per graph)",
    "val/error": "validation %Error (% of entries)",
    "val/f1": "validation F1 (0 to 1)",
    "val/mae": "validation MAE (the target's unit)",
}
# The training loss of each task, named by the task's validation metric.
TRAIN_LOSS_LABELS = {
    "val/mse": "training MSE (length unit²)",
    "val/bce": "training BCE (nats per graph)",
    "val/mae": "training L1 (normalised target)",
}


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend."""
    require_extra("report", "plotting")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, out: Path, dpi: int = 120, rect: tuple | None = None) -> Path:
    """Lay out (within ``rect`` of the figure, default all of it), write ``out`` (creating its
    folder) and close ``fig``; returns ``out``."""
    fig.tight_layout(rect=rect)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi, bbox_inches="tight")  # legends outside the axes included
    pyplot().close(fig)
    return out


def plot_data_efficiency(results_dir: Path, out: Path) -> Path:
    plt = pyplot()
    points = data_efficiency_points(results_dir)
    if not points:
        raise SystemExit(f"error: no records under {Path(results_dir) / 'nbody_data_efficiency'}")
    fig, ax = plt.subplots(figsize=(8, 3.8))
    for model, series in points.items():
        ns, mses = zip(*series, strict=True)
        (line,) = ax.plot(ns, mses, marker="o", label=LABELS.get(model, model))
        if model in paper.NBODY:  # the paper's Table 2: the one size it gives numbers for
            label = f"{LABELS.get(model, model)}, paper (Table 2)"
            reported = paper.NBODY[model]["test/mse"]
            ax.plot(
                [PAPER_N_TRAIN],
                [reported],
                marker="*",
                markersize=11,
                linestyle="none",
                color=line.get_color(),
                markeredgecolor="black",
                label=label,
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training trajectories (count)")
    ax.set_ylabel("test MSE (length unit²)")
    ax.set_title("N-body: data efficiency")
    ax.grid(True, which="both", alpha=0.3)
    outside_legend(ax, fontsize=8)
    return save_figure(fig, out)


def outside_legend(ax, fontsize: float | None = None) -> None:
    """The axes' legend to the right of the axes, where it covers no data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=fontsize)


def integer_ticks(axis, nbins: int | str = "auto") -> None:
    """Only whole numbers as ticks (epochs, steps), at most ``nbins`` intervals."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins=nbins, integer=True))


def plot_autoencoder_sweeps(results_dir: Path, out_dir: Path) -> list[Path]:
    """%Error against sparsity p (``ae_sparsity``) and %Error / F1 against the embedding size
    (``ae_embedding``), from whatever records exist, as ``out_dir/sparsity.png`` and
    ``out_dir/embedding.png``; returns the figures written."""
    plt = pyplot()
    written = []
    sparsity = sweep_points(
        results_dir, "ae_sparsity", "p", "test/error", ("model", *SWEEP_BUDGET), SWEEP_MISSING
    )
    if sparsity:
        fig, ax = plt.subplots(figsize=(8, 3.8))
        for (model, *spent), series in sparsity.items():
            ax.plot(*zip(*series, strict=True), marker="o", label=sweep_label((model,), spent))
        ax.set_xlabel("edge probability p (fraction of node pairs)")
        ax.set_ylabel("%Error (% of entries, overfit set)")
        ax.set_title("Erdos-Renyi overfit set: %Error against sparsity")
        ax.grid(True, alpha=0.3)
        outside_legend(ax, fontsize=7)
        written.append(save_figure(fig, Path(out_dir) / "sparsity.png"))
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
            ax.set_xlabel("embedding size (dimensions)")
            ax.set_ylabel(
                {"test/error": "test %Error (% of entries)", "test/f1": "test F1 (0 to 1)"}[metric]
            )
            ax.grid(True, alpha=0.3)
        # One legend under both panels: inside a panel it would hide points.
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=7, frameon=False)
        legend_height = 0.2 * ((len(labels) + 1) // 2)  # inches, one line per two entries
        fig.set_figheight(3.6 + legend_height)
        bottom = legend_height / fig.get_figheight()
        out = Path(out_dir) / "embedding.png"
        written.append(save_figure(fig, out, rect=(0, bottom, 1, 1)))
    return written


@dataclass(frozen=True)
class LearningCurve:
    """The curves of one run's ``metrics.csv``: ``train`` and ``val`` are ``(x, value)`` points,
    x the epoch, or the step when a run validates several times an epoch (``x_key``)."""

    x_key: str
    val_key: str | None
    train: list[tuple[int, float]]
    val: list[tuple[int, float]]


def read_learning_curve(csv_path: Path) -> LearningCurve:
    """Training loss and validation metric (the first ``val/`` column that is not a best-so-far
    one) of a run's ``csv/metrics.csv`` or a record's ``<name>.csv``."""
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
    val_rows = [r for r in rows if val_key and r.get(val_key)]
    # Several validations per epoch (trainer.val_check_interval < 1): place points by step.
    epochs = [int(float(r["epoch"])) for r in val_rows]
    x_key = (
        "step" if len(set(epochs)) < len(epochs) and all(r.get("step") for r in rows) else "epoch"
    )
    train = [(int(float(r[x_key])), float(r["train/loss"])) for r in rows if r.get("train/loss")]
    val = [(int(float(r[x_key])), float(r[val_key])) for r in val_rows]
    return LearningCurve(x_key, val_key, train, val)


def plot_learning_curve(
    csv_path: Path, out: Path, title: str, reference: float | None = None
) -> Path:
    """Training loss and validation metric per epoch (or step) from a run's ``csv/metrics.csv``."""
    plt = pyplot()
    curve = read_learning_curve(csv_path)
    x_key, val_key, train, val = curve.x_key, curve.val_key, curve.train, curve.val
    x_label = "training step" if x_key == "step" else "epoch"
    fig, (ax_train, ax_val) = plt.subplots(1, 2, figsize=(8, 3.2))
    if train:
        ax_train.plot(*zip(*train, strict=True), marker=".")
    train_label = TRAIN_LOSS_LABELS.get(val_key, "training loss (the task's loss unit)")
    ax_train.set(xlabel=x_label, ylabel=train_label, yscale="log")
    if val:
        ax_val.plot(*zip(*val, strict=True), marker=".", label="ours")
    else:
        ax_val.text(
            0.5, 0.5, "no validation rows in this file", ha="center", transform=ax_val.transAxes
        )
    if reference is not None:
        ax_val.axhline(reference, color="gray", linestyle="--", label="paper")
    ax_val.set(xlabel=x_label, ylabel=METRIC_LABELS.get(val_key, val_key or "validation"))
    ax_val.set_yscale("log")
    for ax in (ax_train, ax_val):
        integer_ticks(ax.xaxis, nbins=4 if x_key == "step" else "auto")
    if val or reference is not None:
        outside_legend(ax_val)
    fig.suptitle(title)
    return save_figure(fig, out, dpi=110)


def plot_trajectories(samples: dict, out: Path, title: str) -> Path:
    """x-y projection of an evaluation's N-body samples: each particle's true path from the input
    frame to the target frame, and the model's predicted final position.

    ``samples``: ``{"truth": [S, T, N, 3] positions of frames frame_in..frame_out,
    "predicted": [S, N, 3], "frame_in", "frame_out", "model"}``.
    """
    plt = pyplot()
    truth, predicted = samples["truth"], samples["predicted"]
    n_systems = len(truth)
    fig, axes = plt.subplots(1, n_systems, figsize=(3.6 * n_systems + 1.6, 3.8), squeeze=False)
    for s, ax in enumerate(axes[0]):
        for i in range(len(truth[s][0])):
            path = [frame[i] for frame in truth[s]]
            color = f"C{i}"
            first = s == 0 and i == 0
            ax.plot(
                [p[0] for p in path],
                [p[1] for p in path],
                color=color,
                alpha=0.5,
                label="true path" if first else None,
            )
            ax.scatter(
                *path[0][:2],
                color=color,
                marker="o",
                s=25,
                label=f"input (frame {samples['frame_in']})" if first else None,
            )
            ax.scatter(
                *path[-1][:2],
                color=color,
                marker="*",
                s=90,
                label=f"truth (frame {samples['frame_out']})" if first else None,
            )
            ax.scatter(
                *predicted[s][i][:2],
                color=color,
                marker="x",
                s=45,
                label=f"predicted ({samples.get('model', 'model')})" if first else None,
            )
        ax.set_title(f"test system {s}")
        ax.set(xlabel="x (length unit)", ylabel="y (length unit)")
        ax.set_aspect("equal", adjustable="datalim")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
    fig.suptitle(title)
    return save_figure(fig, out, rect=(0, 0.08, 1, 1))


def plot_adjacency(samples: dict, out: Path, title: str) -> Path:
    """An evaluation's graph-autoencoder samples: each test graph's adjacency matrix above the
    predicted edge probabilities.

    ``samples``: ``{"graphs": [{"adjacency": [n, n] 0/1, "probabilities": [n, n]}, ...]}``.
    """
    plt = pyplot()
    graphs = samples["graphs"]
    fig, axes = plt.subplots(2, len(graphs), figsize=(3 * len(graphs) + 1, 6), squeeze=False)
    image = None
    for g, graph in enumerate(graphs):
        adjacency, probs = graph["adjacency"], graph["probabilities"]
        n = len(adjacency)
        wrong = sum(
            (probs[i][j] > 0.5) != bool(adjacency[i][j]) for i in range(n) for j in range(n)
        )
        axes[0][g].imshow(adjacency, cmap="Greys", vmin=0, vmax=1)
        axes[0][g].set_title(f"test graph {g} ({n} nodes)")
        image = axes[1][g].imshow(probs, cmap="Greys", vmin=0, vmax=1)
        axes[1][g].set_title(f"predicted ({wrong} wrong entries)")
        for ax in axes[:, g]:
            ax.set(xlabel="node j (index)", ylabel="node i (index)")
            integer_ticks(ax.xaxis)
            integer_ticks(ax.yaxis)
    fig.colorbar(image, ax=axes[1].tolist(), label="edge probability (0 to 1)", shrink=0.8)
    fig.suptitle(title)
    fig.set_layout_engine("constrained")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results-dir", type=Path, default=Path("results"))
    parser.add_argument("--out-dir", type=Path, default=Path("outputs/figures"))
    parser.add_argument("--out", type=Path, default=None, help="file of the --curve figure")
    parser.add_argument("--curve", type=Path, default=None, help="plot this metrics.csv instead")
    parser.add_argument("--title", default="learning curve")
    parser.add_argument(
        "--reference", type=float, default=None, help="paper value, drawn as a line"
    )
    args = parser.parse_args(argv)
    if args.curve is not None:
        out = args.out or args.out_dir / "curve.png"
        print(f"wrote {plot_learning_curve(args.curve, out, args.title, args.reference)}")
        return
    if data_efficiency_points(args.results_dir):
        out = args.out_dir / "data_efficiency.png"
        print(f"wrote {plot_data_efficiency(args.results_dir, out)}")
    for path in plot_autoencoder_sweeps(args.results_dir, args.out_dir):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
