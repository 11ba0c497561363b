"""Lightning callbacks of this framework (the rest of ``configs/callbacks`` is Lightning's own)."""

from __future__ import annotations

import time

import pytorch_lightning as pl


class WallClock(pl.Callback):
    """Logs ``time/train_s`` at every validation: wall time since ``fit`` started (sanity check,
    validation and compilation included), so that the learning curve says when each accuracy was
    reached (time to accuracy). A resumed run goes on counting from the checkpoint's value."""

    def __init__(self) -> None:
        self.offset_s = 0.0
        self.start: float | None = None

    def elapsed_s(self) -> float:
        running = time.perf_counter() - self.start if self.start is not None else 0.0
        return self.offset_s + running

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # After a checkpoint's restore and before the sanity check, so that the first validation
        # (and, with compile=true, its compilation) is counted like everything else.
        self.start = time.perf_counter()

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or self.start is None:
            return
        pl_module.log("time/train_s", self.elapsed_s())

    def state_dict(self) -> dict:
        return {"elapsed_s": self.elapsed_s()}

    def load_state_dict(self, state_dict: dict) -> None:
        self.offset_s = float(state_dict.get("elapsed_s", 0.0))
