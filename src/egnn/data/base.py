"""What the DataModules share: train/valid/test splits served by DataLoaders whose training order
depends only on (seed, epoch)."""

from __future__ import annotations

from collections.abc import Callable

import pytorch_lightning as pl
from torch.utils.data import DataLoader, Dataset

from egnn.data.samplers import EpochSeededRandomSampler


class SplitLoaders(pl.LightningDataModule):
    """A DataModule whose train, valid and test loaders come from one method,
    ``_loader(split, shuffle)`` (``split`` is ``"train"``, ``"valid"`` or ``"test"``; only training
    shuffles), which subclasses define."""

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        raise NotImplementedError

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("valid", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)


class SplitDataModule(SplitLoaders):
    """Base of the DataModules: subclasses fill ``self.splits`` in ``setup`` and set ``collate_fn``
    and ``drop_last`` (drop a partial last training batch); hparams need ``batch_size`` and
    ``num_workers``, and ``self.shuffle_seed`` the training-order seed."""

    collate_fn: Callable
    drop_last: bool = False
    shuffle_seed: int
    splits: dict[str, Dataset]

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        dataset = self.splits[split]
        batch_size = self.hparams.batch_size
        return DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=EpochSeededRandomSampler(len(dataset), self.shuffle_seed) if shuffle else None,
            # A partial last batch is dropped when asked, but kept when it is the only one.
            drop_last=shuffle and self.drop_last and len(dataset) >= batch_size,
            num_workers=self.hparams.num_workers,
            collate_fn=self.collate_fn,
            persistent_workers=self.hparams.num_workers > 0,
        )
