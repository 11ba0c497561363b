"""What each N-body model feeds its backbone, built here by hand edge by edge: the paper's
features (EGNN: h = |v|, a_ij = [c_i c_j, |x_i - x_j|^2]; GNN: [x, v] and c_i c_j; Radial Field:
[c_i c_j, |x_i - x_j|^2]), and the paper's sizes."""

import pytest
import torch

from egnn.nn import build_nbody_model, fully_connected_edges
from egnn.nn.nbody import charge_products, squared_distances


def system(n_graphs=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    n = 5 * n_graphs
    return {
        "pos": torch.randn(n, 3, generator=g, dtype=torch.float64),
        "vel": torch.randn(n, 3, generator=g, dtype=torch.float64),
        "charges": torch.tensor([1.0, -1, -1, 1, 1, -1, 1, -1, 1, 1], dtype=torch.float64)[
            :n, None
        ],
        "edge_index": fully_connected_edges(5, n_graphs),
    }


def edge_features(inputs, *columns):
    """Per edge (i receives from j): c_i c_j ("charge") and |x_i - x_j|^2 ("distance")."""
    rows = []
    for i, j in inputs["edge_index"].t().tolist():
        values = {
            "charge": inputs["charges"][i, 0] * inputs["charges"][j, 0],
            "distance": ((inputs["pos"][i] - inputs["pos"][j]) ** 2).sum(),
        }
        rows.append(torch.stack([values[c] for c in columns]))
    return torch.stack(rows)


def model(name, **kwargs):
    torch.manual_seed(0)
    net = build_nbody_model(name, **kwargs).double()
    for module in net.modules():  # O(1) coordinate updates
        if isinstance(module, torch.nn.Linear) and module.out_features == 1 and module.bias is None:
            torch.nn.init.normal_(module.weight, std=0.3)
    return net


def test_edge_feature_helpers_by_hand():
    charges = torch.tensor([[2.0], [0.5], [-3.0]])
    edges = torch.tensor([[0, 1, 2], [1, 2, 0]])
    assert charge_products(charges, edges)[:, 0].tolist() == [1.0, -1.5, -6.0]
    inputs = system()
    both = edge_features(inputs, "charge", "distance")
    torch.testing.assert_close(
        charge_products(inputs["charges"], inputs["edge_index"]), both[:, :1]
    )
    torch.testing.assert_close(squared_distances(inputs["pos"], inputs["edge_index"]), both[:, 1:])


@pytest.mark.parametrize("name", ["egnn", "egnn_release"])
def test_egnn_sees_speeds_charges_and_distances(name):
    net, inputs = model(name), system()
    speed = torch.linalg.vector_norm(inputs["vel"], dim=1, keepdim=True)
    _, expected = net.egnn(
        speed,
        inputs["pos"],
        inputs["edge_index"],
        edge_attr=edge_features(inputs, "charge", "distance"),
        vel=inputs["vel"],
    )
    torch.testing.assert_close(net(**inputs), expected, rtol=1e-12, atol=1e-12)
    assert (expected - inputs["pos"]).abs().max() > 0.1


def test_gnn_sees_positions_velocities_and_charges():
    net, inputs = model("gnn"), system()
    expected = net.gnn(
        torch.cat([inputs["pos"], inputs["vel"]], dim=1),
        inputs["edge_index"],
        edge_features(inputs, "charge"),
    )
    torch.testing.assert_close(net(**inputs), expected, rtol=1e-12, atol=1e-12)


def test_radial_field_sees_charges_and_distances():
    net, inputs = model("rf"), system()
    expected = net.rf(
        inputs["pos"],
        inputs["vel"],
        inputs["edge_index"],
        edge_features(inputs, "charge", "distance"),
    )
    torch.testing.assert_close(net(**inputs), expected, rtol=1e-12, atol=1e-12)


def test_linear_models():
    inputs = system()
    linear = model("linear")
    weight, bias = linear.linear.weight, linear.linear.bias
    expected = torch.cat([inputs["pos"], inputs["vel"]], dim=1) @ weight.t() + bias
    torch.testing.assert_close(linear(**inputs), expected)
    dynamics = model("linear_vel")
    torch.testing.assert_close(dynamics(**inputs), inputs["pos"] + 0.7 * inputs["vel"])
    torch.testing.assert_close(
        build_nbody_model("linear_vel", t_init=2).double()(**inputs),
        inputs["pos"] + 2 * inputs["vel"],
    )


@pytest.mark.parametrize(
    ("name", "layers"),
    [
        ("egnn", lambda m: m.egnn.layers),
        ("gnn", lambda m: m.gnn.layers),
        ("rf", lambda m: m.rf.layers),
    ],
)
def test_paper_sizes_by_default(name, layers):
    """64 hidden features and 4 layers (the paper's N-body setting); the options reach the
    backbone."""
    net = build_nbody_model(name)
    assert len(layers(net)) == 4
    widths = {m.out_features for m in net.modules() if isinstance(m, torch.nn.Linear)}
    assert 64 in widths and not widths - {64, 1, 3}
    small = build_nbody_model(name, hidden_nf=16, n_layers=2)
    assert len(layers(small)) == 2
    assert not {m.out_features for m in small.modules() if isinstance(m, torch.nn.Linear)} - {
        16,
        1,
        3,
    }


def test_egnn_predicts_positions_only():
    """The last layer's node update is not built (its output would reach nothing)."""
    net = build_nbody_model("egnn")
    assert net.egnn.embedding_out is None and net.egnn.layers[-1].node_mlp is None
    assert all(layer.velocity for layer in net.egnn.layers)
    assert (
        net.egnn.in_edge_nf == 2
        and build_nbody_model("egnn", motion_features=True).egnn.in_edge_nf == 5
    )


def test_options_reach_the_backbones():
    for name in ("egnn", "egnn_release"):
        net = build_nbody_model(name, n_layers=2, coord_agg="sum", tanh=True)
        assert len(net.egnn.layers) == 2
        assert all(layer.coord_agg == "sum" and layer.tanh for layer in net.egnn.layers)
    gnn = build_nbody_model("gnn", attention=True)
    assert all(layer.att_mlp is not None for layer in gnn.gnn.layers)
    rf = build_nbody_model("rf", tanh=False)
    assert not any(isinstance(m, torch.nn.Tanh) for m in rf.modules())


def test_ensemble_members_and_options():
    ensemble = build_nbody_model("ensemble", hidden_nf=8)
    assert len(ensemble.members) == 3  # the default
    assert all(m.egnn.layers[0].hidden_nf == 8 for m in ensemble.members)
    assert len(build_nbody_model("ensemble", members=1, hidden_nf=8).members) == 1
    message = r"^an ensemble's members cannot themselves be ensembles$"
    with pytest.raises(ValueError, match=message):
        build_nbody_model("ensemble", member="ensemble")


def test_compiling_an_ensemble_passes_the_options_to_each_member(monkeypatch):
    ensemble = build_nbody_model("ensemble", members=2, hidden_nf=8)
    calls = []
    for member in ensemble.members:
        monkeypatch.setattr(member, "compile", lambda *a, **k: calls.append((a, k)))
    ensemble.compile("positional", dynamic=False)
    assert calls == [(("positional",), {"dynamic": False})] * 2


def test_release_model_refuses_motion_features():
    message = r"^egnn_release is the paper's model: motion_features must be False$"
    with pytest.raises(ValueError, match=message):
        build_nbody_model("egnn_release", motion_features=True)
    assert build_nbody_model("egnn_release", motion_features=False).motion_features is False
