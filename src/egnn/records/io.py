"""Read and write records: a run folder's metrics, the committed record files."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from egnn.atomic import atomic_write_json
from egnn.records.schema import RecordError, validate_record


def read_metrics(run_dir: Path) -> dict:
    """``<run_dir>/metrics.json``, with the job's overrides from ``<run_dir>/.hydra/overrides.yaml``
    when ``metrics.json`` lacks them; exits with the missing path named when the run did not finish."""
    metrics_file = Path(run_dir) / "metrics.json"
    if not metrics_file.exists():
        raise SystemExit(f"error: {metrics_file} does not exist (did the run finish?)")
    metrics = json.loads(metrics_file.read_text())
    overrides_file = Path(run_dir) / ".hydra" / "overrides.yaml"
    if metrics.get("overrides") is None and overrides_file.is_file():
        metrics["overrides"] = read_overrides(overrides_file)
    return metrics


def read_overrides(path: Path) -> list[str]:
    """The overrides Hydra wrote for a job (``.hydra/overrides.yaml``: a YAML list of strings)."""
    lines = Path(path).read_text().splitlines()
    overrides = []
    for line in lines:
        if line.startswith("- "):
            value = line[2:].strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            overrides.append(value)
    return overrides


def write_record(path: Path, record: dict, replace: bool = False) -> Path:
    """Write ``record`` to ``path`` (atomically). A record already there from another run (another
    command or commit) stays unless ``replace``: two runs never share a name silently."""
    path = Path(path)
    if path.exists() and not replace:
        old = json.loads(path.read_text())
        if (old.get("command"), old.get("git_commit")) != (
            record.get("command"),
            record.get("git_commit"),
        ):
            raise RecordError(
                f"{path} holds the record of another run ({old.get('command')!r} at"
                f" {old.get('git_commit')}); pass --replace to overwrite it or --name to name this one"
            )
    atomic_write_json(path, record)
    return path


def read_record(path: Path) -> dict:
    """One record file, checked against the schema."""
    return validate_record(json.loads(Path(path).read_text()), str(path))


def load_records(results_dir: Path, experiment: str) -> dict[str, list[dict]]:
    """The records of ``results/<experiment>/`` grouped by model name."""
    grouped: dict[str, list[dict]] = defaultdict(list)
    for path in sorted((Path(results_dir) / experiment).glob("*.json")):
        record = read_record(path)
        grouped[record["model"]].append(record)
    return grouped
