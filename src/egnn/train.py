"""Training entry point: ``python train.py experiment=nbody`` (or the ``egnn-train`` script).

Composes the Hydra config, seeds everything, writes the resolved config into the run folder,
fits, tests the best checkpoint, measures the forward time and writes ``metrics.json``.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from pathlib import Path

import hydra
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf, open_dict
from pytorch_lightning.callbacks import EarlyStopping, Timer
from pytorch_lightning.callbacks.early_stopping import EarlyStoppingReason

from egnn.atomic import atomic_write_json, atomic_write_text
from egnn.callbacks import WallClock
from egnn.csv_history import restore_history, stash_history
from egnn.errors import ConfigError
from egnn.nn.compile import compile_module
from egnn.provenance import command_line, git_commit, machine
from egnn.resolvers import register_resolvers
from egnn.run_dir import resolve_checkpoint
from egnn.tasks.numerics import NonFiniteLossError
from egnn.timing import forward_time

log = logging.getLogger(__name__)

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"

register_resolvers()


def instantiate_dict(group: DictConfig | None) -> list:
    """Instantiate every entry of a name-keyed config group (callbacks, loggers); null entries are off."""
    if not group:
        return []
    return [
        hydra.utils.instantiate(node)
        for node in group.values()
        if node is not None and "_target_" in node
    ]


def choose_seed(cfg: DictConfig) -> int:
    """The run's seed: ``cfg.seed``, or a fresh one written back into ``cfg`` when it is null."""
    with open_dict(cfg):
        if cfg.get("seed") is None:
            cfg.seed = random.SystemRandom().randrange(2**31)
    return int(cfg.seed)


def _checkpoint_epoch(path: str) -> int:
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
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


def test_metrics(trainer: pl.Trainer) -> dict[str, float]:
    """The ``test/<name>`` values of the last ``trainer.test``."""
    return {k: v.item() for k, v in trainer.callback_metrics.items() if k.startswith("test/")}


def measure_forward_time(
    cfg: DictConfig, datamodule: pl.LightningDataModule, model: pl.LightningModule
) -> dict:
    """``forward_time_*`` keys from one test batch (empty when ``forward_time.enabled`` is off)."""
    if not cfg.forward_time.enabled:
        return {}
    datamodule.setup("test")
    batch = next(iter(datamodule.test_dataloader()))
    return forward_time(model, batch, cfg.forward_time.n_warmup, cfg.forward_time.n_runs)


def run_metadata(
    cfg: DictConfig,
    datamodule: pl.LightningDataModule,
    model: pl.LightningModule,
    output_dir: Path,
) -> dict:
    """What names a run in its metrics.json and record: experiment, model, the data choices that
    grids sweep, the data seeds, the passes over the test split, the draws averaged into each test
    prediction and the training loss's input (graph autoencoder), the run folder, what ran beside
    it (``beside``, as stated in the config) and the machine."""
    return {
        "experiment": cfg.task_name,
        "model": OmegaConf.select(cfg, "model.net.name"),
        "n_train": OmegaConf.select(cfg, "data.n_train"),
        "batch_size": OmegaConf.select(cfg, "data.batch_size"),
        "dataset": OmegaConf.select(cfg, "data.dataset"),
        "p": OmegaConf.select(cfg, "data.p"),
        "embedding_nf": OmegaConf.select(cfg, "model.net.embedding_nf"),
        "target": OmegaConf.select(cfg, "data.target"),
        "data_seed": getattr(datamodule, "data_seed", None),
        "test_draws": getattr(model, "test_draws", None),
        "test_ensemble": getattr(model, "test_ensemble", None),
        "train_bce_input": getattr(model, "train_bce_input", None),
        "run_dir": str(output_dir),
        "beside": cfg.get("beside"),
        "machine": machine(),
    }


def train(cfg: DictConfig) -> dict:
    """Run one training (and test) described by ``cfg``; returns the metrics written to metrics.json."""
    provenance = {
        "command": command_line(),
        "git_commit": git_commit(),
    }  # at start: the code that runs
    torch.set_num_threads(int(cfg.num_threads))
    seed = choose_seed(cfg)
    pl.seed_everything(seed, workers=True)
    output_dir = Path(cfg.paths.output_dir)
    atomic_write_text(output_dir / "config_resolved.yaml", OmegaConf.to_yaml(cfg, resolve=True))

    datamodule: pl.LightningDataModule = hydra.utils.instantiate(cfg.data)
    model: pl.LightningModule = hydra.utils.instantiate(cfg.model)
    callbacks = instantiate_dict(cfg.get("callbacks"))
    loggers = instantiate_dict(cfg.get("logger"))
    trainer: pl.Trainer = hydra.utils.instantiate(
        cfg.trainer, callbacks=callbacks, logger=loggers or False
    )

    metrics: dict = {"seed": seed, "num_threads": torch.get_num_threads()}
    metrics["compiled"] = bool(cfg.get("compile", False)) and compile_module(
        model.net, device=str(trainer.strategy.root_device)
    )
    if cfg.get("train", True):
        ckpt_path = resolve_checkpoint(cfg.get("ckpt_path"), output_dir)
        csv_path = output_dir / "csv" / "metrics.csv"
        history = stash_history(csv_path, _checkpoint_epoch(ckpt_path)) if ckpt_path else []
        if ckpt_path:
            log.info("training in %s, resuming %s", output_dir, ckpt_path)
        else:
            log.info("training in %s from scratch", output_dir)
        start = time.perf_counter()
        try:
            trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
        except RuntimeError as err:
            if ckpt_path and "state_dict" in str(err):
                first_line = str(err).strip().splitlines()[0]
                raise ConfigError(
                    f"checkpoint {ckpt_path} does not fit this model: {first_line}"
                ) from err
            raise
        metrics["train_time_s"] = _train_time_s(trainer, time.perf_counter() - start)
        metrics.update(_contention(trainer))
        restore_history(csv_path, history)
        if getattr(datamodule, "data_stats", None):
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
    if cfg.get("test", True):
        trainer.test(model, datamodule=datamodule, ckpt_path=best_ckpt)
        metrics.update(test_metrics(trainer))
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


def _config_error(err: BaseException) -> ConfigError | None:
    """The ConfigError behind ``err`` (Hydra wraps errors raised while instantiating)."""
    while err is not None:
        if isinstance(err, ConfigError):
            return err
        err = err.__cause__ or err.__context__
    return None


@contextlib.contextmanager
def config_error_exit():
    """Turn configuration errors into one log line and exit code 2, and a NaN loss into exit code
    3, instead of a wall of traceback; other exceptions pass through."""
    try:
        yield
    except NonFiniteLossError as err:
        log.error("%s", err)
        raise SystemExit(3) from None
    except Exception as err:
        config_error = _config_error(err)
        if config_error is None:
            raise
        log.error("configuration error: %s", config_error)
        raise SystemExit(2) from None


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train.yaml")
def main(cfg: DictConfig) -> float | None:
    with config_error_exit():
        metrics = train(cfg)
    value = metrics.get(cfg.get("optimized_metric")) if cfg.get("optimized_metric") else None
    return None if value is None else float(value)


if __name__ == "__main__":
    main()
