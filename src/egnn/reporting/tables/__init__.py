"""README and notes tables generated from ``results/``: paper numbers beside ours (mean ± std
over seeds), how our runs went, and the benchmarks.

``python -m egnn.reporting.tables --readme README.md --notes report/notes`` (or ``egnn-tables``)
rewrites, in whichever of these pages holds them, the text between the markers
``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` of every table of :data:`TABLES`. One module per
experiment (:mod:`.nbody`, :mod:`.autoencoder`, :mod:`.qm9`), the benchmarks (:mod:`.benchmark`),
the README's summary (:mod:`.summary`) and the cells they share (:mod:`.cells`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from egnn.atomic import atomic_write_text
from egnn.errors import ConfigError
from egnn.reporting.tables.autoencoder import (
    autoencoder_table,
    embedding_table,
    sparsity_table,
    sweep_cell,
)
from egnn.reporting.tables.benchmark import (
    benchmark_table,
    other_benchmark_lines,
    time_to_accuracy_lines,
)
from egnn.reporting.tables.cells import mean_std, relative_link, replace_between
from egnn.reporting.tables.nbody import (
    data_efficiency_table,
    nbody_ideas_table,
    nbody_table,
    stop_label,
)
from egnn.reporting.tables.qm9 import QM9_CPU_BUDGET, qm9_runs_table, qm9_table
from egnn.reporting.tables.summary import summary_table

__all__ = [
    "QM9_CPU_BUDGET",
    "TABLES",
    "autoencoder_table",
    "benchmark_table",
    "data_efficiency_table",
    "embedding_table",
    "main",
    "mean_std",
    "nbody_ideas_table",
    "nbody_table",
    "other_benchmark_lines",
    "qm9_runs_table",
    "qm9_table",
    "relative_link",
    "replace_between",
    "sparsity_table",
    "stop_label",
    "summary_table",
    "sweep_cell",
    "time_to_accuracy_lines",
]

#: Each table by its marker name, as a function of the results folder and of the folder of the
#: page it goes in (for relative links).
TABLES: dict[str, Callable[[Path, Path | None], str]] = {
    "summary-table": lambda results, page_dir: summary_table(results),
    "nbody-table": lambda results, page_dir: nbody_table(results),
    "nbody-ideas-table": lambda results, page_dir: nbody_ideas_table(results),
    "nbody-data-efficiency-table": lambda results, page_dir: data_efficiency_table(results),
    "qm9-table": lambda results, page_dir: qm9_table(results),
    "qm9-runs-table": lambda results, page_dir: qm9_runs_table(results, links_from=page_dir),
    "autoencoder-table": lambda results, page_dir: autoencoder_table(results),
    "ae-sparsity-table": lambda results, page_dir: sparsity_table(results),
    "ae-embedding-table": lambda results, page_dir: embedding_table(results),
    "benchmark-table": lambda results, page_dir: benchmark_table(results, links_from=page_dir),
}


def main(argv: list[str] | None = None) -> None:
    """Print every table, or rewrite them in the README and the notes (exit 2 on a damaged
    record; an error naming the markers that no page holds)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results-dir", type=Path, default=Path("results"))
    parser.add_argument("--readme", type=Path, default=None, help="rewrite the tables of this file")
    parser.add_argument(
        "--notes", type=Path, default=None, help="and those of the *.md files in this folder"
    )
    args = parser.parse_args(argv)
    results = args.results_dir
    try:
        if args.readme is None:
            print("\n\n".join(table(results, None) for table in TABLES.values()))
            return
        pages = [args.readme] + (sorted(args.notes.glob("*.md")) if args.notes else [])
        filled, texts = set(), {}
        for page in pages:  # every table is made before any page is written
            texts[page] = page.read_text()
            for marker, table in TABLES.items():
                if f"<!-- {marker}:start -->" in texts[page]:
                    texts[page] = replace_between(texts[page], marker, table(results, page.parent))
                    filled.add(marker)
    except ConfigError as err:  # a damaged record, one that breaks the schema, a missing extra
        parser.exit(2, f"error: {err}\n")
    for page, text in texts.items():
        atomic_write_text(page, text)
        print(f"updated {page}")
    missing = [marker for marker in TABLES if marker not in filled]
    if missing:
        raise SystemExit(f"markers not found in {[str(p) for p in pages]}: {missing}")
