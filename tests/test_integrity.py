"""Checksums verified on read, orphan temporaries removed, one lock holder at a time."""

import hashlib
import logging
import os
import pathlib
import threading
import time

import pytest

from egnn.errors import ConfigError
from egnn.integrity import (
    DamagedFileError,
    checksum_path,
    exclusive,
    has_checksum,
    remove_checksum,
    remove_orphan_temporaries,
    sha256_of,
    verify,
    write_checksum,
)


def test_checksum_file_is_sha256sum_format(tmp_path, monkeypatch):
    path = tmp_path / "data.npz"
    content = os.urandom(3 * 1024 * 1024 + 7)  # several read chunks and a partial one
    path.write_bytes(content)
    assert sha256_of(path) == hashlib.sha256(content).hexdigest()
    assert checksum_path(path) == tmp_path / "data.npz.sha256"
    assert not has_checksum(path)
    write_checksum(path)
    assert has_checksum(path)
    assert checksum_path(path).read_text() == f"{hashlib.sha256(content).hexdigest()}  data.npz\n"
    verify(path)  # intact: no error
    # Read in chunks of CHUNK_BYTES, never the whole file at once.
    monkeypatch.setattr("egnn.integrity.CHUNK_BYTES", 1000)
    assert sha256_of(path) == hashlib.sha256(content).hexdigest()
    remove_checksum(path)
    assert not has_checksum(path) and path.exists()
    remove_checksum(path)  # a second removal is harmless


def test_verify_names_the_fault(tmp_path):
    path = tmp_path / "cache.npz"
    with pytest.raises(DamagedFileError, match=f"^{path} does not exist$"):
        verify(path)
    path.write_bytes(b"abc")
    verify(path)  # no checksum: not checked
    write_checksum(path)
    good = hashlib.sha256(b"abc").hexdigest()
    path.write_bytes(b"abd")
    bad = hashlib.sha256(b"abd").hexdigest()
    with pytest.raises(DamagedFileError) as err:
        verify(path)
    assert str(err.value) == (
        f"{path} is damaged: its sha256 is {bad[:12]}..., its cache.npz.sha256 records"
        f" {good[:12]}..."
    )
    assert isinstance(err.value, ConfigError)
    checksum_path(path).write_text("")
    with pytest.raises(DamagedFileError, match="records nothing"):
        verify(path)


def test_orphan_temporaries_of_the_file_and_its_checksum_are_removed(tmp_path, caplog):
    path = tmp_path / "train.npz"
    orphans = [".train.npz.abc.tmp", ".train.npz.sha256.x1.tmp"]
    keep = ["train.npz", ".other.npz.abc.tmp", ".train.npz.abc", "train.npz.abc.tmp"]
    for name in orphans + keep:
        (tmp_path / name).write_text("x")
    with caplog.at_level(logging.WARNING, logger="egnn.integrity"):
        assert remove_orphan_temporaries(path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(keep)
    assert [r.getMessage() for r in caplog.records] == [
        f"removed 2 temporary file(s) left by an interrupted writer of {path}"
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="egnn.integrity"):
        assert remove_orphan_temporaries(path) == 0
    assert caplog.text == ""


def test_lock_names_its_holder_and_refuses_a_second_one(tmp_path):
    path = tmp_path / "a" / "b" / "cache"  # missing parents are created
    with exclusive(path, what="the cache"):
        holder = (tmp_path / "a" / "b" / "cache.lock").read_text()
        assert holder == f"pid {os.getpid()} on {os.uname().nodename}\n"
        # flock conflicts between two open file descriptions, even in one process.
        with pytest.raises(ConfigError) as err, exclusive(path, wait=False, what="the cache"):
            pass
        assert str(err.value) == (
            f"the cache is in use by another process ({holder.strip()}); wait for it to end"
        )
        with pytest.raises(ConfigError, match=f"^{path} is in use"), exclusive(path, wait=False):
            pass
    with exclusive(path, wait=False):  # released on exit
        pass


def test_a_waiting_locker_gets_the_lock_when_the_holder_ends(tmp_path, caplog):
    path = tmp_path / "cache"
    order = []
    held = threading.Event()

    def holder():
        with exclusive(path):
            held.set()
            time.sleep(0.3)
            order.append("holder done")

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait()
    with caplog.at_level(logging.INFO, logger="egnn.integrity"), exclusive(path, what="the cache"):
        order.append("waiter in")
    thread.join()
    assert order == ["holder done", "waiter in"]
    holder = f"pid {os.getpid()} on {os.uname().nodename}"
    messages = [r.getMessage() for r in caplog.records]
    assert f"waiting for another process ({holder}) that holds the cache" in messages
    assert "holds the cache" in caplog.text and "the cache released after" in caplog.text


def test_an_orphan_removed_meanwhile_by_another_process_is_not_counted(tmp_path, monkeypatch):
    path = tmp_path / "train.npz"
    for name in (".train.npz.a.tmp", ".train.npz.b.tmp"):
        (tmp_path / name).write_text("x")
    unlink = pathlib.Path.unlink

    def racing_unlink(self, missing_ok=False):
        unlink(self)
        if self.name == ".train.npz.a.tmp":  # another cleaner got there first
            raise FileNotFoundError(self)

    monkeypatch.setattr(pathlib.Path, "unlink", racing_unlink)
    assert remove_orphan_temporaries(path) == 1
    assert list(tmp_path.iterdir()) == []


def test_a_holder_that_has_not_written_its_name_is_unknown(tmp_path):
    import fcntl

    path = tmp_path / "cache"
    with open(f"{path}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # locked, nothing written yet
        with pytest.raises(ConfigError, match=r"\(unknown\); wait"), exclusive(path, wait=False):
            pass
