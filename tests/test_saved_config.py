"""Configs read from disk are data: a planted ``_target_`` or interpolation is refused, with no
side effect, and only the project's own classes are built from a saved config."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from omegaconf import OmegaConf

from egnn.errors import ConfigError
from egnn.run.evaluate import evaluate
from egnn.run.saved_config import (
    ALLOWED_TARGETS,
    check_config_is_data,
    is_allowed_target,
    load_saved_config,
)
from egnn.tasks.optim import build_optimizer, build_scheduler

from .conftest import EXPERIMENTS, compose_config, run_entry_point, single_error_line


@pytest.fixture
def trained_run(trained_linear_run) -> Path:
    """The best checkpoint of the shared tiny run (its folder holds the saved config)."""
    return Path(trained_linear_run[1]["best_checkpoint"])


def _planted_copy(ckpt: Path, tmp_path: Path, edit) -> Path:
    """A copy of ``ckpt``'s run folder whose saved config was changed by ``edit(config_dict)``."""
    run = tmp_path / "shared_run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / ckpt.name).write_bytes(ckpt.read_bytes())
    config = yaml.safe_load((ckpt.parent.parent / "config_resolved.yaml").read_text())
    edit(config)
    (run / "config_resolved.yaml").write_text(yaml.safe_dump(config))
    return run / "checkpoints" / ckpt.name


def _eval_cfg(ckpt: Path, tmp_path: Path, nbody_data_dir: Path):
    return compose_config(
        [
            f"ckpt_path={ckpt}",
            f"paths.data_dir={nbody_data_dir}",
            "trainer.enable_progress_bar=false",
            "forward_time.enabled=false",
        ],
        tmp_path / "eval",
        config_name="eval.yaml",
    )


def _payload(marker: Path) -> dict:
    """A Hydra node that, if instantiated, creates ``marker``."""
    return {"_target_": "pathlib.Path.touch", "_args_": [str(marker)]}


@pytest.mark.parametrize(
    "where",
    ["data", "data.nested", "model", "model.optimizer", "callbacks.evil", "list"],
)
def test_planted_target_is_refused_without_side_effect(
    where, trained_run, tmp_path, nbody_data_dir
):
    marker = tmp_path / "pwned"

    def plant(config: dict) -> None:
        if where == "data":
            config["data"] = _payload(marker)
        elif where == "data.nested":
            config["data"]["transform"] = _payload(marker)
        elif where == "model":
            config["model"]["_target_"] = "subprocess.Popen"
        elif where == "model.optimizer":
            config["model"]["optimizer"] = _payload(marker)
        elif where == "callbacks.evil":
            config["callbacks"]["evil"] = _payload(marker)
        else:
            config["tags"] = ["ok", _payload(marker)]

    ckpt = _planted_copy(trained_run, tmp_path, plant)
    with pytest.raises(
        ConfigError, match=r"config_resolved\.yaml: refusing _target_ '(pathlib|sub)"
    ):
        evaluate(_eval_cfg(ckpt, tmp_path, nbody_data_dir))
    assert not marker.exists()


def test_planted_interpolation_is_refused(trained_run, tmp_path, nbody_data_dir, monkeypatch):
    monkeypatch.setenv("EGNN_TEST_SECRET", "s3cret")

    def plant(config: dict) -> None:
        config["tags"] = ["${oc.env:EGNN_TEST_SECRET}"]

    ckpt = _planted_copy(trained_run, tmp_path, plant)
    with pytest.raises(ConfigError, match=r"tags\[0\] is an interpolation"):
        evaluate(_eval_cfg(ckpt, tmp_path, nbody_data_dir))
    assert not (tmp_path / "eval" / "run" / "config_resolved.yaml").exists()


def test_unchanged_shared_run_still_evaluates(trained_run, tmp_path, nbody_data_dir):
    """The check refuses payloads, not real run folders: a copied run evaluates as before."""
    ckpt = _planted_copy(trained_run, tmp_path, lambda config: None)
    metrics = evaluate(_eval_cfg(ckpt, tmp_path, nbody_data_dir))
    assert metrics["model"] == "linear"
    assert metrics["test/mse"] > 0


def test_eval_command_refuses_payload_in_one_line(trained_run, tmp_path, nbody_data_dir):
    marker = tmp_path / "pwned"

    def plant(config: dict) -> None:
        config["data"] = _payload(marker)

    ckpt = _planted_copy(trained_run, tmp_path, plant)
    error = single_error_line(
        run_entry_point(
            "eval.py",
            f"ckpt_path={ckpt}",
            f"paths.data_dir={nbody_data_dir}",
            f"paths.log_dir={tmp_path / 'logs'}",
        )
    )
    assert "refusing _target_ 'pathlib.Path.touch' at data._target_" in error
    assert str(ckpt.parent.parent / "config_resolved.yaml") in error
    assert not marker.exists()


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_packaged_target_is_allowed(experiment, tmp_path):
    """What the project's own configs name passes the check, so the allow-list covers every class
    that a real run folder can hold (a new config class cannot be forgotten)."""
    cfg = compose_config([f"experiment={experiment}"], tmp_path)
    check_config_is_data(OmegaConf.create(OmegaConf.to_container(cfg, resolve=True)), "composed")


def test_load_saved_config_refuses_non_mapping_and_garbage(tmp_path):
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a mapping of settings, got a ListConfig"):
        load_saved_config(listing)
    garbage = tmp_path / "garbage.yaml"
    garbage.write_bytes(b"model: [\x00\xff")
    with pytest.raises(ConfigError, match="garbage.yaml: not a readable YAML config"):
        load_saved_config(garbage)
    tagged = tmp_path / "tagged.yaml"
    tagged.write_text("data: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError, match="tagged.yaml: not a readable YAML config"):
        load_saved_config(tagged)


def test_allow_list_is_the_classes_of_the_packaged_configs():
    import hydra

    assert {
        "egnn.data.nbody.datamodule.NBodyDataModule",
        "egnn.data.qm9.datamodule.QM9DataModule",
        "egnn.data.graphs.datamodule.GraphDataModule",
        "egnn.tasks.nbody.NBodyTask",
        "egnn.tasks.qm9.QM9Task",
        "egnn.tasks.autoencoder.GraphAutoencoderTask",
        "pytorch_lightning.callbacks.ModelCheckpoint",
    } <= ALLOWED_TARGETS
    assert not any(target.startswith(("hydra_plugins.", "optuna.")) for target in ALLOWED_TARGETS)
    for target in ALLOWED_TARGETS:
        assert isinstance(hydra.utils.get_class(target), type), target
    assert is_allowed_target("torch.optim.AdamW")  # an optimizer a user chose on the command line
    assert not is_allowed_target("torch.optim.os.system") and not is_allowed_target(["x"])


@pytest.mark.parametrize(
    "target", ["os.system", "torch.optim.Optimizer.__init__", "torch.nn.Linear", "torch.optim.os"]
)
def test_optimizer_from_checkpoint_hparams_is_a_torch_optimizer(target):
    params = [torch.nn.Parameter(torch.zeros(2))]
    with pytest.raises(ConfigError, match="is not a class of torch.optim"):
        build_optimizer({"_target_": target, "lr": 1e-3}, params)
    optimizer = build_optimizer({"_target_": "torch.optim.AdamW", "lr": 1e-3}, params)
    assert isinstance(optimizer, torch.optim.AdamW)
    with pytest.raises(ConfigError, match="is not a class of torch.optim.lr_scheduler"):
        build_scheduler({"_target_": target}, optimizer)
    scheduler = build_scheduler(
        {"_target_": "torch.optim.lr_scheduler.CosineAnnealingLR", "T_max": 3}, optimizer
    )
    assert isinstance(scheduler["scheduler"], torch.optim.lr_scheduler.CosineAnnealingLR)


def test_classes_of_a_users_own_config_folder_are_trusted_when_given(tmp_path):
    """A user's experiment (its config folder added with hydra.searchpath on the same command
    line) names its own classes: those pass, and only while that folder is given."""
    from hydra.core.hydra_config import HydraConfig

    from egnn.run.saved_config import config_targets, user_config_targets

    from .conftest import REPO_ROOT

    example = REPO_ROOT / "examples" / "lennard_jones" / "configs"
    own = config_targets(example)
    assert own and all(target.startswith("lennard_jones.") for target in own - ALLOWED_TARGETS)
    (target,) = sorted(t for t in own if t.endswith("DataModule"))
    assert not is_allowed_target(target)
    compose_config([f"hydra.searchpath=[file://{example}]"], tmp_path)  # as the command line would
    assert target in user_config_targets() and is_allowed_target(target, user_config_targets())
    HydraConfig.instance().cfg = None
    assert user_config_targets() == frozenset()
