"""PyTorch Geometric interop: PyG batches through the EGNN, and a PyG dataset as a DataModule."""

import pytest
import torch

from egnn.data import keys as K
from egnn.graphs import GraphChoice, knn_graph, radius_graph, to_pyg
from egnn.nn import EGNN
from egnn.pyg import PyGEGNN, batch_from_pyg

torch_geometric = pytest.importorskip("torch_geometric")
from torch_geometric.data import Batch, Data  # noqa: E402

from egnn.pyg.datamodule import PyGDataModule  # noqa: E402


def molecules(n_graphs=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for n in range(3, 3 + n_graphs):
        pos = 2 * torch.randn(n, 3, generator=g)
        edges = to_pyg(radius_graph(pos, 2.5))
        out.append(
            Data(
                x=torch.randn(n, 4, generator=g),
                pos=pos,
                edge_index=edges,
                edge_attr=torch.randn(edges.shape[1], 2, generator=g),
                y=torch.randn(1, generator=g),
            )
        )
    return out


def test_pyg_batch_gives_the_same_result_as_egnn_inputs():
    data = Batch.from_data_list(molecules())
    torch.manual_seed(0)
    model = PyGEGNN(in_node_nf=4, hidden_nf=16, out_node_nf=2, in_edge_nf=2, n_layers=2)
    h, x = model(data)
    # PyG's source-to-target edges, flipped by hand, into the plain EGNN with the same weights
    plain = EGNN(in_node_nf=4, hidden_nf=16, out_node_nf=2, in_edge_nf=2, n_layers=2)
    plain.load_state_dict(model.egnn.state_dict())
    h_ref, x_ref = plain(data.x, data.pos, data.edge_index.flip(0), data.edge_attr)
    torch.testing.assert_close(h, h_ref)
    torch.testing.assert_close(x, x_ref)
    batch = batch_from_pyg(data)
    assert batch[K.NUM_GRAPHS] == 5 and torch.equal(batch[K.BATCH], data.batch)


def test_directed_pyg_edges_become_receiver_first():
    pos = torch.randn(12, 3)
    knn = knn_graph(pos, 3)  # directed: row 0 the node, row 1 one of its 3 nearest
    converted = batch_from_pyg(Data(pos=pos, edge_index=to_pyg(knn)))[K.EDGE_INDEX]
    assert torch.equal(converted, knn)
    assert torch.equal(torch.bincount(converted[0]), torch.full((12,), 3))


def test_pyg_data_without_edges_gets_built_ones():
    data = Batch.from_data_list(molecules())
    del data.edge_index, data.edge_attr
    model = PyGEGNN(GraphChoice("radius", cutoff=2.5), in_node_nf=4, hidden_nf=8, out_node_nf=1)
    h, x = model(data)
    expected = model.egnn(data.x, data.pos, radius_graph(data.pos, 2.5, data.batch))
    torch.testing.assert_close(h, expected[0])
    with pytest.raises(ValueError, match="no `edge_index`"):
        PyGEGNN(in_node_nf=4, hidden_nf=8, out_node_nf=1)(data)


def test_pyg_dataset_as_datamodule():
    dm = PyGDataModule(molecules(10), fractions=(0.6, 0.2, 0.2), batch_size=4, split_seed=1)
    dm.setup("fit")
    assert [len(dm.splits[s]) for s in ("train", "valid", "test")] == [6, 2, 2]
    batch = next(iter(dm.val_dataloader()))
    assert batch[K.NUM_GRAPHS] == 2
    assert batch[K.TARGET].shape == (2,)
    n = batch[K.POS].shape[0]
    assert batch[K.NODE_ATTR].shape == (n, 4) and batch[K.BATCH].shape == (n,)
    # receiver-first: the radius graph of the batch, in egnn's own order
    got = set(map(tuple, batch[K.EDGE_INDEX].t().tolist()))
    assert got == set(map(tuple, radius_graph(batch[K.POS], 2.5, batch[K.BATCH]).t().tolist()))
