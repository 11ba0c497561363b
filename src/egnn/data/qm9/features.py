"""QM9 node features: one-hot species times (Z / 9)^p, p = 0, 1, 2 (15 features)."""

from __future__ import annotations

import torch
from torch import Tensor

from egnn.data.qm9.targets import ATOMIC_NUMBERS, ELEMENTS

MAX_CHARGE = 9.0
CHARGE_POWER = 2
N_NODE_FEATURES = len(ELEMENTS) * (CHARGE_POWER + 1)


def node_features(z: Tensor) -> Tensor:
    """Features [A, 15] of atoms with atomic numbers ``z`` [A], ordered species-major: feature
    ``3 s + p`` is ``[species == s] * (Z / 9)^p``."""
    species = torch.tensor([ATOMIC_NUMBERS[e] for e in ELEMENTS], device=z.device)
    one_hot = (z.long()[:, None] == species[None, :]).to(torch.float32)  # [A, 5]
    powers = (z.to(torch.float32)[:, None] / MAX_CHARGE) ** torch.arange(
        CHARGE_POWER + 1, device=z.device
    )  # [A, 3]
    return (one_hot[:, :, None] * powers[:, None, :]).reshape(z.shape[0], N_NODE_FEATURES)
