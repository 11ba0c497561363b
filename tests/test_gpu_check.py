"""scripts/gpu_check.sh: one line and exit 1 without a GPU; its QM9 protocol stage (time per epoch,
record, projected 1,000-epoch wall time) dry-run on the CPU with a tiny budget; the projection."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from .conftest import load_file

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "gpu_check.sh"


def _projection_module():
    return load_file("scripts/project_protocol.py", "project_protocol")


def _env(**extra: str) -> dict:
    return {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1", **extra}


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_without_a_gpu_it_stops_with_one_line(tmp_path):
    out = tmp_path / "check"
    result = subprocess.run(
        ["bash", str(SCRIPT), str(out)], capture_output=True, text=True, env=_env(), timeout=120
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"gpu_check: no CUDA GPU visible to torch {torch.__version__}: nothing run"
    ]
    assert not out.exists()


def test_bad_training_minutes_are_named(tmp_path):
    result = subprocess.run(
        ["bash", str(SCRIPT), str(tmp_path / "check")],
        capture_output=True,
        text=True,
        env=_env(GPU_CHECK_TRAIN_MIN="20"),
        timeout=60,
    )
    assert result.returncode == 2
    assert "GPU_CHECK_TRAIN_MIN must be a whole number of minutes from 1 to 8, got '20'" in (
        result.stderr
    )


def test_dry_run_measures_the_protocol_and_writes_its_record(tmp_path, qm9_data_dir):
    out = tmp_path / "check"
    result = subprocess.run(
        ["bash", str(SCRIPT), str(out)],
        capture_output=True,
        text=True,
        env=_env(GPU_CHECK_DRY_RUN="1", GPU_CHECK_DATA_DIR=str(qm9_data_dir)),
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    run_dir = out / "runs" / "qm9_protocol_homo"
    projection = json.loads((run_dir / "projection.json").read_text())
    assert projection["projected_epochs"] == 1000 and projection["n_train"] == 192
    assert projection["projected_s"] == pytest.approx(1000 * projection["epoch_s_median"])
    assert f"projected 1000-epoch protocol: {projection['projected_h']:.2f} h" in result.stdout
    (record_file,) = (out / "results" / "qm9_gpu_check").glob("egnn-homo-*seed0.json")
    record = json.loads(record_file.read_text())
    assert record["target"] == "homo" and record["batch_size"] == 96 and record["epochs"] == 2
    assert record["test/mae"] > 0 and record["train_cpu_s"] > 0
    assert "model.scheduler.T_max=1000" in record["command"]  # the protocol's schedule
    assert "GPU check done" in result.stdout


def _write_curve(run_dir: Path, rows: list[tuple[int, str]]) -> None:
    (run_dir / "csv").mkdir(parents=True)
    with open(run_dir / "csv" / "metrics.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", "step", "time/train_s", "val/mae"])
        for epoch, seconds in rows:
            writer.writerow([epoch, 10 * (epoch + 1), seconds, "" if not seconds else 1.0])


def test_projection_is_the_median_epoch_after_the_first_times_the_epochs(tmp_path):
    project_protocol = _projection_module()
    # Epoch 0 holds the warm-up (30 s); then 10, 12, 11 s; a row without a time is skipped; two
    # validations in epoch 3: its last one counts.
    _write_curve(tmp_path, [(0, "30"), (1, "40"), (1, ""), (2, "52"), (3, "58"), (3, "63")])
    result = project_protocol.main([str(tmp_path), "--epochs", "1000"])
    assert result["epoch_s"] == [10.0, 12.0, 11.0]
    assert result["projected_s"] == pytest.approx(11_000.0)
    assert json.loads((tmp_path / "projection.json").read_text())["projected_h"] == pytest.approx(
        11_000 / 3600
    )


def test_projection_of_one_epoch_and_of_none(tmp_path):
    project_protocol = _projection_module()
    assert project_protocol.epoch_seconds([(1, 50.0)]) == [25.0]  # two epochs, one validation
    _write_curve(tmp_path, [(0, "")])
    with pytest.raises(SystemExit, match="validated no epoch"):
        project_protocol.main([str(tmp_path)])
