"""The QM9 cache: parsed once from qm9pack's CSV files into ``{data_dir}/qm9/qm9.pt``.

The file holds the molecules in gdb-id order (``z``, ``pos``, ``n_atoms``, ``index``, ``targets``)
and its provenance (format version, qm9pack CSV sizes); a truncated, unreadable or stale file is
detected and rebuilt. Writes are atomic.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch

from egnn.atomic import atomic_open
from egnn.data.qm9.raw import CSV_FILES, qm9pack_data_dir, read_qm9
from egnn.data.qm9.targets import TARGETS
from egnn.integrity import (
    exclusive,
    has_checksum,
    remove_orphan_temporaries,
    verify,
    write_checksum,
)

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
N_MOLECULES = 130_831
N_TRAIN, N_VALID, N_TEST = 100_000, 17_748, 13_083


def cache_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / "qm9" / "qm9.pt"


def _provenance() -> dict:
    folder = qm9pack_data_dir()
    return {
        "format": FORMAT_VERSION,
        "targets": list(TARGETS),
        "sources": {name: (folder / name).stat().st_size for name in CSV_FILES},
    }


def _read_cache(path: Path) -> dict | None:
    """The cache's content, or None when it is missing, damaged, unchecked or stale."""
    if not path.is_file():
        return None
    if not has_checksum(path):
        log.warning("QM9 cache %s has no checksum (older version): it will be rebuilt", path)
        return None
    try:
        verify(path)
        data = torch.load(path, weights_only=True)
    except Exception as err:  # damaged, truncated or not a torch file
        log.warning("QM9 cache %s is damaged or unreadable (%s): it will be rebuilt", path, err)
        return None
    if data.get("provenance") != _provenance():
        log.warning(
            "QM9 cache %s is stale (made from other sources or another format): it will be rebuilt",
            path,
        )
        return None
    return data


def build_cache(data_dir: str | Path) -> dict:
    """Parse the CSV files and write the cache atomically. Returns its content."""
    start = time.perf_counter()
    raw = read_qm9()
    data = {key: torch.from_numpy(np.array(value)) for key, value in raw.items()}
    data["provenance"] = _provenance()
    with atomic_open(cache_path(data_dir)) as handle:
        torch.save(data, handle)
    write_checksum(cache_path(data_dir))
    log.info("built the QM9 cache %s in %.1f s", cache_path(data_dir), time.perf_counter() - start)
    return data


def load_qm9(data_dir: str | Path) -> dict:
    """The cached molecules (building the cache first when it is missing, damaged or stale). One
    process at a time: another one that needs the cache waits and reads the one built."""
    path = cache_path(data_dir)
    with exclusive(path, what=f"the QM9 cache {path}"):
        remove_orphan_temporaries(path)
        data = _read_cache(path)
        return data if data is not None else build_cache(data_dir)


def split_indices(n_molecules: int = N_MOLECULES) -> dict[str, np.ndarray]:
    """The paper's split: a seed-0 permutation of the molecules in gdb-id order, cut into
    100,000 train, the rest valid, and int(0.1 * total) = 13,083 test."""
    n_test = int(0.1 * n_molecules)
    n_train = min(N_TRAIN, n_molecules - n_test)
    perm = np.random.RandomState(0).permutation(n_molecules)
    n_valid = n_molecules - n_train - n_test
    return {
        "train": perm[:n_train],
        "valid": perm[n_train : n_train + n_valid],
        "test": perm[n_train + n_valid : n_train + n_valid + n_test],
    }
