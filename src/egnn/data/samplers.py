"""Samplers whose order depends only on (seed, epoch): a resumed run sees the same batches."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class EpochSeededRandomSampler(Sampler[int]):
    """A random permutation of ``range(n)`` drawn from ``seed`` and the epoch.

    Lightning calls ``set_epoch`` at the start of every training epoch, so the order of epoch k is
    the same whether the run went through epochs 0..k-1 in this process or resumed from a
    checkpoint.
    """

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed, self.epoch = n, int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed((self.seed * 100_003 + self.epoch) % (2**63 - 1))
        return iter(torch.randperm(self.n, generator=generator).tolist())

    def __len__(self) -> int:
        return self.n
