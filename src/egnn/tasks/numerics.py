"""Numerical safety checks shared by the task modules."""

from __future__ import annotations

import torch


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or Inf loss."""


def check_finite_loss(loss: torch.Tensor, epoch: int, step: int) -> None:
    """Stop training before a NaN/Inf loss reaches the weights, with advice on what to change."""
    if not torch.isfinite(loss):
        raise NonFiniteLossError(
            f"training loss is {loss.item()} at epoch {epoch}, step {step}; training stopped. Remedies:"
            " trainer.gradient_clip_val=1.0, a lower model.optimizer.lr, or the EGNN options"
            " model.net.tanh=true / model.net.normalize=true."
        )
