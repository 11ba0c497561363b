"""What every task module shares: plain-data hyperparameters, optimizer building, and the
best-validation bookkeeping that model selection, early stopping and resuming rely on."""

from __future__ import annotations

from collections.abc import Mapping

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf

from egnn.tasks.optim import build_optimizer, build_scheduler


def plain(value):
    """OmegaConf containers -> plain dicts/lists, so checkpoints hold data only."""
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, DictConfig) else value


class Task(pl.LightningModule):
    """Base of the task modules.

    Args:
        net: ``{"name": <model name>, **model kwargs}``.
        optimizer: ``{"_target_": <optimizer class path>, **kwargs}``.
        scheduler: optional ``{"_target_": <scheduler class path>, "interval": ..., **kwargs}``.

    Subclasses set ``val_metric`` (e.g. ``"mse"``) and call :meth:`log_validation` once per
    validation epoch; it logs ``val/<metric>``, ``val/<metric>_best`` and ``val/best_epoch``.
    """

    val_metric = "loss"

    def __init__(self, net: Mapping, optimizer: Mapping, scheduler: Mapping | None = None) -> None:
        super().__init__()
        self.save_hyperparameters(
            {"net": plain(net), "optimizer": plain(optimizer), "scheduler": plain(scheduler)}
        )
        self.best_val, self.best_epoch = float("inf"), -1

    def log_validation(self, value: torch.Tensor) -> None:
        if not self.trainer.sanity_checking and value.item() < self.best_val:
            self.best_val, self.best_epoch = value.item(), self.current_epoch
        self.log(f"val/{self.val_metric}", value, prog_bar=True)
        self.log(f"val/{self.val_metric}_best", min(self.best_val, value.item()))
        self.log("val/best_epoch", float(self.best_epoch))

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["best_val"] = {"value": self.best_val, "epoch": self.best_epoch}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        best = checkpoint.get("best_val", {})
        self.best_val, self.best_epoch = best.get("value", float("inf")), best.get("epoch", -1)

    def configure_optimizers(self):
        optimizer = build_optimizer(self.hparams.optimizer, self.parameters())
        scheduler = build_scheduler(self.hparams.scheduler, optimizer)
        return (
            optimizer if scheduler is None else {"optimizer": optimizer, "lr_scheduler": scheduler}
        )
