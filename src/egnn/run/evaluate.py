"""Evaluation entry point: ``egnn-eval ckpt_path=...`` (or ``python eval.py ckpt_path=...``) tests a checkpoint and writes the same
``metrics.json`` keys as training (``test/<name>``, forward time, provenance)."""

from __future__ import annotations

import inspect
import logging
from pathlib import Path

import hydra
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from egnn.atomic import atomic_write_json, atomic_write_text
from egnn.errors import ConfigError
from egnn.run.checkpoints import read_checkpoint
from egnn.run.common import (
    CONFIG_DIR,
    config_error_exit,
    instantiate_dict,
    measure_forward_time,
    run_main,
    run_metadata,
    test_metrics,
)
from egnn.run.provenance import command_line, git_commit
from egnn.run.resolvers import register_resolvers
from egnn.run.samples import write_samples
from egnn.run.saved_config import allowed_class, load_saved_config, user_config_targets
from egnn.run.settings import check_settings
from egnn.run.wandb_run import fill_wandb_settings, finish_wandb_runs, start_wandb_runs

log = logging.getLogger(__name__)

register_resolvers()


def checkpoint_to_evaluate(cfg: DictConfig) -> Path:
    """``cfg.ckpt_path``, or the experiment's shipped pretrained checkpoint."""
    path = Path(cfg.ckpt_path or cfg.pretrained_ckpt)
    if not path.is_file():
        what = (
            "ckpt_path"
            if cfg.ckpt_path
            else f"no ckpt_path given and the pretrained checkpoint for {cfg.task_name!r}"
        )
        raise ConfigError(f"{what}: {path} does not exist")
    return path


def saved_config(ckpt: Path, cfg: DictConfig) -> DictConfig:
    """The resolved config of the run that wrote ``ckpt`` (``<run>/config_resolved.yaml``) with this
    machine's paths; ``cfg`` itself when the checkpoint has no run folder (a shipped checkpoint)."""
    saved = ckpt.parent.parent / "config_resolved.yaml"
    if not saved.is_file():
        return cfg
    run_cfg = load_saved_config(saved, user_config_targets())
    with open_dict(run_cfg):
        run_cfg.paths = cfg.paths
        run_cfg.data.data_dir = cfg.paths.data_dir
        run_cfg.trainer = cfg.trainer
        run_cfg.forward_time = cfg.forward_time
    return run_cfg


def load_task(
    ckpt: Path, model_cfg: DictConfig, overrides: dict | None = None
) -> pl.LightningModule:
    """The task module class named by the config (one of the project's own), restored from the
    checkpoint (weights only); ``overrides`` replace saved constructor arguments (e.g.
    ``{"test_draws": 10}``)."""
    task_class = allowed_class(model_cfg._target_, ckpt, user_config_targets())
    overrides = overrides or {}
    accepted = inspect.signature(task_class.__init__).parameters
    for name, value in overrides.items():
        if name not in accepted:
            raise ConfigError(
                f"{name}={value!r} does not apply to {model_cfg._target_} (its arguments:"
                f" {', '.join(p for p in accepted if p != 'self')})"
            )
    read_checkpoint(ckpt)  # intact and a Lightning checkpoint, or one line naming the fault
    try:
        return task_class.load_from_checkpoint(
            ckpt, map_location="cpu", weights_only=True, **overrides
        )
    except (RuntimeError, KeyError, TypeError) as err:
        raise ConfigError(
            f"checkpoint {ckpt} cannot be loaded as {model_cfg._target_}: {err}"
        ) from err


def evaluate(cfg: DictConfig) -> dict:
    provenance = {"command": command_line(), "git_commit": git_commit()}
    check_settings(cfg)
    torch.set_num_threads(int(cfg.num_threads))
    pl.seed_everything(int(cfg.seed), workers=True)
    ckpt = checkpoint_to_evaluate(cfg)
    run_cfg = saved_config(ckpt, cfg)
    output_dir = Path(cfg.paths.output_dir)
    atomic_write_text(output_dir / "config_resolved.yaml", OmegaConf.to_yaml(run_cfg, resolve=True))
    datamodule = hydra.utils.instantiate(run_cfg.data)  # checked by load_saved_config
    overrides = {
        name: cfg[name] for name in ("test_draws", "test_ensemble") if cfg.get(name) is not None
    }
    model = load_task(ckpt, run_cfg.model, overrides)
    held, configured = model.hparams["net"].get("name"), OmegaConf.select(run_cfg, "model.net.name")
    if held != configured:
        if run_cfg is not cfg:
            raise ConfigError(
                f"checkpoint {ckpt} holds a {held!r} model but its run folder's config names"
                f" {configured!r}: the folder mixes two runs"
            )
        with open_dict(run_cfg):  # e.g. a shipped GNN checkpoint under eval.yaml's default model
            run_cfg.model.net.name = held
    with open_dict(run_cfg):  # the W&B run is named after the evaluated run's settings
        run_cfg.logger = cfg.get("logger")
    fill_wandb_settings(run_cfg, job_type="eval")
    loggers = instantiate_dict(run_cfg.get("logger"))
    try:
        metrics = _test(cfg, run_cfg, ckpt, output_dir, datamodule, model, loggers, provenance)
    except BaseException:
        finish_wandb_runs(loggers, None, failed=True)
        raise
    finish_wandb_runs(loggers, metrics, failed=False)
    return metrics


def _test(cfg, run_cfg, ckpt, output_dir, datamodule, model, loggers, provenance) -> dict:
    """Test ``model``, write samples and metrics.json; returns the metrics."""
    trainer = hydra.utils.instantiate(cfg.trainer, logger=loggers or False)
    start_wandb_runs(loggers, run_cfg)
    trainer.test(model, datamodule=datamodule)
    write_samples(output_dir, datamodule, model)  # what the report draws
    metrics = test_metrics(trainer)
    metrics.update(measure_forward_time(cfg, datamodule, model))
    metrics.update(
        {
            **run_metadata(run_cfg, datamodule, model, output_dir),
            "checkpoint": str(ckpt),
            "seed": int(cfg.seed),
            "num_threads": torch.get_num_threads(),
            **provenance,
        }
    )
    atomic_write_json(output_dir / "metrics.json", metrics)
    log.info(
        "test metrics of %s: %s", ckpt, {k: v for k, v in metrics.items() if k.startswith("test/")}
    )
    return metrics


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="eval.yaml")
def hydra_main(cfg: DictConfig) -> None:
    with config_error_exit():
        evaluate(cfg)


def main() -> None:
    """The ``egnn-eval`` console script."""
    run_main(hydra_main, "eval.yaml")


if __name__ == "__main__":
    main()
