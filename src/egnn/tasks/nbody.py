"""The N-body task: predict the positions of charged particles 1,000 steps ahead (paper Table 2)."""

from __future__ import annotations

from collections.abc import Mapping

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf
from torch.nn import functional as F
from torchmetrics import MeanSquaredError

from egnn.data import keys as K
from egnn.nn.nbody import build_nbody_model
from egnn.tasks.numerics import check_finite_loss
from egnn.tasks.optim import build_optimizer, build_scheduler

DEFAULT_OPTIMIZER = {"_target_": "torch.optim.Adam", "lr": 5e-4, "weight_decay": 1e-12}


def _plain(value):
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, DictConfig) else value


class NBodyTask(pl.LightningModule):
    """MSE regression of future positions with any model of :mod:`egnn.nn.nbody`.

    Args:
        net: ``{"name": <model name>, **model kwargs}``, e.g. ``{"name": "egnn", "hidden_nf": 64}``.
        optimizer: ``{"_target_": <optimizer class path>, **kwargs}`` (Adam 5e-4, weight decay 1e-12).
        scheduler: optional ``{"_target_": <scheduler class path>, "interval": ..., **kwargs}``.

    Logged: ``train/loss``, ``val/mse``, ``val/mse_best``, ``val/best_epoch``, ``test/mse``.
    """

    def __init__(
        self, net: Mapping, optimizer: Mapping | None = None, scheduler: Mapping | None = None
    ) -> None:
        super().__init__()
        net, optimizer, scheduler = _plain(net), _plain(optimizer), _plain(scheduler)
        self.save_hyperparameters(
            {"net": net, "optimizer": optimizer or DEFAULT_OPTIMIZER, "scheduler": scheduler}
        )
        self.net = build_nbody_model(**net)
        self.val_mse, self.test_mse = MeanSquaredError(), MeanSquaredError()
        self.best_val_mse = float("inf")
        self.best_epoch = -1

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
        mse = self.val_mse.compute()
        self.val_mse.reset()
        if not self.trainer.sanity_checking and mse.item() < self.best_val_mse:
            self.best_val_mse, self.best_epoch = mse.item(), self.current_epoch
        self.log("val/mse", mse, prog_bar=True)
        self.log("val/mse_best", min(self.best_val_mse, mse.item()))
        self.log("val/best_epoch", float(self.best_epoch))

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self.test_mse.update(self(batch), batch[K.TARGET_POS])

    def on_test_epoch_end(self) -> None:
        self.log("test/mse", self.test_mse.compute())
        self.test_mse.reset()

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["best_val"] = {"mse": self.best_val_mse, "epoch": self.best_epoch}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        best = checkpoint.get("best_val", {})
        self.best_val_mse, self.best_epoch = best.get("mse", float("inf")), best.get("epoch", -1)

    def configure_optimizers(self):
        optimizer = build_optimizer(self.hparams.optimizer, self.parameters())
        scheduler = build_scheduler(self.hparams.scheduler, optimizer)
        return (
            optimizer if scheduler is None else {"optimizer": optimizer, "lr_scheduler": scheduler}
        )
