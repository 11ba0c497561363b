"""Cells and markers shared by the tables: mean ± std over seeds, wall-time ranges, links
relative to the page a table goes in, and the markers a table is written between."""

from __future__ import annotations

import os
import statistics
from pathlib import Path


def mean_std(values: list[float], fmt: str) -> str:
    """``"0.0070 ± 0.0004"``: mean ± standard deviation of ``values`` in ``fmt``, the value alone
    for one run, ``"not run"`` for none."""
    if not values:
        return "not run"
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{format(statistics.mean(values), fmt)} ± {format(statistics.stdev(values), fmt)}"


def minutes_range(minutes: list[float]) -> str:
    """``"30-176 min"``, or ``"31 min"`` when all round to the same minute: wall times of runs on a
    machine whose speed changed between sessions, where a mean and spread would mislead."""
    if not minutes:
        return "—"
    low, high = round(min(minutes)), round(max(minutes))
    return f"{low} min" if low == high else f"{low}-{high} min"


def relative_link(path: Path, links_from: Path | None) -> str:
    """``path`` as a link from a page in ``links_from`` (as given when ``links_from`` is None)."""
    if links_from is None:
        return Path(path).as_posix()
    return Path(os.path.relpath(Path(path).resolve(), Path(links_from).resolve())).as_posix()


def replace_between(text: str, marker: str, body: str) -> str:
    """``text`` with what lies between ``<!-- marker:start -->`` and ``<!-- marker:end -->``
    replaced by ``body`` (ValueError when the markers are missing)."""
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    if start not in text or end not in text:
        raise ValueError(f"markers {start} / {end} not found")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"
