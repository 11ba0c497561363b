"""Fault injection: every artifact a run trusts is bit-flipped, truncated and garbled; writers are
killed mid-write; builders and resumers run concurrently. Each case must end in a rebuild (the same
data as before) or a one-line refusal naming the file, never a wrong number and never a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from egnn.data.graphs.dataset import load_split as load_graphs
from egnn.data.graphs.dataset import split_path as graph_split_path
from egnn.data.nbody.dataset import ensure_dataset, load_split, split_path
from egnn.data.qm9.dataset import cache_path, load_qm9
from egnn.errors import ConfigError
from egnn.integrity import DamagedFileError, checksum_path, exclusive
from egnn.records import RecordError
from egnn.run.checkpoints import read_checkpoint
from egnn.run.evaluate import evaluate
from egnn.run.train import train

from .conftest import (
    PACKAGE_DIR,
    REPO_ROOT,
    compose_config,
    run_entry_point,
    single_error_line,
)


def flip_bit(path: Path, where: float = 0.5) -> None:
    """Flip one bit of ``path`` at the relative position ``where``."""
    data = bytearray(path.read_bytes())
    data[int(len(data) * where)] ^= 0x10
    path.write_bytes(bytes(data))


def truncate(path: Path, where: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * where)])


def garble(path: Path, where: float = 0.5) -> None:
    """Overwrite the tail of ``path`` from ``where`` on with random bytes (same size)."""
    data = bytearray(path.read_bytes())
    start = int(len(data) * where)
    noise = np.random.default_rng(0).integers(0, 256, len(data) - start, dtype=np.uint8)
    data[start:] = noise.tobytes()
    path.write_bytes(bytes(data))


FAULTS = {"bit_flip": flip_bit, "truncated": truncate, "garbage": garble}


# --- checkpoints -----------------------------------------------------------------------------


@pytest.fixture
def trained(trained_linear_run):
    """The shared tiny N-body run: (config, metrics)."""
    return trained_linear_run


def _damaged_run_copy(trained, tmp_path: Path, fault: str) -> Path:
    """A copy of the trained run folder whose best checkpoint suffered ``fault``."""
    run = Path(trained[1]["best_checkpoint"]).parent.parent
    copy = tmp_path / "copied_run"
    shutil.copytree(run, copy)
    ckpt = copy / "checkpoints" / Path(trained[1]["best_checkpoint"]).name
    FAULTS[fault](ckpt)
    return ckpt


def test_training_writes_a_checksum_beside_every_checkpoint(trained):
    folder = Path(trained[1]["best_checkpoint"]).parent
    checkpoints = sorted(folder.glob("*.ckpt"))
    assert checkpoints, "no checkpoint written"
    for ckpt in checkpoints:
        assert checksum_path(ckpt).is_file()
        read_checkpoint(ckpt)  # intact: no error
    assert not list(folder.glob(".*.tmp"))


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_damaged_checkpoint_is_refused_by_eval(fault, trained, tmp_path, nbody_data_dir):
    ckpt = _damaged_run_copy(trained, tmp_path, fault)
    cfg = compose_config(
        [
            f"ckpt_path={ckpt}",
            f"paths.data_dir={nbody_data_dir}",
            "trainer.enable_progress_bar=false",
            "forward_time.enabled=false",
        ],
        tmp_path / "eval",
        config_name="eval.yaml",
    )
    with pytest.raises(DamagedFileError, match=rf"{ckpt.name} is damaged: its sha256 is") as err:
        evaluate(cfg)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "eval" / "run" / "metrics.json").exists()


@pytest.mark.parametrize("fault", ["truncated", "garbage"])
def test_damaged_checkpoint_without_checksum_is_still_refused(fault, trained, tmp_path):
    """Truncation and garbage are caught by parsing when no .sha256 exists (an older file). A
    flipped bit inside a tensor is not: that is why every checkpoint gets a checksum."""
    ckpt = _damaged_run_copy(trained, tmp_path, fault)
    checksum_path(ckpt).unlink()
    with pytest.raises(DamagedFileError, match=rf"{ckpt.name} is not a readable checkpoint"):
        read_checkpoint(ckpt)


def test_damaged_checkpoint_is_refused_on_resume(trained, tmp_path):
    cfg, metrics = trained
    ckpt = _damaged_run_copy(trained, tmp_path, "bit_flip")
    cfg = cfg.copy()
    cfg.ckpt_path = str(ckpt)
    cfg.paths.output_dir = str(ckpt.parent.parent)
    with pytest.raises(DamagedFileError, match=rf"{ckpt.name} is damaged"):
        train(cfg)


def test_checkpoint_of_another_model_is_refused_on_resume(trained, tmp_path):
    cfg, metrics = trained
    run = tmp_path / "copied_run"
    shutil.copytree(Path(metrics["best_checkpoint"]).parent.parent, run)
    # Without the run's saved config (a resume would use it and build the checkpoint's model).
    (run / "config_resolved.yaml").unlink()
    cfg = cfg.copy()
    cfg.model.net.name = "egnn"
    cfg.ckpt_path = str(run / "checkpoints" / Path(metrics["best_checkpoint"]).name)
    cfg.paths.output_dir = str(run)
    with pytest.raises(ConfigError, match="holds a 'linear' model, not the configured 'egnn'"):
        train(cfg)


def test_garbage_file_given_as_checkpoint(tmp_path):
    bogus = tmp_path / "bogus.ckpt"
    bogus.write_bytes(b"not a checkpoint at all" * 10)
    with pytest.raises(DamagedFileError, match="bogus.ckpt is not a readable checkpoint"):
        read_checkpoint(bogus)
    weights = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(2)}, weights)  # a torch file, but not a Lightning checkpoint
    with pytest.raises(DamagedFileError, match="weights.pt is not a Lightning checkpoint"):
        read_checkpoint(weights)


# --- generated data caches -------------------------------------------------------------------


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_damaged_graph_cache_is_rebuilt_identically(fault, tmp_path, caplog):
    reference = load_graphs(tmp_path, "community_tiny", "train")
    path = graph_split_path(tmp_path, "community_tiny", "train")
    FAULTS[fault](path)
    with caplog.at_level(logging.WARNING):
        rebuilt = load_graphs(tmp_path, "community_tiny", "train")
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "damaged or unreadable" in warnings[0], warnings
    assert len(rebuilt) == len(reference)
    assert all(np.array_equal(a, b) for a, b in zip(rebuilt, reference, strict=True))


def test_damaged_nbody_cache_is_rebuilt_identically(tmp_path, nbody_data_dir, caplog):
    shutil.copytree(nbody_data_dir / "nbody", tmp_path / "nbody")
    reference = load_split(tmp_path, "tiny", "test")
    flip_bit(split_path(tmp_path, "tiny", "test"), where=0.7)
    with caplog.at_level(logging.WARNING):
        ensure_dataset(tmp_path, "tiny")
    assert any("damaged" in r.getMessage() for r in caplog.records)
    rebuilt = load_split(tmp_path, "tiny", "test")
    for key, value in reference.items():
        np.testing.assert_array_equal(rebuilt[key], value)


def test_old_cache_without_checksum_is_checked_in_full_then_adopted(tmp_path, nbody_data_dir):
    shutil.copytree(nbody_data_dir / "nbody", tmp_path / "nbody")
    path = split_path(tmp_path, "tiny", "valid")
    checksum_path(path).unlink()
    mtime = path.stat().st_mtime_ns
    ensure_dataset(tmp_path, "tiny")
    assert checksum_path(path).is_file() and path.stat().st_mtime_ns == mtime  # kept, not rebuilt


def test_orphan_temporaries_of_killed_writers_are_removed(tmp_path, nbody_data_dir):
    shutil.copytree(nbody_data_dir / "nbody", tmp_path / "nbody")
    folder = split_path(tmp_path, "tiny", "train").parent
    orphans = [folder / ".train.npz.k1ll3d.tmp", folder / ".test.npz.sha256.x.tmp"]
    for orphan in orphans:
        orphan.write_bytes(b"\0" * 1000)
    ensure_dataset(tmp_path, "tiny")
    assert not any(orphan.exists() for orphan in orphans)


def test_writer_killed_mid_write_leaves_a_rebuildable_cache(tmp_path):
    """A generator killed with SIGKILL during generation: the next run rebuilds what is missing."""
    code = (
        "import numpy as np, os, signal\n"
        "real = np.savez\n"
        "def dying_savez(handle, **arrays):\n"
        "    handle.write(b'partial' * 1000); handle.flush(); os.kill(os.getpid(), signal.SIGKILL)\n"
        "np.savez = dying_savez\n"
        "from egnn.data.graphs.dataset import load_split\n"
        f"load_split({str(tmp_path)!r}, 'community_tiny', 'valid')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert result.returncode == -signal.SIGKILL
    path = graph_split_path(tmp_path, "community_tiny", "valid")
    assert not path.exists() and list(path.parent.glob(".valid.npz.*.tmp"))
    graphs = load_graphs(tmp_path, "community_tiny", "valid")
    assert len(graphs) == 10 and not list(path.parent.glob(".*.tmp"))


def test_two_processes_needing_one_cache_build_it_once(tmp_path):
    code = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.INFO, stream=sys.stdout, format='%(message)s')\n"
        "from egnn.data.nbody.dataset import ensure_dataset\n"
        f"ensure_dataset({str(tmp_path)!r}, 'tiny')\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=300)[0] for proc in procs]
    assert all(proc.returncode == 0 for proc in procs)
    assert sum(out.count("generated N-body dataset") for out in outputs) == 1, outputs
    assert load_split(tmp_path, "tiny", "train")["pos"].shape[0] == 200


def test_damaged_qm9_cache_is_rebuilt_from_the_package(tmp_path, qm9_data_dir, caplog):
    (tmp_path / "qm9").mkdir()
    for source in (cache_path(qm9_data_dir), checksum_path(cache_path(qm9_data_dir))):
        shutil.copy(source, tmp_path / "qm9" / source.name)
    reference = load_qm9(qm9_data_dir)["targets"]
    flip_bit(cache_path(tmp_path), where=0.9)
    orphan = cache_path(tmp_path).parent / ".qm9.pt.dead.tmp"
    orphan.write_bytes(b"\0" * 100)
    with caplog.at_level(logging.WARNING):
        rebuilt = load_qm9(tmp_path)["targets"]
    assert any(
        "QM9 cache" in r.getMessage() and "damaged" in r.getMessage() for r in caplog.records
    )
    assert torch.equal(rebuilt, reference) and not orphan.exists()


# --- locks --------------------------------------------------------------------------------------


def test_second_process_in_a_run_folder_gets_one_line(trained, tmp_path):
    cfg, metrics = trained
    run = Path(metrics["best_checkpoint"]).parent.parent
    cfg = cfg.copy()
    cfg.ckpt_path = "last"
    with (
        exclusive(run / "train", wait=False),
        pytest.raises(ConfigError, match=rf"run folder {run} is in use by another process \(pid"),
    ):
        train(cfg)


def test_lock_of_a_killed_process_is_taken_over(tmp_path):
    code = (
        "import time\n"
        "from egnn.integrity import exclusive\n"
        f"with exclusive({str(tmp_path / 'train')!r}, wait=False):\n"
        "    print('locked', flush=True); time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    with (
        pytest.raises(ConfigError, match="in use by another process"),
        exclusive(tmp_path / "train", wait=False),
    ):
        pass
    proc.kill()
    proc.wait(timeout=30)
    start = time.perf_counter()
    with exclusive(tmp_path / "train", wait=False):
        pass
    assert time.perf_counter() - start < 1.0


def test_pretrained_checkpoints_ship_with_checksums():
    shipped = sorted((PACKAGE_DIR / "pretrained").glob("*.ckpt"))
    assert shipped
    for ckpt in shipped:
        assert checksum_path(ckpt).is_file(), f"{ckpt} has no .sha256"
        read_checkpoint(ckpt)


def test_resume_with_nothing_to_resume_is_one_line(tmp_path):
    result = run_entry_point(
        "train.py", "experiment=nbody", "ckpt_path=last", f"paths.log_dir={tmp_path}"
    )
    assert "ckpt_path=last: nothing to resume" in single_error_line(result)


# --- records ---------------------------------------------------------------------------------


def _committed_records(tmp_path: Path) -> Path:
    """A copy of the committed N-body records: a results folder to damage."""
    results = tmp_path / "results"
    shutil.copytree(REPO_ROOT / "results" / "nbody", results / "nbody")
    return results


def _change_a_digit(path: Path) -> None:
    """A plausible bit flip: one digit of the test metric changes, the JSON stays valid."""
    text = path.read_text()
    start = text.index('"test/mse": 0.00') + len('"test/mse": 0.00')
    digit = text[start + 1]
    path.write_text(text[: start + 1] + str((int(digit) + 1) % 10) + text[start + 2 :])


RECORD_FAULTS = {"digit_changed": _change_a_digit, "truncated": truncate, "garbage": garble}


@pytest.mark.parametrize("fault", sorted(RECORD_FAULTS))
def test_damaged_record_is_refused_by_the_tables(fault, tmp_path, capsys):
    from egnn.records import read_record
    from egnn.reporting.tables import main as tables_main

    results = _committed_records(tmp_path)
    record = results / "nbody" / "egnn-seed2.json"
    read_record(record)  # intact as committed
    RECORD_FAULTS[fault](record)
    with pytest.raises(RecordError, match=r"egnn-seed2.json: (its content does not match|not a)"):
        read_record(record)
    readme = tmp_path / "README.md"
    readme.write_text("<!-- nbody-table:start -->\nold\n<!-- nbody-table:end -->\n")
    with pytest.raises(SystemExit) as exit_info:
        tables_main(["--results-dir", str(results), "--readme", str(readme)])
    assert exit_info.value.code == 2
    message = capsys.readouterr().err.strip()
    assert message.startswith("error: ") and "egnn-seed2.json" in message and "\n" not in message
    assert "old" in readme.read_text()  # nothing written from a damaged result


def test_unsealed_record_is_refused_until_sealed(tmp_path):
    from egnn.records import read_record
    from egnn.records.cli import main as record_main

    results = _committed_records(tmp_path)
    record = results / "nbody" / "linear-seed0.json"
    content = json.loads(record.read_text())
    del content["sha256"]
    record.write_text(json.dumps(content))
    with pytest.raises(RecordError, match="has no sha256; a record you trust is sealed with"):
        read_record(record)
    record_main(["--seal", str(record)])
    assert read_record(record)["test/mse"] == content["test/mse"]


def test_divergence_before_any_validation_names_no_checkpoint(make_cfg, monkeypatch):
    """A NaN loss before the first validation: the message says no checkpoint was written
    (it used to name a last.ckpt that did not exist)."""
    from egnn.tasks import base
    from egnn.tasks.numerics import NonFiniteLossError

    def nan_loss(loss, epoch, step):
        raise NonFiniteLossError(f"training loss is nan at epoch {epoch}, step {step}")

    monkeypatch.setattr(base, "check_finite_loss", nan_loss)
    cfg = make_cfg("debug=limit", "model=nbody_linear")
    with pytest.raises(NonFiniteLossError, match="No checkpoint was written") as err:
        train(cfg)
    assert "last.ckpt" not in str(err.value)
    assert not (Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt").exists()
