"""The paper-vs-ours report: one page with the paper's three tables beside our numbers, and the
figures, generated from the committed records in ``results/`` and, optionally, run folders.

``python scripts/report.py`` (or ``egnn-report``) writes ``report/``:

- ``README.md``: every table (paper beside ours, mean ± std over seeds) and every figure;
- ``tables/{nbody,autoencoder,qm9}.{md,csv}``;
- ``figures/``: the sweeps (N-body data efficiency, autoencoder sparsity and embedding size),
  learning curves (the ``csv/metrics.csv`` files committed under ``results/`` and those of the runs
  given with ``--runs``), N-body trajectories (input, truth and each
  model's prediction) for the shipped EGNN and every N-body run given, and adjacency
  reconstructions of every graph-autoencoder run given;
- ``sweeps/*.md``: the summary of each multirun folder given with ``--sweeps``.

Run and sweep folders live under ``outputs/`` on the machine that ran them; ``--keep-earlier``
keeps what an earlier report made from folders not given now.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import re
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf

from egnn.atomic import atomic_write_text
from egnn.reporting import plots, tables

log = logging.getLogger(__name__)

# The shipped N-body EGNN (repository root/pretrained, beside configs/).
PRETRAINED_NBODY = Path(__file__).resolve().parents[3] / "pretrained" / "nbody_egnn.ckpt"
PRETRAINED_LABEL = "EGNN (pretrained)"
TRAJECTORIES_FIGURE = "nbody_trajectories.png"
RUN_FIGURE_TITLES = {"curve": "learning curve", "adjacency": "adjacency reconstructions"}
# A run folder's figure ends with the folder's name, the run's start time.
RUN_FIGURE_NAME = re.compile(r"^(curve|adjacency)-.+-\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}\.png$")


def markdown_table_to_csv(markdown: str) -> str:
    """The first pipe table of ``markdown`` as CSV text (header and rows, separator dropped)."""
    rows = []
    for line in markdown.splitlines():
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not all(set(cell) <= set("-: ") for cell in cells):
            rows.append(cells)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _run_info(run_dir: Path) -> tuple[dict, Path | None]:
    """(resolved config as a dict, best checkpoint or None) of a run folder."""
    config = OmegaConf.to_container(OmegaConf.load(run_dir / "config_resolved.yaml"))
    metrics_file = run_dir / "metrics.json"
    best = (
        json.loads(metrics_file.read_text()).get("best_checkpoint")
        if metrics_file.exists()
        else None
    )
    if not best or not Path(best).exists():
        candidates = sorted((run_dir / "checkpoints").glob("epoch_*.ckpt"))
        best = str(candidates[-1]) if candidates else None
    return config, Path(best) if best else None


def _load_task(ckpt: Path, target: str):
    from egnn.evaluate import load_task

    return load_task(ckpt, OmegaConf.create({"_target_": target})).eval()


def plot_nbody_trajectories(
    checkpoints: dict[str, Path],
    data_dir: Path,
    out: Path,
    n_systems: int = 3,
    dataset: str = "small",
) -> Path:
    """x-y projection of a few test systems: the true path from the input frame (30) to the target
    frame (40), and each model's predicted final positions."""
    from egnn.data.nbody.datamodule import collate_systems
    from egnn.data.nbody.dataset import ensure_dataset, load_split

    ensure_dataset(data_dir, dataset)
    test = load_split(data_dir, dataset, "test")
    pos, vel, charges = (
        torch.from_numpy(test[k][:n_systems]).float() for k in ("pos", "vel", "charges")
    )
    samples = [(pos[s, 30], vel[s, 30], charges[s, :, None], pos[s, 40]) for s in range(n_systems)]
    batch = collate_systems(samples)
    predictions = {}
    with torch.no_grad():
        for name, ckpt in checkpoints.items():
            task = _load_task(ckpt, "egnn.tasks.nbody.NBodyTask")
            predictions[name] = task(batch).reshape(n_systems, -1, 3).numpy()
    plt = plots.pyplot()
    fig, axes = plt.subplots(1, n_systems, figsize=(4 * n_systems, 4))
    markers = "xP^sDv"
    for s, ax in enumerate(np.atleast_1d(axes)):
        path = test["pos"][s, 30:41]  # [11, 5, 3]
        for i in range(path.shape[1]):
            color = f"C{i}"
            ax.plot(path[:, i, 0], path[:, i, 1], color=color, alpha=0.5)
            ax.scatter(*path[0, i, :2], color=color, marker="o", s=25)
            ax.scatter(*path[-1, i, :2], color=color, marker="*", s=90)
            for k, (name, pred) in enumerate(predictions.items()):
                label = name if (i == 0 and s == 0) else None
                ax.scatter(
                    *pred[s, i, :2],
                    color=color,
                    marker=markers[k % len(markers)],
                    s=45,
                    label=label,
                )
        ax.set_title(f"test system {s}: o input, * truth")
        ax.set_aspect("equal", adjustable="datalim")
    fig.legend(loc="lower center", ncol=len(predictions))
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return plots.save_figure(fig, out)


def plot_adjacency_reconstructions(
    run_dir: Path, data_dir: Path, out: Path, n_graphs: int = 3
) -> Path:
    """Test graphs' adjacency beside the predicted edge probabilities of an autoencoder run."""
    from egnn.data import keys as K
    from egnn.data.graphs.datamodule import AdjacencyDataset, collate_graphs
    from egnn.data.graphs.dataset import load_split

    config, ckpt = _run_info(run_dir)
    if ckpt is None:
        raise FileNotFoundError(f"{run_dir} has no checkpoint")
    data = config["data"]
    graphs = load_split(data_dir, data["dataset"], "test", data.get("p"))[:n_graphs]
    task = _load_task(ckpt, config["model"]["_target_"])
    plt = plots.pyplot()
    fig, axes = plt.subplots(2, n_graphs, figsize=(3 * n_graphs, 6))
    torch.manual_seed(0)
    for g, adjacency in enumerate(graphs):
        batch = collate_graphs(list(AdjacencyDataset([adjacency])))
        with torch.no_grad():
            probs = torch.sigmoid(task(batch))
        n = len(adjacency)
        predicted = np.zeros((n, n))
        row, col = batch[K.EDGE_INDEX].numpy()
        predicted[row, col] = probs.numpy()
        axes[0, g].imshow(adjacency, cmap="Greys", vmin=0, vmax=1)
        axes[0, g].set_title(f"test graph {g} ({n} nodes)")
        axes[1, g].imshow(predicted, cmap="Greys", vmin=0, vmax=1)
        wrong = int(((predicted > 0.5) != adjacency.astype(bool)).sum())
        axes[1, g].set_title(f"predicted ({wrong} wrong entries)")
        for ax in axes[:, g]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(f"{config['task_name']}: {config['model']['net']['name']} ({run_dir.name})")
    return plots.save_figure(fig, out)


# Experiments with a table of their own above; every other results/<experiment>/ is listed generically.
TABLED = {
    "nbody",
    "nbody_plus",
    "nbody_plus_ideas",
    "ae_community",
    "ae_erdos_renyi",
    "qm9",
    "qm9_cpu",
    "nbody_data_efficiency",
    "ae_sparsity",
    "ae_embedding",
    "benchmark",
}


def other_records_table(results_dir: Path) -> str:
    """Mean ± std of every ``test/*`` metric per experiment and model, for the experiments without
    a table of their own (sweep demonstrations, budget runs)."""
    rows = [
        "| Experiment | Model | Seeds | Test metrics (mean ± std over seeds) | Epochs |",
        "|---|---|---|---|---|",
    ]
    for folder in sorted(p for p in Path(results_dir).iterdir() if p.is_dir()):
        if folder.name in TABLED:
            continue
        for model, runs in sorted(tables.load_records(results_dir, folder.name).items()):
            keys = sorted({k for r in runs for k in r if k.startswith("test/")})
            metrics = ", ".join(
                f"{k}: {tables.mean_std([r[k] for r in runs if k in r], '.4g')}" for k in keys
            )
            epochs = tables.mean_std([r["epochs"] for r in runs if "epochs" in r], ".0f")
            seeds = ", ".join(str(r.get("seed")) for r in runs)
            rows.append(f"| {folder.name} | {model} | {seeds} | {metrics} | {epochs} |")
    return "\n".join(rows) if len(rows) > 2 else ""


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
            for o in OmegaConf.load(overrides)
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
        result = OmegaConf.load(best)
        params = ", ".join(f"{k}={v}" for k, v in result.best_params.items())
        lines += ["", f"Optuna's best: {params} (value {float(result.best_value):.4g})"]
    return "\n".join(lines)


def write_report(
    results_dir: Path,
    out: Path,
    run_dirs: list[Path],
    data_dir: Path,
    trajectories: bool = True,
    sweep_dirs: list[Path] | None = None,
    keep_earlier: bool = False,
) -> Path:
    """Write the report folder; returns the path of its README.md.

    With ``keep_earlier``, what an earlier report made from run and sweep folders that are not
    given now (``outputs/`` folders this machine may no longer have) stays: the learning curves
    and adjacency reconstructions of runs, listed after the new figures, and the sweep summaries
    (``sweeps/*.md``). Otherwise the report is made whole from what is given, and those go.
    """
    sections = {
        "nbody": ("N-body charged particles (paper Table 2)", tables.nbody_table(results_dir)),
        "nbody_ideas": (
            "N-body beyond the paper: each idea for experiment=nbody_plus",
            tables.nbody_ideas_table(results_dir),
        ),
        "nbody_data_efficiency": (
            "N-body data efficiency (paper Fig. 3)",
            tables.data_efficiency_table(results_dir),
        ),
        "autoencoder": ("Graph autoencoder (paper Table 3)", tables.autoencoder_table(results_dir)),
        "ae_sparsity": (
            "Graph autoencoder: %Error and F1 against sparsity (overfit set)",
            tables.sparsity_table(results_dir),
        ),
        "ae_embedding": (
            "Graph autoencoder: %Error and F1 against the embedding size",
            tables.embedding_table(results_dir),
        ),
        "qm9": ("QM9 (paper Table 4)", tables.qm9_table(results_dir)),
        "benchmark": (
            "Performance (issue 6 benchmark)",
            tables.benchmark_table(results_dir, links_from=out),
        ),
    }
    lines = [
        "# egnn: paper vs ours",
        "",
        f"Generated by `python scripts/report.py` from the records in `{results_dir}/`"
        + (f" and {len(run_dirs)} run folder(s)." if run_dirs else "."),
        "Each number is a committed record (command, commit, seed, machine in its JSON).",
        "",
    ]
    if run_dirs or sweep_dirs or keep_earlier:  # how to make this report again
        again = ["python scripts/report.py"]
        again += ["--keep-earlier"] if keep_earlier else []
        again += ["--runs", *map(str, run_dirs)] if run_dirs else []
        again += ["--sweeps", *map(str, sweep_dirs)] if sweep_dirs else []
        lines += [
            "Regenerate (run folders are local, under `outputs/`):",
            "",
            "```",
            " ".join(again),
            "```",
            "",
        ]
    for name, (title, markdown) in sections.items():
        n_tables = sum(line.startswith("|---") for line in markdown.splitlines())
        atomic_write_text(out / "tables" / f"{name}.md", markdown + "\n")
        atomic_write_text(out / "tables" / f"{name}.csv", markdown_table_to_csv(markdown))
        lines += [
            f"## {title}",
            "",
            markdown,
            "",
            f"CSV{' of the first table' if n_tables > 1 else ''}:"
            f" [tables/{name}.csv](tables/{name}.csv)",
            "",
        ]

    others = other_records_table(results_dir)
    if others:
        atomic_write_text(out / "tables" / "other.csv", markdown_table_to_csv(others))
        lines += [
            "## Other records",
            "",
            others,
            "",
            "CSV: [tables/other.csv](tables/other.csv)",
            "",
        ]
    sweeps = out / "sweeps"
    summaries = {f"{d.parent.name}-{d.name}.md": sweep_summary(d) for d in sweep_dirs or []}
    if keep_earlier:  # an earlier report's summaries of sweeps not given now
        for old in sweeps.glob("*.md"):
            summaries.setdefault(old.name, old.read_text())
    for old in sweeps.glob("*.md"):
        if old.name not in summaries:
            old.unlink()
    if summaries:
        lines += ["## Sweeps", ""]
        for name, summary in sorted(summaries.items()):
            atomic_write_text(sweeps / name, summary.rstrip("\n") + "\n")
            lines += [summary.rstrip("\n"), ""]

    figures = out / "figures"
    earlier = {old.name for old in figures.glob("*.png")}
    made: list[tuple[str, Path]] = []
    if plots.data_efficiency_points(results_dir):
        made.append(
            (
                "N-body data efficiency",
                plots.plot_data_efficiency(results_dir, figures / "data_efficiency.png"),
            )
        )
    for path in plots.plot_autoencoder_sweeps(results_dir):
        made.append((f"Graph autoencoder: {path.stem}", path))
    for csv_path in sorted(Path(results_dir).glob("*/*.csv")):  # committed learning curves
        label = f"{csv_path.parent.name}-{csv_path.stem}"
        curve = plots.plot_learning_curve(csv_path, figures / f"curve-{label}.png", label)
        made.append((f"{RUN_FIGURE_TITLES['curve']}: {label}", curve))
    nbody_checkpoints = {}
    if trajectories and PRETRAINED_NBODY.exists():
        nbody_checkpoints[PRETRAINED_LABEL] = PRETRAINED_NBODY
    for run_dir in run_dirs:
        config, ckpt = _run_info(run_dir)
        csv_path = run_dir / "csv" / "metrics.csv"
        label = f"{config['task_name']}-{config['model']['net']['name']}-{run_dir.name}"
        if csv_path.exists():
            made.append(
                (
                    f"{RUN_FIGURE_TITLES['curve']}: {label}",
                    plots.plot_learning_curve(csv_path, figures / f"curve-{label}.png", label),
                )
            )
        if ckpt is not None and config["task_name"].startswith("nbody"):
            nbody_checkpoints[config["model"]["net"]["name"]] = ckpt
        if ckpt is not None and config["task_name"].startswith("ae_"):
            made.append(
                (
                    f"{RUN_FIGURE_TITLES['adjacency']}: {label}",
                    plot_adjacency_reconstructions(
                        run_dir, data_dir, figures / f"adjacency-{label}.png"
                    ),
                )
            )
    kept = "(kept from an earlier report)"
    keep_trajectories = (
        keep_earlier
        and TRAJECTORIES_FIGURE in earlier
        and not any(name != PRETRAINED_LABEL for name in nbody_checkpoints)
    )
    if keep_trajectories:  # the earlier figure showed the N-body runs it was given; none now
        made.append((f"N-body trajectories {kept}", figures / TRAJECTORIES_FIGURE))
    elif trajectories and nbody_checkpoints:
        made.append(
            (
                "N-body trajectories",
                plot_nbody_trajectories(nbody_checkpoints, data_dir, figures / TRAJECTORIES_FIGURE),
            )
        )
    remade = {Path(path).name for _, path in made}
    if keep_earlier:  # the figures of run folders not given now
        for name in sorted(n for n in earlier - remade if RUN_FIGURE_NAME.match(n)):
            kind, label = name.removesuffix(".png").split("-", 1)
            made.append((f"{RUN_FIGURE_TITLES[kind]}: {label} {kept}", figures / name))
    shown = {Path(path).name for _, path in made}
    for name in earlier - shown:  # the report is made whole: no figure of a run left out
        (figures / name).unlink()
    lines += ["## Figures", ""]
    for title, path in made:
        lines += [f"### {title}", "", f"![{title}]({tables.relative_link(path, out)})", ""]
    readme = out / "README.md"
    atomic_write_text(readme, "\n".join(lines))
    return readme


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results-dir", type=Path, default=Path("results"))
    parser.add_argument("--out", type=Path, default=Path("report"))
    parser.add_argument(
        "--runs", type=Path, nargs="*", default=[], help="run folders (outputs/<task>/<time>)"
    )
    parser.add_argument(
        "--sweeps", type=Path, nargs="*", default=[], help="multirun folders to summarise"
    )
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument(
        "--no-trajectories",
        action="store_true",
        help="skip the N-body trajectory figure (needs the small data set)",
    )
    parser.add_argument(
        "--keep-earlier",
        action="store_true",
        help="keep the figures and sweep summaries of run and sweep folders not given now",
    )
    args = parser.parse_args(argv)
    for run_dir in args.runs:
        if not (run_dir / "config_resolved.yaml").exists():
            raise SystemExit(f"error: {run_dir} is not a run folder (no config_resolved.yaml)")
    torch.set_num_threads(1)
    readme = write_report(
        args.results_dir,
        args.out,
        args.runs,
        args.data_dir,
        not args.no_trajectories,
        args.sweeps,
        args.keep_earlier,
    )
    print(f"wrote {readme}")


if __name__ == "__main__":
    main()
