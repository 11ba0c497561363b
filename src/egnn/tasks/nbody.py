"""The N-body task: predict the positions of charged particles 1,000 steps ahead (paper Table 2)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch.nn import functional as F
from torchmetrics import MeanSquaredError

from egnn.data import keys as K
from egnn.nn.nbody import NBodyEnsemble, build_nbody_model
from egnn.tasks.base import Task

DEFAULT_OPTIMIZER = {"_target_": "torch.optim.Adam", "lr": 5e-4, "weight_decay": 1e-12}


def model_inputs(batch: dict) -> tuple[torch.Tensor, ...]:
    """(positions [N, 3], velocities [N, 3], charges [N, 1], edge_index [2, E]) of a batch."""
    return batch[K.POS], batch[K.VEL], batch[K.CHARGES], batch[K.EDGE_INDEX]


class NBodyTask(Task):
    """MSE regression of future positions with any model of :mod:`egnn.nn.nbody`.

    Args:
        net: ``{"name": <model name>, **model kwargs}``, e.g. ``{"name": "egnn", "hidden_nf": 64}``.
        optimizer: optimizer dict (default Adam 5e-4, weight decay 1e-12).
        scheduler: optional scheduler dict.

    Logged: ``train/loss``, ``val/mse``, ``val/mse_best``, ``val/best_epoch``, ``test/mse``.
    """

    val_metric = "mse"
    metric_class = MeanSquaredError

    def __init__(
        self, net: Mapping, optimizer: Mapping | None = None, scheduler: Mapping | None = None
    ) -> None:
        super().__init__(net, optimizer or DEFAULT_OPTIMIZER, scheduler)
        self.net = build_nbody_model(**self.hparams.net)

    def forward(self, batch: dict) -> torch.Tensor:
        """Predicted positions [N, 3] of a batch (keys of :mod:`egnn.data.keys`)."""
        return self.net(*model_inputs(batch))

    def target(self, batch: dict) -> torch.Tensor:
        return batch[K.TARGET_POS]

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        target = self.target(batch)
        if isinstance(self.net, NBodyEnsemble):  # each member's own loss, averaged
            prediction = self.net.member_predictions(*model_inputs(batch))
            target = target.expand_as(prediction)
        else:
            prediction = self(batch)
        return self.log_train_loss(F.mse_loss(prediction, target), batch[K.NUM_GRAPHS])
