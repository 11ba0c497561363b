"""Research workflows end to end: short runs, logs, W&B runs per job, sweep summaries, Optuna,
resuming, distributed training and the submitit launchers (tiny data, a few epochs)."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from egnn.errors import ConfigError
from egnn.nn import NBODY_MODELS, build_nbody_model, fully_connected_edges
from egnn.records.naming import record_name
from egnn.reporting.sweep_summary import paper_value, summarise, write_summary
from egnn.run.csv_history import read_rows
from egnn.run.train import CONFIG_DIR, sweep_objective, train
from tests.conftest import PACKAGE_DIR, compose_config
from tests.wandb_offline import read_run

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
TINY = [
    "experiment=nbody",
    "data.dataset=tiny",
    "data.n_train=100",
    "data.batch_size=50",
    "forward_time.n_warmup=1",
    "forward_time.n_runs=3",
    "compile=false",  # compile=auto would compile runs planning thousands of steps
]


def _train_py(tmp_path: Path, data_dir: Path, *overrides: str, timeout: int = 300):
    """``python train.py`` with the tiny data, its outputs under ``tmp_path``; output piped."""
    flags = [o for o in overrides if o.startswith("-")]  # -m goes before the overrides
    overrides = tuple(o for o in overrides if not o.startswith("-"))
    args = [
        sys.executable,
        "train.py",
        *flags,
        *TINY,
        f"paths.data_dir={data_dir}",
        f"paths.log_dir={tmp_path}",
        *overrides,
    ]
    return subprocess.run(args, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=timeout)


# --- Honest short runs -----------------------------------------------------------------------


def test_short_run_validates_last_epoch_and_tests_best_weights(make_cfg):
    """2 epochs with validation every 5: the last epoch validates, both checkpoints exist, and the
    test measured the best-validated epoch, which metrics.json names."""
    cfg = make_cfg("trainer.max_epochs=2", "trainer.check_val_every_n_epoch=5")
    metrics = train(cfg)
    run_dir = Path(cfg.paths.output_dir)
    assert "val/mse_best" in metrics and metrics["best_epoch"] in (0, 1)
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert metrics["best_checkpoint"] and Path(metrics["best_checkpoint"]).is_file()
    assert metrics["tested_epoch"] == metrics["best_epoch"]
    assert (
        torch.load(metrics["best_checkpoint"], weights_only=True)["epoch"] == metrics["best_epoch"]
    )
    validated = [r for r in read_rows(run_dir / "csv" / "metrics.csv") if r.get("val/mse")]
    assert [int(r["epoch"]) for r in validated] == [1]  # the last epoch (0-based)


def test_progress_line_per_validation_without_terminal(make_cfg, caplog):
    cfg = make_cfg("trainer.max_epochs=2", "trainer.check_val_every_n_epoch=1")
    with caplog.at_level(logging.INFO, logger="egnn.run.callbacks"):
        train(cfg)
    lines = [r.getMessage() for r in caplog.records if r.name == "egnn.run.callbacks"]
    assert len(lines) == 2, lines
    assert re.match(r"epoch 2/2  step (\d+)/\1  train/loss ", lines[1]), lines[1]
    for part in ("val/mse ", "best ", "(epoch ", "elapsed ", "left <= 0:00:00"):
        assert part in lines[1], lines[1]


def test_progress_line_paces_the_time_left_by_steps():
    """A run that validates twice an epoch: after the first half-epoch, three and a half epochs
    are left, not three (the pace is that of the steps taken since this process started)."""
    from types import SimpleNamespace

    from egnn.run.callbacks import ProgressLine

    line = ProgressLine()
    trainer = SimpleNamespace(
        global_step=100, current_epoch=0, max_epochs=4, estimated_stepping_batches=800, callbacks=[]
    )
    line.on_train_start(trainer, None)  # resumed at step 100
    trainer.global_step = 200  # half of the second epoch
    assert line.time_left(trainer, elapsed=50.0) == pytest.approx(300.0)
    trainer.global_step = 800
    assert line.time_left(trainer, elapsed=350.0) == 0.0
    line.on_train_start(
        SimpleNamespace(global_step=0, estimated_stepping_batches=float("inf")), None
    )
    assert line.time_left(trainer, elapsed=1.0) is None  # no step count and no time budget


def test_optuna_objective_is_a_float_or_one_line(make_cfg, monkeypatch):
    import egnn.run.train as train_module

    cfg = make_cfg()
    assert sweep_objective(cfg, {"val/mse_best": 0.5}) == 0.5
    assert sweep_objective(cfg, {}) is None  # a basic sweep ignores the value
    monkeypatch.setattr(train_module, "_sweeper_needs_value", lambda: True)
    with pytest.raises(ConfigError, match=r"trial .*val/mse_best' is missing"):
        sweep_objective(cfg, {"test/mse": 0.1})
    with pytest.raises(ConfigError, match="not finite"):
        sweep_objective(cfg, {"val/mse_best": float("nan")})


def test_two_trial_two_epoch_optuna_search_completes(tmp_path, nbody_data_dir):
    result = _train_py(
        tmp_path,
        nbody_data_dir,
        "hparams_search=nbody_optuna",
        "hydra.sweeper.n_trials=2",
        "trainer.max_epochs=2",
        "~logger",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = tmp_path.glob("nbody/multirun_*")
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert isinstance(best["best_value"], float)
    assert len(list(sweep.glob("*/metrics.json"))) == 2
    assert (sweep / "summary.md").is_file()


# --- Logs, W&B runs per job, sweep summaries -------------------------------------------------


def test_baseline_multirun_one_wandb_run_per_job_and_a_summary(tmp_path, nbody_data_dir):
    """EGNN and two baselines in one multirun, W&B offline: three runs, each its own model, seed
    and metrics; the sweep folder gets its summary; piped output has no colour codes and one
    progress line per validation."""
    result = _train_py(
        tmp_path,
        nbody_data_dir,
        "-m",
        "model=nbody_egnn,nbody_gnn,nbody_linear",
        "logger=wandb",
        "trainer.max_epochs=1",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert "\x1b" not in output
    assert len(re.findall(r"epoch 1/1  step (\d+)/\1  train/loss", output)) == 3
    (sweep,) = tmp_path.glob("nbody/multirun_*")
    runs = sorted(sweep.glob("*/wandb/offline-run-*"))
    assert len(runs) == 3, runs
    read = [read_run(run) for run in runs]
    assert [r["config"]["model"] for r in read] == ["egnn", "gnn", "linear"]
    for job, run in enumerate(read):
        metrics = json.loads((sweep / str(job) / "metrics.json").read_text())
        assert run["name"] == f"{metrics['model']}-n100-seed0"
        assert run["group"] == f"nbody-{sweep.name}" and run["job_type"] == "train"
        assert run["config"]["experiment"] == "nbody" and run["config"]["seed"] == 0
        assert run["config"]["n_train"] == 100 and run["config"]["dataset"] == "tiny"
        assert run["config"]["cfg"]["model"]["net"]["name"] == metrics["model"]
        assert run["summary"]["test/mse"] == pytest.approx(metrics["test/mse"])
        assert run["summary"]["n_parameters"] == metrics["n_parameters"]
        assert "val/mse_best" in run["summary"] and "forward_time_s" in run["summary"]
        assert run["exit_code"] == 0
    table = (sweep / "summary.md").read_text()
    assert "| model=nbody_egnn | 1 |" in table and "| model=nbody_linear | 1 |" in table
    assert (sweep / "summary.csv").is_file() and (sweep / "summary.png").is_file()


def test_a_failed_job_finishes_its_wandb_run(make_cfg, monkeypatch):
    import wandb

    import egnn.run.train as train_module

    def fail(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(train_module, "measure_forward_time", fail)
    cfg = make_cfg("debug=fdr", "logger=wandb")
    with pytest.raises(RuntimeError, match="boom"):
        train(cfg)
    assert wandb.run is None  # the next job of this process starts a run of its own
    (run_dir,) = Path(cfg.paths.output_dir).glob("wandb/offline-run-*")
    for _ in range(40):  # wandb's service process may write the exit record a moment later
        if read_run(run_dir)["exit_code"] is not None:
            break
        time.sleep(0.5)
    assert read_run(run_dir)["exit_code"] == 1


def _fake_sweep(root: Path, results: dict[tuple[str, int], float | None]) -> Path:
    sweep = root / "multirun_x"
    for job, ((model, seed), mse) in enumerate(results.items()):
        (sweep / str(job) / ".hydra").mkdir(parents=True)
        (sweep / str(job) / ".hydra" / "overrides.yaml").write_text(
            f"- experiment=nbody\n- model=nbody_{model}\n- seed={seed}\n"
        )
        if mse is not None:
            metrics = {"experiment": "nbody", "model": model, "dataset": "small", "n_train": 3000}
            (sweep / str(job) / "metrics.json").write_text(
                json.dumps({**metrics, "test/mse": mse, "val/mse_best": mse})
            )
    return sweep


def test_sweep_summary_mean_std_over_seeds_per_setting(tmp_path):
    sweep = _fake_sweep(
        tmp_path,
        {
            ("egnn", 0): 0.006,
            ("egnn", 1): 0.008,
            ("egnn", 2): 0.007,
            ("gnn", 0): 0.011,
            ("gnn", 1): None,
        },
    )
    summary = summarise([sweep])
    egnn, gnn = summary["rows"]
    assert egnn["setting"] == "model=nbody_egnn" and egnn["n"] == 3
    assert egnn["values"]["test/mse"] == [0.006, 0.008, 0.007]
    assert egnn["paper"]["test/mse"] == 0.0071
    assert gnn["n"] == 1 and gnn["missing"] == 1
    written = write_summary([sweep])
    assert [p.name for p in written] == ["summary.md", "summary.csv", "summary.png"]
    table = (sweep / "summary.md").read_text()
    assert "| model=nbody_egnn | 3 | 0.007 ± 0.001 | 0.007 ± 0.001 | 0.0071 |" in table
    assert "| model=nbody_gnn | 1 (1 missing) |" in table
    # The command rebuilds it from the folder.
    (sweep / "summary.md").unlink()
    subprocess.run(
        [sys.executable, "-m", "egnn.reporting.sweep_summary", str(sweep)], check=True, env=ENV
    )
    assert (sweep / "summary.md").read_text() == table


def test_sweep_summary_of_qm9_targets_gives_each_targets_paper_mae(tmp_path):
    """A sweep over QM9 targets at a CPU budget: the paper's MAE of each target beside ours; a
    metric the paper does not report, and an experiment that is not QM9, get none."""
    sweep = tmp_path / "multirun_q"
    for job, (target, mae) in enumerate((("homo", 120.1), ("Cv", 0.5))):
        (sweep / str(job) / ".hydra").mkdir(parents=True)
        (sweep / str(job) / ".hydra" / "overrides.yaml").write_text(
            f"- experiment=qm9_cpu_1h\n- data.target={target}\n"
        )
        metrics = {"experiment": "qm9_cpu_1h", "model": "egnn", "target": target}
        (sweep / str(job) / "metrics.json").write_text(
            json.dumps({**metrics, "test/mae": mae, "val/mae_best": mae})
        )
    homo, cv = summarise([sweep])["rows"]
    assert homo["setting"] == "data.target=homo" and homo["paper"] == {"test/mae": 29.0}
    assert cv["setting"] == "data.target=Cv" and cv["paper"] == {"test/mae": 0.031}
    assert paper_value({"experiment": "nbody", "target": "homo"}, "test/mae") is None


# --- Resume keeps provenance -----------------------------------------------------------------


def _resume_cfg(tmp_path, nbody_data_dir, *overrides):
    base = [
        *TINY,
        f"paths.data_dir={nbody_data_dir}",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
    ]
    return compose_config([*base, *overrides], tmp_path)


def test_resume_uses_saved_config_refuses_changes_and_records(tmp_path, nbody_data_dir):
    first = _resume_cfg(tmp_path, nbody_data_dir, "trainer.max_epochs=1", "seed=3")
    train(first)
    run_dir = Path(first.paths.output_dir)
    saved = (run_dir / "config_resolved.yaml").read_text()
    # A changed learning rate or seed would change the experiment: refused, keys listed.
    changed = _resume_cfg(
        tmp_path, nbody_data_dir, "ckpt_path=last", "model.optimizer.lr=0.01", "seed=4"
    )
    with pytest.raises(ConfigError, match=r"model\.optimizer\.lr \(0\.0005 -> 0\.01\), seed"):
        train(changed)
    # A longer run with the run's own settings (the new command's default seed is not used).
    longer = _resume_cfg(tmp_path, nbody_data_dir, "ckpt_path=last", "trainer.max_epochs=2")
    metrics = train(longer)
    assert metrics["seed"] == 3 and metrics["epochs"] == 2
    assert (run_dir / "config_resolved.yaml").read_text() == saved
    (resume,) = yaml.safe_load((run_dir / "resumes.yaml").read_text())
    assert resume["changed"] == {"trainer.max_epochs": [1, 2]}
    assert resume["from_epoch"] == 0 and "trainer.max_epochs=2" in resume["overrides"]
    assert metrics["resumes"] == [resume]


def test_resume_keeps_the_runs_first_hydra_folder(tmp_path, nbody_data_dir):
    first = _train_py(tmp_path, nbody_data_dir, "trainer.max_epochs=1", "seed=5")
    assert first.returncode == 0, first.stderr[-3000:]
    (run_dir,) = tmp_path.glob("nbody/*/")
    overrides = (run_dir / ".hydra" / "overrides.yaml").read_text()
    again = _train_py(tmp_path, nbody_data_dir, "ckpt_path=last", "trainer.max_epochs=2")
    assert again.returncode == 0, again.stderr[-3000:]
    assert (run_dir / ".hydra" / "overrides.yaml").read_text() == overrides
    (resume_dir,) = (run_dir / ".hydra").glob("resume_*")
    assert "ckpt_path=last" in (resume_dir / "overrides.yaml").read_text()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["seed"] == 5
    # Named and reproduced as the run: its first command's overrides, the longer max_epochs of
    # the resume in place of the first one; the resume's own command listed under resumes.
    first_overrides = yaml.safe_load(overrides)
    assert "trainer.max_epochs=1" in first_overrides
    assert metrics["overrides"] == [
        *("trainer.max_epochs=2" if o == "trainer.max_epochs=1" else o for o in first_overrides),
        "ckpt_path=last",
    ]
    assert metrics["command"] == " ".join(["train.py", *first_overrides])
    assert "ckpt_path=last" in metrics["resumes"][0]["command"]
    assert record_name(metrics) == "egnn-b50-e2-n100-tiny-seed5"


# --- Distributed ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(NBODY_MODELS))
def test_every_parameter_reaches_the_loss(name):
    """DDP needs every parameter in the graph of the loss; none is hidden with
    find_unused_parameters: layers that could not reach it are not built."""
    if name in ("tfn", "se3_transformer"):
        pytest.importorskip("e3nn")
    torch.manual_seed(0)
    kwargs = {"tfn": {"channels": 4}, "se3_transformer": {"channels": 4}}.get(name, {})
    model = build_nbody_model(name, **kwargs)
    n = 10
    out = model(torch.randn(n, 3), torch.randn(n, 3), torch.ones(n, 1), fully_connected_edges(5, 2))
    out.square().sum().backward()
    unused = [k for k, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not unused, unused


def test_ddp_two_processes_leave_the_records_of_one(tmp_path, nbody_data_dir):
    result = _train_py(
        tmp_path,
        nbody_data_dir,
        "trainer=ddp_cpu",
        "trainer.devices=2",
        "trainer.max_epochs=2",
        "trainer.check_val_every_n_epoch=1",
        "data.n_train=200",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert "sync_dist" not in output and "not used in producing the loss" not in output
    (metrics_file,) = tmp_path.glob("nbody/*/metrics.json")
    metrics = json.loads(metrics_file.read_text())
    assert metrics["epochs"] == 2 and metrics["stopped_by"] == "max_epochs"
    assert metrics["train_time_s"] > 0 and metrics["tested_epoch"] == metrics["best_epoch"]
    rows = read_rows(metrics_file.parent / "csv" / "metrics.csv")
    assert [int(r["epoch"]) for r in rows if r.get("val/mse")] == [0, 1]
    assert len([r for r in rows if r.get("train/loss")]) == 2
    (test_row,) = [r for r in rows if r.get("test/mse")]
    assert int(test_row["epoch"]) == 2  # where training ended, as in one process


@pytest.mark.parametrize(
    ("launcher", "plugin"),
    [
        ("local", "hydra_submitit_launcher"),
        # joblib's reused worker processes: 70-100 s on this loaded 2-core machine
        pytest.param("joblib", "hydra_joblib_launcher", marks=pytest.mark.slow),
    ],
)
def test_launcher_one_folder_and_one_wandb_run_per_job(tmp_path, nbody_data_dir, launcher, plugin):
    """submitit's local launcher (one process per job) and joblib's (worker processes reused)."""
    pytest.importorskip(f"hydra_plugins.{plugin}")
    result = _train_py(
        tmp_path,
        nbody_data_dir,
        "-m",
        "seed=0,1",
        f"launcher={launcher}",
        "debug=fdr",
        "logger=wandb",
        timeout=400,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = tmp_path.glob("debug/multirun_*")
    assert not [p for p in sweep.rglob("*") if "%j" in p.name]
    assert sorted(p.parent.name for p in sweep.glob("*/metrics.json")) == ["0", "1"]
    runs = [read_run(run) for run in sorted(sweep.glob("*/wandb/offline-run-*"))]
    assert [run["config"]["seed"] for run in runs] == [0, 1]  # one W&B run per job
    assert (sweep / "summary.md").is_file()


def test_slurm_launcher_config_composes():
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    GlobalHydra.instance().clear()
    overrides = [
        "experiment=nbody",
        "launcher=slurm",
        "trainer=ddp",
        "hydra.launcher.partition=gpu",
    ]
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train.yaml", overrides=overrides, return_hydra_config=True)
    GlobalHydra.instance().clear()
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert launcher.partition == "gpu" and launcher.gpus_per_node == 1
    assert "%j" not in launcher.submitit_folder
    assert cfg.trainer.strategy == "ddp" and cfg.trainer.devices == 4


# --- The pretrained checkpoint and its record ---------------------------------------------------


def test_pretrained_record_digits_are_the_ones_printed():
    """README and notes print the shipped checkpoint's test MSE from its record, rounded."""
    record = json.loads((PACKAGE_DIR / "pretrained" / "nbody_egnn.json").read_text())
    readme = (REPO / "README.md").read_text()
    notes = (REPO / "report" / "notes" / "reference.md").read_text()
    assert f"shipped nbody_egnn.ckpt, test MSE {record['test/mse']:.4f}" in readme
    assert f"test MSE\n{record['test/mse']:.5f}, the seed-3 run" in notes


@pytest.mark.slow
def test_pretrained_evaluation_matches_its_record(tmp_path):
    """``eval.py experiment=nbody`` on the paper's test split (generated here, minutes) gives the
    record's test MSE to the digits printed."""
    record = json.loads((PACKAGE_DIR / "pretrained" / "nbody_egnn.json").read_text())
    args = [sys.executable, "eval.py", "experiment=nbody", f"paths.log_dir={tmp_path}"]
    result = subprocess.run(args, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    (metrics_file,) = tmp_path.glob("eval/nbody/*/metrics.json")
    measured = json.loads(metrics_file.read_text())["test/mse"]
    assert f"{measured:.5f}" == f"{record['test/mse']:.5f}", (measured, record["test/mse"])
