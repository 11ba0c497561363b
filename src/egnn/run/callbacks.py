"""Lightning callbacks of this framework (the rest of ``configs/callbacks`` is Lightning's own)."""

from __future__ import annotations

import logging
import math
import os
import statistics
import time

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Timer

from egnn.nn.compile import AUTO_COMPILE_MIN_STEPS, compile_module, compile_pays

log = logging.getLogger(__name__)


class AutoCompile(pl.Callback):
    """``compile=auto``: compile the task's ``net`` when training starts if compiling pays for it
    (:func:`~egnn.nn.compile.compile_pays`) and at least ``min_steps`` optimizer steps are left
    to take (Lightning's ``estimated_stepping_batches``, epochs x batches or ``max_steps``, less
    the steps a resumed run has taken; a ``trainer.max_time`` budget is not counted), so that
    short runs (tests, ``fast_dev_run``, a few epochs) skip the compile time and long ones get
    the fused kernels. Where no compiler works, :func:`~egnn.nn.compile.compile_module` leaves the
    network eager. ``compiled`` says what was chosen. An ensemble's members are not compiled.
    """

    def __init__(self, min_steps: int = AUTO_COMPILE_MIN_STEPS) -> None:
        self.min_steps = min_steps
        self.compiled = False

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        net = getattr(pl_module, "net", None)
        if net is None or not compile_pays(net):
            return
        steps_left = trainer.estimated_stepping_batches - trainer.global_step
        if steps_left < self.min_steps:
            log.info(
                "compile=auto: eager (%s steps left to take, compiling pays from %d)",
                steps_left,
                self.min_steps,
            )
            return
        self.compiled = compile_module(net, device=str(trainer.strategy.root_device))
        log.info("compile=auto: %s", "compiled" if self.compiled else "eager (no compiler)")


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
        # The slowest process's clocks (several under DDP).
        pl_module.log("time/train_s", self.elapsed_s(), sync_dist=True, reduce_fx="max")
        pl_module.log("time/cpu_s", self.cpu_s(), sync_dist=True, reduce_fx="max")
        self.load_samples.append(os.getloadavg()[0])

    def state_dict(self) -> dict:
        return {"elapsed_s": self.elapsed_s(), "cpu_s": self.cpu_s()}

    def load_state_dict(self, state_dict: dict) -> None:
        self.offset_s = float(state_dict.get("elapsed_s", 0.0))
        self.cpu_offset_s = float(state_dict.get("cpu_s", 0.0))


class ValidateBeforeStop(pl.Callback):
    """Validate the weights that training ends with, whatever ``check_val_every_n_epoch`` says.

    Validation normally runs every ``trainer.check_val_every_n_epoch`` epochs, so a run of
    ``max_epochs`` that is no multiple of it (or one that the time budget stops) would end on weights
    that were never validated: no best checkpoint, and a test of unvalidated weights. This callback
    makes the last epoch, and any epoch in which the time budget runs out, validate too.
    """

    def __init__(self) -> None:
        self.every: int | None = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.every = trainer.check_val_every_n_epoch

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        last = trainer.max_epochs is not None and trainer.current_epoch + 1 >= trainer.max_epochs
        trainer.check_val_every_n_epoch = 1 if last else self.every

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        out_of_time = any(
            (left := timer.time_remaining("train")) is not None and left <= 0
            for timer in trainer.callbacks
            if isinstance(timer, Timer)
        )
        if out_of_time or trainer.should_stop:
            trainer.check_val_every_n_epoch = 1


def _clock(seconds: float) -> str:
    """``H:MM:SS`` of a duration in seconds."""
    seconds = max(int(round(seconds)), 0)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class ProgressLine(pl.Callback):
    """One plain log line per validation, for logs written to files or pipes (where a progress
    bar is noise): epoch and optimizer step, mean training loss of the epoch so far, the
    validation metric, the best so far and its epoch, elapsed time and an upper bound of the time
    left (the steps still to take at the pace of those taken since this process started, or the
    time budget, whichever ends first; early stopping may end sooner). Steps, not epochs, set the
    pace, so that runs validating several times an epoch (``trainer.val_check_interval`` < 1)
    get the same estimate."""

    def __init__(self, monitor: str = "val/loss") -> None:
        self.monitor = monitor
        self.start: float | None = None
        self.first_step = 0
        self.total_steps = math.inf

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.start, self.first_step = time.perf_counter(), trainer.global_step
        self.total_steps = trainer.estimated_stepping_batches

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or self.start is None or not trainer.is_global_zero:
            return
        epoch = trainer.current_epoch
        elapsed = time.perf_counter() - self.start
        parts = [f"epoch {epoch + 1}" + (f"/{trainer.max_epochs}" if trainer.max_epochs else "")]
        steps = f"step {trainer.global_step:,}"
        parts.append(
            steps + (f"/{int(self.total_steps):,}" if math.isfinite(self.total_steps) else "")
        )
        samples = getattr(pl_module, "train_samples", 0)
        if samples:
            parts.append(f"train/loss {float(pl_module.train_loss_sum) / samples:.5g}")
        value = trainer.callback_metrics.get(self.monitor)
        if value is not None:
            parts.append(f"{self.monitor} {float(value):.5g}")
        best_value = getattr(pl_module, "best_val", float("inf"))
        if best_value < float("inf"):
            parts.append(f"best {best_value:.5g} (epoch {pl_module.best_epoch + 1})")
        parts.append(f"elapsed {_clock(elapsed)}")
        left = self.time_left(trainer, elapsed)
        if left is not None:
            parts.append(f"left <= {_clock(left)}")
        log.info("  ".join(parts))

    def time_left(self, trainer: pl.Trainer, elapsed: float) -> float | None:
        """Seconds left at most (None when neither a step count nor a time budget bounds them)."""
        done = trainer.global_step - self.first_step
        bounds = []
        if math.isfinite(self.total_steps) and done > 0:
            bounds.append(elapsed / done * max(self.total_steps - trainer.global_step, 0))
        for timer in (c for c in trainer.callbacks if isinstance(c, Timer)):
            remaining = timer.time_remaining("train")
            if remaining is not None:
                bounds.append(max(remaining, 0.0))
        return min(bounds) if bounds else None
