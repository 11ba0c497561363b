"""The N-body datasets: named presets, generation into an atomic ``.npz`` cache, and loading.

Files: ``{data_dir}/nbody/{name}/{split}.npz`` with arrays ``pos`` and ``vel`` [S, T, N, D],
``charges`` [S, N] and ``params`` (the generation parameters as a JSON string). All splits of a
dataset are drawn in order (train, valid, test) from one seeded stream, so they are generated
together; a missing, truncated or stale split regenerates the whole dataset.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from egnn.data.nbody.simulate import ChargedParticlesConfig, initial_conditions, simulate
from egnn.data.npz_cache import read_npz_params, write_npz
from egnn.errors import ConfigError
from egnn.integrity import exclusive, remove_orphan_temporaries

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
FORMAT_VERSION = 2


@dataclass(frozen=True)
class NBodyDatasetSpec:
    """A named N-body dataset: seed, split sizes and simulation parameters."""

    seed: int
    sizes: dict = field(default_factory=dict)
    sim: ChargedParticlesConfig = field(default_factory=ChargedParticlesConfig)

    def params(self) -> dict:
        """The parameters that identify the cached files (checked on load)."""
        return {
            "format": FORMAT_VERSION,
            "seed": self.seed,
            "sizes": dict(self.sizes),
            "sim": self.sim.as_dict(),
        }


NBODY_DATASETS: dict[str, NBodyDatasetSpec] = {
    # The paper's main table: seed 43, 10,000 / 2,000 / 2,000 trajectories of 5,000 steps.
    "small": NBodyDatasetSpec(seed=43, sizes={"train": 10000, "valid": 2000, "test": 2000}),
    # The data-efficiency figure's training set (generated only when asked for).
    "large": NBodyDatasetSpec(
        seed=42,
        sizes={"train": 50000, "valid": 2000, "test": 2000},
        sim=ChargedParticlesConfig(sample_freq=500),
    ),
    # A tiny set for tests and debugging.
    "tiny": NBodyDatasetSpec(
        seed=7,
        sizes={"train": 200, "valid": 100, "test": 100},
        sim=ChargedParticlesConfig(n_steps=4200),
    ),
}


def get_spec(name: str) -> NBodyDatasetSpec:
    if name not in NBODY_DATASETS:
        raise ConfigError(
            f"unknown N-body dataset {name!r}; choose one of {sorted(NBODY_DATASETS)}"
        )
    return NBODY_DATASETS[name]


def split_path(data_dir: str | Path, name: str, split: str) -> Path:
    return Path(data_dir) / "nbody" / name / f"{split}.npz"


def _read_params(path: Path) -> dict | None:
    """The params stored in a cached split, or None when it is missing, damaged or unreadable."""
    return read_npz_params(path, {"pos", "vel", "charges"}, "N-body cache")


def is_cached(data_dir: str | Path, name: str) -> bool:
    """True when every split of ``name`` is on disk, readable, and made with the current parameters."""
    expected = get_spec(name).params()
    return all(_read_params(split_path(data_dir, name, split)) == expected for split in SPLITS)


def generate(data_dir: str | Path, name: str) -> float:
    """Simulate every split of dataset ``name`` and write them atomically. Returns seconds taken."""
    spec = get_spec(name)
    start = time.perf_counter()
    rng = np.random.RandomState(spec.seed)  # one stream for all splits, as the release
    initial = [initial_conditions(rng, spec.sizes[split], spec.sim) for split in SPLITS]
    for split, (pos0, vel0, charges) in zip(SPLITS, initial, strict=True):
        pos, vel = simulate(pos0, vel0, charges, spec.sim)
        write_npz(
            split_path(data_dir, name, split), spec.params(), pos=pos, vel=vel, charges=charges
        )
    seconds = time.perf_counter() - start
    log.info("generated N-body dataset %r (%s) in %.1f s", name, spec.sizes, seconds)
    return seconds


def ensure_dataset(data_dir: str | Path, name: str) -> None:
    """Generate dataset ``name`` under ``data_dir`` unless a complete, current, intact cache is
    there. One process at a time: another one that needs the same dataset waits and reuses it."""
    get_spec(name)  # an unknown name fails before any folder or lock file is made
    folder = split_path(data_dir, name, SPLITS[0]).parent
    with exclusive(folder, what=f"the N-body cache {folder}"):
        for split in SPLITS:
            remove_orphan_temporaries(split_path(data_dir, name, split))
        if not is_cached(data_dir, name):
            log.info(
                "N-body dataset %r not cached (or stale) under %s: generating it", name, data_dir
            )
            generate(data_dir, name)


def load_split(data_dir: str | Path, name: str, split: str) -> dict[str, np.ndarray]:
    """Arrays ``pos``, ``vel`` [S, T, N, D] and ``charges`` [S, N] of one cached split."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; choose one of {SPLITS}")
    path = split_path(data_dir, name, split)
    if _read_params(path) != get_spec(name).params():
        raise FileNotFoundError(
            f"{path} is missing or stale: call ensure_dataset({str(data_dir)!r}, {name!r})"
        )
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in ("pos", "vel", "charges")}
