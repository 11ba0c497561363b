"""The QM9 model and task: E(n) invariance of the whole model, the experiment runs end to end."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from egnn.data.qm9.features import node_features
from egnn.errors import ConfigError
from egnn.nn.graph import fully_connected_edges
from egnn.nn.qm9 import QM9EGNN
from egnn.run.train import train
from egnn.testing import EDGE_INDEX, GRAPH_SCALAR, NODE_SCALAR, POSITION, assert_equivariant

from .conftest import compose_config


def test_qm9_model_is_invariant():
    torch.manual_seed(0)
    model = QM9EGNN(hidden_nf=16, n_layers=3).double()
    z = torch.tensor([6, 1, 1, 1, 1, 8, 1, 1])
    edge_index = torch.cat([fully_connected_edges(5), fully_connected_edges(3) + 5], dim=1)
    inputs = {
        "node_attr": node_features(z).double(),
        "pos": torch.randn(8, 3, dtype=torch.float64),
        "edge_index": edge_index,
        "batch": torch.tensor([0, 0, 0, 0, 0, 1, 1, 1]),
        "num_graphs": 2,
    }
    kinds = {
        "node_attr": NODE_SCALAR,
        "pos": POSITION,
        "edge_index": EDGE_INDEX,
        "batch": NODE_SCALAR,
    }
    assert_equivariant(model, inputs, kinds, (GRAPH_SCALAR,), atol=1e-10)


def _qm9_cfg(tmp_path, data_dir, *overrides):
    base = [
        "experiment=qm9",
        f"paths.data_dir={data_dir}",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
        "forward_time.n_warmup=1",
        "forward_time.n_runs=2",
        "model.net.hidden_nf=16",
        "model.net.n_layers=2",
    ]
    return compose_config([*base, *overrides], tmp_path)


def test_qm9_fast_dev_run(tmp_path, qm9_data_dir):
    cfg = _qm9_cfg(tmp_path, qm9_data_dir, "debug=fdr", "data.target=gap")
    metrics = train(cfg)
    assert np.isfinite(metrics["test/mae"]) and metrics["target"] == "gap"
    stats = json.loads((Path(cfg.paths.output_dir) / "data_stats.json").read_text())
    assert stats["target"] == "gap" and stats["unit"] == "meV"
    assert (stats["n_train"], stats["n_valid"], stats["n_test"]) == (100_000, 17_748, 13_083)
    assert stats["mad"] > 0


def test_qm9_short_training_learns(tmp_path, qm9_data_dir):
    """A few hundred steps on a subset already beat predicting the training mean."""
    cfg = _qm9_cfg(
        tmp_path,
        qm9_data_dir,
        "data.target=mu",
        "data.n_train=960",
        "data.batch_size=32",
        "trainer.max_epochs=6",
        "trainer.limit_val_batches=5",
        "trainer.limit_test_batches=5",
        "model.net.hidden_nf=32",
    )
    metrics = train(cfg)
    stats = json.loads((Path(cfg.paths.output_dir) / "data_stats.json").read_text())
    assert metrics["test/mae"] < 0.9 * stats["mad"], (metrics["test/mae"], stats["mad"])


def test_learning_rate_follows_the_target(tmp_path):
    for target, lr in (("homo", 1e-3), ("gap", 1e-3), ("mu", 5e-4), ("U0", 5e-4)):
        cfg = compose_config(["experiment=qm9", f"data.target={target}"], tmp_path)
        assert cfg.model.optimizer.lr == lr
        assert cfg.model.scheduler.T_max == 1000 and cfg.data.batch_size == 96


def test_unknown_target(tmp_path, qm9_data_dir):
    with pytest.raises(Exception) as info:
        train(_qm9_cfg(tmp_path, qm9_data_dir, "debug=fdr", "data.target=HOMO"))
    err = info.value
    while err is not None and not isinstance(err, ConfigError):
        err = err.__cause__ or err.__context__
    assert err is not None and "unknown QM9 target 'HOMO'" in str(err)
