"""Every config composes, and every experiment instantiates its data, model, callbacks, loggers and
trainer. Configs nobody tests rot."""

import re
from pathlib import Path

import hydra
import pytest
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from egnn.nn.autoencoder import AE_MODELS
from egnn.nn.egcl_eq3_6 import EGCL
from egnn.nn.nbody import NBODY_MODELS
from egnn.nn.qm9 import QM9EGNN
from egnn.run.run_dir import choose_run_dir
from egnn.run.train import CONFIG_DIR, instantiate_dict
from egnn.run.wandb_run import fill_wandb_settings

from .conftest import EXPERIMENTS, compose_config


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


def test_layout():
    for group in (
        "data",
        "model",
        "trainer",
        "callbacks",
        "logger",
        "paths",
        "hydra",
        "experiment",
        "debug",
    ):
        assert (CONFIG_DIR / group).is_dir(), group
    defaults = OmegaConf.load(CONFIG_DIR / "train.yaml").defaults
    assert defaults[-5:] == [
        {"experiment": None},
        {"hparams_search": None},
        {"launcher": None},
        {"optional local": "default"},
        {"debug": None},
    ]


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_instantiates(experiment, tmp_path, nbody_data_dir):
    cfg = compose_config([f"experiment={experiment}", f"paths.data_dir={nbody_data_dir}"], tmp_path)
    OmegaConf.to_container(cfg, resolve=True)  # every interpolation resolves
    hydra.utils.instantiate(cfg.data)
    hydra.utils.instantiate(cfg.model)
    callbacks = instantiate_dict(cfg.callbacks)
    loggers = instantiate_dict(cfg.logger)
    trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers)
    assert trainer.max_epochs == cfg.trainer.max_epochs


def test_nbody_experiment_is_the_papers_protocol(tmp_path):
    cfg = compose_config(["experiment=nbody"], tmp_path)
    assert cfg.task_name == "nbody"
    assert cfg.model.optimizer.lr == 5e-4 and cfg.model.optimizer.weight_decay == 1e-12
    assert cfg.data.batch_size == 100 and cfg.data.n_train == 3000
    assert (cfg.data.frame_in, cfg.data.frame_out, cfg.data.dataset) == (30, 40, "small")
    assert cfg.trainer.max_epochs == 10000 and cfg.trainer.check_val_every_n_epoch == 5
    assert cfg.model.net.hidden_nf == 64 and cfg.model.net.n_layers == 4
    assert cfg.callbacks.early_stopping.patience > 0


def test_nbody_full_is_the_release_protocol_without_early_stopping(tmp_path):
    full = compose_config(["experiment=nbody_full", "model=nbody_gnn"], tmp_path)
    paper = compose_config(["experiment=nbody", "model=nbody_gnn"], tmp_path)
    callbacks = [type(c).__name__ for c in instantiate_dict(full.callbacks)]
    assert "EarlyStopping" not in callbacks and "ModelCheckpoint" in callbacks
    assert full.task_name == "nbody"  # records beside experiment=nbody's
    assert full.trainer == paper.trainer and full.model == paper.model and full.data == paper.data


@pytest.mark.parametrize("logger", _options("logger"))
def test_logger_presets(logger, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    cfg = compose_config(["experiment=nbody", f"logger={logger}"], tmp_path)
    assert "csv" in cfg.logger  # CSV logging is always on
    if "wandb" in cfg.logger:
        wandb = cfg.logger.wandb
        assert wandb.offline is True and wandb.project == "egnn"
        assert list(wandb.tags) == ["nbody", "egnn", "small"]
        fill_wandb_settings(cfg, job_type="train")  # what a run fills in
        assert (wandb.group, wandb.name, wandb.job_type) == ("nbody", "egnn-n3000-seed0", "train")
    Path(cfg.paths.output_dir).mkdir(parents=True, exist_ok=True)
    loggers = instantiate_dict(cfg.logger)
    assert len(loggers) == len(cfg.logger)


@pytest.mark.parametrize("trainer", _options("trainer"))
def test_trainer_presets_compose(trainer, tmp_path):
    cfg = compose_config(["experiment=nbody", f"trainer={trainer}"], tmp_path)
    assert cfg.trainer._target_ == "pytorch_lightning.Trainer"
    assert "strategy" in cfg.trainer and "num_nodes" in cfg.trainer


@pytest.mark.parametrize("debug", [d for d in _options("debug") if d != "default"])
def test_debug_presets_compose(debug, tmp_path):
    cfg = compose_config(["experiment=nbody", f"debug={debug}"], tmp_path)
    assert cfg.callbacks.early_stopping is None


def test_run_dir_layout(tmp_path):
    cfg = compose_config(["experiment=nbody"], tmp_path)
    assert HydraConfig.get().job.chdir is False
    assert HydraConfig.get().run.dir.startswith(f"{cfg.paths.log_dir}/nbody/")


@pytest.mark.parametrize("model", _options("model"))
def test_model_configs_instantiate(model, tmp_path):
    experiment = {"qm9": "qm9", "ae": "ae_community", "nbody": "nbody"}[model.split("_")[0]]
    cfg = compose_config([f"experiment={experiment}", f"model={model}"], tmp_path)
    module = hydra.utils.instantiate(cfg.model)
    net_cfg = cfg.model.net
    # The network is the class its name stands for, built with the configured sizes.
    task = model.split("_")[0]
    if task == "qm9":
        expected = QM9EGNN
    else:
        registry = NBODY_MODELS if task == "nbody" else AE_MODELS
        entry = registry[net_cfg.name]
        expected = entry if isinstance(entry, type) else entry()
    assert type(module.net) is expected
    widths = {m.out_features for m in module.net.modules() if isinstance(m, torch.nn.Linear)}
    if "hidden_nf" in net_cfg and widths:
        assert max(widths) == net_cfg.hidden_nf, widths
    if "n_layers" in net_cfg and net_cfg.name == "egnn":
        n_egcl = sum(isinstance(m, EGCL) for m in module.net.modules())
        assert n_egcl == net_cfg.n_layers * net_cfg.get("members", 1)
    # The optimizer is the configured one with the configured rates.
    if cfg.model.get("optimizer") is not None and list(module.parameters()):
        built = module.configure_optimizers()
        optimizer = built["optimizer"] if isinstance(built, dict) else built
        optimizer = optimizer[0] if isinstance(optimizer, list | tuple) else optimizer
        assert type(optimizer).__name__ == cfg.model.optimizer._target_.rsplit(".", 1)[1]
        group = optimizer.param_groups[0]
        assert group["lr"] == pytest.approx(cfg.model.optimizer.lr)
        assert group["weight_decay"] == pytest.approx(cfg.model.optimizer.weight_decay)


def test_optuna_search_preset(tmp_path):
    compose_config(["experiment=nbody", "hparams_search=nbody_optuna"], tmp_path)
    sweeper = HydraConfig.get().sweeper
    assert sweeper._target_.endswith("OptunaSweeper") and sweeper.direction == "minimize"
    assert set(sweeper.params) == {
        "model.optimizer.lr",
        "model.optimizer.weight_decay",
        "model.net.hidden_nf",
    }


@pytest.mark.parametrize(
    ("launcher", "target"),
    [("joblib", "JoblibLauncher"), ("slurm", "SlurmLauncher"), ("local", "LocalLauncher")],
)
def test_launcher_presets(launcher, target, tmp_path):
    cfg = compose_config(["experiment=nbody", "seed=0", f"launcher={launcher}"], tmp_path)
    assert HydraConfig.get().launcher._target_.endswith(target)
    assert cfg.task_name == "nbody"


def test_runs_started_in_one_second_get_their_own_folders(tmp_path):
    timestamp = "2026-01-01_00-00-00"
    folders = [choose_run_dir(str(tmp_path / "nbody"), timestamp, None) for _ in range(3)]
    assert [Path(f).name for f in folders] == [timestamp, f"{timestamp}_1", f"{timestamp}_2"]
    assert all(Path(f).is_dir() for f in folders)


def test_qm9_one_hour_budget_is_all_molecules_for_four_epochs(tmp_path):
    cfg = compose_config(["experiment=qm9_cpu_1h"], tmp_path)
    assert cfg.task_name == "qm9_cpu_1h"
    assert cfg.data.n_train is None and cfg.data.batch_size == 96  # all 100,000 molecules
    assert cfg.trainer.max_epochs == 4 and cfg.model.scheduler.T_max == 4  # the cosine ends
    assert cfg.trainer.max_time is None and cfg.trainer.limit_val_batches == 0.25


def test_a_time_budget_can_end_a_run_inside_its_first_epoch(tmp_path):
    # A run slower than its budget (e.g. the release's QM9 formulation over 100,000 molecules)
    # must stop when the budget ends, not when its first epoch does.
    cfg = compose_config(["experiment=qm9_cpu_1h", "trainer.max_time=00:00:50:00"], tmp_path)
    trainer = hydra.utils.instantiate(cfg.trainer, logger=False, enable_checkpointing=False)
    assert not trainer.fit_loop.min_epochs  # None or 0: no epoch has to finish


def test_readme_lists_every_experiment_preset():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    (line,) = [row for row in readme.splitlines() if row.startswith("| Experiment preset |")]
    listed = set(re.findall(r"`(\w+)`", line)) - {"experiment"}
    assert listed == set(EXPERIMENTS)
