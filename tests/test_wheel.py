"""Installed as a wheel (not editable), from another folder: ``egnn-train`` and ``egnn-eval`` use
the configs and the pretrained checkpoint shipped inside the package, a user's own config folder
joins them through ``hydra.searchpath``, and outputs land under the current folder.

The wheel is built from a copy of the sources and installed with ``pip --no-deps`` into a fresh
virtual environment; that environment sees the dependencies (torch, Lightning, Hydra) of the test
environment through a ``.pth`` line, which adds their folder but not the editable install of this
checkout, so ``egnn`` itself is the wheel's (checked).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run(args: list, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))},
        "OMP_NUM_THREADS": "1",
        "WANDB_MODE": "offline",
    }
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{args}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh environment holding the wheel; returns its bin folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(
        REPO / "src",
        source / "src",
        ignore=shutil.ignore_patterns("*.egg-info", "__pycache__", "local"),
    )
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    run(
        [
            *pip,
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            tmp / "dist",
            source,
        ],
        tmp,
    )
    wheel = next((tmp / "dist").glob("egnn-*.whl"))
    env_dir = tmp / "env"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    run([*pip, "--python", python, "install", "--no-deps", "--no-index", wheel], tmp)
    site = Path(
        run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp
        ).stdout.strip()
    )
    (site / "test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    where = run([python, "-c", "import egnn; print(egnn.__file__)"], tmp).stdout.strip()
    assert Path(where).is_relative_to(site), f"egnn imported from {where}, not the wheel"
    return env_dir / "bin"


def test_wheel_ships_configs_and_checkpoint(installed, tmp_path):
    """The configs compose from the package, and eval.yaml's pretrained checkpoint is the wheel's."""
    code = (
        "import egnn, hydra; from pathlib import Path;"
        "from egnn.run.resolvers import register_resolvers; register_resolvers();"
        "root = Path(egnn.__file__).parent;"
        "hydra.initialize_config_dir(str(root / 'configs'), version_base='1.3');"
        "cfg = hydra.compose('eval.yaml', ['experiment=nbody']);"
        "print(Path(cfg.pretrained_ckpt).is_file(), Path(cfg.pretrained_ckpt).is_relative_to(root))"
    )
    assert run([installed / "python", "-c", code], tmp_path).stdout.split() == ["True", "True"]


def test_wheel_trains_and_evaluates_from_another_folder(installed, tmp_path, nbody_data_dir):
    mine = tmp_path / "my_configs" / "experiment"
    mine.mkdir(parents=True)
    (mine / "tiny_nbody.yaml").write_text(
        "# @package _global_\ndefaults:\n  - nbody\n\ntask_name: tiny_nbody\n"
        "data:\n  dataset: tiny\n  n_train: 100\n  batch_size: 50\n"
        "trainer:\n  max_epochs: 1\n  check_val_every_n_epoch: 1\n"
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    common = [
        f"paths.data_dir={nbody_data_dir}",
        "trainer.enable_progress_bar=false",
        "forward_time.n_warmup=1",
        "forward_time.n_runs=2",
    ]
    run(
        [
            installed / "egnn-train",
            f"hydra.searchpath=[file://{tmp_path / 'my_configs'}]",
            "experiment=tiny_nbody",
            *common,
        ],
        work,
    )
    (metrics_file,) = work.glob("outputs/tiny_nbody/*/metrics.json")  # under the current folder
    metrics = json.loads(metrics_file.read_text())
    assert metrics["epochs"] == 1 and metrics["experiment"] == "tiny_nbody"
    assert "experiment=tiny_nbody" in metrics["overrides"]
    run([installed / "egnn-eval", f"ckpt_path={metrics['best_checkpoint']}", *common], work)
    (evaluation,) = work.glob("outputs/eval/eval/*/metrics.json")
    tested = json.loads(evaluation.read_text())
    assert tested["test/mse"] == pytest.approx(metrics["test/mse"], rel=1e-5)
    assert (evaluation.parent / "samples.json").is_file()  # what the report draws
    assert not (REPO / "outputs" / "tiny_nbody").exists()
