"""Graph autoencoder: datasets (sanity figures, cache), metrics on hand-computed examples, models
(invariance, noise), the task's loss and the experiment end to end."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from egnn.data import keys as K
from egnn.data.graphs.datamodule import AdjacencyDataset, collate_graphs
from egnn.data.graphs.dataset import load_split
from egnn.errors import ConfigError
from egnn.nn.autoencoder import AE_MODELS, build_autoencoder
from egnn.nn.nbody import build_nbody_model
from egnn.run.evaluate import evaluate
from egnn.run.train import train
from egnn.tasks.autoencoder import GraphAutoencoderTask
from egnn.tasks.graph_metrics import (
    mean_probability_logits,
)
from egnn.testing.equivariance import random_orthogonal

from .conftest import PACKAGE_DIR, REPO_ROOT, compose_config, positive_percent


def test_baseline_predicts_no_edge():
    graphs = [np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0]], dtype=np.uint8)]
    batch = collate_graphs(list(AdjacencyDataset(graphs)))
    task = GraphAutoencoderTask({"name": "baseline"})
    assert task.val_metric == "error"
    task.test_step(batch, 0)
    out = task.compute_metric(task.test_error)
    assert "bce" not in out
    assert out["error"].item() == pytest.approx(100 * 4 / 6) and out["f1"].item() == 0.0


def test_each_test_draw_redraws_the_random_input(graph_data_dir):
    torch.manual_seed(0)
    graphs = load_split(graph_data_dir, "community_small", "test")[:4]
    batch = collate_graphs(list(AdjacencyDataset(graphs)))
    task = GraphAutoencoderTask({"name": "egnn"}, test_draws=3).eval()
    with torch.no_grad():
        task.test_step(batch, 0)
    per_draw = [draw.compute()["bce"].item() for draw in task.test_error]
    assert len(set(per_draw)) == 3
    out = task.compute_metric(task.test_error)
    assert out["bce"].item() == pytest.approx(np.mean(per_draw), rel=1e-6)
    assert out["bce_std"].item() == pytest.approx(np.std(per_draw, ddof=1), rel=1e-5)


@pytest.mark.parametrize("name", ["test_draws", "test_ensemble"])
@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "3"])
def test_bad_test_draws_is_named(name, bad):
    with pytest.raises(ConfigError, match=f"{name}={bad!r}: expected an integer >= 1"):
        GraphAutoencoderTask({"name": "gnn"}, **{name: bad})


def test_test_ensemble_averages_the_probabilities_of_fresh_draws(graph_data_dir):
    graphs = load_split(graph_data_dir, "community_small", "test")[:3]
    batch = collate_graphs(list(AdjacencyDataset(graphs)))
    torch.manual_seed(0)
    task = GraphAutoencoderTask({"name": "egnn"}, test_ensemble=3).eval()
    with torch.no_grad():
        torch.manual_seed(1)
        draws = torch.stack([task(batch) for _ in range(3)])
        torch.manual_seed(1)
        averaged = task.ensemble_logits(batch)
    assert len({tuple(d[:5].tolist()) for d in draws}) == 3  # three different draws
    torch.testing.assert_close(averaged, mean_probability_logits(draws))
    # A model without random input has nothing to average: one pass.
    assert GraphAutoencoderTask({"name": "gnn"}, test_ensemble=3).test_ensemble == 1


def test_bad_train_bce_input_is_named():
    with pytest.raises(ConfigError, match="train_bce_input='probs': expected one of"):
        GraphAutoencoderTask({"name": "gnn"}, train_bce_input="probs")


def test_batch_loss_is_the_mean_of_single_graph_losses(graph_data_dir):
    items = list(AdjacencyDataset(load_split(graph_data_dir, "community_small", "test")[:3]))
    task = GraphAutoencoderTask({"name": "gnn"})
    task.log_train_loss = lambda loss, n: loss  # no trainer here
    together = task.training_step(collate_graphs(items), 0)
    alone = [task.training_step(collate_graphs([item]), 0) for item in items]
    assert together.item() == pytest.approx(sum(x.item() for x in alone) / 3, rel=1e-5)


@pytest.mark.parametrize(
    ("name", "options"), [("egnn", {}), ("egnn", {"embed_input": False}), ("rf", {})]
)
def test_logits_invariant_to_orthogonal_maps_of_the_initial_points(graph_data_dir, name, options):
    torch.manual_seed(0)
    batch = collate_graphs(
        list(AdjacencyDataset(load_split(graph_data_dir, "community_small", "test")[:2]))
    )
    model = build_autoencoder(name, **options).double()
    h = batch[K.NODE_ATTR].double()
    x = torch.randn(batch[K.NUM_NODES], 8, dtype=torch.float64)
    q = random_orthogonal(8, True, torch.Generator().manual_seed(1))
    assert torch.det(q).item() == pytest.approx(-1.0)
    outputs = []
    for start in (x, x @ q.T):
        model.initial_coords = lambda node_attr, start=start: start
        outputs.append(model(h, batch[K.EDGE_INDEX], batch[K.EDGE_ATTR].double()))
    torch.testing.assert_close(outputs[0], outputs[1], rtol=1e-9, atol=1e-9)


def test_radial_field_weights_bounded_only_for_nbody():
    """The release bounds the Radial Field's edge weights with tanh in its N-body model only; the
    autoencoder config leaves them unbounded, and an RF built without the option (a checkpoint
    saved before it existed) keeps the bound it was trained with."""

    def has_tanh(model):
        return any(isinstance(m, torch.nn.Tanh) for m in model.modules())

    net = OmegaConf.to_container(OmegaConf.load(PACKAGE_DIR / "configs/model/ae_rf.yaml").net)
    assert not has_tanh(build_autoencoder(**net))
    assert has_tanh(build_autoencoder("rf"))
    assert has_tanh(build_nbody_model("rf"))


@pytest.mark.parametrize("name", ["egnn", "rf"])
def test_fixed_decoder_is_not_trained_and_loads_either_way(name):
    """``learn_decoder=False`` (the release's code on a GPU) keeps w = -0.1 and b = 1 out of the
    optimizer's reach: gradients reach the encoder, none reach the decoder; its state dict has the
    same keys as the trained decoder's, so checkpoints load across the two."""
    torch.manual_seed(0)
    fixed, learned = build_autoencoder(name, learn_decoder=False), build_autoencoder(name)
    assert not any("decoder" in key for key, _ in fixed.named_parameters())
    assert {"decoder.w", "decoder.b"} <= {key for key, _ in learned.named_parameters()}
    edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    loss = fixed(torch.ones(3, 1), edge_index, torch.ones(4, 1)).sum()
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in fixed.parameters())
    optimizer = torch.optim.Adam(fixed.parameters(), lr=0.1)
    optimizer.step()
    assert fixed.decoder.w.item() == pytest.approx(-0.1) and fixed.decoder.b.item() == 1.0
    learned.load_state_dict(fixed.state_dict())
    fixed.load_state_dict(learned.state_dict())


def test_random_inputs_are_redrawn_every_pass(graph_data_dir):
    batch = collate_graphs(
        list(AdjacencyDataset(load_split(graph_data_dir, "community_small", "test")[:1]))
    )
    args = (batch[K.NODE_ATTR], batch[K.EDGE_INDEX], batch[K.EDGE_ATTR])
    for name in ("noise_gnn", "egnn", "rf"):
        model = build_autoencoder(name)
        assert not torch.equal(model(*args), model(*args)), name
    gnn = build_autoencoder("gnn")
    assert torch.equal(gnn(*args), gnn(*args))


def test_unknown_model_is_named():
    with pytest.raises(ConfigError, match="transformer.*baseline"):
        build_autoencoder("transformer")


@pytest.mark.parametrize("model", ["ae_egnn", "ae_gnn", "ae_noise_gnn", "ae_rf"])
def test_each_model_trains_end_to_end(tmp_path, graph_data_dir, model):
    cfg = compose_config(
        [
            "experiment=ae_community",
            f"model={model}",
            f"paths.data_dir={graph_data_dir}",
            "data.dataset=community_tiny",
            "data.batch_size=4",
            "trainer.max_epochs=2",
            "trainer.enable_progress_bar=false",
            "forward_time.n_runs=3",
        ],
        tmp_path,
    )
    metrics = train(cfg)
    GlobalHydra.instance().clear()
    assert metrics["experiment"] == "ae_community"
    assert metrics["model"] == cfg.model.net.name in AE_MODELS
    for key in ("test/bce", "test/error", "test/f1", "val/bce_best", "forward_time_s"):
        assert math.isfinite(metrics[key]), key
    assert 0.0 <= metrics["test/error"] <= 100.0 and 0.0 <= metrics["test/f1"] <= 1.0
    # The experiment tests over 10 draws of the random input; the GNN has none: one exact pass.
    assert cfg.model.test_draws == 10
    if model == "ae_gnn":
        assert metrics["test_draws"] == 1 and "test/bce_std" not in metrics
    else:
        assert metrics["test_draws"] == 10 and metrics["test/bce_std"] > 0.0
    assert metrics["test_ensemble"] == 1  # the paper's single draw per prediction
    if model == "ae_egnn":  # re-tested with 3 draws averaged into each prediction, 2 passes
        cfg = compose_config(
            [
                f"ckpt_path={metrics['best_checkpoint']}",
                f"paths.data_dir={graph_data_dir}",
                "test_draws=2",
                "test_ensemble=3",
                "trainer.enable_progress_bar=false",
                "forward_time.enabled=false",
            ],
            tmp_path / "eval",
            config_name="eval.yaml",
        )
        tested = evaluate(cfg)
        GlobalHydra.instance().clear()
        assert tested["test_draws"] == 2 and tested["test_ensemble"] == 3
        assert 0.0 <= tested["test/error"] <= 100.0 and math.isfinite(tested["test/bce_std"])


def test_baseline_runs_without_training(tmp_path, graph_data_dir):
    cfg = compose_config(
        [
            "experiment=ae_erdos_renyi",
            "model=ae_baseline",
            f"paths.data_dir={graph_data_dir}",
            "train=false",
            "trainer.enable_progress_bar=false",
            "forward_time.n_runs=3",
        ],
        tmp_path,
    )
    metrics = train(cfg)
    GlobalHydra.instance().clear()
    expected = positive_percent(load_split(graph_data_dir, "erdos_renyi", "test"))
    assert metrics["test/error"] == pytest.approx(expected, rel=1e-5)
    assert metrics["test/f1"] == 0.0 and "test/bce" not in metrics


def test_multirun_from_another_directory(tmp_path):
    """``-m`` with the default paths: the sweep folder resolves before Hydra's runtime exists, and
    outputs and data go under the directory the command was launched from."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}
    args = [
        sys.executable,
        str(REPO_ROOT / "train.py"),
        "-m",
        "experiment=ae_community",
        "model=ae_gnn,ae_rf",
        "data.dataset=community_tiny",
        "debug=fdr",
        "trainer.enable_progress_bar=false",
    ]
    result = subprocess.run(
        args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = sorted(tmp_path.glob("outputs/debug/multirun_*/*/metrics.json"))
    assert [json.loads(p.read_text())["model"] for p in metrics] == ["gnn", "rf"]
    assert (tmp_path / "data" / "graphs" / "community_tiny" / "train.npz").exists()
