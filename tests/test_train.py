"""End-to-end training runs of the N-body experiment on the tiny dataset."""

import json
import os
import subprocess
import sys
from pathlib import Path

import hydra
import numpy as np
import pytest
import pytorch_lightning as pl
import torch
import yaml

from egnn.data.nbody.dataset import load_split
from egnn.run.csv_history import read_rows
from egnn.run.train import train

REPO = Path(__file__).resolve().parents[1]
REQUIRED_KEYS = {
    "test/mse",
    "forward_time_s",
    "forward_time_threads",
    "train_time_s",
    "epochs",
    "seed",
    "data_seed",
    "git_commit",
    "command",
    "machine",
}


def test_fast_dev_run(make_cfg):
    cfg = make_cfg("debug=fdr")
    metrics = train(cfg)
    assert set(metrics) >= REQUIRED_KEYS
    run_dir = Path(cfg.paths.output_dir)
    on_disk = json.loads((run_dir / "metrics.json").read_text())
    assert on_disk["test/mse"] == metrics["test/mse"] and np.isfinite(on_disk["test/mse"])
    assert on_disk["data_seed"] == {"train": 7, "eval": 7}


def test_short_training_writes_run_folder(make_cfg):
    cfg = make_cfg("debug=limit", "seed=null", "beside=nothing_else")
    metrics = train(cfg)
    run_dir = Path(cfg.paths.output_dir)
    resolved = yaml.safe_load((run_dir / "config_resolved.yaml").read_text())
    assert resolved["seed"] == metrics["seed"] and isinstance(
        resolved["seed"], int
    )  # drawn, then saved
    assert "${" not in (run_dir / "config_resolved.yaml").read_text()
    assert (run_dir / "checkpoints" / "last.ckpt").exists()
    assert Path(metrics["best_checkpoint"]).exists()
    assert metrics["epochs"] == 3 and metrics["best_epoch"] in (0, 1, 2)
    assert metrics["stopped_by"] == "max_epochs"
    # The learning curve carries the wall clock of every validation (time to accuracy).
    clock = [r["time/train_s"] for r in read_rows(run_dir / "csv" / "metrics.csv")]
    times = [float(t) for t in clock if t != ""]
    assert len(times) == 3 and times == sorted(times) and times[0] > 0
    assert times[-1] <= metrics["train_time_s"]
    # ... and the CPU time of the process over the same span (one thread: at most the wall time,
    # up to timer resolution).
    cpu = [
        float(r["time/cpu_s"])
        for r in read_rows(run_dir / "csv" / "metrics.csv")
        if r["time/cpu_s"]
    ]
    assert len(cpu) == 3 and cpu == sorted(cpu) and cpu[0] > 0
    assert cpu[-1] <= times[-1] * cfg.num_threads * 1.1 + 0.05
    # What ran beside the run: as stated, and as measured (CPU time, load average).
    assert metrics["beside"] == "nothing_else"
    assert (
        cpu[-1] <= metrics["train_cpu_s"] <= metrics["train_time_s"] * cfg.num_threads * 1.1 + 0.05
    )
    assert metrics["load_average_1min_median"] >= 0


def test_egnn_learns_better_than_constant_motion(make_cfg, nbody_data_dir):
    """A few dozen epochs on 200 systems already beat both trivial predictors."""
    cfg = make_cfg(
        "trainer.max_epochs=40",
        "trainer.check_val_every_n_epoch=10",
        "~callbacks.early_stopping",
        "model.optimizer.lr=1e-3",
    )
    metrics = train(cfg)
    test = load_split(nbody_data_dir, "tiny", "test")
    x_in, v_in, x_out = test["pos"][:, 30], test["vel"][:, 30], test["pos"][:, 40]
    static = np.mean((x_out - x_in) ** 2)
    linear = np.mean((x_out - (x_in + v_in * 1.0)) ** 2)  # 1,000 steps of dt = 0.001
    assert metrics["test/mse"] < 0.7 * min(static, linear), (metrics["test/mse"], static, linear)


def test_command_line_entry_point(tmp_path, nbody_data_dir):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}
    args = [
        sys.executable,
        "train.py",
        "experiment=nbody",
        "debug=fdr",
        f"paths.data_dir={nbody_data_dir}",
        f"paths.log_dir={tmp_path}",
        "data.dataset=tiny",
        "data.n_train=100",
        "trainer.enable_progress_bar=false",
    ]
    result = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics_files = list(tmp_path.glob("debug/*/metrics.json"))
    assert len(metrics_files) == 1
    assert (metrics_files[0].parent / ".hydra" / "config.yaml").exists()


def test_bad_override_fails_with_a_clear_message(tmp_path, nbody_data_dir):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = [
        sys.executable,
        "train.py",
        "experiment=nbody",
        "model=nonexistent",
        f"paths.log_dir={tmp_path}",
    ]
    result = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "nonexistent" in result.stderr and "model" in result.stderr


@pytest.mark.parametrize("model", ["gnn", "rf", "linear", "linear_vel", "tfn", "se3_transformer"])
def test_every_nbody_model_runs_fast_dev_run(make_cfg, model):
    metrics = train(
        make_cfg(
            "debug=fdr",
            f"model=nbody_{model}",
            "data.batch_size=10",
            "trainer.detect_anomaly=false",
        )
    )
    assert np.isfinite(metrics["test/mse"]) and metrics["model"] == model


def test_data_efficiency_experiment_evaluates_on_its_own_frames(tmp_path, nbody_data_dir):
    """experiment=nbody_data_efficiency trains on one frame window and tests on another: with
    x + 0.7 v frozen (lr 1e-30), test/mse is that predictor's error on test frames 30 -> 40."""
    from .conftest import compose_config

    cfg = compose_config(
        [
            "experiment=nbody_data_efficiency",
            "model=nbody_linear_vel",
            "model.optimizer.lr=1e-30",
            f"paths.data_dir={nbody_data_dir}",
            "data.dataset=tiny",
            "data.eval_dataset=tiny",
            "data.n_train=50",
            "data.batch_size=50",
            "data.frame_in=6",
            "data.frame_out=8",
            "trainer.max_epochs=1",
            "trainer.check_val_every_n_epoch=1",
            "trainer.enable_progress_bar=false",
            "trainer.enable_model_summary=false",
            "forward_time.n_warmup=1",
            "forward_time.n_runs=3",
        ],
        tmp_path,
    )
    assert (cfg.data.eval_frame_in, cfg.data.eval_frame_out) == (30, 40)
    metrics = train(cfg)
    test = load_split(nbody_data_dir, "tiny", "test")

    def mse_of_frames(f_in, f_out):
        x_in, v_in = test["pos"][:, f_in].astype(np.float64), test["vel"][:, f_in]
        return float(np.mean((test["pos"][:, f_out] - (x_in + 0.7 * v_in)) ** 2))

    assert metrics["test/mse"] == pytest.approx(mse_of_frames(30, 40), rel=1e-4)
    # The training window gives another value (here about 3% off): the check tells them apart.
    assert abs(mse_of_frames(6, 8) - mse_of_frames(30, 40)) > 1e-2 * mse_of_frames(30, 40)


@pytest.mark.parametrize(
    ("precision", "dtype"), [("bf16-mixed", torch.bfloat16), ("32", torch.float32)]
)
def test_mixed_precision_runs_the_messages_in_its_dtype(make_cfg, monkeypatch, precision, dtype):
    """Under bf16-mixed the edge MLP's matmuls run in bfloat16 in the training steps; the
    coordinates stay float32. (The forward-time measurement after training runs outside it.)"""
    from egnn.nn.egcl_eq3_6 import EGCL

    seen = {"messages": set(), "coords": set()}
    edge_model, forward = EGCL.edge_model, EGCL.forward

    def recording_edge_model(self, *args, **kwargs):
        m = edge_model(self, *args, **kwargs)
        if self.training:
            seen["messages"].add(m.dtype)
        return m

    def recording_forward(self, *args, **kwargs):
        h, x = forward(self, *args, **kwargs)
        if self.training:
            seen["coords"].add(x.dtype)
        return h, x

    monkeypatch.setattr(EGCL, "edge_model", recording_edge_model)
    monkeypatch.setattr(EGCL, "forward", recording_forward)
    metrics = train(make_cfg("debug=fdr", f"trainer.precision={precision}"))
    assert seen == {"messages": {dtype}, "coords": {torch.float32}}
    assert np.isfinite(metrics["test/mse"])


def test_last_checkpoint_follows_the_latest_validation_not_the_best(make_cfg):
    # lr 1e-30: every step is below float32 resolution, so every validation ties the first and
    # the best checkpoint stays at epoch 0 while last.ckpt (what ckpt_path=last resumes) must
    # move on to the final epoch.
    cfg = make_cfg("debug=limit", "model.optimizer.lr=1e-30")
    metrics = train(cfg)
    checkpoints = Path(cfg.paths.output_dir) / "checkpoints"
    assert (
        metrics["best_epoch"] == 0 and Path(metrics["best_checkpoint"]).name == "epoch_00000.ckpt"
    )
    last = torch.load(checkpoints / "last.ckpt", weights_only=True)
    assert last["epoch"] == metrics["epochs"] - 1 == 2
    assert sorted(p.name for p in checkpoints.iterdir()) == [
        "epoch_00000.ckpt",
        "epoch_00000.ckpt.sha256",  # the replaced best checkpoints' checksums went with them
        "last.ckpt",
        "last.ckpt.sha256",
    ]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        # lr 1e-30: no validation improves on the first, so patience 1 stops at the second one.
        (("model.optimizer.lr=1e-30", "callbacks.early_stopping.patience=1"), "early_stopping"),
        (("callbacks.early_stopping.stopping_threshold=1e9",), "stopping_threshold"),
        (("trainer.max_time=00:00:00:01", "trainer.limit_train_batches=30"), "max_time"),
    ],
)
def test_metrics_say_why_training_stopped(make_cfg, overrides, reason):
    limits = ("limit_train_batches=3", "limit_val_batches=2", "limit_test_batches=2")
    trainer = [f"trainer.{o}" for o in (*limits, "check_val_every_n_epoch=1", "max_epochs=1000")]
    metrics = train(make_cfg(*trainer, *overrides))
    assert metrics["stopped_by"] == reason and metrics["epochs"] < 1000


class _StepLosses(pl.Callback):
    """Records each training step's loss, and ``train/loss`` as logged after each epoch."""

    def __init__(self) -> None:
        self.steps: list[list[float]] = []
        self.logged: list[float] = []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if self.steps:  # the previous epoch's value
            self.logged.append(trainer.callback_metrics["train/loss"].item())
        self.steps.append([])

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.steps[-1].append(outputs["loss"].item())

    def on_fit_end(self, trainer, pl_module) -> None:
        self.logged.append(trainer.callback_metrics["train/loss"].item())


def test_train_loss_is_the_mean_over_each_epochs_steps(make_cfg):
    cfg = make_cfg()
    recorder = _StepLosses()
    trainer = pl.Trainer(
        max_epochs=3,
        limit_val_batches=0,
        logger=False,
        callbacks=[recorder],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(hydra.utils.instantiate(cfg.model), datamodule=hydra.utils.instantiate(cfg.data))
    assert [len(s) for s in recorder.steps] == [4, 4, 4]  # 200 systems, batches of 50
    np.testing.assert_allclose(recorder.logged, [np.mean(s) for s in recorder.steps], rtol=1e-6)
