"""Read and write records: a run folder's metrics, the committed record files."""

from __future__ import annotations

import hashlib
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


#: The key of a record that holds the sha256 of the rest of it (canonical JSON).
CHECKSUM_KEY = "sha256"


def record_checksum(record: dict) -> str:
    """sha256 of ``record`` without its :data:`CHECKSUM_KEY` (sorted keys, compact JSON)."""
    body = {key: value for key, value in record.items() if key != CHECKSUM_KEY}
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def sealed(record: dict) -> dict:
    """``record`` with its checksum (:data:`CHECKSUM_KEY`), as every written record holds it."""
    return {**record, CHECKSUM_KEY: record_checksum(record)}


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
    atomic_write_json(path, sealed(record))
    return path


def read_json_record(path: Path) -> dict:
    """The content of one record file, after checking that it is JSON and matches its checksum:
    a damaged or hand-edited record is refused (one line naming the file), never tabled."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RecordError(f"{path}: not a readable JSON record ({err})") from None
    if not isinstance(record, dict):
        raise RecordError(f"{path}: a record is a JSON object, got {type(record).__name__}")
    recorded = record.get(CHECKSUM_KEY)
    if recorded is None:
        raise RecordError(
            f"{path}: has no {CHECKSUM_KEY}; a record you trust is sealed with"
            f" `python -m egnn.records --seal {path}`"
        )
    if recorded != record_checksum(record):
        raise RecordError(
            f"{path}: its content does not match its {CHECKSUM_KEY} (damaged or edited by hand);"
            " regenerate it from its run folder, or re-seal it if the edit is yours"
        )
    return record


def read_record(path: Path) -> dict:
    """One record file, checked against its checksum and the schema."""
    return validate_record(read_json_record(path), str(path))


def seal_file(path: Path) -> None:
    """Add or renew the checksum of an existing record file (one that you trust)."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RecordError(f"{path}: not a readable JSON record ({err})") from None
    atomic_write_json(path, sealed(record))


def load_records(results_dir: Path, experiment: str) -> dict[str, list[dict]]:
    """The records of ``results/<experiment>/`` grouped by model name."""
    grouped: dict[str, list[dict]] = defaultdict(list)
    for path in sorted((Path(results_dir) / experiment).glob("*.json")):
        record = read_record(path)
        grouped[record["model"]].append(record)
    return grouped
