"""Shared fixtures: one thread, W&B offline, a tiny cached N-body dataset, composed Hydra configs."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ["WANDB_MODE"] = "offline"
os.environ.setdefault("WANDB_SILENT", "true")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402
from hydra.core.global_hydra import GlobalHydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from omegaconf import DictConfig, open_dict  # noqa: E402

from egnn.data.nbody.dataset import ensure_dataset  # noqa: E402
from egnn.run.train import CONFIG_DIR  # noqa: E402

torch.set_num_threads(1)

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = CONFIG_DIR.parent  # the installed egnn package: configs/, pretrained/
EXPERIMENTS = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))


@pytest.fixture(scope="session")
def nbody_data_dir(tmp_path_factory) -> Path:
    """A data folder holding the tiny N-body preset (generated once per test session)."""
    data_dir = tmp_path_factory.mktemp("data")
    ensure_dataset(data_dir, "tiny")
    return data_dir


def positive_percent(graphs: list[np.ndarray]) -> float:
    """Percent of ordered node pairs (i != j) joined by an edge over dense adjacencies."""
    positives = sum(int(a.sum()) for a in graphs)
    pairs = sum(len(a) * (len(a) - 1) for a in graphs)
    return 100.0 * positives / pairs


@pytest.fixture(scope="session")
def graph_data_dir(tmp_path_factory) -> Path:
    """A data folder for the graph datasets, shared by the test session (splits are generated
    on first use)."""
    return tmp_path_factory.mktemp("graphdata")


def compose_config(
    overrides: list[str], run_dir: Path, config_name: str = "train.yaml"
) -> DictConfig:
    """The real ``config_name`` composed with ``overrides``, its paths pointed at ``run_dir``."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name, overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.paths.root_dir = str(run_dir)
        cfg.paths.log_dir = str(run_dir / "outputs")
        cfg.paths.output_dir = str(run_dir / "run")
        cfg.hydra.runtime.output_dir = str(run_dir / "run")
    HydraConfig().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]  # as in a real run: the job's config has no hydra node
    return cfg


@pytest.fixture
def make_cfg(tmp_path, nbody_data_dir):
    """Build a small N-body config: tiny data, few epochs, no progress bar (a new folder per call)."""
    calls = []

    def _make(*overrides: str) -> DictConfig:
        calls.append(1)
        base = [
            "experiment=nbody",
            f"paths.data_dir={nbody_data_dir}",
            "data.dataset=tiny",
            "data.n_train=200",
            "data.batch_size=50",
            "trainer.enable_progress_bar=false",
            "trainer.enable_model_summary=false",
            "forward_time.n_warmup=1",
            "forward_time.n_runs=3",
            "compile=false",  # compile=auto would compile runs planning thousands of steps
        ]
        return compose_config([*base, *overrides], tmp_path / f"call{len(calls)}")

    yield _make
    GlobalHydra.instance().clear()


@pytest.fixture(scope="session")
def qm9_data_dir(tmp_path_factory) -> Path:
    """A data folder holding the QM9 cache built from the installed qm9pack (once per session).

    With ``EGNN_TEST_QM9_CACHE=<data dir>`` the cache already built there is copied instead, then
    checked as any cache is (checksum, provenance). ``make mutation`` sets it: each mutant's test
    run would otherwise parse all 130,831 molecules again; the parser and the cache's rebuilds are
    tested on a sample (``tests/test_qm9_data.py``)."""
    from egnn.data.qm9.dataset import _read_cache, cache_path, load_qm9

    data_dir = tmp_path_factory.mktemp("qm9data")
    prebuilt = os.environ.get("EGNN_TEST_QM9_CACHE")
    if prebuilt:
        source, target = cache_path(prebuilt), cache_path(data_dir)
        target.parent.mkdir(parents=True)
        shutil.copyfile(source, target)
        shutil.copyfile(f"{source}.sha256", f"{target}.sha256")
        if _read_cache(target) is None:  # fail at once rather than parse everything again
            raise RuntimeError(f"the prebuilt QM9 cache {source} is refused: it would be rebuilt")
    load_qm9(data_dir)
    return data_dir


@pytest.fixture(scope="session")
def trained_linear_run(tmp_path_factory, nbody_data_dir) -> tuple[DictConfig, dict]:
    """A finished tiny N-body run (linear model, a few batches): its config and metrics. Tests
    that damage or resume it work on copies of its folder."""
    from egnn.run.train import train

    cfg = compose_config(
        [
            "experiment=nbody",
            f"paths.data_dir={nbody_data_dir}",
            "data.dataset=tiny",
            "data.n_train=100",
            "model=nbody_linear",
            "debug=limit",
            "trainer.enable_progress_bar=false",
            "forward_time.enabled=false",
        ],
        tmp_path_factory.mktemp("trained"),
    )
    metrics = train(cfg)
    GlobalHydra.instance().clear()
    return cfg, metrics


def load_file(relative_path: str, name: str):
    """The module of a file outside the package (a script, a benchmark, an example), imported from
    its path relative to the repository root."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / relative_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_entry_point(script: str, *args: str, full_error: bool = False):
    """``python <script> <args>`` from the repository root with one thread; returns the
    completed process (``HYDRA_FULL_ERROR`` set only when ``full_error``)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("HYDRA_FULL_ERROR", None)
    if full_error:
        env["HYDRA_FULL_ERROR"] = "1"
    return subprocess.run(
        [sys.executable, script, *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def single_error_line(result) -> str:
    """The one ERROR line of a refused command, after checking exit code 2 and no traceback."""
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    errors = [line for line in output.splitlines() if "ERROR" in line]
    assert len(errors) == 1, output
    assert "Traceback" not in output, output
    return errors[0]


def linear_by_hand(layer, z):
    """``layer(z)`` from its weight matrix and bias, for references that must not reuse the
    module under test."""
    return z @ layer.weight.t() + (0.0 if layer.bias is None else layer.bias)
