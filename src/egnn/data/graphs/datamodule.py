"""LightningDataModule of the graph autoencoder: each graph is seen as fully connected, with edge
attribute 1 on its real edges and 0 elsewhere, and the target is its adjacency."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from egnn.data import keys as K
from egnn.data.base import SplitDataModule
from egnn.data.graphs.dataset import SPLITS, ensure_split, get_spec, load_split
from egnn.errors import ConfigError
from egnn.nn.graph import fully_connected_edges


class AdjacencyDataset(Dataset):
    """Graphs as fully connected edge lists, built once (a training step then only indexes).

    Item ``k``: ``(edge_index [2, n(n-1)] local, adjacency entries [n(n-1)] float, n)``.
    """

    def __init__(self, adjacencies: list[np.ndarray]) -> None:
        self.items = []
        for adjacency in adjacencies:
            n = len(adjacency)
            edge_index = fully_connected_edges(n)
            entries = torch.from_numpy(adjacency.astype(np.float32))[edge_index[0], edge_index[1]]
            self.items.append((edge_index, entries, n))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        return self.items[index]


def collate_graphs(samples: list[tuple[torch.Tensor, torch.Tensor, int]]) -> dict:
    """Disjoint union of graphs (keys of :mod:`egnn.data.keys`).

    Returns node_attr [N, 1] (ones), edge_index [2, E], edge_attr [E, 1] (the adjacency entry),
    edge_target [E], edge_graph [E], batch [N], num_nodes N, num_graphs B.
    """
    sizes = [n for _, _, n in samples]
    offsets = np.cumsum([0, *sizes[:-1]]).tolist()
    edge_index = torch.cat([e + off for (e, _, _), off in zip(samples, offsets, strict=True)], 1)
    entries = torch.cat([t for _, t, _ in samples])
    n_edges = torch.tensor([t.numel() for _, t, _ in samples])
    n_graphs, n_nodes = len(samples), sum(sizes)
    return {
        K.NODE_ATTR: torch.ones(n_nodes, 1),
        K.EDGE_INDEX: edge_index,
        K.EDGE_ATTR: entries[:, None],
        K.EDGE_TARGET: entries,
        K.EDGE_GRAPH: torch.arange(n_graphs).repeat_interleave(n_edges),
        K.BATCH: torch.arange(n_graphs).repeat_interleave(torch.tensor(sizes)),
        K.NUM_NODES: n_nodes,
        K.NUM_GRAPHS: n_graphs,
    }


class GraphDataModule(SplitDataModule):
    """Community Small / Erdos-Renyi graphs for the autoencoder (paper Table 3).

    Args:
        data_dir: cache folder of the generated datasets.
        dataset: ``community_small``, ``erdos_renyi``, ``erdos_renyi_overfit`` (100 graphs, train =
            valid = test) or ``community_tiny``.
        p: edge probability of an Erdos-Renyi set (default: the preset's, 0.25).
        batch_size: graphs per optimisation step (1 in the paper).
        num_workers: DataLoader workers.
        shuffle_seed: seed of the training order (default: the run's seed).
    """

    collate_fn = staticmethod(collate_graphs)

    # pragma: no mutate start (save_hyperparameters reads the caller frame; mutmut would wrap it)
    def __init__(
        self,
        data_dir: str = "data",
        dataset: str = "community_small",
        p: float | None = None,
        batch_size: int = 1,
        num_workers: int = 0,
        shuffle_seed: int | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False)
        self.spec = get_spec(dataset, p)
        if batch_size < 1:
            raise ConfigError(f"data.batch_size must be >= 1, got {batch_size}")
        self.shuffle_seed = torch.initial_seed() if shuffle_seed is None else shuffle_seed
        self.splits: dict[str, AdjacencyDataset] = {}

    # pragma: no mutate end
    @property
    def data_seed(self) -> dict[str, int]:
        source = self.spec.shared_split
        return {split: self.spec.seeds[source or split] for split in SPLITS}

    def prepare_data(self) -> None:
        for split in SPLITS:
            ensure_split(self.hparams.data_dir, self.hparams.dataset, split, self.hparams.p)

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        hp = self.hparams
        for split in SPLITS:
            self.splits[split] = AdjacencyDataset(load_split(hp.data_dir, hp.dataset, split, hp.p))
