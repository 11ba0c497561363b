"""Keep the CSV learning curve of a resumed run complete, even when the resumed run is killed too.

Lightning's CSVLogger starts a fresh ``metrics.csv`` when a run resumes. Before it does, the rows
logged up to the checkpoint are saved beside it (:data:`STASH_NAME`, written atomically); when the
resumed run ends they are written back in front of the new rows and the stash is removed. A resumed
run that is itself interrupted leaves its stash behind, and the next resume starts from it, so no
row is lost however often a run is killed.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from egnn.atomic import atomic_write_text

STASH_NAME = "metrics_before_resume.csv"


def read_rows(path: Path, max_epoch: int | None = None) -> list[dict]:
    """Rows of a metrics.csv, those with ``epoch <= max_epoch`` when given."""
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if max_epoch is None:
        return rows
    return [r for r in rows if r.get("epoch", "") != "" and int(float(r["epoch"])) <= max_epoch]


def write_rows(path: Path, rows: list[dict]) -> None:
    """Write ``rows`` as a CSV atomically (header = sorted union of their keys)."""
    fields = sorted(set().union(*rows)) if rows else []
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def stash_history(csv_path: Path, max_epoch: int) -> list[dict]:
    """Save and return the learning curve up to ``max_epoch`` (the checkpoint's epoch) before a resume.

    The rows are those of an earlier, interrupted resume's stash that precede the current CSV's
    first epoch, followed by the current CSV's rows; all with ``epoch <= max_epoch``.
    """
    stash = csv_path.with_name(STASH_NAME)
    current = read_rows(csv_path, max_epoch)  # every row read with max_epoch has an epoch
    first = min((float(r["epoch"]) for r in current), default=float("inf"))
    earlier = [r for r in read_rows(stash, max_epoch) if float(r["epoch"]) < first]
    rows = earlier + current
    if rows:
        write_rows(stash, rows)
    return rows


def restore_history(csv_path: Path, history: list[dict]) -> None:
    """Write ``history`` back in front of the resumed run's rows, then drop the stash."""
    if history:
        write_rows(csv_path, history + read_rows(csv_path))
    csv_path.with_name(STASH_NAME).unlink(missing_ok=True)
