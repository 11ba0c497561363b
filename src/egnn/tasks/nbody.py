"""The N-body task: predict the positions of charged particles 1,000 steps ahead (paper Table 2)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch.nn import functional as F
from torchmetrics import MeanSquaredError

from egnn.data import keys as K
from egnn.nn.nbody import build_nbody_model
from egnn.tasks.base import Task
from egnn.tasks.numerics import check_finite_loss

DEFAULT_OPTIMIZER = {"_target_": "torch.optim.Adam", "lr": 5e-4, "weight_decay": 1e-12}


class NBodyTask(Task):
    """MSE regression of future positions with any model of :mod:`egnn.nn.nbody`.

    Args:
        net: ``{"name": <model name>, **model kwargs}``, e.g. ``{"name": "egnn", "hidden_nf": 64}``.
        optimizer: optimizer dict (default Adam 5e-4, weight decay 1e-12).
        scheduler: optional scheduler dict.

    Logged: ``train/loss``, ``val/mse``, ``val/mse_best``, ``val/best_epoch``, ``test/mse``.
    """

    val_metric = "mse"

    def __init__(
        self, net: Mapping, optimizer: Mapping | None = None, scheduler: Mapping | None = None
    ) -> None:
        super().__init__(net, optimizer or DEFAULT_OPTIMIZER, scheduler)
        self.net = build_nbody_model(**self.hparams.net)
        self.val_mse, self.test_mse = MeanSquaredError(), MeanSquaredError()

    def forward(self, batch: dict) -> torch.Tensor:
        """Predicted positions [N, 3] of a batch (keys of :mod:`egnn.data.keys`)."""
        return self.net(batch[K.POS], batch[K.VEL], batch[K.CHARGES], batch[K.EDGE_INDEX])

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        loss = F.mse_loss(self(batch), batch[K.TARGET_POS])
        check_finite_loss(loss, self.current_epoch, self.global_step)
        self.log(
            "train/loss",
            loss,
            on_step=False,
            on_epoch=True,
            prog_bar=True,
            batch_size=batch[K.NUM_GRAPHS],
        )
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self.val_mse.update(self(batch), batch[K.TARGET_POS])

    def on_validation_epoch_end(self) -> None:
        self.log_validation(self.val_mse.compute())
        self.val_mse.reset()

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self.test_mse.update(self(batch), batch[K.TARGET_POS])

    def on_test_epoch_end(self) -> None:
        self.log("test/mse", self.test_mse.compute())
        self.test_mse.reset()
