"""Record names come from the job's Hydra overrides; records are validated and never silently
overwritten by another run's."""

from __future__ import annotations

import json

import pytest

from egnn.records import RecordError, read_record, record_name, validate_record, write_record
from egnn.records.io import read_metrics
from egnn.records.naming import name_parts

RECORD = {
    "experiment": "ae_community",
    "model": "egnn",
    "seed": 3,
    "command": "train.py experiment=ae_community seed=3",
    "git_commit": "abc",
    "machine": "2 cores, no GPU",
    "test/error": 0.05,
}


def test_a_run_as_configured_has_the_plain_name():
    # The autoencoder's configured loss reads probabilities: no suffix says so.
    overrides = [
        "experiment=ae_community",
        "model=ae_egnn",
        "seed=3",
        "compile=true",
        "beside='one other training'",  # what ran beside it: in the record, not the name
    ]
    assert record_name({**RECORD, "train_bce_input": "probabilities", "overrides": overrides}) == (
        "egnn-seed3"
    )
    assert record_name(RECORD) == "egnn-seed3"  # a record without overrides


def test_overrides_name_the_record_in_a_fixed_order():
    overrides = [
        "experiment=ae_sparsity",
        "trainer.enable_progress_bar=false",
        "data.p=0.1",
        "model.optimizer.lr=1e-3",
        "model=ae_egnn",
        "trainer.max_epochs=100",
        "paths.data_dir=/tmp/x",
        "hydra.sweep.dir=outputs/x",
        "~callbacks.early_stopping",
        "+model.net.members=3",
    ]
    assert name_parts(overrides) == ["e100", "p0.1", "lr1e-3", "no_early_stopping", "members3"]
    assert name_parts(["model.net.learn_decoder=false", "model.train_bce_input=logits"]) == [
        "bce_logits",
        "fixed_decoder",
    ]
    # A multirun job's overrides carry Hydra's escapes; the name is that of the same single run.
    assert name_parts(["trainer.max_time=00\\:00\\:55\\:00"]) == name_parts(
        ["trainer.max_time=00:00:55:00"]
    )
    assert name_parts(["data.target=homo", "data.batch_size=8", "test_ensemble=4"]) == [
        "homo",
        "b8",
        "ens4",
    ]
    assert name_parts(["data.dataset=erdos_renyi", "model.net.embedding_nf=16"]) == [
        "erdos_renyi",
        "k16",
    ]


def test_overrides_are_read_from_the_job_folder(tmp_path):
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "overrides.yaml").write_text(
        "- experiment=nbody_data_efficiency\n- data.n_train=100\n- model=nbody_gnn\n"
        "- 'hydra.sweep.dir=outputs/a b'\n"
    )
    (tmp_path / "metrics.json").write_text(json.dumps({"model": "gnn", "seed": 0}))
    metrics = read_metrics(tmp_path)
    assert metrics["overrides"][-1] == "hydra.sweep.dir=outputs/a b"
    assert record_name(metrics) == "gnn-n100-seed0"


def test_a_record_of_another_run_is_not_overwritten(tmp_path):
    path = tmp_path / "ae_community" / "egnn-seed3.json"
    write_record(path, RECORD)
    write_record(path, {**RECORD, "test/error": 0.04})  # the same run recorded again
    other = {**RECORD, "git_commit": "def"}
    with pytest.raises(RecordError, match="holds the record of another run"):
        write_record(path, other)
    assert read_record(path)["test/error"] == 0.04
    write_record(path, other, replace=True)
    assert read_record(path)["git_commit"] == "def"


def test_validation_names_the_file_and_the_problem():
    with pytest.raises(RecordError, match=r"r\.json: lacks \['command'\]"):
        validate_record({k: v for k, v in RECORD.items() if k != "command"}, "r.json")
    with pytest.raises(RecordError, match="no test/<metric>"):
        validate_record({k: v for k, v in RECORD.items() if k != "test/error"}, "r.json")
    with pytest.raises(RecordError, match="seed must be an integer"):
        validate_record({**RECORD, "seed": "0"}, "r.json")


def test_training_writes_the_job_overrides_into_its_metrics(make_cfg):
    from egnn.run.train import train

    metrics = train(make_cfg("debug=fdr", "model=nbody_linear", "trainer.detect_anomaly=false"))
    assert "model=nbody_linear" in metrics["overrides"]
    assert record_name(metrics) == f"linear-b50-n200-tiny-debugfdr-seed{metrics['seed']}"
