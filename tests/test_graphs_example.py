"""The "your own data" example (examples/lennard_jones) trains for a few steps through the real
command line, with its config folder added by hydra.searchpath."""

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from .conftest import load_file

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


def test_lennard_jones_example_trains_a_few_steps(tmp_path):
    command = [
        str(Path(sys.executable).parent / "egnn-train"),
        f"hydra.searchpath=[file://{EXAMPLES / 'lennard_jones' / 'configs'}]",
        "experiment=lennard_jones",
        "trainer.max_epochs=1",
        "data.n_train=64",
        "data.n_valid=16",
        "data.n_test=16",
        "data.batch_size=16",
        "forward_time.enabled=false",
        "trainer.enable_progress_bar=false",
        f"paths.output_dir={tmp_path / 'run'}",
        f"paths.log_dir={tmp_path / 'logs'}",
    ]
    env = dict(os.environ, PYTHONPATH=str(EXAMPLES), OMP_NUM_THREADS="1", WANDB_MODE="offline")
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["experiment"] == "lennard_jones"
    assert metrics["test/mae"] > 0 and metrics["epochs"] == 1


def test_lennard_jones_energy_counts_each_pair_once():
    module = load_file("examples/lennard_jones/datamodule.py", "lennard_jones_datamodule")
    lennard_jones_energy = module.lennard_jones_energy
    pos = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 3.0, 0.0]])
    # one pair at r = 1 (energy 0); the third atom is beyond the 2.5 cutoff
    assert lennard_jones_energy(pos).item() == 0.0
    pos[1, 0] = 2 ** (1 / 6)  # the minimum, -epsilon
    torch.testing.assert_close(lennard_jones_energy(pos), torch.tensor(-1.0))
