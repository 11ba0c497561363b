"""The paper-vs-ours report: one page with the paper's tables beside our numbers, and the figures,
made from the committed records in ``results/`` only (no model runs here: an evaluation writes the
prediction samples the figures draw into its records, see ``egnn-record --test-from``).

``egnn-report --out DIR`` (``make report``: a scratch folder under ``outputs/``) writes:

- ``README.md``: every table (paper beside ours, mean ± std over seeds) and every figure;
- ``tables/*.{md,csv}``;
- ``figures/``: the sweeps (N-body data efficiency, autoencoder sparsity and embedding size),
  the learning curves (``results/<experiment>/*.csv``), N-body trajectories and adjacency
  reconstructions (``results/<experiment>/samples/*.json``);
- ``sweeps/*.md``: the multirun summaries of ``results/sweeps/`` (``python -m egnn.run.summary``).

It adds and rewrites its own files and never deletes one: a figure already in ``DIR/figures`` that
this report does not make stays, and is listed. ``make report-update`` writes the committed
``report/``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import re
from pathlib import Path

from egnn.atomic import atomic_write_text
from egnn.errors import ConfigError
from egnn.records import load_records
from egnn.reporting import plots, tables

log = logging.getLogger(__name__)

FIGURE_TITLES = {
    "curve": "learning curve",
    "adjacency": "adjacency reconstructions",
    "trajectories": "N-body trajectories",
}
FIGURE_KIND = re.compile(r"^(curve|adjacency|trajectories)-(.+)\.png$")


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


# Experiments with a table of their own above; every other results/<experiment>/ is listed generically.
TABLED = {
    "nbody",
    "nbody_plus",
    "nbody_plus_ideas",
    "ae_community",
    "ae_erdos_renyi",
    "qm9",
    "qm9_cpu_1h",
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
        if folder.name in TABLED or folder.name == "sweeps":
            continue
        for model, runs in sorted(load_records(results_dir, folder.name).items()):
            keys = sorted({k for r in runs for k in r if k.startswith("test/")})
            metrics = ", ".join(
                f"{k}: {tables.mean_std([r[k] for r in runs if k in r], '.4g')}" for k in keys
            )
            epochs = tables.mean_std([r["epochs"] for r in runs if "epochs" in r], ".0f")
            seeds = ", ".join(str(r.get("seed")) for r in runs)
            rows.append(f"| {folder.name} | {model} | {seeds} | {metrics} | {epochs} |")
    return "\n".join(rows) if len(rows) > 2 else ""


def sample_figures(results_dir: Path, figures: Path) -> list[tuple[str, Path]]:
    """The figures of every prediction sample an evaluation left in the records
    (``results/<experiment>/samples/<record>.json``): N-body trajectories, adjacency matrices."""
    made = []
    for path in sorted(Path(results_dir).glob("*/samples/*.json")):
        samples = json.loads(path.read_text())
        label = f"{path.parent.parent.name}-{path.stem}"
        kind = samples.get("kind")
        if kind == "nbody_trajectories":
            out = plots.plot_trajectories(samples, figures / f"trajectories-{label}.png", label)
            made.append((f"{FIGURE_TITLES['trajectories']}: {label}", out))
        elif kind == "adjacency":
            out = plots.plot_adjacency(samples, figures / f"adjacency-{label}.png", label)
            made.append((f"{FIGURE_TITLES['adjacency']}: {label}", out))
        else:
            log.warning("%s: unknown sample kind %r, skipped", path, kind)
    return made


def write_report(results_dir: Path, out: Path) -> Path:
    """Write the report folder from the records in ``results_dir``; returns its README.md.

    Files of ``out`` are added or rewritten, never deleted: figures there that this report does
    not make (from records no longer present, or made by hand) stay and are listed last.
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
            "Performance (backbone benchmark)",
            tables.benchmark_table(results_dir, links_from=out),
        ),
    }
    lines = [
        "# egnn: paper vs ours",
        "",
        f"Generated by `egnn-report --out {out}` from the records in `{results_dir}/`.",
        "Each number is a committed record (command, commit, seed, machine in its JSON).",
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
    summaries = {path.name: path.read_text() for path in sorted(sweeps.glob("*.md"))}
    for path in sorted((Path(results_dir) / "sweeps").glob("*.md")):
        summaries[path.name] = path.read_text()
        atomic_write_text(sweeps / path.name, path.read_text())
    if summaries:
        lines += ["## Sweeps", ""]
        for _, summary in sorted(summaries.items()):
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
    for path in plots.plot_autoencoder_sweeps(results_dir, figures):
        made.append((f"Graph autoencoder: {path.stem}", path))
    for csv_path in sorted(Path(results_dir).glob("*/*.csv")):  # committed learning curves
        label = f"{csv_path.parent.name}-{csv_path.stem}"
        curve = plots.plot_learning_curve(csv_path, figures / f"curve-{label}.png", label)
        made.append((f"{FIGURE_TITLES['curve']}: {label}", curve))
    made += sample_figures(results_dir, figures)
    remade = {Path(path).name for _, path in made}
    for name in sorted(earlier - remade):  # kept: this report never deletes a figure
        match = FIGURE_KIND.match(name)
        title = f"{FIGURE_TITLES[match[1]]}: {match[2]}" if match else name.removesuffix(".png")
        made.append((f"{title} (made earlier, not from the present records)", figures / name))
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
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("outputs/report"),
        help="report folder (default outputs/report; the committed one is report/)",
    )
    args = parser.parse_args(argv)
    try:
        readme = write_report(args.results_dir, args.out)
    except ConfigError as err:  # a missing extra, a damaged record, one that breaks the schema
        parser.exit(2, f"error: {err}\n")
    print(f"wrote {readme}")


if __name__ == "__main__":
    main()
