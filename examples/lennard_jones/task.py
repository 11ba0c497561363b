"""Task of the example: the energy of a Lennard-Jones cluster from an invariant EGNN.

The network is egnn's backbone on the batch's radius graph with no coordinate updates (an
E(n)-invariant model), a per-atom energy MLP and a sum over each cluster's atoms, so the energy
is extensive, like the target. Everything else (metrics ``val/mae``, ``val/mae_best``,
``test/mae``, the optimizer and scheduler from the config, best-epoch bookkeeping) comes from
:class:`egnn.tasks.base.Task`.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from torchmetrics import MeanAbsoluteError

from egnn.nn import EGNN
from egnn.nn.segment import segment_sum
from egnn.tasks.base import Task


class ClusterEnergyNet(nn.Module):
    """Invariant EGNN + per-atom MLP + sum readout.

    Shapes: node_attr [N, in_node_nf]; pos [N, 3]; edge_index [2, E]; batch [N]; returns [B].
    """

    def __init__(self, in_node_nf: int = 1, hidden_nf: int = 32, n_layers: int = 3) -> None:
        super().__init__()
        self.egnn = EGNN(in_node_nf, hidden_nf, None, n_layers=n_layers, update_coords=False)
        self.atom_energy = nn.Sequential(
            nn.Linear(hidden_nf, hidden_nf), nn.SiLU(), nn.Linear(hidden_nf, 1)
        )

    def forward(self, node_attr, pos, edge_index, batch, num_graphs: int) -> torch.Tensor:
        h, _ = self.egnn(node_attr, pos, edge_index)
        return segment_sum(self.atom_energy(h), batch, num_graphs).squeeze(-1)


class ClusterEnergyTask(Task):
    """L1 loss on the energy scaled by the training split's standard deviation; MAE in epsilon."""

    val_metric = "mae"
    metric_class = MeanAbsoluteError

    def __init__(self, net: Mapping, optimizer: Mapping, scheduler: Mapping | None = None) -> None:
        super().__init__(net, optimizer, scheduler)
        self.net = ClusterEnergyNet(**{k: v for k, v in self.hparams.net.items() if k != "name"})
        self.register_buffer("energy_scale", torch.ones(()))

    def setup(self, stage: str) -> None:
        stats = getattr(getattr(self.trainer, "datamodule", None), "data_stats", None)
        if stage == "fit" and stats:
            self.energy_scale.fill_(stats["std"])

    def forward(self, batch: dict) -> torch.Tensor:
        """Predicted energies [B], in units of epsilon."""
        args = (batch["node_attr"], batch["pos"], batch["edge_index"], batch["batch"])
        return self.net(*args, batch["num_graphs"]) * self.energy_scale

    def target(self, batch: dict) -> torch.Tensor:
        return batch["target"]

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        loss = ((self(batch) - batch["target"]) / self.energy_scale).abs().mean()
        return self.log_train_loss(loss, batch["num_graphs"])
