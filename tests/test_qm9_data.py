"""QM9 from the installed qm9pack package, offline: counts, split, units, features, cache."""

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from egnn.data import keys as K
from egnn.data.qm9.datamodule import QM9DataModule
from egnn.data.qm9.dataset import cache_path, load_qm9, split_indices
from egnn.data.qm9.raw import qm9pack_data_dir
from egnn.data.qm9.targets import TARGETS
from egnn.errors import ConfigError

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
