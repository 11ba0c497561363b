"""The ``data.graph`` option: N-body and QM9 batches with radius or kNN edges, bad values, and a
fast_dev_run of the N-body experiment on radius graphs."""

import pytest
import torch

from egnn.data import keys as K
from egnn.data.nbody.datamodule import NBodyDataModule, collate_systems
from egnn.data.qm9.datamodule import QM9DataModule, collate_molecules
from egnn.errors import ConfigError
from egnn.graphs import GraphChoice, knn_graph, radius_graph
from egnn.nn.nbody import NBodyEGNN


def nbody_samples(n_systems=4, n=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [
        (
            torch.randn(n, 3, generator=g),
            torch.randn(n, 3, generator=g),
            torch.sign(torch.randn(n, 1, generator=g)),
            torch.randn(n, 3, generator=g),
        )
        for _ in range(n_systems)
    ]


@pytest.mark.parametrize(
    ("choice", "build"),
    [
        (GraphChoice("radius", cutoff=1.5), lambda pos, batch: radius_graph(pos, 1.5, batch)),
        (GraphChoice("knn", k=2), lambda pos, batch: knn_graph(pos, 2, batch)),
    ],
)
def test_nbody_batches_carry_the_chosen_graph(choice, build):
    batch = collate_systems(nbody_samples(), graph=choice)
    expected = build(batch[K.POS], batch[K.BATCH])
    assert torch.equal(batch[K.EDGE_INDEX], expected)
    full = collate_systems(nbody_samples())
    assert batch[K.EDGE_INDEX].shape[1] < full[K.EDGE_INDEX].shape[1] == 4 * 5 * 4
    model = NBodyEGNN(hidden_nf=8, n_layers=2)
    out = model(batch[K.POS], batch[K.VEL], batch[K.CHARGES], batch[K.EDGE_INDEX])
    assert out.shape == batch[K.POS].shape and bool(torch.isfinite(out).all())


def test_qm9_batches_with_a_5_angstrom_radius_graph():
    g = torch.Generator().manual_seed(0)
    molecules = [
        (torch.tensor([6, 1, 1, 8][:n]), 3 * torch.randn(n, 3, generator=g), torch.tensor(0.5))
        for n in (4, 1, 3)
    ]
    batch = collate_molecules(molecules, graph=GraphChoice("radius", cutoff=5.0))
    assert torch.equal(batch[K.EDGE_INDEX], radius_graph(batch[K.POS], 5.0, batch[K.BATCH]))
    assert torch.equal(batch[K.BATCH], torch.tensor([0, 0, 0, 0, 1, 2, 2, 2]))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"graph": "delaunay"}, "data.graph must be one of"),
        ({"graph": "radius"}, "data.graph=radius needs a cutoff > 0"),
        ({"graph": "radius", "cutoff": -2.0}, "cutoff=-2.0"),
        ({"graph": "knn", "k": 0}, "data.graph=knn needs an integer k >= 1"),
    ],
)
def test_bad_graph_options_fail_with_one_clear_line(options, message):
    with pytest.raises(ConfigError, match=message):
        NBodyDataModule(dataset="tiny", n_train=10, **options)
    with pytest.raises(ConfigError, match=message):
        QM9DataModule(**options)


def test_fast_dev_run_on_radius_graphs(make_cfg):
    from egnn.run.train import train

    cfg = make_cfg("debug=fdr", "data.graph=radius", "data.cutoff=2.0")
    metrics = train(cfg)
    assert metrics["test/mse"] > 0


def test_qm9_fast_dev_run_with_a_5_angstrom_cutoff(tmp_path, qm9_data_dir):
    from egnn.run.train import train

    from .conftest import compose_config

    overrides = [
        "experiment=qm9",
        f"paths.data_dir={qm9_data_dir}",
        "debug=fdr",
        "data.graph=radius",
        "data.cutoff=5.0",
        "model.net.hidden_nf=16",
        "model.net.n_layers=2",
        "forward_time.enabled=false",
        "trainer.enable_progress_bar=false",
    ]
    metrics = train(compose_config(overrides, tmp_path))
    assert torch.isfinite(torch.tensor(metrics["test/mae"]))
    dm = QM9DataModule(data_dir=str(qm9_data_dir), graph="radius", cutoff=5.0, batch_size=8)
    dm.setup("fit")
    batch = next(iter(dm.val_dataloader()))
    assert torch.equal(batch[K.EDGE_INDEX], radius_graph(batch[K.POS], 5.0, batch[K.BATCH]))
    sizes = torch.bincount(batch[K.BATCH])
    assert 0 < batch[K.EDGE_INDEX].shape[1] < int((sizes * (sizes - 1)).sum())
