"""Keep the CSV learning curve of a resumed run complete.

Lightning's CSVLogger starts a fresh ``metrics.csv`` when a run resumes; the rows logged before the
checkpoint are stashed first and written back in front of the new rows afterwards.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from egnn.atomic import atomic_write_text


def read_rows(path: Path, max_epoch: int | None = None) -> list[dict]:
    """Rows of a metrics.csv, those with ``epoch <= max_epoch`` when given."""
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if max_epoch is None:
        return rows
    return [r for r in rows if r.get("epoch", "") != "" and int(float(r["epoch"])) <= max_epoch]


def prepend_rows(path: Path, old_rows: list[dict]) -> None:
    """Rewrite ``path`` as ``old_rows`` followed by its current rows (header = union of keys)."""
    if not old_rows:
        return
    rows = old_rows + read_rows(path)
    fields = sorted(set().union(*rows))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())
