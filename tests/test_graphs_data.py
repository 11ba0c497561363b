"""Graph autoencoder data: the generators (the release's draws, sizes, errors), the cached
splits (the paper's fractions of edges, regenerated when damaged or stale), the padding and the
collation into one disjoint union, and the DataModule's loaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from egnn.data import keys as K
from egnn.data.graphs.datamodule import AdjacencyDataset, GraphDataModule, collate_graphs
from egnn.data.graphs.dataset import (
    GRAPH_DATASETS,
    ensure_split,
    get_spec,
    load_split,
    pad,
    split_path,
)
from egnn.data.graphs.generate import community_graph, community_small, erdos_renyi
from egnn.errors import ConfigError

from .conftest import positive_percent


@pytest.mark.parametrize(
    ("name", "expected", "tol"),
    [
        ("community_small", 31.79, 0.005),  # the paper's Baseline %Error
        ("erdos_renyi", 25.13, 0.05),
    ],
)
def test_test_split_has_the_papers_fraction_of_edges(graph_data_dir, name, expected, tol):
    graphs = load_split(graph_data_dir, name, "test")
    assert len(graphs) == 500
    assert positive_percent(graphs) == pytest.approx(expected, abs=tol)
    for a in graphs:
        assert (a == a.T).all() and not a.diagonal().any()


def test_dataset_shapes_and_sizes(graph_data_dir):
    community = load_split(graph_data_dir, "community_small", "test")
    assert {len(a) for a in community} <= set(range(12, 21))
    er = load_split(graph_data_dir, "erdos_renyi", "test")
    sizes = [len(a) for a in er]
    assert sorted(set(sizes)) == list(range(7, 17)) and all(
        sizes.count(n) == 50 for n in set(sizes)
    )
    overfit = {
        split: load_split(graph_data_dir, "erdos_renyi_overfit", split)
        for split in ("train", "valid", "test")
    }
    assert len(overfit["train"]) == 100
    for split in ("valid", "test"):
        assert all((a == b).all() for a, b in zip(overfit["train"], overfit[split], strict=True))


def test_cache_is_regenerated_when_corrupt_or_stale(tmp_path):
    path = ensure_split(tmp_path, "community_tiny", "test")
    first = load_split(tmp_path, "community_tiny", "test")
    path.write_bytes(path.read_bytes()[:100])  # a truncated file (an interrupted writer)
    again = load_split(tmp_path, "community_tiny", "test")
    assert all((a == b).all() for a, b in zip(first, again, strict=True))
    sparse = load_split(tmp_path, "erdos_renyi_overfit", "train", p=0.1)
    assert split_path(tmp_path, "erdos_renyi_overfit", "train", p=0.1).parent.name.endswith("p0.1")
    assert positive_percent(sparse) < positive_percent(
        load_split(tmp_path, "erdos_renyi_overfit", "train")
    )
    assert not list(tmp_path.rglob("*.tmp"))


def test_bad_dataset_arguments_are_named():
    with pytest.raises(ConfigError, match="nope.*community_small"):
        get_spec("nope")
    with pytest.raises(ConfigError, match="p=1.5"):
        get_spec("erdos_renyi", p=1.5)
    with pytest.raises(ConfigError, match="Erdos-Renyi sets only"):
        get_spec("community_small", p=0.3)


def test_collate_builds_a_disjoint_union():
    a = np.array([[0, 1], [1, 0]], dtype=np.uint8)
    b = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=np.uint8)
    batch = collate_graphs(list(AdjacencyDataset([a, b])))
    assert batch[K.NUM_NODES] == 5 and batch[K.NUM_GRAPHS] == 2
    assert torch.equal(batch[K.NODE_ATTR], torch.ones(5, 1))
    assert batch[K.EDGE_INDEX].shape == (2, 2 + 6)
    assert batch[K.EDGE_GRAPH].tolist() == [0, 0] + [1] * 6
    row, col = batch[K.EDGE_INDEX]
    dense = torch.zeros(5, 5)
    dense[row, col] = batch[K.EDGE_TARGET]
    assert dense[:2, :2].tolist() == a.tolist() and dense[2:, 2:].tolist() == b.tolist()
    assert (batch[K.EDGE_ATTR][:, 0] == batch[K.EDGE_TARGET]).all()


# --- Generators ------------------------------------------------------------------------------


def test_community_graph_joins_its_two_communities():
    rng = np.random.RandomState(5)
    for _ in range(20):
        a = community_graph(rng)
        assert a.dtype == np.uint8 and (a == a.T).all() and not a.diagonal().any()
        assert 12 <= len(a) <= 20
        # Connected: a BFS from node 0 reaches every node (the two communities are joined).
        seen, frontier = {0}, [0]
        while frontier:
            node = frontier.pop()
            for other in np.flatnonzero(a[node]).tolist():
                if other not in seen:
                    seen.add(other)
                    frontier.append(other)
        assert len(seen) == len(a)


def test_community_graph_without_cross_edges_gets_one_bridge_between_first_nodes():
    rng = np.random.RandomState(0)
    a = community_graph(rng, p_inter=0.0)
    sizes = np.random.RandomState(0).choice((6, 7, 8, 9, 10), 2)
    first = int(sizes[0])
    cross = a[:first, first:]
    assert cross.sum() == 1 and cross[0, 0] == 1  # node 0 to the first node of the second one
    assert len(a) == sizes.sum()


def test_community_graph_with_every_cross_edge():
    a = community_graph(np.random.RandomState(1), p_intra=1.0, p_inter=1.1)
    assert (a + np.eye(len(a), dtype=np.uint8) == 1).all()  # complete: every pair joined


def test_generators_repeat_with_their_seed():
    one, two = community_small(3, seed=4), community_small(3, seed=4)
    assert all((a == b).all() for a, b in zip(one, two, strict=True))
    other = community_small(3, seed=5)
    assert any(a.shape != b.shape or (a != b).any() for a, b in zip(one, other, strict=True))
    er, er_again = erdos_renyi(10, seed=1), erdos_renyi(10, seed=1)
    assert all((a == b).all() for a, b in zip(er, er_again, strict=True))
    assert sorted(len(a) for a in er) == list(range(7, 17))


def test_erdos_renyi_edge_probability_extremes():
    empty = erdos_renyi(10, seed=0, p=0.0)
    full = erdos_renyi(10, seed=0, p=1.0)
    assert all(not a.any() for a in empty)
    assert all((a + np.eye(len(a), dtype=np.uint8) == 1).all() for a in full)


def test_erdos_renyi_bad_arguments_are_named():
    with pytest.raises(ValueError, match="multiple of 10 .* got 15"):
        erdos_renyi(15, seed=0)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\], got 1.5"):
        erdos_renyi(10, seed=0, p=1.5)
    with pytest.raises(ValueError, match="got -0.1"):
        erdos_renyi(10, seed=0, p=-0.1)
    assert len(erdos_renyi(20, seed=0, p=0.0)) == 20


# --- Cache ------------------------------------------------------------------------------------


def test_pad_keeps_sizes_and_zero_pads():
    a = np.ones((2, 2), dtype=np.uint8)
    b = np.arange(9, dtype=np.uint8).reshape(3, 3)
    n_nodes, adjacency = pad([a, b])
    assert n_nodes.tolist() == [2, 3] and n_nodes.dtype == np.int64
    assert adjacency.shape == (2, 3, 3) and adjacency.dtype == np.uint8
    assert adjacency[0].tolist() == [[1, 1, 0], [1, 1, 0], [0, 0, 0]]
    assert (adjacency[1] == b).all()


def test_spec_names_params_and_folders():
    spec = get_spec("erdos_renyi", p=0.1)
    assert spec.p == 0.1 and get_spec("erdos_renyi").p == 0.25  # the preset is not changed
    assert spec.folder("erdos_renyi") == "erdos_renyi_p0.1"
    assert get_spec("community_small").folder("community_small") == "community_small"
    assert spec.params("valid") == {
        "format": 1,
        "family": "erdos_renyi",
        "p": 0.1,
        "n_graphs": 500,
        "seed": 1,
    }
    overfit = GRAPH_DATASETS["erdos_renyi_overfit"]
    assert overfit.params("test") == overfit.params("train")  # every split is the training set
    assert get_spec("erdos_renyi", p=0).p == 0.0 and get_spec("erdos_renyi", p=1).p == 1.0
    with pytest.raises(ConfigError, match=r"p=-0.5 is not an edge probability: it must lie in"):
        get_spec("erdos_renyi", p=-0.5)
    path = split_path("root", "erdos_renyi", "train", p=0.5)
    assert path.as_posix() == "root/graphs/erdos_renyi_p0.5/train.npz"


def test_unknown_split_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown split 'dev'; choose one of \('train'"):
        ensure_split(tmp_path, "community_tiny", "dev")
    assert not (tmp_path / "graphs").exists()


def test_a_split_made_with_other_parameters_is_regenerated(tmp_path):
    """A cache whose stored parameters differ (another seed or size) is not trusted."""
    path = ensure_split(tmp_path, "community_tiny", "valid")
    test_path = ensure_split(tmp_path, "community_tiny", "test")
    path.write_bytes(test_path.read_bytes())  # intact, but the test split's (seed 12)
    graphs = load_split(tmp_path, "community_tiny", "valid")
    expected = community_small(10, seed=11)
    assert all((a == b).all() for a, b in zip(graphs, expected, strict=True))


# --- DataModule -------------------------------------------------------------------------------


def test_datamodule_serves_every_split_in_batches(tmp_path):
    data = GraphDataModule(str(tmp_path), "community_tiny", batch_size=4, shuffle_seed=3)
    assert data.data_seed == {"train": 10, "valid": 11, "test": 12}
    data.prepare_data()
    for split in ("train", "valid", "test"):
        assert split_path(tmp_path, "community_tiny", split).is_file()
    data.setup("fit")
    assert [len(data.splits[s]) for s in ("train", "valid", "test")] == [40, 10, 10]
    train = list(data.train_dataloader())
    assert [b[K.NUM_GRAPHS] for b in train] == [4] * 10
    valid = list(data.val_dataloader())
    assert [b[K.NUM_GRAPHS] for b in valid] == [4, 4, 2]  # in order, the partial batch kept
    expected = collate_graphs([data.splits["valid"][k] for k in range(4)])
    assert torch.equal(valid[0][K.EDGE_TARGET], expected[K.EDGE_TARGET])
    test = list(data.test_dataloader())
    assert [b[K.NUM_GRAPHS] for b in test] == [4, 4, 2]
    expected = collate_graphs([data.splits["test"][k] for k in range(4)])
    assert torch.equal(test[0][K.EDGE_TARGET], expected[K.EDGE_TARGET])  # in order
    loader = data.train_dataloader()
    assert loader.num_workers == 0 and not loader.persistent_workers


def test_datamodule_loaders_keep_their_workers(tmp_path):
    data = GraphDataModule(str(tmp_path), "community_tiny", num_workers=1, shuffle_seed=0)
    data.setup("fit")
    for loader in (data.train_dataloader(), data.val_dataloader(), data.test_dataloader()):
        assert loader.num_workers == 1 and loader.persistent_workers


def test_datamodule_training_order_follows_its_seed(tmp_path):
    def order(seed):
        data = GraphDataModule(str(tmp_path), "community_tiny", batch_size=40, shuffle_seed=seed)
        data.setup("fit")
        (batch,) = data.train_dataloader()
        return batch[K.EDGE_TARGET].tolist()

    data = GraphDataModule(str(tmp_path), "community_tiny", batch_size=40, shuffle_seed=0)
    data.setup("fit")
    in_order = collate_graphs(list(data.splits["train"]))[K.EDGE_TARGET].tolist()
    assert order(1) == order(1)
    assert order(1) != order(2) and order(1) != in_order
    assert sorted(order(1)) == sorted(in_order)  # the same graphs, shuffled


def test_overfit_set_shares_its_seed_across_splits(tmp_path):
    data = GraphDataModule(str(tmp_path), "erdos_renyi_overfit", p=0.5, shuffle_seed=0)
    assert data.data_seed == {"train": 3, "valid": 3, "test": 3}
    data.prepare_data()  # the sparser set's own files, not the preset's
    assert split_path(tmp_path, "erdos_renyi_overfit", "valid", p=0.5).is_file()
    assert not split_path(tmp_path, "erdos_renyi_overfit", "valid").exists()
    data.setup("fit")
    assert data.spec.p == 0.5
    assert split_path(tmp_path, "erdos_renyi_overfit", "test", p=0.5).is_file()
    data.splits["valid"] = "kept"  # a second setup keeps what the first built
    data.setup("test")
    assert data.splits["valid"] == "kept"


def test_a_cached_split_is_generated_once_under_its_lock(tmp_path, caplog):
    caplog.set_level("INFO", logger="egnn.data.graphs.dataset")
    path = ensure_split(tmp_path, "community_tiny", "test")
    assert Path(f"{path}.lock").is_file()  # the lock beside the file it guards
    assert caplog.messages == [
        "graph dataset 'community_tiny' test split not cached (or stale): generating it"
    ]
    caplog.clear()
    ensure_split(tmp_path, "community_tiny", "test")  # current: read back, not drawn again
    assert caplog.messages == []


def test_a_split_missing_one_of_its_arrays_is_regenerated(tmp_path, caplog):
    from egnn.data.npz_cache import write_npz

    spec = get_spec("community_tiny")
    n_nodes, adjacency = pad(spec.draw("valid"))
    for arrays in ({"n_nodes": n_nodes}, {"adjacency": adjacency}):
        path = split_path(tmp_path, "community_tiny", "valid")
        write_npz(path, spec.params("valid"), **arrays)  # current parameters, an array missing
        caplog.clear()
        with caplog.at_level("INFO", logger="egnn.data.graphs.dataset"):
            graphs = load_split(tmp_path, "community_tiny", "valid")
        assert "generating it" in caplog.text
        assert all((a == b).all() for a, b in zip(graphs, spec.draw("valid"), strict=True))


def test_a_damaged_split_is_named_as_a_graph_cache(tmp_path, caplog):
    path = ensure_split(tmp_path, "community_tiny", "train")
    path.write_bytes(b"not a zip file")
    with caplog.at_level("WARNING"):
        load_split(tmp_path, "community_tiny", "train")
    assert f"graph cache {path} is damaged or unreadable" in caplog.text


def test_pickled_arrays_in_a_graph_cache_are_never_loaded(tmp_path):
    """A split with current parameters but an object array (unpickling can run code) is refused."""
    from egnn.data.npz_cache import write_npz

    spec = get_spec("community_tiny")
    path = split_path(tmp_path, "community_tiny", "test")
    path.parent.mkdir(parents=True)
    n_nodes = np.array([2], dtype=object)
    write_npz(path, spec.params("test"), n_nodes=n_nodes, adjacency=np.zeros((1, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="allow_pickle=False"):
        load_split(tmp_path, "community_tiny", "test")
