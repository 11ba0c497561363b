"""The QM9 task: one molecular property per model, L1 loss on the normalised target (paper Table 4)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torchmetrics import MeanAbsoluteError

from egnn.data import keys as K
from egnn.nn.qm9 import build_qm9_model
from egnn.tasks.base import Task


class QM9Task(Task):
    """Regression of one QM9 target with :class:`~egnn.nn.qm9.QM9EGNN` (``net.name: egnn``) or
    the same function at the release's cost (``egnn_release``).

    The loss is L1 on ``(y - mean) / mad`` with the mean and mean absolute deviation of the
    training split (from the DataModule's ``data_stats`` at fit setup; stored in the checkpoint as
    buffers); validation and test MAE are in the target's unit.

    Logged: ``train/loss``, ``val/mae``, ``val/mae_best``, ``val/best_epoch``, ``test/mae``.
    """

    val_metric = "mae"
    metric_class = MeanAbsoluteError

    def __init__(self, net: Mapping, optimizer: Mapping, scheduler: Mapping | None = None) -> None:
        super().__init__(net, optimizer, scheduler)
        self.net = build_qm9_model(**self.hparams.net)
        self.register_buffer("target_mean", torch.zeros(()))
        self.register_buffer("target_mad", torch.ones(()))

    def setup(self, stage: str) -> None:
        stats = getattr(getattr(self.trainer, "datamodule", None), "data_stats", None)
        if stage == "fit" and stats:
            self.target_mean.fill_(stats["mean"])
            self.target_mad.fill_(stats["mad"])

    def normalised_prediction(self, batch: dict) -> torch.Tensor:
        return self.net(
            batch[K.NODE_ATTR],
            batch[K.POS],
            batch[K.EDGE_INDEX],
            batch[K.BATCH],
            batch[K.NUM_GRAPHS],
        )

    def forward(self, batch: dict) -> torch.Tensor:
        """Predictions in the target's unit, [B]."""
        return self.normalised_prediction(batch) * self.target_mad + self.target_mean

    def target(self, batch: dict) -> torch.Tensor:
        return batch[K.TARGET]

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        normalised_target = (batch[K.TARGET] - self.target_mean) / self.target_mad
        loss = (self.normalised_prediction(batch) - normalised_target).abs().mean()
        return self.log_train_loss(loss, batch[K.NUM_GRAPHS])
