"""A PyTorch Geometric dataset as a LightningDataModule (needs ``torch_geometric``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.data import DataLoader, Subset

from egnn.data.base import SplitLoaders
from egnn.errors import ConfigError
from egnn.pyg.convert import batch_from_pyg


def collate_pyg(data_list: list) -> dict:
    """PyG ``Data`` objects -> one ``Batch`` -> an egnn batch dict (receiver-first edges)."""
    from torch_geometric.data import Batch

    return batch_from_pyg(Batch.from_data_list(data_list))


class PyGDataModule(SplitLoaders):
    """Train/valid/test loaders over a PyG dataset (any sequence of ``Data`` with ``pos``).

    Either pass one ``dataset`` and the split ``fractions`` (a seeded random permutation), or
    ``train``/``valid``/``test`` datasets. Batches are egnn batch dicts (:func:`batch_from_pyg`),
    so egnn's task modules consume them as they do the built-in datasets'.

    Args:
        dataset: the whole dataset (``torch_geometric.data.Dataset`` or a list of ``Data``).
        fractions: (train, valid, test) shares of ``dataset``, summing to at most 1.
        train, valid, test: separate splits instead of ``dataset``.
        batch_size: graphs per batch.
        split_seed: seed of the split permutation (recorded as ``data_seed``).
        num_workers: DataLoader workers.
    """

    def __init__(
        self,
        dataset: Sequence | None = None,
        fractions: Sequence[float] = (0.8, 0.1, 0.1),
        train: Sequence | None = None,
        valid: Sequence | None = None,
        test: Sequence | None = None,
        batch_size: int = 32,
        split_seed: int = 0,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        if (dataset is None) == (train is None):
            raise ConfigError(
                "PyGDataModule needs either `dataset` or `train` (with valid/test), not both"
            )
        if len(fractions) != 3 or min(fractions) < 0 or sum(fractions) > 1 + 1e-9:
            raise ConfigError(
                f"fractions must be 3 shares >= 0 summing to <= 1, got {list(fractions)}"
            )
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        self.dataset, self.fractions = dataset, tuple(fractions)
        self.splits = {"train": train, "valid": valid, "test": test}
        self.batch_size, self.num_workers = batch_size, num_workers
        self.data_seed = split_seed

    def setup(self, stage: str | None = None) -> None:
        if self.dataset is None or self.splits["train"] is not None:
            return
        n = len(self.dataset)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(self.data_seed)).tolist()
        sizes = [int(round(share * n)) for share in self.fractions]
        start = 0
        for name, size in zip(("train", "valid", "test"), sizes, strict=True):
            self.splits[name] = Subset(self.dataset, order[start : start + size])
            start += size

    def _loader(self, name: str, shuffle: bool) -> DataLoader:
        split = self.splits[name]
        if split is None:
            raise ConfigError(f"PyGDataModule has no {name} split")
        return DataLoader(
            split,
            batch_size=self.batch_size,
            shuffle=shuffle,
            collate_fn=collate_pyg,
            num_workers=self.num_workers,
        )
