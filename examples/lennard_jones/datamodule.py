"""Dataset and DataModule of the example: Lennard-Jones clusters, generated from a seed.

Each sample is a cluster of 8 to 40 atoms on distinct sites of a 4 x 4 x 4 cubic lattice with the
spacing of the pair minimum, 2^(1/6) sigma, each atom moved by Gaussian noise of 0.04 sigma per
coordinate (lengths in units of sigma), and its Lennard-Jones energy with the cutoff 2.5 sigma:
E = sum over pairs i < j with r_ij < r_c of 4 (r_ij^-12 - r_ij^-6) (epsilon = 1). The graph of a
batch is the radius graph with the same cutoff, so every pair term is one edge of it.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset

from egnn.data.base import SplitLoaders
from egnn.graphs import radius_graph

CUTOFF = 2.5
SPACING = 2.0 ** (1.0 / 6.0)  # the distance of the pair minimum
JITTER = 0.04


def lennard_jones_energy(pos: torch.Tensor, cutoff: float = CUTOFF) -> torch.Tensor:
    """Energy of one cluster, pos [n, 3] -> scalar (each pair counted once)."""
    edges = radius_graph(pos, cutoff)
    r = (pos[edges[0]] - pos[edges[1]]).norm(dim=1)
    return 0.5 * (4.0 * (r**-12 - r**-6)).sum()


def make_cluster(generator: torch.Generator, min_atoms: int, max_atoms: int) -> torch.Tensor:
    """A cluster of min..max atoms on distinct sites of a jittered 4x4x4 cubic lattice. [n, 3].

    The jitter keeps every pair farther than about 0.9 sigma, so no pair term explodes."""
    n = int(torch.randint(min_atoms, max_atoms + 1, (), generator=generator))
    grid = torch.stack(torch.meshgrid(*[torch.arange(4.0)] * 3, indexing="ij"), -1).reshape(-1, 3)
    sites = grid[torch.randperm(len(grid), generator=generator)[:n]]
    return SPACING * sites + JITTER * torch.randn(n, 3, generator=generator)


class ClusterDataset(Dataset):
    """``n_samples`` clusters generated from ``seed``; item k is ``(pos [n, 3], energy [])``."""

    def __init__(self, n_samples: int, seed: int, min_atoms: int = 8, max_atoms: int = 40) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.clusters = [make_cluster(generator, min_atoms, max_atoms) for _ in range(n_samples)]
        self.energies = torch.stack([lennard_jones_energy(pos) for pos in self.clusters])

    def __len__(self) -> int:
        return len(self.clusters)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.clusters[k], self.energies[k]


def collate_clusters(samples: list, cutoff: float = CUTOFF) -> dict:
    """Disjoint union of clusters with radius-graph edges.

    Batch: pos [N, 3]; node_attr [N, 1] (ones: one species); edge_index [2, E] (row 0 the
    receiver, row 1 the sender); batch [N]; num_graphs B; target [B].
    """
    pos, energy = zip(*samples, strict=True)
    sizes = torch.tensor([len(p) for p in pos])
    batch = torch.repeat_interleave(torch.arange(len(pos)), sizes)
    pos = torch.cat(pos)
    return {
        "pos": pos,
        "node_attr": torch.ones(len(pos), 1),
        "edge_index": radius_graph(pos, cutoff, batch),
        "batch": batch,
        "num_graphs": len(sizes),
        "target": torch.stack(energy),
    }


class ClusterDataModule(SplitLoaders):
    """Train/valid/test clusters, each split generated from its own seed.

    Args:
        n_train, n_valid, n_test: clusters per split.
        batch_size: clusters per batch.
        data_seed: seed of the training split (valid: +1, test: +2).
        max_atoms: largest cluster.
    """

    def __init__(
        self,
        n_train: int = 2000,
        n_valid: int = 200,
        n_test: int = 200,
        batch_size: int = 32,
        data_seed: int = 0,
        max_atoms: int = 40,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False)
        self.data_seed = data_seed  # recorded in the run's metrics.json
        self.splits: dict[str, ClusterDataset] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        hp = self.hparams
        sizes = {"train": hp.n_train, "valid": hp.n_valid, "test": hp.n_test}
        self.splits = {
            name: ClusterDataset(n, hp.data_seed + offset, max_atoms=hp.max_atoms)
            for offset, (name, n) in enumerate(sizes.items())
        }
        energies = self.splits["train"].energies
        # The task normalises its target with these (read in its setup).
        self.data_stats = {"mean": energies.mean().item(), "std": energies.std().item()}

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        return DataLoader(
            self.splits[split],
            batch_size=self.hparams.batch_size,
            shuffle=shuffle,
            collate_fn=collate_clusters,
        )
