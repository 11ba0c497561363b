"""Read the QM9 CSV files shipped inside the ``qm9pack`` package (without importing its code,
which needs ``pkg_resources``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from egnn.data.qm9.targets import ATOMIC_NUMBERS, ATOMREF, TARGETS
from egnn.errors import ConfigError
from egnn.extras import require_extra

CSV_FILES = ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")


def qm9pack_data_dir() -> Path:
    """The folder of qm9pack's CSV files."""
    require_extra("qm9", "the QM9 data set")
    spec = importlib.util.find_spec("qm9pack")
    folder = Path(spec.submodule_search_locations[0]) / "data"
    missing = [name for name in CSV_FILES if not (folder / name).is_file()]
    if missing:
        raise ConfigError(
            f"qm9pack at {folder} lacks {missing}: reinstall it (pip install --force-reinstall qm9pack)"
        )
    return folder


def parse_float_lists(cells) -> list[np.ndarray]:
    """``"[[x,y,z],[x,y,z]]"`` strings -> arrays [n, 3] (tolerates numbers written like ``0.``)."""
    out = []
    for cell in cells:
        numbers = np.array(cell.replace("[", "").replace("]", "").split(","), dtype=np.float64)
        out.append(numbers.reshape(-1, 3))
    return out


def parse_elements(cells) -> list[np.ndarray]:
    """``"['C','H']"`` strings -> atomic numbers (int8)."""
    return [
        np.array(
            [ATOMIC_NUMBERS[e.strip(" '\"")] for e in cell.strip("[]").split(",")], dtype=np.int8
        )
        for cell in cells
    ]


def atomref_sum(z: np.ndarray, property_name: str) -> float:
    """Sum of the reference values of a molecule's atoms for U0, U, H, G, Cv or zpve."""
    ref = ATOMREF[property_name]
    symbols = {v: k for k, v in ATOMIC_NUMBERS.items()}
    return float(sum(ref[symbols[int(a)]] for a in z))


def read_qm9(folder: Path | None = None) -> dict[str, np.ndarray]:
    """All molecules in gdb-id order.

    Returns:
        ``index`` [M] gdb ids; ``n_atoms`` [M]; ``z`` [A] atomic numbers and ``pos`` [A, 3]
        (Angstrom), concatenated over molecules; ``targets`` [M, 12] in :data:`TARGETS` order and
        units (atom references subtracted).
    """
    import pandas as pd

    folder = folder or qm9pack_data_dir()
    columns = ["Index", "N_atoms", "Elements", "XYZ_Ang"] + [t.column for t in TARGETS.values()]
    frame = pd.concat(
        [pd.read_csv(folder / name, usecols=columns) for name in CSV_FILES], ignore_index=True
    )
    frame = frame.sort_values("Index", kind="stable").reset_index(drop=True)
    z_list = parse_elements(frame["Elements"])
    pos_list = parse_float_lists(frame["XYZ_Ang"])
    n_atoms = frame["N_atoms"].to_numpy(np.int64)
    if any(len(z) != n or len(p) != n for z, p, n in zip(z_list, pos_list, n_atoms, strict=True)):
        raise ValueError("qm9pack CSV: atom counts disagree between N_atoms, Elements and XYZ_Ang")
    targets = np.empty((len(frame), len(TARGETS)))
    for k, (name, target) in enumerate(TARGETS.items()):
        values = frame[target.column].to_numpy(np.float64)
        if name in ATOMREF:
            values = values - np.array([atomref_sum(z, name) for z in z_list])
        targets[:, k] = values * target.scale
    return {
        "index": frame["Index"].to_numpy(np.int64),
        "n_atoms": n_atoms,
        "z": np.concatenate(z_list),
        "pos": np.concatenate(pos_list).astype(np.float32),
        "targets": targets,
    }
