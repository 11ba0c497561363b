"""LightningDataModule of QM9: molecules as fully connected graphs, batched without padding."""

from __future__ import annotations

from functools import lru_cache, partial

import numpy as np
import torch
from torch.utils.data import Dataset

from egnn.data import keys as K
from egnn.data.base import SplitDataModule
from egnn.data.nbody.datamodule import graph_choice
from egnn.data.qm9.dataset import load_qm9, split_indices
from egnn.data.qm9.features import node_features
from egnn.data.qm9.targets import TARGETS, check_target
from egnn.errors import ConfigError
from egnn.graphs import GraphChoice
from egnn.nn.graph import fully_connected_edges


@lru_cache(maxsize=64)
def _complete_graph(n: int) -> torch.Tensor:
    return fully_connected_edges(n, 1)


class MoleculeDataset(Dataset):
    """Molecules ``indices`` of the cache: each item is ``(z [n], pos [n, 3], target scalar)``."""

    def __init__(self, data: dict, indices: np.ndarray, target_column: int) -> None:
        self.z, self.pos = data["z"], data["pos"]
        self.n_atoms = data["n_atoms"]
        self.offsets = torch.cumsum(self.n_atoms, 0) - self.n_atoms
        self.targets = data["targets"][:, target_column].to(torch.float32)
        self.indices = torch.as_tensor(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int):
        m = int(self.indices[k])
        start, n = int(self.offsets[m]), int(self.n_atoms[m])
        return self.z[start : start + n], self.pos[start : start + n], self.targets[m]


def collate_molecules(samples: list, graph: GraphChoice | None = None) -> dict:
    """Disjoint union of molecules: each molecule's complete graph only (no padding), or the
    edges of ``graph`` (for example a 5 Angstrom radius graph) within each molecule.

    Batch: z [N], node_attr [N, 15], pos [N, 3], edge_index [2, E], batch [N], target [B].
    """
    z, pos, target = zip(*samples, strict=True)
    sizes = [len(zi) for zi in z]
    batch = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    pos_all = torch.cat(pos)
    if graph is None or graph.kind == "fully_connected":
        offsets = np.cumsum([0, *sizes[:-1]])
        edges = torch.cat(
            [_complete_graph(n) + int(o) for n, o in zip(sizes, offsets, strict=True)], dim=1
        )
    else:
        edges = graph(pos_all, batch)
    z_all = torch.cat(z)
    return {
        K.ATOMIC_NUMBERS: z_all,
        K.NODE_ATTR: node_features(z_all),
        K.POS: pos_all,
        K.EDGE_INDEX: edges,
        K.BATCH: batch,
        K.NUM_GRAPHS: len(sizes),
        K.TARGET: torch.stack(target),
    }


class QM9DataModule(SplitDataModule):
    """QM9 from the ``qm9pack`` package, one target.

    Args:
        data_dir: cache folder (``{data_dir}/qm9/qm9.pt``).
        target: one of ``alpha gap homo lumo mu Cv G H r2 U U0 zpve``.
        batch_size: molecules per batch (96 in the paper).
        n_train: use only the first ``n_train`` molecules of the training split (None: all 100,000).
        num_workers: DataLoader workers.
        shuffle_seed: seed of the training order (default: torch's initial seed).
        graph: ``fully_connected`` (the paper's), ``radius`` (needs ``cutoff``, in Angstrom; 5 is
            the usual choice of SchNet, PaiNN and NequIP users) or ``knn`` (needs ``k``).
        cutoff: radius of ``radius`` graphs in Angstrom.
        k: neighbours per atom of ``knn`` graphs.

    ``data_stats`` (after ``setup``): target, unit, mean and mean absolute deviation of the target
    over the (used) training split, split sizes.
    """

    collate_fn = staticmethod(collate_molecules)

    # pragma: no mutate start (save_hyperparameters reads the caller frame; mutmut would wrap it)
    def __init__(
        self,
        data_dir: str = "data",
        target: str = "homo",
        batch_size: int = 96,
        n_train: int | None = None,
        num_workers: int = 0,
        shuffle_seed: int | None = None,
        graph: str = "fully_connected",
        cutoff: float | None = None,
        k: int | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False)
        check_target(target)
        self.graph = graph_choice(graph, cutoff, k)
        if self.graph.kind != "fully_connected":
            self.collate_fn = partial(collate_molecules, graph=self.graph)
        if batch_size < 1:
            raise ConfigError(f"data.batch_size must be >= 1, got {batch_size}")
        if n_train is not None and not 1 <= n_train <= 100_000:
            raise ConfigError(
                f"data.n_train must be between 1 and 100000 (the training split), got {n_train}"
            )
        self.shuffle_seed = torch.initial_seed() if shuffle_seed is None else shuffle_seed
        self.splits: dict[str, MoleculeDataset] = {}
        self.data_stats: dict = {}

    # pragma: no mutate end
    data_seed = 0  # the split permutation's seed

    def prepare_data(self) -> None:
        load_qm9(self.hparams.data_dir)

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        data = load_qm9(self.hparams.data_dir)
        column = list(TARGETS).index(self.hparams.target)
        indices = split_indices(len(data["n_atoms"]))
        if self.hparams.n_train is not None:
            indices["train"] = indices["train"][: self.hparams.n_train]
        self.splits = {name: MoleculeDataset(data, idx, column) for name, idx in indices.items()}
        train_values = self.splits["train"].targets[torch.as_tensor(indices["train"])].double()
        mean = train_values.mean().item()
        self.data_stats = {
            "target": self.hparams.target,
            "unit": TARGETS[self.hparams.target].unit,
            "mean": mean,
            "mad": (train_values - mean).abs().mean().item(),
            "n_train": len(indices["train"]),
            "n_valid": len(indices["valid"]),
            "n_test": len(indices["test"]),
        }
