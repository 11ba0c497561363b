"""The QM9 model against its description, from its weight matrices: an invariant EGNN with edge
inference, a per-atom MLP, a sum over each molecule's atoms and a molecule MLP; the paper's sizes."""

import pytest
import torch
from torch.nn.functional import silu

from egnn.data.qm9.features import node_features
from egnn.errors import ConfigError
from egnn.nn import fully_connected_edges
from egnn.nn.qm9 import QM9EGNN, build_qm9_model, padded_layout

from .conftest import linear_by_hand


def molecules():
    """Three molecules of 4, 2 and 3 atoms, complete graphs, float64."""
    g = torch.Generator().manual_seed(0)
    sizes = [4, 2, 3]
    batch = torch.repeat_interleave(torch.arange(3), torch.tensor(sizes))
    edges, start = [], 0
    for n in sizes:
        edges.append(fully_connected_edges(n) + start)
        start += n
    return {
        "node_attr": torch.randn(9, 15, generator=g, dtype=torch.float64),
        "pos": torch.randn(9, 3, generator=g, dtype=torch.float64),
        "edge_index": torch.cat(edges, dim=1),
        "batch": batch,
        "num_graphs": 3,
    }


def test_readout_sums_each_molecules_atoms():
    torch.manual_seed(0)
    net = build_qm9_model("egnn", hidden_nf=8, n_layers=2).double()
    assert len(net.egnn.layers) == 2 and net.egnn.embedding_in.out_features == 8
    inputs = molecules()
    with torch.no_grad():
        got = net(**inputs)
        h, x = net.egnn(inputs["node_attr"], inputs["pos"], inputs["edge_index"])
        per_atom = linear_by_hand(net.node_dec[2], silu(linear_by_hand(net.node_dec[0], h)))
        expected = []
        for b in range(3):
            total = per_atom[inputs["batch"] == b].sum(0)
            expected.append(
                linear_by_hand(net.graph_dec[2], silu(linear_by_hand(net.graph_dec[0], total)))[0]
            )
    assert got.shape == (3,)
    torch.testing.assert_close(got, torch.stack(expected), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(x, inputs["pos"])  # invariant: coordinates are not updated


def test_paper_sizes_and_options():
    net = QM9EGNN()
    assert net.egnn.in_node_nf == 15 and len(net.egnn.layers) == 7
    assert net.egnn.embedding_in.out_features == 128 and net.egnn.embedding_out is None
    for layer in net.egnn.layers:
        assert layer.att_mlp is not None  # edge inference
        assert layer.coord_mlp is None and not layer.update_coords
    assert [m.out_features for m in net.graph_dec if isinstance(m, torch.nn.Linear)] == [128, 1]
    assert [m.out_features for m in net.node_dec if isinstance(m, torch.nn.Linear)] == [128, 128]
    small = QM9EGNN(in_node_nf=5, hidden_nf=16, n_layers=2, attention=False, coord_agg="sum")
    assert small.egnn.in_node_nf == 5 and len(small.egnn.layers) == 2
    assert all(layer.att_mlp is None for layer in small.egnn.layers)
    plain = QM9EGNN(hidden_nf=8, n_layers=2, residual=False, dropout=0.1)  # options reach the EGNN
    assert all(not layer.residual for layer in plain.egnn.layers)
    assert all(layer.message_dropout.p == 0.1 for layer in plain.egnn.layers)


def test_unknown_qm9_model_lists_the_known_ones():
    message = r"^unknown QM9 model 'schnet'; choose one of \['egnn', 'egnn_release'\]$"
    with pytest.raises(ConfigError, match=message):
        build_qm9_model("schnet")
    assert isinstance(build_qm9_model(hidden_nf=8, n_layers=1), QM9EGNN)  # egnn by default


def test_qm9_release_model_is_our_model_at_the_release_cost():
    torch.manual_seed(0)
    ours = build_qm9_model("egnn", hidden_nf=16, n_layers=3).double()
    release = build_qm9_model("egnn_release", hidden_nf=16, n_layers=3).double()
    release.load_state_dict(ours.state_dict())  # the same parameters
    # 3 molecules x 5 slots = 15 slots: as many as node features, so a slot count read from the
    # wrong axis would go unseen; a fourth molecule (one atom) makes it 20.
    z = torch.tensor([6, 1, 1, 1, 1, 8, 1, 1, 7, 1, 1])
    batch = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 3])
    pos = torch.randn(11, 3, dtype=torch.float64)
    edges = torch.cat(
        [fully_connected_edges(5), fully_connected_edges(3) + 5, fully_connected_edges(2) + 8],
        dim=1,
    )
    attr = node_features(z).double()
    expected = ours(attr, pos, edges, batch, 4)
    torch.testing.assert_close(
        release(attr, pos, edges, batch, 4), expected, rtol=1e-12, atol=1e-12
    )
    # The padded layout: 4 molecules x 5 slots, the real atoms first in each molecule's slots.
    _, padded_pos, padded_edges, edge_mask, node_mask, n_max = padded_layout(attr, pos, batch, 4)
    assert n_max == 5 and padded_edges.shape == (2, 4 * 5 * 4)
    mask = [1] * 5 + [1, 1, 1, 0, 0] + [1, 1, 0, 0, 0] + [1, 0, 0, 0, 0]
    assert node_mask[:, 0].tolist() == mask
    torch.testing.assert_close(padded_pos[[5, 6, 7, 10, 11, 15]], pos[5:])
    assert int(edge_mask.sum()) == 5 * 4 + 3 * 2 + 2 * 1
    # Options the release's formulation does not compute are refused, not ignored.
    with pytest.raises(ValueError, match=r"egnn_release is the paper's model: \['dropout'\]"):
        build_qm9_model("egnn_release", hidden_nf=16, n_layers=3, dropout=0.1)
