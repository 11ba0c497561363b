"""Generated-data caches: written with their parameters and a checksum, read back only when intact."""

import json
import logging
import zipfile

import numpy as np

from egnn.data.npz_cache import read_npz_params, write_npz
from egnn.integrity import checksum_path, has_checksum, sha256_of


def test_round_trip_stores_canonical_params_and_a_checksum(tmp_path):
    path = tmp_path / "train.npz"
    params = {"seed": 7, "n": 5, "box": None}
    write_npz(path, params, pos=np.arange(6.0).reshape(2, 3))
    assert checksum_path(path).read_text().split() == [sha256_of(path), "train.npz"]
    with np.load(path) as data:
        # Keys sorted: equal parameters give the same stored string, whatever their order.
        assert str(data["params"]) == '{"box": null, "n": 5, "seed": 7}'
        assert data["pos"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert read_npz_params(path, {"pos"}, "test data") == params


def test_missing_file_or_array_reads_as_absent(tmp_path):
    path = tmp_path / "train.npz"
    assert read_npz_params(path, {"pos"}, "test data") is None
    write_npz(path, {"seed": 1}, pos=np.zeros(2))
    assert read_npz_params(path, {"pos", "vel"}, "test data") is None
    assert read_npz_params(path, set(), "test data") == {"seed": 1}


def test_damaged_file_is_reported_once_and_reads_as_absent(tmp_path, caplog):
    path = tmp_path / "train.npz"
    write_npz(path, {"seed": 1}, pos=np.zeros(100))
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with caplog.at_level(logging.WARNING, logger="egnn.data.npz_cache"):
        assert read_npz_params(path, {"pos"}, "N-body data") is None
    (record,) = caplog.records
    assert record.getMessage().startswith(f"N-body data {path} is damaged or unreadable (")
    assert record.getMessage().endswith("): it will be regenerated")


def test_file_without_checksum_is_checked_in_full_then_given_one(tmp_path, caplog):
    path = tmp_path / "old.npz"
    np.savez(path, params=np.array(json.dumps({"seed": 3})), pos=np.ones(50))
    assert not has_checksum(path)
    assert read_npz_params(path, {"pos"}, "old data") == {"seed": 3}
    assert checksum_path(path).read_text().split()[0] == sha256_of(path)
    # An old file whose array fails its CRC: detected without a checksum, and none is written.
    bad = tmp_path / "bad.npz"
    np.savez(bad, params=np.array(json.dumps({"seed": 3})), pos=np.ones(50))
    with zipfile.ZipFile(bad) as archive:
        info = archive.getinfo("pos.npy")
    raw = bytearray(bad.read_bytes())
    raw[info.header_offset + 30 + len(info.filename) + 200] ^= 0xFF  # inside pos.npy's data
    bad.write_bytes(bytes(raw))
    with caplog.at_level(logging.WARNING, logger="egnn.data.npz_cache"):
        assert read_npz_params(bad, {"pos"}, "old data") is None
    assert "bad CRC in pos.npy" in caplog.text and not has_checksum(bad)


def test_pickled_content_is_never_loaded(tmp_path):
    """A cache whose params are a pickled object (unpickling can run code) is refused, even when
    the object would read as valid parameters."""
    path = tmp_path / "evil.npz"
    np.savez(path, params=np.array('{"seed": 1}', dtype=object), pos=np.zeros(2))
    assert read_npz_params(path, {"pos"}, "test data") is None
