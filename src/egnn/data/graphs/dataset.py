"""Named graph datasets, generated once into an atomic ``.npz`` cache and loaded as tensors.

Files: ``{data_dir}/graphs/{name}[_p{p}]/{split}.npz`` with ``n_nodes`` [S] and ``adjacency``
[S, n_max, n_max] (``uint8``, zero-padded past each graph's ``n_nodes``) and ``params`` (a JSON
string that must match the spec, or the split is regenerated).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from egnn.data.graphs.generate import community_small, erdos_renyi
from egnn.data.npz_cache import read_npz_params, write_npz
from egnn.errors import ConfigError
from egnn.integrity import exclusive, remove_orphan_temporaries

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
FORMAT_VERSION = 1


@dataclass(frozen=True)
class GraphDatasetSpec:
    """A graph family with its split sizes and seeds.

    ``shared_split`` names the split that every split reuses (the paper's overfit set: train = test).
    """

    family: str  # "community" or "erdos_renyi"
    sizes: dict = field(default_factory=dict)
    seeds: dict = field(default_factory=dict)
    p: float | None = None
    shared_split: str | None = None

    def folder(self, name: str) -> str:
        return name if self.p is None else f"{name}_p{self.p:g}"

    def params(self, split: str) -> dict:
        source = self.shared_split or split
        return {
            "format": FORMAT_VERSION,
            "family": self.family,
            "p": self.p,
            "n_graphs": self.sizes[source],
            "seed": self.seeds[source],
        }

    def draw(self, split: str) -> list[np.ndarray]:
        source = self.shared_split or split
        n_graphs, seed = self.sizes[source], self.seeds[source]
        if self.family == "community":
            return community_small(n_graphs, seed)
        return erdos_renyi(n_graphs, seed, p=self.p)


_PAPER_SPLITS = {
    "sizes": {"train": 5000, "valid": 500, "test": 500},
    "seeds": {"train": 0, "valid": 1, "test": 2},
}
GRAPH_DATASETS: dict[str, GraphDatasetSpec] = {
    "community_small": GraphDatasetSpec("community", **_PAPER_SPLITS),
    "erdos_renyi": GraphDatasetSpec("erdos_renyi", p=0.25, **_PAPER_SPLITS),
    # The sparsity figure's set: 100 graphs (10 per size 7..16, seed 3), trained and tested on.
    "erdos_renyi_overfit": GraphDatasetSpec(
        "erdos_renyi", sizes={"train": 100}, seeds={"train": 3}, p=0.25, shared_split="train"
    ),
    # A small set for tests and debugging.
    "community_tiny": GraphDatasetSpec(
        "community",
        sizes={"train": 40, "valid": 10, "test": 10},
        seeds={"train": 10, "valid": 11, "test": 12},
    ),
}


def get_spec(name: str, p: float | None = None) -> GraphDatasetSpec:
    """The spec of dataset ``name``; ``p`` replaces the edge probability of an Erdos-Renyi set."""
    if name not in GRAPH_DATASETS:
        raise ConfigError(f"unknown graph dataset {name!r}; choose one of {sorted(GRAPH_DATASETS)}")
    spec = GRAPH_DATASETS[name]
    if p is None:
        return spec
    if spec.family != "erdos_renyi":
        raise ConfigError(f"p={p} applies to Erdos-Renyi sets only, not to {name!r}")
    if not 0.0 <= float(p) <= 1.0:
        raise ConfigError(f"p={p} is not an edge probability: it must lie in [0, 1]")
    return replace(spec, p=float(p))


def split_path(data_dir: str | Path, name: str, split: str, p: float | None = None) -> Path:
    return Path(data_dir) / "graphs" / get_spec(name, p).folder(name) / f"{split}.npz"


def _read_params(path: Path) -> dict | None:
    return read_npz_params(path, {"n_nodes", "adjacency"}, "graph cache")


def pad(graphs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Dense adjacencies of varying size -> (n_nodes [S], adjacency [S, n_max, n_max])."""
    n_nodes = np.array([len(a) for a in graphs], dtype=np.int64)
    adjacency = np.zeros((len(graphs), n_nodes.max(), n_nodes.max()), dtype=np.uint8)
    for k, a in enumerate(graphs):
        adjacency[k, : len(a), : len(a)] = a
    return n_nodes, adjacency


def ensure_split(data_dir: str | Path, name: str, split: str, p: float | None = None) -> Path:
    """Generate and cache one split unless a readable, current file is there; returns its path."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; choose one of {SPLITS}")
    spec = get_spec(name, p)
    path = split_path(data_dir, name, split, p)
    with exclusive(path, what=f"the graph cache {path}"):
        remove_orphan_temporaries(path)
        if _read_params(path) != spec.params(split):
            log.info("graph dataset %r %s split not cached (or stale): generating it", name, split)
            n_nodes, adjacency = pad(spec.draw(split))
            write_npz(path, spec.params(split), n_nodes=n_nodes, adjacency=adjacency)
    return path


def load_split(
    data_dir: str | Path, name: str, split: str, p: float | None = None
) -> list[np.ndarray]:
    """The graphs of one split as dense ``uint8`` adjacencies [n, n] (generated on first use)."""
    path = ensure_split(data_dir, name, split, p)
    with np.load(path, allow_pickle=False) as data:
        n_nodes, adjacency = data["n_nodes"], data["adjacency"]
    return [adjacency[k, :n, :n] for k, n in enumerate(n_nodes)]
