"""The EGNN backbone: equivariance of the whole network for every option, batching, the release's
formulation, initialisation and input validation."""

import pytest
import torch

from egnn import EGCL, EGNN
from egnn.errors import ConfigError
from egnn.nn import fully_connected_edges
from egnn.nn.release import reference_egnn
from egnn.testing import EDGE_INDEX, EDGE_SCALAR, NODE_SCALAR, POSITION, VECTOR, assert_equivariant

KINDS = {
    "h": NODE_SCALAR,
    "x": POSITION,
    "edge_index": EDGE_INDEX,
    "edge_attr": EDGE_SCALAR,
    "vel": VECTOR,
}

OPTIONS = [
    {},
    {"velocity": True},
    {"attention": True},
    {"residual": False},
    {"coord_agg": "sum"},
    {"normalize": True, "tanh": True, "coord_range": 3.0},
    {"coord_clamp": None},
    {"update_coords": False, "attention": True},
    {"velocity": True, "dropout": 0.3},  # evaluation mode: dropout off
    # The first layer reads the raw 4 input features (no residual there). With this test's large
    # coordinate weights its messages pass 100, where the release's elementwise clamp (not
    # rotation-equivariant) would act, so the clamp is off.
    {"embed_input": False, "coord_clamp": None},
]


def make_inputs(
    n_nodes=5, n_graphs=3, d=3, in_nf=4, edge_nf=2, dtype=torch.float64, seed=0, velocity=False
):
    g = torch.Generator().manual_seed(seed)
    edge_index = fully_connected_edges(n_nodes, n_graphs)
    n = n_nodes * n_graphs
    inputs = {
        "h": torch.randn(n, in_nf, generator=g, dtype=dtype),
        "x": 2 * torch.randn(n, d, generator=g, dtype=dtype),
        "edge_index": edge_index,
        "edge_attr": torch.randn(edge_index.shape[1], edge_nf, generator=g, dtype=dtype)
        if edge_nf
        else None,
    }
    if velocity:
        inputs["vel"] = torch.randn(n, d, generator=g, dtype=dtype)
    return inputs


def make_net(dtype=torch.float64, in_nf=4, edge_nf=2, n_layers=3, **options):
    torch.manual_seed(0)
    net = EGNN(in_nf, 16, 3, in_edge_nf=edge_nf, n_layers=n_layers, **options).to(dtype)
    # Make coordinate updates large so that a broken equivariance could not hide behind the
    # gain-0.001 initialisation.
    for layer in net.layers:
        if layer.coord_mlp is not None:
            torch.nn.init.normal_(layer.coord_mlp[-1].weight, std=0.3)
    return net.eval()


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "default")
@pytest.mark.parametrize("d", [2, 3])
def test_equivariance_float64(options, d):
    net = make_net(**options)
    inputs = make_inputs(d=d, velocity=options.get("velocity", False))
    errors = assert_equivariant(net, inputs, KINDS, (NODE_SCALAR, POSITION), atol=1e-10)
    assert max(errors.values()) < 1e-10


def test_equivariance_float32_loose():
    net = make_net(dtype=torch.float32, velocity=True, attention=True)
    inputs = make_inputs(dtype=torch.float32, velocity=True)
    assert_equivariant(net, inputs, KINDS, (NODE_SCALAR, POSITION), atol=1e-3)


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "default")
def test_equals_release_formulation(options):
    """Our per-node split of phi_e's first layer computes the same function as the concatenation."""
    net = make_net(**options)
    inputs = make_inputs(velocity=options.get("velocity", False))
    h, x = net(**inputs)
    h_ref, x_ref = reference_egnn(net, **inputs)
    torch.testing.assert_close(h, h_ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(x, x_ref, rtol=1e-12, atol=1e-12)


def test_batched_equals_single_graphs():
    net = make_net(velocity=True, attention=True)
    inputs = make_inputs(n_graphs=4, velocity=True)
    h, x = net(**inputs)
    single_edges = fully_connected_edges(5, 1)
    n_edges = single_edges.shape[1]
    for b in range(4):
        nodes = slice(5 * b, 5 * (b + 1))
        edges = slice(n_edges * b, n_edges * (b + 1))
        h_b, x_b = net(
            inputs["h"][nodes],
            inputs["x"][nodes],
            single_edges,
            inputs["edge_attr"][edges],
            inputs["vel"][nodes],
        )
        torch.testing.assert_close(h_b, h[nodes], rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(x_b, x[nodes], rtol=1e-12, atol=1e-12)


def test_invariant_network_keeps_coordinates():
    net = make_net(update_coords=False, attention=True)
    inputs = make_inputs()
    _, x = net(**inputs)
    assert torch.equal(x, inputs["x"])


def test_initial_coordinate_updates_are_small():
    """The gain-0.001 init of phi_x's last layer: early coordinate updates are almost zero."""
    torch.manual_seed(0)
    net = EGNN(4, 64, None, in_edge_nf=2, n_layers=4).double()
    inputs = make_inputs()
    _, x = net(**inputs)
    assert (x - inputs["x"]).abs().max() < 1e-2


def test_no_output_projection_returns_hidden_features():
    net = EGNN(4, 16, None, in_edge_nf=2, n_layers=2).double()
    inputs = make_inputs()
    h, _ = net(**inputs)
    assert h.shape == (15, 16)
    # The last layer's features, unprojected.
    seen = []
    net.layers[-1].register_forward_hook(lambda module, args, out: seen.append(out[0]))
    net(**inputs)
    torch.testing.assert_close(h, seen[0])


def test_zero_distance_gradients_are_finite():
    """normalize=True divides by the distance: coincident nodes must not produce NaN gradients."""
    net = make_net(normalize=True)
    inputs = make_inputs(n_graphs=1)
    x = inputs["x"].clone()
    x[1] = x[0]
    x.requires_grad_(True)
    h, out = net(inputs["h"], x, inputs["edge_index"], inputs["edge_attr"])
    (h.sum() + out.sum()).backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize(
    ("kwargs", "call", "match"),
    [
        ({}, {"h": torch.randn(15, 3)}, r"h must have shape \[N, 4\]"),
        ({}, {"x": torch.randn(14, 3)}, "x must have shape"),
        ({}, {"edge_index": torch.zeros(3, 5, dtype=torch.long)}, "edge_index must be"),
        ({}, {"edge_attr": None}, "edge_attr must have shape"),
        ({"velocity": True}, {}, "velocity=True needs vel"),
    ],
)
def test_bad_inputs_raise_clear_errors(kwargs, call, match):
    net = EGNN(4, 8, 2, in_edge_nf=2, n_layers=1, **kwargs)
    inputs = make_inputs(dtype=torch.float32)
    inputs.update(call)
    with pytest.raises(ValueError, match=match):
        net(**inputs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_layers": 0}, "n_layers must be"),
        ({"hidden_nf": 0}, "hidden_nf must be"),
        ({"coord_agg": "max"}, "coord_agg must be one of"),
        ({"velocity": True, "update_coords": False}, "velocity=True needs update_coords"),
        ({"dropout": 1.0}, r"dropout must lie in \[0, 1\), got 1.0"),
        ({"embed_input": False, "velocity": True}, "velocity=True reads .* got in_nf=4"),
    ],
)
def test_bad_options_raise_clear_errors(kwargs, match):
    args = {"in_node_nf": 4, "hidden_nf": 8, "out_node_nf": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        EGNN(**args)


def test_first_layer_without_embedding_reads_the_raw_features():
    net = EGNN(1, 8, None, in_edge_nf=1, n_layers=2, embed_input=False)
    first, second = net.layers
    assert net.embedding_in is None and not first.residual and second.residual
    assert first.edge_mlp[0].in_features == 1 + 1 + 1 + 1  # h_i, h_j, d_ij, a_ij
    assert first.node_mlp[0].in_features == 1 + 8
    with pytest.raises(ValueError, match="residual=True .* got in_nf=1, hidden_nf=8"):
        EGCL(8, edge_attr_nf=1, in_nf=1)


def test_egcl_shapes_any_dimension():
    torch.manual_seed(0)
    layer = EGCL(8, edge_attr_nf=0, coord_clamp=None).double()
    torch.nn.init.normal_(layer.coord_mlp[-1].weight, std=1.0)
    edge_index = fully_connected_edges(4, 2)
    h_in, x_in = torch.randn(8, 8, dtype=torch.float64), torch.randn(8, 5, dtype=torch.float64)
    with torch.no_grad():
        h, x = layer(h_in, x_in, edge_index)
        no_attr = torch.zeros(edge_index.shape[1], 0, dtype=torch.float64)
        h_ref, x_ref = _egcl_by_the_equations(layer, h_in, x_in, edge_index, no_attr, None)
    assert h.shape == (8, 8) and x.shape == (8, 5)
    torch.testing.assert_close(h, h_ref)
    torch.testing.assert_close(x, x_ref)


def test_pair_linear_equals_concatenation():
    from egnn.nn.egcl_eq3_6 import pair_linear

    g = torch.Generator().manual_seed(3)
    layer = torch.nn.Linear(2 * 6 + 3, 5).double()
    h = torch.randn(7, 6, generator=g, dtype=torch.float64)
    edge_index = fully_connected_edges(7)
    scalars = torch.randn(edge_index.shape[1], 3, generator=g, dtype=torch.float64)
    expected = layer(torch.cat([h[edge_index[0]], h[edge_index[1]], scalars], dim=1))
    torch.testing.assert_close(
        pair_linear(layer, h, edge_index, scalars), expected, rtol=1e-12, atol=1e-12
    )
    no_scalars = torch.nn.Linear(12, 5).double()
    expected = no_scalars(torch.cat([h[edge_index[0]], h[edge_index[1]]], dim=1))
    torch.testing.assert_close(
        pair_linear(no_scalars, h, edge_index, None), expected, rtol=1e-12, atol=1e-12
    )


def test_dropout_acts_in_training_only():
    net, inputs = make_net(dropout=0.5), make_inputs()
    net.eval()
    assert torch.equal(net(**inputs)[0], net(**inputs)[0])
    net.train()
    assert not torch.allclose(net(**inputs)[0], net.eval()(**inputs)[0])


def test_float16_autocast_refuses_distances_it_cannot_hold():
    """Under float16 autocast, coordinates scaled by 1e4 would overflow the edge MLP's input (NaN
    without a word): refused in one line. Ordinary coordinates run, with coordinates in float32."""
    net = EGNN(in_node_nf=1, hidden_nf=16, out_node_nf=1, n_layers=2)
    h, edge_index = torch.ones(10, 1), fully_connected_edges(5, 2)
    x = torch.randn(10, 3, generator=torch.Generator().manual_seed(0))
    with torch.autocast("cpu", dtype=torch.float16):
        h_out, x_out = net(h, x, edge_index)
        assert x_out.dtype == torch.float32 and torch.isfinite(x_out).all()
        with pytest.raises(ConfigError, match=r"squared distances reach .* beyond float16's range"):
            net(h, x * 1e4, edge_index)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # bfloat16 holds them: no refusal
        assert torch.isfinite(net(h, x * 1e4, edge_index)[1]).all()


def _egcl_by_the_equations(layer, h, x, edge_index, edge_attr, vel):
    """Eqs. 3-8 of the paper, one edge at a time, from the layer's own sub-networks."""
    n = h.shape[0]
    x_sum = torch.zeros_like(x)
    m_sum = torch.zeros(n, layer.hidden_nf, dtype=h.dtype)
    degree = torch.zeros(n, dtype=h.dtype)
    for e, (i, j) in enumerate(edge_index.t().tolist()):
        diff = x[i] - x[j]
        d_ij = (diff * diff).sum()
        m_ij = layer.edge_mlp(torch.cat([h[i], h[j], d_ij[None], edge_attr[e]]))  # eq. 3
        if layer.att_mlp is not None:
            m_ij = m_ij * layer.att_mlp(m_ij)  # eq. 8
        if layer.normalize:
            diff = diff / torch.sqrt(d_ij + layer.norm_eps)
        phi_x = layer.coord_mlp(m_ij)
        if layer.tanh:
            phi_x = torch.tanh(phi_x) * layer.coord_range
        x_sum[i] += diff * phi_x  # eq. 4: x_i - x_j, away from j for a positive phi_x
        m_sum[i] += m_ij  # eq. 5
        degree[i] += 1
    c = 1.0 / degree[:, None] if layer.coord_agg == "mean" else 1.0
    delta = c * x_sum
    if layer.velocity:
        delta = delta + layer.vel_mlp(h) * vel  # eq. 7
    h_out = layer.node_mlp(torch.cat([h, m_sum], dim=1))  # eq. 6
    return h + h_out if layer.residual else h_out, x + delta


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"attention": True, "coord_agg": "sum"},
        {"velocity": True, "residual": True},
        {"normalize": True, "tanh": True, "coord_range": 2.0, "residual": False},
    ],
    ids=lambda o: ",".join(o) or "default",
)
def test_egcl_follows_the_equations_edge_by_edge(options):
    """Against a direct per-edge evaluation of eqs. 3-8: this catches what equivariance cannot,
    e.g. x_j - x_i for x_i - x_j, or a sum where the mean belongs."""
    torch.manual_seed(1)
    layer = EGCL(6, edge_attr_nf=2, coord_clamp=None, **options).double().eval()
    torch.nn.init.normal_(layer.coord_mlp[-1].weight, std=1.0)  # O(1) coordinate updates
    inputs = make_inputs(n_nodes=4, n_graphs=2, in_nf=6, velocity=options.get("velocity", False))
    inputs["edge_index"] = inputs["edge_index"][:, :-2]  # unequal degrees: mean != sum / const
    inputs["edge_attr"] = inputs["edge_attr"][:-2]
    with torch.no_grad():
        h, x = layer(**inputs)
        h_ref, x_ref = _egcl_by_the_equations(
            layer,
            inputs["h"],
            inputs["x"],
            inputs["edge_index"],
            inputs["edge_attr"],
            inputs.get("vel"),
        )
    assert (x - inputs["x"]).abs().max() > 0.1  # the coordinate update is not negligible
    torch.testing.assert_close(h, h_ref)
    torch.testing.assert_close(x, x_ref)


def test_positive_coordinate_weight_pushes_nodes_apart():
    """Two nodes, phi_x > 0 everywhere: each moves away from the other by C (x_i - x_j) phi_x."""
    layer = EGCL(4).double().eval()
    with torch.no_grad():
        layer.coord_mlp[-1].weight.zero_()
        layer.coord_mlp[-1].weight[0, 0] = 1.0
        layer.coord_mlp[0].weight.zero_()
        layer.coord_mlp[0].bias.fill_(1.0)  # phi_x = silu(1) on every edge
        x = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]], dtype=torch.float64)
        _, x_out = layer(torch.zeros(2, 4, dtype=torch.float64), x, fully_connected_edges(2, 1))
    step = torch.nn.functional.silu(torch.tensor(1.0, dtype=torch.float64)).item()
    torch.testing.assert_close(x_out, torch.tensor([[-step, 0, 0], [1 + step, 0, 0]]).double())
