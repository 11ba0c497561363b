"""Lightning callbacks of this framework (the rest of ``configs/callbacks`` is Lightning's own)."""

from __future__ import annotations

import os
import statistics
import time

import pytorch_lightning as pl


class WallClock(pl.Callback):
    """Logs ``time/train_s`` at every validation: wall time since ``fit`` started (sanity check,
    validation and compilation included), so that the learning curve says when each accuracy was
    reached (time to accuracy). A resumed run goes on counting from the checkpoint's value.

    Also logs ``time/cpu_s``, this process's CPU time over the same span: on a shared machine the
    wall time grows with what runs beside the training, the CPU time much less (with one thread
    it is the time the training would take on an idle core). The machine's 1-minute load average
    is sampled at every validation (:meth:`load_average_median`)."""

    def __init__(self) -> None:
        self.offset_s = 0.0
        self.cpu_offset_s = 0.0
        self.start: float | None = None
        self.cpu_start: float | None = None
        self.load_samples: list[float] = []

    def elapsed_s(self) -> float:
        running = time.perf_counter() - self.start if self.start is not None else 0.0
        return self.offset_s + running

    def cpu_s(self) -> float:
        """CPU time of this process since ``fit`` started (all its threads)."""
        running = time.process_time() - self.cpu_start if self.cpu_start is not None else 0.0
        return self.cpu_offset_s + running

    def load_average_median(self) -> float | None:
        """Median of the 1-minute load averages sampled at this process's validations (None
        before the first one)."""
        return statistics.median(self.load_samples) if self.load_samples else None

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # After a checkpoint's restore and before the sanity check, so that the first validation
        # (and, with compile=true, its compilation) is counted like everything else.
        self.start = time.perf_counter()
        self.cpu_start = time.process_time()

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or self.start is None:
            return
        pl_module.log("time/train_s", self.elapsed_s())
        pl_module.log("time/cpu_s", self.cpu_s())
        self.load_samples.append(os.getloadavg()[0])

    def state_dict(self) -> dict:
        return {"elapsed_s": self.elapsed_s(), "cpu_s": self.cpu_s()}

    def load_state_dict(self, state_dict: dict) -> None:
        self.offset_s = float(state_dict.get("elapsed_s", 0.0))
        self.cpu_offset_s = float(state_dict.get("cpu_s", 0.0))
