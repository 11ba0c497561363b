"""Training entry point: ``egnn-train experiment=nbody`` (or ``python train.py experiment=nbody``).

Composes the Hydra config, seeds everything, writes the resolved config into the run folder,
fits, tests the best checkpoint, measures the forward time and writes ``metrics.json``.
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from pathlib import Path

import hydra
import pytorch_lightning as pl
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict
from pytorch_lightning.callbacks import EarlyStopping, Timer
from pytorch_lightning.callbacks.early_stopping import EarlyStoppingReason
from pytorch_lightning.utilities import rank_zero_only

from egnn.atomic import atomic_write_json, atomic_write_text
from egnn.errors import ConfigError
from egnn.integrity import exclusive
from egnn.nn.compile import compile_module
from egnn.run.callbacks import AutoCompile, ProgressLine, ValidateBeforeStop, WallClock
from egnn.run.checkpoints import ChecksummedCheckpointIO, checkpoint_model_name, read_checkpoint
from egnn.run.common import (
    CONFIG_DIR,
    config_error_exit,
    instantiate_dict,
    job_overrides,
    measure_forward_time,
    run_main,
    run_metadata,
    test_metrics,
)
from egnn.run.csv_history import restore_history, stash_history
from egnn.run.provenance import command_line, git_commit, program_name
from egnn.run.resolvers import register_resolvers
from egnn.run.resume import SAVED_CONFIG, first_run_provenance, record_resume, resume_config
from egnn.run.run_dir import CHECKPOINT_DIR, LAST_CHECKPOINT, resolve_checkpoint
from egnn.run.settings import check_settings
from egnn.run.wandb_run import fill_wandb_settings, finish_wandb_runs, start_wandb_runs
from egnn.tasks.numerics import NonFiniteLossError

log = logging.getLogger(__name__)

register_resolvers()


def choose_seed(cfg: DictConfig) -> int:
    """The run's seed: ``cfg.seed``, or a fresh one written back into ``cfg`` when it is null
    (in the extra processes of a DDP run: the one rank zero drew, which Lightning passes on)."""
    with open_dict(cfg):
        if cfg.get("seed") is None and not is_rank_zero() and os.environ.get("PL_GLOBAL_SEED"):
            cfg.seed = int(os.environ["PL_GLOBAL_SEED"])
        elif cfg.get("seed") is None:
            cfg.seed = random.SystemRandom().randrange(2**31)
    return int(cfg.seed)


def _resumed_epoch(path: str, cfg: DictConfig) -> int:
    """The epoch stored in the checkpoint to resume, after checking that it is intact and holds
    the configured model."""
    checkpoint = read_checkpoint(path)
    held, wanted = checkpoint_model_name(checkpoint), OmegaConf.select(cfg, "model.net.name")
    if held is not None and wanted is not None and held != wanted:
        raise ConfigError(
            f"checkpoint {path} holds a {held!r} model, not the configured {wanted!r}: resume it"
            f" with model={held} (or start a new run)"
        )
    return int(checkpoint.get("epoch", -1))


def _train_time_s(trainer: pl.Trainer, this_process_s: float) -> float:
    """Training wall time of the whole run: the :class:`WallClock`'s total where it runs (from
    ``fit`` start: sanity check, compilation and validation included, data setup excluded; a
    resumed run adds the time before its checkpoint), else this process's ``fit`` call."""
    clocks = [c for c in trainer.callbacks if isinstance(c, WallClock)]
    return clocks[0].elapsed_s() if clocks else this_process_s


def _contention(trainer: pl.Trainer) -> dict:
    """What the :class:`WallClock` saw of the machine: ``train_cpu_s`` (this process's CPU time
    over the training) and ``load_average_1min_median`` (sampled at its validations)."""
    clocks = [c for c in trainer.callbacks if isinstance(c, WallClock)]
    if not clocks:
        return {}
    return {
        "train_cpu_s": clocks[0].cpu_s(),
        "load_average_1min_median": clocks[0].load_average_median(),
    }


EARLY_STOPPING_REASONS = {
    EarlyStoppingReason.PATIENCE_EXHAUSTED: "early_stopping",
    EarlyStoppingReason.STOPPING_THRESHOLD: "stopping_threshold",
    EarlyStoppingReason.DIVERGENCE_THRESHOLD: "divergence_threshold",
    EarlyStoppingReason.NON_FINITE_METRIC: "non_finite_metric",
}


def stop_reason(trainer: pl.Trainer) -> str:
    """Why ``fit`` ended: ``early_stopping`` (patience), ``stopping_threshold``,
    ``divergence_threshold``, ``non_finite_metric``, ``max_time`` (the trainer's time budget),
    ``max_epochs`` or ``other`` (e.g. ``max_steps``)."""
    if trainer.should_stop:  # a callback asked to stop: early stopping or the time budget
        for callback in trainer.callbacks:
            if isinstance(callback, EarlyStopping) and callback.stopping_reason in (
                EARLY_STOPPING_REASONS
            ):
                return EARLY_STOPPING_REASONS[callback.stopping_reason]
        for timer in (c for c in trainer.callbacks if isinstance(c, Timer)):
            remaining = timer.time_remaining("train")
            if remaining is not None and remaining <= 0:
                return "max_time"
    if trainer.max_epochs is not None and 0 <= trainer.max_epochs <= trainer.current_epoch:
        return "max_epochs"
    return "other"


def _best_checkpoint(trainer: pl.Trainer) -> str | None:
    callback = trainer.checkpoint_callback
    path = getattr(callback, "best_model_path", "") if callback is not None else ""
    return path or None


def train(cfg: DictConfig) -> dict:
    """Run one training (and test) described by ``cfg``; returns the metrics written to metrics.json."""
    provenance = {
        "command": command_line(),
        "git_commit": git_commit(),
    }  # at start: the code that runs
    output_dir = Path(cfg.paths.output_dir)
    changed = None
    if cfg.get("ckpt_path") and cfg.get("train", True) and (output_dir / SAVED_CONFIG).is_file():
        cfg, changed = resume_config(cfg, output_dir, job_overrides())  # the run's own config
        first = first_run_provenance(output_dir, program_name(), job_overrides())
        provenance.update(first or {})  # named and reproduced as the run, resumes listed
    check_settings(cfg)
    check_distributed_multirun(cfg)
    if not is_rank_zero():  # a DDP process that rank zero started: rank zero holds the folder
        return _train_in(cfg, output_dir, provenance, changed)
    with exclusive(output_dir / "train", wait=False, what=f"run folder {output_dir}"):
        return _train_in(cfg, output_dir, provenance, changed)


def check_distributed_multirun(cfg: DictConfig) -> None:
    """Refuse Lightning's ``ddp`` with several devices in a multirun job outside SLURM: its extra
    processes re-run this command line, so they would re-run the whole sweep."""
    if not HydraConfig.initialized() or str(HydraConfig.get().mode) != "RunMode.MULTIRUN":
        return
    devices = cfg.trainer.get("devices", 1)
    several = devices == -1 or (isinstance(devices, int) and devices > 1)
    if cfg.trainer.get("strategy") == "ddp" and several and "SLURM_NTASKS" not in os.environ:
        raise ConfigError(
            f"trainer.strategy=ddp with trainer.devices={devices} in a multirun would re-run the"
            " sweep in every extra process: give each job one device (trainer.devices=1), or use"
            " launcher=slurm with hydra.launcher.tasks_per_node=<devices>"
        )


def is_rank_zero() -> bool:
    """False in the other processes of a distributed run (Lightning's DDP children, SLURM tasks):
    only rank zero writes the run's records (config, metrics.json, resumes, data statistics)."""
    return rank_zero_only.rank == 0


def _train_in(
    cfg: DictConfig, output_dir: Path, provenance: dict, resume_changes: dict | None
) -> dict:
    """:func:`train` in ``output_dir``, which this process holds the lock of; ``resume_changes``
    (None for a new run) are the harmless settings a resume changed."""
    torch.set_num_threads(int(cfg.num_threads))
    seed = choose_seed(cfg)
    pl.seed_everything(seed, workers=True)
    ckpt_path = (
        resolve_checkpoint(cfg.get("ckpt_path"), output_dir) if cfg.get("train", True) else None
    )
    resumed_epoch = _resumed_epoch(ckpt_path, cfg) if ckpt_path else None  # intact, same model
    if is_rank_zero() and resume_changes is None:  # a resume never rewrites the run's config
        atomic_write_text(output_dir / SAVED_CONFIG, OmegaConf.to_yaml(cfg, resolve=True))
    elif is_rank_zero():
        entry = {
            "time": time.strftime("%Y-%m-%d %H:%M:%S"),
            "command": command_line(),
            "git_commit": provenance["git_commit"],
            "overrides": job_overrides(),
            "checkpoint": ckpt_path,
            "from_epoch": resumed_epoch,
            "changed": {k: [old, new] for k, (old, new) in resume_changes.items()},
        }
        provenance = {**provenance, "resumes": record_resume(output_dir, entry)}
        log.info("resuming %s with its own saved config; changed: %s", output_dir, entry["changed"])

    datamodule: pl.LightningDataModule = hydra.utils.instantiate(cfg.data)
    model: pl.LightningModule = hydra.utils.instantiate(cfg.model)
    callbacks = [*instantiate_dict(cfg.get("callbacks")), ValidateBeforeStop()]
    if not cfg.trainer.get("enable_progress_bar", True):  # files and pipes: one line per check
        callbacks.append(ProgressLine(monitor=f"val/{getattr(model, 'val_metric', 'loss')}"))
    fill_wandb_settings(cfg, job_type="train")
    loggers = instantiate_dict(cfg.get("logger"))
    run = (datamodule, model, callbacks, loggers)
    try:
        metrics = _fit_and_test(cfg, output_dir, provenance, ckpt_path, resumed_epoch, *run)
    except BaseException:  # one W&B run per job, finished even when the job fails
        finish_wandb_runs(loggers, None, failed=True)
        raise
    finish_wandb_runs(loggers, metrics, failed=False)
    return metrics


def _fit_and_test(
    cfg: DictConfig,
    output_dir: Path,
    provenance: dict,
    ckpt_path: str | None,
    resumed_epoch: int | None,
    datamodule: pl.LightningDataModule,
    model: pl.LightningModule,
    callbacks: list,
    loggers: list,
) -> dict:
    """Fit (or resume), test the best checkpoint, write metrics.json; returns its metrics."""
    auto_compile = AutoCompile() if cfg.get("compile") == "auto" else None
    trainer: pl.Trainer = hydra.utils.instantiate(
        cfg.trainer,
        callbacks=[*callbacks, auto_compile] if auto_compile else callbacks,
        logger=loggers or False,
        plugins=[ChecksummedCheckpointIO()],
    )
    start_wandb_runs(loggers, cfg)

    metrics: dict = {"seed": int(cfg.seed), "num_threads": torch.get_num_threads()}
    metrics["compiled"] = cfg.get("compile") is True and compile_module(
        model.net, device=str(trainer.strategy.root_device)
    )
    if cfg.get("train", True):
        csv_path = output_dir / "csv" / "metrics.csv"
        history = stash_history(csv_path, resumed_epoch) if ckpt_path and is_rank_zero() else []
        if ckpt_path:
            log.info("training in %s, resuming %s", output_dir, ckpt_path)
        else:
            log.info("training in %s from scratch", output_dir)
        start = time.perf_counter()
        try:
            trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
        except NonFiniteLossError as err:
            raise NonFiniteLossError(f"{err} {_kept_checkpoint_note(output_dir)}") from None
        except RuntimeError as err:
            if ckpt_path and "state_dict" in str(err):
                first_line = str(err).strip().splitlines()[0]
                raise ConfigError(
                    f"checkpoint {ckpt_path} does not fit this model: {first_line}"
                ) from err
            raise
        metrics["train_time_s"] = _train_time_s(trainer, time.perf_counter() - start)
        if auto_compile is not None:
            metrics["compiled"] = auto_compile.compiled
        metrics.update(_contention(trainer))
        if is_rank_zero():
            restore_history(csv_path, history)
        if getattr(datamodule, "data_stats", None) and is_rank_zero():
            atomic_write_json(output_dir / "data_stats.json", datamodule.data_stats)
        metrics["epochs"] = trainer.current_epoch
        metrics["stopped_by"] = stop_reason(trainer)
        metrics["time_per_epoch_s"] = metrics["train_time_s"] / max(trainer.current_epoch, 1)
        metrics.update(
            {k: v.item() for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
        )
        if getattr(model, "best_epoch", -1) >= 0:
            metrics["best_epoch"] = model.best_epoch
    best_ckpt = _best_checkpoint(trainer)
    if trainer.world_size > 1:  # the test runs once, in rank zero, over every sample once
        trainer = _leave_process_group(trainer, cfg, loggers)
        if trainer is None:
            return metrics  # rank zero tests, measures and writes the records
    if cfg.get("test", True):
        trainer.test(model, datamodule=datamodule, ckpt_path=best_ckpt)
        metrics.update(test_metrics(trainer))
        metrics["tested_epoch"] = _tested_epoch(best_ckpt, model)
    metrics.update(measure_forward_time(cfg, datamodule, model))
    metrics.update(
        {
            **run_metadata(cfg, datamodule, model, output_dir),
            "best_checkpoint": best_ckpt,
            **provenance,
        }
    )
    atomic_write_json(output_dir / "metrics.json", metrics)
    summary = {k: v for k, v in metrics.items() if k.startswith("test/")}
    log.info("test metrics: %s", summary)
    log.info("run folder: %s", output_dir)
    log.info("best checkpoint: %s", best_ckpt)
    return metrics


def _leave_process_group(trainer: pl.Trainer, cfg: DictConfig, loggers: list) -> pl.Trainer | None:
    """End a distributed run's process group after ``fit``; rank zero gets a one-device trainer
    (same loggers) for the test, where a distributed sampler would pad the test split with
    repeated samples; the other ranks get None."""
    trainer.strategy.barrier()
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    if not is_rank_zero():
        return None
    tester = pl.Trainer(
        accelerator=cfg.trainer.accelerator,
        devices=1,
        precision=cfg.trainer.precision,
        logger=loggers or False,
        enable_progress_bar=cfg.trainer.enable_progress_bar,
        enable_model_summary=False,
        plugins=[ChecksummedCheckpointIO()],
        default_root_dir=cfg.trainer.default_root_dir,
    )
    # The test row of the learning curve carries the epoch and step that training ended at, as
    # in a one-process run.
    tester.fit_loop.epoch_progress.current.completed = trainer.current_epoch
    tester.fit_loop.epoch_loop._batches_that_stepped = (
        trainer.fit_loop.epoch_loop._batches_that_stepped
    )
    return tester


def _tested_epoch(best_ckpt: str | None, model: pl.LightningModule) -> int | None:
    """The (0-based) epoch whose weights the test measured: the best-validated checkpoint's, or
    None when the test ran on weights that no validation chose (``train=false`` with no
    checkpoint), which is logged as a warning."""
    if best_ckpt is None:
        log.warning("tested weights that no validation selected (no best checkpoint)")
        return None
    return int(getattr(model, "best_epoch", -1)) if getattr(model, "best_epoch", -1) >= 0 else None


def _kept_checkpoint_note(output_dir: Path) -> str:
    """What a stopped run leaves to resume from, naming only files that exist."""
    last = output_dir / CHECKPOINT_DIR / LAST_CHECKPOINT
    if last.is_file():
        return f"The last good checkpoint is {last} (resume with ckpt_path=last)."
    return "No checkpoint was written (no validation had finished)."


def _sweeper_needs_value() -> bool:
    """True when this job runs under a sweeper that optimises its return value (Optuna)."""
    if not HydraConfig.initialized():
        return False
    return "optuna" in str(HydraConfig.get().sweeper.get("_target_", "")).lower()


def sweep_objective(cfg: DictConfig, metrics: dict) -> float | None:
    """The value returned to the sweeper: ``metrics[cfg.optimized_metric]`` as a float.

    Under Optuna a trial without a finite value would end the study later with Optuna's own
    "No trials are completed yet"; instead the sweep stops at once with one line that names the
    trial and why."""
    name = cfg.get("optimized_metric")
    value = metrics.get(name) if name else None
    if value is not None and math.isfinite(float(value)):
        return float(value)
    if _sweeper_needs_value():
        trial = HydraConfig.get().job.get("num", "?")
        why = "missing" if value is None else f"not finite ({value})"
        raise ConfigError(
            f"trial {trial} ({' '.join(job_overrides())}): optimized_metric {name!r} is {why}"
            f" in its metrics (it has {sorted(k for k in metrics if k.startswith(('val/', 'test/')))})"
        )
    return None


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train.yaml")
def hydra_main(cfg: DictConfig) -> float | None:
    with config_error_exit():
        metrics = train(cfg)
        return sweep_objective(cfg, metrics)


def main() -> None:
    """The ``egnn-train`` console script."""
    run_main(hydra_main, "train.yaml")


if __name__ == "__main__":
    main()
