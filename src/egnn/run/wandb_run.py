"""One Weights & Biases run per job: named, grouped, searchable, summarised and always finished.

Lightning's ``WandbLogger`` starts a W&B run on first use and leaves it open; under Hydra's basic
launcher (jobs one after another in one process) and joblib's (worker processes reused) the next
job then logs into the same run. Here every job fills in a readable name and a group, puts the keys
that runs are grouped and filtered by at the top of the W&B config, writes its results into the
run's summary and finishes the run at its end, failures included.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

# Top-level W&B config keys: what runs are grouped and filtered by in the W&B UI.
TOP_LEVEL_KEYS = ("experiment", "model", "dataset", "seed", "n_train", "target")


def search_keys(cfg: DictConfig) -> dict:
    """``{experiment, model, dataset, seed, n_train[, target]}`` of a composed config (keys that
    the config does not have are left out)."""
    values = {
        "experiment": cfg.get("task_name"),
        "model": OmegaConf.select(cfg, "model.net.name"),
        "dataset": OmegaConf.select(cfg, "data.dataset"),
        "seed": cfg.get("seed"),
        "n_train": OmegaConf.select(cfg, "data.n_train"),
        "target": OmegaConf.select(cfg, "data.target"),
    }
    return {k: v for k, v in values.items() if v is not None}


def run_name(cfg: DictConfig) -> str:
    """A readable run name: ``<model>[-<target>]-n<n_train>-seed<seed>``, e.g. ``egnn-n3000-seed2``."""
    keys = search_keys(cfg)
    parts = [str(keys.get("model", cfg.get("task_name", "run")))]
    if "target" in keys:
        parts.append(str(keys["target"]))
    if "n_train" in keys:
        parts.append(f"n{keys['n_train']}")
    parts.append(f"seed{keys.get('seed')}")
    return "-".join(parts)


def run_group(cfg: DictConfig) -> str:
    """The experiment (``task_name``) for a single run; ``<task_name>-<sweep folder>`` for the jobs
    of a multirun, so that a sweep's runs sit together."""
    group = str(cfg.get("task_name", "run"))
    if HydraConfig.initialized():
        hydra_cfg = HydraConfig.get()
        if str(hydra_cfg.mode) == "RunMode.MULTIRUN":
            group = f"{group}-{Path(hydra_cfg.sweep.dir).name}"
    return group


def fill_wandb_settings(cfg: DictConfig, job_type: str) -> None:
    """Give ``cfg.logger.wandb`` (when W&B logging is on) a name, group and job type where its
    config leaves them null."""
    node = OmegaConf.select(cfg, "logger.wandb")
    if node is None:
        return
    with open_dict(node):
        node.name = node.get("name") or run_name(cfg)
        node.group = node.get("group") or run_group(cfg)
        node.job_type = node.get("job_type") or job_type


def _wandb_loggers(loggers: list) -> list:
    from pytorch_lightning.loggers import WandbLogger

    return [lg for lg in loggers if isinstance(lg, WandbLogger)]


def start_wandb_runs(loggers: list, cfg: DictConfig) -> None:
    """Start the W&B run of this job (rank zero) and put the search keys at the top of its config,
    with the full resolved config beside them under ``cfg``."""
    for logger in _wandb_loggers(loggers):
        run = logger.experiment  # a no-op stand-in on ranks other than zero
        if hasattr(run, "config") and hasattr(run.config, "update"):
            run.config.update(
                {**search_keys(cfg), "cfg": OmegaConf.to_container(cfg, resolve=True)},
                allow_val_change=True,
            )


SUMMARY_PREFIXES = ("test/", "val/", "forward_time")
SUMMARY_KEYS = (
    "best_epoch",
    "tested_epoch",
    "n_parameters",
    "epochs",
    "stopped_by",
    "train_time_s",
)


def finish_wandb_runs(loggers: list, metrics: dict | None, failed: bool) -> None:
    """Write the job's results into its W&B run's summary and finish the run (exit code 1 when the
    job failed), so that the next job of the process starts a run of its own."""
    wandb = sys.modules.get("wandb")
    if wandb is None or wandb.run is None:
        return
    if metrics:
        summary = {
            k: v
            for k, v in metrics.items()
            if (k.startswith(SUMMARY_PREFIXES) or k in SUMMARY_KEYS)
            and isinstance(v, (int, float, str))
        }
        for logger in _wandb_loggers(loggers):
            run = logger.experiment
            if hasattr(run, "summary"):
                run.summary.update(summary)
    wandb.finish(exit_code=1 if failed else 0)
