"""QM9 from the installed qm9pack package, offline: counts, split, units, features, cache."""

import ast
import csv
import datetime
import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from egnn.data import keys as K
from egnn.data.qm9.datamodule import QM9DataModule
from egnn.data.qm9.dataset import cache_path, load_qm9, split_indices
from egnn.data.qm9.features import node_features
from egnn.data.qm9.raw import (
    CSV_FILES,
    parse_elements,
    parse_float_lists,
    qm9pack_data_dir,
    read_qm9,
)
from egnn.data.qm9.targets import TARGETS
from egnn.errors import ConfigError
from egnn.integrity import write_checksum

HARTREE_MEV = 27211.4


def _csv_row(gdb_index: int) -> dict:
    with (qm9pack_data_dir() / "qm9_part1.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if int(row["Index"]) == gdb_index:
                return row
    raise AssertionError(f"gdb {gdb_index} not in part 1")


def test_counts_and_order(qm9_data_dir):
    data = load_qm9(qm9_data_dir)
    index = data["index"].numpy()
    assert len(index) == 130_831
    assert index[0] == 1 and index[-1] == 133_885 and (np.diff(index) > 0).all()
    assert 133_885 - 130_831 == 3_054  # the uncharacterized molecules are the missing ids
    assert int(data["n_atoms"].sum()) == len(data["z"]) == len(data["pos"])
    assert set(np.unique(data["z"].numpy())) == {1, 6, 7, 8, 9}


def test_split_sizes_are_the_papers():
    split = split_indices()
    assert [len(split[s]) for s in ("train", "valid", "test")] == [100_000, 17_748, 13_083]
    union = np.concatenate(list(split.values()))
    assert len(np.unique(union)) == 130_831
    assert np.array_equal(split["train"][:3], np.random.RandomState(0).permutation(130_831)[:3])


# QM9 atom reference energies (hartree), per element; Cv's is 2.981 cal/mol K per atom.
ATOMREF_HARTREE = {
    "U0": {"H": -0.500273, "C": -37.846772, "N": -54.583861, "O": -75.064579, "F": -99.718730},
    "U": {"H": -0.498857, "C": -37.845355, "N": -54.582445, "O": -75.063163, "F": -99.717314},
    "H": {"H": -0.497912, "C": -37.844411, "N": -54.581501, "O": -75.062219, "F": -99.716370},
    "G": {"H": -0.510927, "C": -37.861317, "N": -54.598897, "O": -75.079532, "F": -99.733544},
}
# Every target: its source column, the unit we report, and whether an atom reference is removed.
SOURCE = {
    "alpha": ("Polarizability_bohr3", "bohr^3"),
    "gap": ("HOMO_LUMO_gap_au", "meV"),
    "homo": ("HOMO_au", "meV"),
    "lumo": ("LUMO_au", "meV"),
    "mu": ("Dipole_debye", "D"),
    "Cv": ("Heatcapacity_Cv_cal_mol_K", "cal/mol K"),
    "G": ("GibbsFreeEnergy_298K_au", "meV"),
    "H": ("Enthalphy_298K_au", "meV"),
    "r2": ("R2_bohr2", "bohr^2"),
    "U": ("InternalEnergy_298K_au", "meV"),
    "U0": ("InternalEnergy_0K_au", "meV"),
    "zpve": ("ZPVE_au", "meV"),
}


def _expected_targets(row: dict) -> dict[str, float]:
    """Each target computed by hand from a CSV row: minus the atom references, then in its unit."""
    elements = [e.strip(" '") for e in row["Elements"].strip("[]").split(",")]
    expected = {}
    for name, (column, unit) in SOURCE.items():
        value = float(row[column])
        if name in ATOMREF_HARTREE:
            value -= sum(ATOMREF_HARTREE[name][e] for e in elements)
        if name == "Cv":
            value -= 2.981 * len(elements)
        expected[name] = value * HARTREE_MEV if unit == "meV" else value
    return expected


def test_every_target_has_its_source_column_and_unit():
    assert {name: (t.column, t.unit) for name, t in TARGETS.items()} == SOURCE


@pytest.mark.parametrize("gdb_index", [1, 2, 3, 100])
def test_targets_in_reported_units(qm9_data_dir, gdb_index):
    """All 12 targets against a hand computation from the CSV row."""
    data = load_qm9(qm9_data_dir)
    m = int(np.searchsorted(data["index"].numpy(), gdb_index))
    assert int(data["index"][m]) == gdb_index
    expected = _expected_targets(_csv_row(gdb_index))
    names = list(TARGETS)
    assert sorted(expected) == sorted(names)
    for name, value in expected.items():
        assert data["targets"][m, names.index(name)].item() == pytest.approx(
            value, rel=1e-9, abs=1e-9
        ), name
    if gdb_index == 1:  # methane: U0 atomization energy is about -17.17 eV
        assert data["targets"][m, names.index("U0")].item() == pytest.approx(-17172.2, abs=0.1)


def test_node_features_and_batches(qm9_data_dir):
    from egnn.data.qm9.datamodule import MoleculeDataset
    from egnn.data.qm9.features import node_features

    z, pos, target = MoleculeDataset(load_qm9(qm9_data_dir), np.array([0]), 0)[0]  # methane
    assert z.tolist() == [6, 1, 1, 1, 1] and pos.shape == (5, 3)
    features = node_features(z)
    assert features.shape == (5, 15)
    torch.testing.assert_close(
        features[0], torch.tensor([0, 0, 0, 1, 6 / 9, 36 / 81, 0, 0, 0, 0, 0, 0, 0, 0, 0.0])
    )
    torch.testing.assert_close(
        features[1], torch.tensor([1, 1 / 9, 1 / 81, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0])
    )
    dm = QM9DataModule(data_dir=str(qm9_data_dir), target="homo", batch_size=4)
    dm.setup("fit")
    loader_batch = next(iter(dm.val_dataloader()))
    sizes = torch.bincount(loader_batch[K.BATCH])
    assert loader_batch[K.EDGE_INDEX].shape[1] == int(
        (sizes * (sizes - 1)).sum()
    )  # no padding pairs
    ei = loader_batch[K.EDGE_INDEX]
    assert torch.equal(loader_batch[K.BATCH][ei[0]], loader_batch[K.BATCH][ei[1]])
    assert loader_batch[K.TARGET].shape == (4,)


def test_data_stats_from_the_training_split(qm9_data_dir):
    dm = QM9DataModule(data_dir=str(qm9_data_dir), target="mu", n_train=1000)
    dm.setup("fit")
    data = load_qm9(qm9_data_dir)
    values = data["targets"][split_indices()["train"][:1000], list(TARGETS).index("mu")]
    assert dm.data_stats["mean"] == pytest.approx(values.mean().item())
    assert dm.data_stats["mad"] == pytest.approx((values - values.mean()).abs().mean().item())
    assert (
        dm.data_stats["unit"] == "D"
        and dm.data_stats["n_train"] == 1000
        and dm.data_stats["n_test"] == 13_083
    )
    assert set(dm.data_stats) == {"target", "unit", "mean", "mad", "n_train", "n_valid", "n_test"}
    assert dm.data_stats["target"] == "mu" and dm.data_stats["n_valid"] == 17_748
    z, pos, target = dm.splits["train"][0]
    assert target.dtype == torch.float32 and pos.dtype == torch.float32
    features = node_features(torch.tensor([1, 6, 7, 8, 9], dtype=torch.int8))
    assert features.dtype == torch.float32
    # Made on the device of the atomic numbers (a constant made on the CPU would meet a GPU
    # batch; the meta device, which refuses CPU tensors alike, stands in for it here).
    on_meta = node_features(torch.tensor([1, 6, 7, 8, 9], dtype=torch.int8, device="meta"))
    assert on_meta.device.type == "meta" and on_meta.shape == features.shape


def test_split_of_a_smaller_set_keeps_the_test_fraction():
    split = split_indices(1000)
    assert [len(split[s]) for s in ("train", "valid", "test")] == [900, 0, 100]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"target": "HOMO"}, "unknown QM9 target 'HOMO'; choose one of"),
        ({"n_train": 0}, "data.n_train must be between 1 and 100000"),
        ({"batch_size": 0}, "data.batch_size must be >= 1"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        QM9DataModule(**kwargs)


def test_truncated_cache_is_detected(qm9_data_dir, tmp_path, caplog):
    path = cache_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(cache_path(qm9_data_dir).read_bytes()[:100_000])
    checksum = Path(f"{cache_path(qm9_data_dir)}.sha256")
    Path(f"{path}.sha256").write_bytes(checksum.read_bytes())
    from egnn.data.qm9.dataset import _read_cache

    with caplog.at_level("WARNING"):
        assert _read_cache(path) is None  # detected: load_qm9 then rebuilds it
    assert "is damaged: its sha256" in caplog.text and "rebuilt" in caplog.text


def test_prepare_data_builds_the_cache_in_the_given_folder(monkeypatch, tmp_path):
    import egnn.data.qm9.datamodule as datamodule

    folders = []
    monkeypatch.setattr(datamodule, "load_qm9", folders.append)
    QM9DataModule(data_dir=str(tmp_path)).prepare_data()
    assert folders == [str(tmp_path)]


# --- The parser and the cache on a sample (fast: no full parse of the 130,831 molecules) -------

SAMPLE_ROWS = 30


@pytest.fixture(scope="module")
def qm9_sample_dir(tmp_path_factory) -> Path:
    """qm9pack's three CSV files cut to their first 30 molecules each, each file's rows reversed
    (so that the reader must sort them by gdb id)."""
    folder = tmp_path_factory.mktemp("qm9sample")
    for name in CSV_FILES:
        with (qm9pack_data_dir() / name).open() as handle:
            header = handle.readline()
            rows = [handle.readline() for _ in range(SAMPLE_ROWS)]
        (folder / name).write_text(header + "".join(reversed(rows)))
    return folder


def _sample_rows(folder: Path) -> list[dict]:
    rows = []
    for name in CSV_FILES:
        with (folder / name).open(newline="") as handle:
            rows.extend(csv.DictReader(handle))
    return sorted(rows, key=lambda row: int(row["Index"]))


def test_parser_reads_every_atom_and_target_of_a_sample(qm9_sample_dir):
    data = read_qm9(qm9_sample_dir)
    rows = _sample_rows(qm9_sample_dir)
    assert data["index"].tolist() == [int(row["Index"]) for row in rows]
    assert len(rows) == 3 * SAMPLE_ROWS and data["index"].dtype == np.int64
    assert data["n_atoms"].tolist() == [int(row["N_atoms"]) for row in rows]
    assert data["z"].dtype == np.int8 and data["pos"].dtype == np.float32
    numbers = {"H": 1, "C": 6, "N": 7, "O": 8, "F": 9}
    names = list(TARGETS)
    start = 0
    for m, row in enumerate(rows):
        n = int(row["N_atoms"])
        elements = [e.strip(" '") for e in row["Elements"].strip("[]").split(",")]
        assert data["z"][start : start + n].tolist() == [numbers[e] for e in elements]
        xyz = np.array(ast.literal_eval(row["XYZ_Ang"]), dtype=np.float32)
        np.testing.assert_array_equal(data["pos"][start : start + n], xyz)
        for name, value in _expected_targets(row).items():
            assert data["targets"][m, names.index(name)] == pytest.approx(value, rel=1e-9), name
        start += n
    assert start == len(data["z"]) == len(data["pos"])
    assert set(data["z"].tolist()) >= {1, 6, 7, 8}


def test_parser_reads_numbers_written_without_decimals():
    (pos,) = parse_float_lists(["[[1.,-2,3.5],[0.,0.,1e-3]]"])
    assert pos.tolist() == [[1.0, -2.0, 3.5], [0.0, 0.0, 0.001]] and pos.dtype == np.float64
    (z,) = parse_elements(["['C', \"H\",'F' ]"])
    assert z.tolist() == [6, 1, 9]


@pytest.mark.parametrize("column", ["N_atoms", "Elements", "XYZ_Ang"])
def test_parser_refuses_disagreeing_atom_counts(qm9_sample_dir, tmp_path, column):
    """One molecule's count off by one in one column: N_atoms (both lists disagree with it), or
    one more element, or one more position (only that list disagrees)."""
    grow = {
        "N_atoms": lambda cell: str(int(cell) + 1),
        "Elements": lambda cell: cell[:-1] + ",'H']",
        "XYZ_Ang": lambda cell: cell[:-1] + ",[0.0,0.0,0.0]]",
    }[column]
    for name in CSV_FILES:
        text = (qm9_sample_dir / name).read_text()
        if name == CSV_FILES[1]:
            header, first, *rest = list(csv.reader(io.StringIO(text)))
            first[header.index(column)] = grow(first[header.index(column)])
            out = io.StringIO()
            csv.writer(out).writerows([header, first, *rest])
            text = out.getvalue()
        (tmp_path / name).write_text(text)
    with pytest.raises(
        ValueError,
        match="^qm9pack CSV: atom counts disagree between N_atoms, Elements and XYZ_Ang$",
    ):
        read_qm9(tmp_path)


def test_missing_qm9pack_files_are_named(monkeypatch, tmp_path):
    import importlib.util
    import types

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / CSV_FILES[0]).write_text("")
    spec = types.SimpleNamespace(submodule_search_locations=[str(tmp_path)])
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
    with pytest.raises(ConfigError) as err:
        qm9pack_data_dir()
    assert str(err.value) == (
        f"qm9pack at {tmp_path / 'data'} lacks {list(CSV_FILES[1:])}: reinstall it"
        " (pip install --force-reinstall qm9pack)"
    )


def test_cache_is_built_once_and_rebuilt_when_damaged_or_stale(
    qm9_sample_dir, tmp_path, monkeypatch, caplog
):
    import egnn.data.qm9.dataset as dataset

    sample = read_qm9(qm9_sample_dir)
    builds = []

    def read_sample():
        builds.append(1)
        return sample

    monkeypatch.setattr(dataset, "read_qm9", read_sample)
    path = cache_path(tmp_path)
    assert path == tmp_path / "qm9" / "qm9.pt"
    orphan = path.parent / ".qm9.pt.abc.tmp"  # a killed writer's leftover
    path.parent.mkdir(parents=True)
    orphan.write_bytes(b"partial")
    caplog.set_level("INFO", logger="egnn.data.qm9.dataset")
    data = load_qm9(tmp_path)
    assert len(builds) == 1 and not orphan.exists()
    (built,) = [m for m in caplog.messages if m.startswith("built")]
    assert re.fullmatch(rf"built the QM9 cache {re.escape(str(path))} in \d+\.\d s", built)
    assert float(built.split()[-2]) < 60  # the seconds of this build, not a clock reading
    for key in ("index", "n_atoms", "z", "pos", "targets"):
        assert torch.equal(data[key], torch.from_numpy(sample[key])), key
    assert data["provenance"] == {
        "format": 1,
        "targets": list(TARGETS),
        "sources": {n: (qm9pack_data_dir() / n).stat().st_size for n in CSV_FILES},
    }
    again = load_qm9(tmp_path)  # read back, not rebuilt
    assert len(builds) == 1 and torch.equal(again["targets"], data["targets"])
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()

    assert Path(f"{path}.lock").is_file()  # built under the lock beside it

    caplog.set_level("WARNING")
    path.write_bytes(path.read_bytes()[:1000])  # truncated
    load_qm9(tmp_path)
    assert len(builds) == 2
    assert caplog.messages[-1].startswith(f"QM9 cache {path} is damaged or unreadable (")
    assert caplog.messages[-1].endswith("): it will be rebuilt")
    Path(f"{path}.sha256").unlink()  # unchecked (an older version's file)
    load_qm9(tmp_path)
    assert len(builds) == 3
    assert caplog.messages[-1] == (
        f"QM9 cache {path} has no checksum (older version): it will be rebuilt"
    )
    stale = {**torch.load(path, weights_only=True), "provenance": {"format": 0}}
    torch.save(stale, path)
    write_checksum(path)
    load_qm9(tmp_path)
    assert len(builds) == 4
    assert caplog.messages[-1] == (
        f"QM9 cache {path} is stale (made from other sources or another format): it will be rebuilt"
    )
    assert torch.load(path, weights_only=True)["provenance"] == data["provenance"]
    # A cache holding more than tensors and plain values is never unpickled (weights only).
    torch.save({**torch.load(path, weights_only=True), "extra": datetime.date(2026, 1, 1)}, path)
    write_checksum(path)
    load_qm9(tmp_path)
    assert len(builds) == 5 and "is damaged or unreadable" in caplog.messages[-1]


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def _molecule(n: int, shift: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    z = torch.tensor([6, 1, 8][:n], dtype=torch.int8)
    pos = torch.arange(3 * n, dtype=torch.float32).reshape(n, 3) + shift
    return z, pos, torch.tensor(shift)


def test_collate_joins_molecules_without_padding_pairs():
    from egnn.data.qm9.datamodule import collate_molecules
    from egnn.data.qm9.features import node_features

    samples = [_molecule(2, 0.0), _molecule(3, 10.0), _molecule(1, 20.0)]
    batch = collate_molecules(samples)
    assert batch[K.NUM_GRAPHS] == 3
    assert batch[K.ATOMIC_NUMBERS].tolist() == [6, 1, 6, 1, 8, 6]
    torch.testing.assert_close(batch[K.NODE_ATTR], node_features(batch[K.ATOMIC_NUMBERS]))
    torch.testing.assert_close(batch[K.POS], torch.cat([s[1] for s in samples]))
    assert batch[K.BATCH].tolist() == [0, 0, 1, 1, 1, 2]
    assert batch[K.TARGET].tolist() == [0.0, 10.0, 20.0]
    pairs = sorted(map(tuple, batch[K.EDGE_INDEX].T.tolist()))
    assert pairs == [(0, 1), (1, 0), (2, 3), (2, 4), (3, 2), (3, 4), (4, 2), (4, 3)]
    with pytest.raises(ValueError):  # a malformed sample is refused, not cut short
        collate_molecules([*samples, samples[0][:2]])


def test_collate_builds_the_chosen_graph_within_each_molecule():
    from egnn.data.qm9.datamodule import collate_molecules
    from egnn.graphs.choice import GraphChoice

    samples = [_molecule(3, 0.0), _molecule(3, 0.5)]  # atoms 3 units apart along the diagonal
    complete = collate_molecules(samples)
    same = collate_molecules(samples, GraphChoice("fully_connected"))
    assert torch.equal(same[K.EDGE_INDEX], complete[K.EDGE_INDEX])
    radius = collate_molecules(samples, GraphChoice("radius", cutoff=6.0))  # 5.2 apart: joined
    pairs = sorted(map(tuple, radius[K.EDGE_INDEX].T.tolist()))
    assert pairs == [(0, 1), (1, 0), (1, 2), (2, 1), (3, 4), (4, 3), (4, 5), (5, 4)]


def test_without_qm9pack_the_extra_is_named(monkeypatch):
    import egnn.extras

    monkeypatch.setattr(egnn.extras, "is_installed", lambda module: module != "qm9pack")
    with pytest.raises(ConfigError) as err:
        qm9pack_data_dir()
    assert str(err.value) == "the QM9 data set needs the qm9 extra: pip install 'egnn[qm9]'"
