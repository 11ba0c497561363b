"""Resume after a crash, determinism, clear errors on bad input, numerical safety, no secrets saved."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from egnn.data.nbody.dataset import generate, split_path
from egnn.errors import ConfigError
from egnn.integrity import write_checksum
from egnn.nn import EGNN, fully_connected_edges
from egnn.nn.nbody import NBodyEGNN
from egnn.run.csv_history import STASH_NAME
from egnn.run.train import train
from egnn.tasks.numerics import NonFiniteLossError

REPO = Path(__file__).resolve().parents[1]


def _cli(args, log_dir, data_dir, env_extra=None, **popen):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline", **(env_extra or {})}
    base = [
        sys.executable,
        "train.py",
        "experiment=nbody",
        f"paths.data_dir={data_dir}",
        f"paths.log_dir={log_dir}",
        "data.dataset=tiny",
        "data.n_train=200",
        "data.batch_size=50",
        "trainer.enable_progress_bar=false",
        "forward_time.n_runs=3",
        "compile=false",  # compile=auto would compile runs planning thousands of steps
    ]
    return subprocess.Popen(
        [*base, *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def _csv_val_epochs(run_dir: Path) -> list[int]:
    with (run_dir / "csv" / "metrics.csv").open() as handle:
        return [int(float(r["epoch"])) for r in csv.DictReader(handle) if r.get("val/mse")]


RUN = [
    "seed=3",
    "trainer.max_epochs=12",
    "trainer.check_val_every_n_epoch=1",
    "~callbacks.early_stopping",
]


def test_resume_after_sigkill_matches_uninterrupted_run(tmp_path, nbody_data_dir):
    reference = _cli(RUN, tmp_path / "ref", nbody_data_dir)
    out, err = reference.communicate(timeout=600)
    assert reference.returncode == 0, err[-3000:]
    (ref_dir,) = (tmp_path / "ref" / "nbody").iterdir()
    ref_metrics = json.loads((ref_dir / "metrics.json").read_text())

    victim = _cli(RUN, tmp_path / "run", nbody_data_dir, start_new_session=True)
    deadline = time.time() + 300
    last = None
    while time.time() < deadline:
        found = list((tmp_path / "run" / "nbody").glob("*/checkpoints/last.ckpt"))
        if found:
            try:
                if torch.load(found[0], weights_only=True)["epoch"] >= 4:
                    last = found[0]
                    break
            except Exception:  # being written: try again
                pass
        time.sleep(0.1)
    assert last is not None, "no checkpoint appeared"
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    run_dir = last.parent.parent
    assert not (run_dir / "metrics.json").exists()
    clock = torch.load(last, weights_only=True)["callbacks"]["WallClock"]["elapsed_s"]

    resumed = _cli([*RUN, "ckpt_path=last"], tmp_path / "run", nbody_data_dir)
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err[-3000:]
    assert [p.name for p in (tmp_path / "run" / "nbody").iterdir()] == [run_dir.name]  # same folder
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == ref_metrics["epochs"] == 12
    assert metrics["test/mse"] == pytest.approx(ref_metrics["test/mse"], rel=1e-5)
    assert metrics["best_epoch"] == ref_metrics["best_epoch"]
    assert metrics["train_time_s"] > clock > 0  # the time before the checkpoint is counted
    log = (run_dir / "train.log").read_text()  # both processes' lines, none overwritten
    assert "from scratch" in log and f"resuming {run_dir / 'checkpoints' / 'last.ckpt'}" in log
    assert _csv_val_epochs(run_dir) == list(
        range(12)
    )  # the learning curve is complete, no duplicates
    assert not (run_dir / "csv" / STASH_NAME).exists()


def test_same_seed_same_metrics(make_cfg):
    first = train(make_cfg("debug=limit", "seed=11", "trainer.detect_anomaly=false"))
    second = train(make_cfg("debug=limit", "seed=11", "trainer.detect_anomaly=false"))
    third = train(make_cfg("debug=limit", "seed=12", "trainer.detect_anomaly=false"))
    assert first["test/mse"] == second["test/mse"]
    assert first["val/mse_best"] == second["val/mse_best"]
    assert third["test/mse"] != first["test/mse"]
    assert first["data_seed"] == {"train": 7, "eval": 7} and first["seed"] == 11


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("model.net.name=transformer", "unknown N-body model 'transformer'"),
        (
            "data.n_train=-5",
            "data.n_train=-5 is out of range: data.n_train must be an integer >= 1",
        ),
        ("data.n_train=100000", "data.n_train=100000 exceeds the 200 training trajectories"),
        ("data.batch_size=0", "data.batch_size=0 is out of range: data.batch_size must be an"),
        ("data.dataset=huge", "unknown N-body dataset 'huge'"),
        ("ckpt_path=/no/such/file.ckpt", "checkpoint file /no/such/file.ckpt does not exist"),
    ],
)
def test_bad_settings_raise_config_errors(make_cfg, override, match):
    with pytest.raises(Exception) as info:
        train(make_cfg("debug=fdr", override))
    err = info.value
    while err is not None and not isinstance(err, ConfigError):
        err = err.__cause__
    assert err is not None, f"expected a ConfigError, got {info.value!r}"
    assert match in str(err)


def test_config_error_exits_cleanly_without_traceback(tmp_path, nbody_data_dir):
    proc = _cli(["debug=fdr", "data.n_train=-5"], tmp_path, nbody_data_dir)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 2
    assert "configuration error: data.n_train=-5 is out of range" in out + err
    assert "Traceback" not in out + err


def test_unknown_experiment_fails_with_its_name(tmp_path, nbody_data_dir):
    proc = _cli(["experiment=nbodyy"], tmp_path, nbody_data_dir)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode != 0
    assert "nbodyy" in err and "experiment" in err


def test_incompatible_checkpoint(make_cfg):
    cfg = make_cfg("debug=limit", "model=nbody_linear", "trainer.detect_anomaly=false")
    metrics = train(cfg)
    with pytest.raises(ConfigError, match="holds a 'linear' model, not the configured 'egnn'"):
        train(make_cfg("debug=limit", f"ckpt_path={metrics['best_checkpoint']}"))


def test_nan_in_input_coordinates(tmp_path):
    generate(tmp_path, "tiny")
    path = split_path(tmp_path, "tiny", "train")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["pos"][3, 30, 1, 0] = np.nan
    with path.open("wb") as handle:
        np.savez(handle, **arrays)
    write_checksum(path)  # a cache that is intact as written, with NaN in it
    from egnn.data.nbody.datamodule import NBodyDataModule

    dm = NBodyDataModule(data_dir=str(tmp_path), dataset="tiny", n_train=200)
    with pytest.raises(ConfigError, match=r"NaN or Inf in 'pos' of trajectories \[3\]"):
        dm.setup("fit")


def test_nan_loss_stops_training_and_keeps_last_good_checkpoint(make_cfg, monkeypatch):
    original = NBodyEGNN.forward
    calls = {"n": 0}

    def poisoned(self, *args):
        out = original(self, *args)
        calls["n"] += 1
        return out * float("nan") if self.training and calls["n"] > 40 else out

    monkeypatch.setattr(NBodyEGNN, "forward", poisoned)
    cfg = make_cfg(
        "trainer.max_epochs=30", "trainer.check_val_every_n_epoch=1", "~callbacks.early_stopping"
    )
    with pytest.raises(NonFiniteLossError, match="training loss is nan") as err:
        train(cfg)
    last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    assert f"The last good checkpoint is {last} (resume with ckpt_path=last)" in str(err.value)
    state = torch.load(last, weights_only=True)["state_dict"]
    assert all(torch.isfinite(v).all() for v in state.values())


@pytest.mark.parametrize(
    "options", [{}, {"normalize": True, "tanh": True}], ids=["default", "normalize+tanh"]
)
def test_deep_egnn_on_large_graphs_stays_finite(options):
    """16 layers on 100-node graphs: finite at initialisation and through training steps."""
    torch.manual_seed(0)
    net = EGNN(1, 32, 1, n_layers=16, **options)
    edge_index = fully_connected_edges(100, 1)
    h, x = torch.ones(100, 1), 3 * torch.randn(100, 3)
    target = torch.randn(100, 3)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(5):
        h_out, x_out = net(h, x, edge_index)
        assert torch.isfinite(h_out).all() and torch.isfinite(x_out).all()
        loss = (x_out - target).pow(2).mean() + h_out.pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)
        optimizer.step()


def test_checkpoints_load_weights_only_and_hold_no_secrets(make_cfg, monkeypatch):
    secret = "sk-test-secret-0123456789"
    monkeypatch.setenv("WANDB_API_KEY", secret)
    monkeypatch.setenv("WANDB_MODE", "offline")
    cfg = make_cfg("debug=limit", "logger=wandb", "trainer.detect_anomaly=false")
    metrics = train(cfg)
    checkpoint = torch.load(metrics["best_checkpoint"], weights_only=True)
    assert "state_dict" in checkpoint
    run_dir = Path(cfg.paths.output_dir)
    # W&B ran offline and left a local run that `wandb sync` can upload later.
    assert list(run_dir.glob("wandb/offline-run-*/run-*.wandb")), sorted(run_dir.rglob("*"))
    for path in run_dir.rglob("*"):
        if path.is_file() and path.stat().st_size < 5_000_000:
            assert secret.encode() not in path.read_bytes(), path


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    from egnn.atomic import atomic_open, atomic_write_json

    path = tmp_path / "metrics.json"
    atomic_write_json(path, {"test/mse": 1.0})
    with pytest.raises(KeyboardInterrupt), atomic_open(path, "w") as handle:
        handle.write('{"test/mse": 2')
        raise KeyboardInterrupt
    assert json.loads(path.read_text()) == {"test/mse": 1.0}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


@pytest.mark.parametrize("clip", [1e-4, None])
def test_gradient_clipping_option(make_cfg, monkeypatch, clip):
    """The optimizer steps with gradients of total norm at most trainer.gradient_clip_val (here
    far below the unclipped norms, so clipping acts at every step)."""
    norms = []
    adam_step = torch.optim.Adam.step

    def recording_step(self, closure=None):
        loss = closure() if closure is not None else None  # forward, backward, clipping
        grads = [
            p.grad for group in self.param_groups for p in group["params"] if p.grad is not None
        ]
        norms.append(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])).item())
        adam_step(self)
        return loss

    monkeypatch.setattr(torch.optim.Adam, "step", recording_step)
    option = f"trainer.gradient_clip_val={'null' if clip is None else clip}"
    metrics = train(make_cfg("debug=limit", option, "trainer.detect_anomaly=false"))
    assert len(norms) == 9 and np.isfinite(metrics["test/mse"])  # 3 epochs of 3 batches
    if clip is None:
        assert min(norms) > 100 * 1e-4  # what the clipped run must bring down
    else:
        assert norms == pytest.approx([clip] * 9, rel=1e-3)
