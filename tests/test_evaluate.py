"""``eval.py``: a checkpoint tested with the configuration saved beside it; the shipped model."""

import json
from pathlib import Path

import numpy as np
import pytest

from egnn.errors import ConfigError
from egnn.run.evaluate import evaluate
from egnn.run.train import train

from .conftest import PACKAGE_DIR, compose_config

EVAL_OVERRIDES = [
    "trainer.enable_progress_bar=false",
    "forward_time.n_warmup=1",
    "forward_time.n_runs=3",
]


def test_pretrained_nbody_checkpoint(tmp_path, nbody_data_dir):
    """The shipped EGNN (under 1 MB) evaluates on fresh simulations at its reported accuracy."""
    ckpt = PACKAGE_DIR / "pretrained" / "nbody_egnn.ckpt"
    assert ckpt.stat().st_size < 1_000_000
    record = json.loads(ckpt.with_suffix(".json").read_text())
    assert record["test/mse"] < 0.0075
    cfg = compose_config(
        [
            "experiment=nbody",
            f"paths.data_dir={nbody_data_dir}",
            "data.dataset=tiny",
            "data.n_train=100",
        ]
        + EVAL_OVERRIDES,
        tmp_path,
        config_name="eval.yaml",
    )
    metrics = evaluate(cfg)
    assert metrics["checkpoint"] == str(ckpt)
    assert metrics["test/mse"] < 0.015  # the tiny set's own test trajectories (seed 7)
    assert (
        json.loads((Path(cfg.paths.output_dir) / "metrics.json").read_text())["test/mse"]
        == metrics["test/mse"]
    )
    # What the report draws: the first test systems' true paths and predicted positions.
    samples = json.loads((Path(cfg.paths.output_dir) / "samples.json").read_text())
    assert samples["kind"] == "nbody_trajectories" and samples["model"] == "egnn"
    truth, predicted = np.array(samples["truth"]), np.array(samples["predicted"])
    assert truth.shape == (3, cfg.data.frame_out - cfg.data.frame_in + 1, 5, 3)
    assert predicted.shape == (3, 5, 3)
    assert np.mean((predicted - truth[:, -1]) ** 2) < 0.05


def test_checkpoint_is_evaluated_with_its_saved_config(make_cfg, tmp_path, nbody_data_dir):
    train_cfg = make_cfg("debug=limit", "model=nbody_linear", "trainer.detect_anomaly=false")
    trained = train(train_cfg)
    cfg = compose_config(
        [
            f"ckpt_path={trained['best_checkpoint']}",
            f"paths.data_dir={nbody_data_dir}",
            *EVAL_OVERRIDES,
        ],
        tmp_path / "eval",
        config_name="eval.yaml",
    )
    metrics = evaluate(cfg)
    assert metrics["model"] == "linear"  # from the run's config, not eval.yaml's default model
    assert metrics["test/mse"] == pytest.approx(trained["test/mse"], rel=1e-6)
    assert {"forward_time_s", "git_commit", "command", "machine"} <= set(metrics)
    assert np.isfinite(metrics["forward_time_s"])
    cfg.test_draws = 5  # an autoencoder option: an N-body checkpoint cannot take it
    with pytest.raises(ConfigError, match="test_draws=5 does not apply to egnn.tasks.nbody"):
        evaluate(cfg)


def test_missing_checkpoint(tmp_path):
    cfg = compose_config(["ckpt_path=/no/such.ckpt"], tmp_path, config_name="eval.yaml")
    with pytest.raises(ConfigError, match="ckpt_path: /no/such.ckpt does not exist"):
        evaluate(cfg)


def test_eval_names_the_model_the_checkpoint_holds(make_cfg, tmp_path, nbody_data_dir):
    """A checkpoint outside its run folder (as shipped or downloaded) evaluated under eval.yaml's
    default model (egnn) is labelled with the model it holds."""
    trained = train(make_cfg("debug=limit", "model=nbody_linear", "trainer.detect_anomaly=false"))
    loose = tmp_path / "downloads" / "some.ckpt"
    loose.parent.mkdir()
    loose.write_bytes(Path(trained["best_checkpoint"]).read_bytes())
    cfg = compose_config(
        [f"ckpt_path={loose}", f"paths.data_dir={nbody_data_dir}", *EVAL_OVERRIDES],
        tmp_path / "eval",
        config_name="eval.yaml",
    )
    cfg.data.dataset, cfg.data.n_train = "tiny", 100
    assert cfg.model.net.name == "egnn"
    metrics = evaluate(cfg)
    assert metrics["model"] == "linear"
    assert metrics["test/mse"] == pytest.approx(trained["test/mse"], rel=1e-6)
