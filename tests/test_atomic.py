"""Atomic writes: flushed to disk before the rename, usual permissions, complete content only."""

import json
import os
import stat

import pytest

from egnn.atomic import atomic_open, atomic_write_json, atomic_write_text


@pytest.fixture
def umask():
    """Set the process umask for one test, then restore it."""
    saved = []

    def _set(value: int) -> None:
        saved.append(os.umask(value))

    yield _set
    if saved:
        os.umask(saved[0])


def test_data_reaches_the_disk_before_the_rename(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    real_fsync = os.fsync
    synced = []

    def recording_fsync(fd):
        # At fsync time the bytes are written out of Python's buffer and the target is not
        # yet in place: the rename comes after.
        synced.append((os.fstat(fd).st_size, path.exists()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    atomic_write_text(path, "x" * 1000)
    assert synced == [(1000, False)]
    assert path.read_text() == "x" * 1000


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_the_usual_permissions(tmp_path, umask, mask, mode):
    """As ``open()`` would create them (0666 less the umask), not mkstemp's 0600."""
    umask(mask)
    for write in (
        lambda p: atomic_write_text(p, "text\n"),
        lambda p: atomic_write_json(p, {"a": 1}),
    ):
        path = tmp_path / f"file{mode:o}"
        write(path)
        assert stat.S_IMODE(path.stat().st_mode) == mode
        path.unlink()
    assert os.umask(mask) == mask  # the writer left the umask as it found it


def test_replaces_an_existing_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "sub" / "dir" / "out.json"  # missing parents are created
    atomic_write_json(path, {"b": [1, 2], "a": 1.5})
    assert path.read_text() == '{\n  "a": 1.5,\n  "b": [\n    1,\n    2\n  ]\n}\n'
    atomic_write_json(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.json"]


def test_binary_mode_and_failure_leaves_target_untouched(tmp_path):
    path = tmp_path / "blob.bin"
    with atomic_open(path) as handle:
        handle.write(b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    with pytest.raises(RuntimeError, match="boom"), atomic_open(path) as handle:
        handle.write(b"partial")
        # The writer's temporary lies beside the target, named as orphan cleanup expects.
        temporaries = [p.name for p in tmp_path.glob(".blob.bin.*.tmp")]
        assert len(temporaries) == 1
        raise RuntimeError("boom")
    assert path.read_bytes() == b"\x00\x01"
    assert [p.name for p in tmp_path.iterdir()] == ["blob.bin"]


def test_failure_after_the_temporary_vanished_raises_the_original_error(tmp_path):
    """Another process's cleanup may have removed the temporary: the writer's own error is what
    the caller sees, not a FileNotFoundError from its cleanup."""
    path = tmp_path / "out.txt"
    with pytest.raises(RuntimeError, match="disk full"), atomic_open(path, "w") as handle:
        handle.write("partial")
        (temporary,) = tmp_path.glob(".out.txt.*.tmp")
        temporary.unlink()
        raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []
