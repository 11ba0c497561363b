"""What the entry points (train, eval and the summaries) share: the packaged config folder, the
extras a command line needs, instantiating name-keyed config groups, the metrics written to
``metrics.json`` and the exits on a configuration error."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path

import hydra
import pytorch_lightning as pl
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

import egnn
from egnn.errors import ConfigError
from egnn.extras import require_extra
from egnn.run.override_check import override_error
from egnn.run.provenance import machine
from egnn.run.timing import forward_time
from egnn.tasks.numerics import NonFiniteLossError

log = logging.getLogger(__name__)

# The Hydra configs shipped inside the package (package data): found through the package, so that
# an installed wheel works from any folder. Users add their own folder with hydra.searchpath.
CONFIG_DIR = Path(egnn.__file__).resolve().parent / "configs"

# Command-line choices that need an extra: (override prefix, extra, plugin module).
EXTRA_CHOICES = (
    ("hparams_search=", "sweep", "hydra_plugins.hydra_optuna_sweeper"),
    ("launcher=joblib", "sweep", "hydra_plugins.hydra_joblib_launcher"),
    ("launcher=slurm", "sweep", "hydra_plugins.hydra_submitit_launcher"),
    ("launcher=local", "sweep", "hydra_plugins.hydra_submitit_launcher"),
    ("logger=tensorboard", "tensorboard", "tensorboard"),
    ("logger=many_loggers", "tensorboard", "tensorboard"),
)


def check_extras(argv: list[str]) -> None:
    """Stop with one line when an override of ``argv`` needs an extra that is not installed
    (before Hydra, whose own message for a missing plugin is a long traceback)."""
    for arg in argv:
        for prefix, extra, module in EXTRA_CHOICES:
            if arg.lstrip("+~").startswith(prefix):
                require_extra(extra, f"{arg.split('=', 1)[0]}={arg.split('=', 1)[1]}", module)


def job_overrides() -> list[str]:
    """The command-line overrides of this Hydra job (a multirun job's own values included);
    empty outside Hydra."""
    if not HydraConfig.initialized():
        return []
    return list(HydraConfig.get().overrides.task)


def instantiate_dict(group: DictConfig | None) -> list:
    """Instantiate every entry of a name-keyed config group (callbacks, loggers); null entries are off."""
    if not group:
        return []
    return [
        hydra.utils.instantiate(node)
        for node in group.values()
        if node is not None and "_target_" in node
    ]


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
    """What names a run in its metrics.json and record: experiment, model, the job's Hydra
    overrides, the data choices that grids sweep, the data seeds, the passes over the test split,
    the draws averaged into each test prediction, the training loss's input and whether the decoder
    learns (graph autoencoder), the run folder and the machine."""
    return {
        "experiment": cfg.task_name,
        "model": OmegaConf.select(cfg, "model.net.name"),
        "n_parameters": sum(p.numel() for p in model.parameters()),
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
        "learn_decoder": OmegaConf.select(cfg, "model.net.learn_decoder"),
        "overrides": job_overrides(),
        "run_dir": str(output_dir),
        "beside": cfg.get("beside"),
        "machine": machine(),
    }


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
    3, instead of a wall of traceback; other exceptions pass through. ``HYDRA_FULL_ERROR=1``
    shows the full traceback instead."""
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        yield  # the user asked for full tracebacks
        return
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


def run_main(hydra_main, config_name: str) -> None:
    """Run a ``hydra.main`` function of ``config_name`` after :func:`check_extras` and
    :func:`~egnn.run.override_check.override_error`: a missing extra, an unknown key or option
    exits with code 2 and one line."""
    try:
        check_extras(sys.argv[1:])
        if os.environ.get("HYDRA_FULL_ERROR") != "1":  # else Hydra reports it, in full
            error = override_error(sys.argv[1:], str(CONFIG_DIR), config_name)
            if error is not None:
                raise error
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    hydra_main()
