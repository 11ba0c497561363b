"""The EGNN backbone: equivariance of the whole network for every option, batching, the release's
formulation, initialisation and input validation."""

import pytest
import torch

from egnn import EGCL, EGNN
from egnn.errors import ConfigError
from egnn.nn import fully_connected_edges
from egnn.nn.release import reference_egnn
from egnn.testing import EDGE_INDEX, EDGE_SCALAR, NODE_SCALAR, POSITION, VECTOR, assert_equivariant

from .conftest import linear_by_hand

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
        (
            {"velocity": True, "update_coords": False},
            r"^velocity=True needs update_coords=True \(the velocity moves the coordinates\)$",
        ),
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
        h_ref, x_ref = _egcl_by_the_equations(
            layer, {"coord_clamp": None}, h_in, x_in, edge_index, no_attr, None
        )
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


def test_pair_linear_without_bias_equals_concatenation():
    from egnn.nn.egcl_eq3_6 import pair_linear

    g = torch.Generator().manual_seed(4)
    h = torch.randn(5, 3, generator=g, dtype=torch.float64)
    edge_index = fully_connected_edges(5)
    pairs = torch.cat([h[edge_index[0]], h[edge_index[1]]], dim=1)
    scalars = torch.randn(edge_index.shape[1], 2, generator=g, dtype=torch.float64)
    for n_scalars in (0, 2):
        layer = torch.nn.Linear(6 + n_scalars, 4, bias=False).double()
        inputs = torch.cat([pairs, scalars[:, :n_scalars]], dim=1)
        got = pair_linear(layer, h, edge_index, scalars if n_scalars else None)
        torch.testing.assert_close(got, layer(inputs), rtol=1e-12, atol=1e-12)


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


def test_float16_range_check_edges():
    """The refusal starts just past float16's largest value, and a graph without edges passes."""
    from egnn.nn.egcl_eq3_6 import FLOAT16_MAX, check_half_precision_range

    with torch.autocast("cpu", dtype=torch.float16):
        check_half_precision_range(torch.full((3, 1), FLOAT16_MAX))
        check_half_precision_range(torch.zeros(0, 1))
        message = (
            r"^squared distances reach 6.55e\+04, beyond float16's range \(65504\):"
            r" use trainer.precision=bf16-mixed or 32, or rescale the coordinates$"
        )
        with pytest.raises(ConfigError, match=message):
            check_half_precision_range(torch.full((3, 1), FLOAT16_MAX + 1))
    check_half_precision_range(torch.full((3, 1), 1e9))  # no autocast: nothing to refuse


def _egcl_by_the_equations(layer, options, h, x, edge_index, edge_attr, vel, edge_shift=None):
    """Eqs. 3-8 of the paper, one edge at a time, from the layer's weight matrices and the options
    it was built with (not from its sub-networks or attributes, so that a layer built or wired
    wrongly cannot agree with itself). phi_e = SiLU(W2 SiLU(W1 z)), phi_x = w SiLU(W z) (no bias
    in w), phi_h = W2 SiLU(W1 z), phi_v = w SiLU(W h), the gate sigmoid(w m)."""
    silu, e, c = torch.nn.functional.silu, layer.edge_mlp, layer.coord_mlp
    n = h.shape[0]
    x_sum = torch.zeros_like(x)
    m_sum = torch.zeros(n, e[2].weight.shape[0], dtype=h.dtype)
    degree = torch.zeros(n, dtype=h.dtype)
    clamp = options.get("coord_clamp", 100.0)
    for k, (i, j) in enumerate(edge_index.t().tolist()):
        diff = x[i] - x[j] - (0.0 if edge_shift is None else edge_shift[k])
        d_ij = (diff * diff).sum()
        m_ij = silu(
            linear_by_hand(
                e[2], silu(linear_by_hand(e[0], torch.cat([h[i], h[j], d_ij[None], edge_attr[k]])))
            )
        )  # eq. 3
        if options.get("attention", False):
            m_ij = m_ij * torch.sigmoid(linear_by_hand(layer.att_mlp[0], m_ij))  # eq. 8
        if options.get("normalize", False):
            diff = diff / torch.sqrt(d_ij + options.get("norm_eps", 1e-8))
        assert c[2].bias is None
        phi_x = linear_by_hand(c[2], silu(linear_by_hand(c[0], m_ij)))
        if options.get("tanh", False):
            phi_x = torch.tanh(phi_x) * options.get("coord_range", 1.0)
        trans = diff * phi_x  # eq. 4: x_i - x_j, away from j for a positive phi_x
        x_sum[i] += trans if clamp is None else trans.clamp(-clamp, clamp)
        m_sum[i] += m_ij  # eq. 5
        degree[i] += 1
    c_i = 1.0 / degree.clamp(min=1)[:, None] if options.get("coord_agg", "mean") == "mean" else 1.0
    delta = c_i * x_sum
    if options.get("velocity", False):
        v = layer.vel_mlp
        delta = delta + linear_by_hand(v[2], silu(linear_by_hand(v[0], h))) * vel  # eq. 7
    n_ = layer.node_mlp
    h_out = linear_by_hand(
        n_[2], silu(linear_by_hand(n_[0], torch.cat([h, m_sum], dim=1)))
    )  # eq. 6
    return h + h_out if options.get("residual", True) else h_out, x + delta


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"attention": True, "coord_agg": "sum"},
        {"velocity": True, "residual": True},
        {"normalize": True, "tanh": True, "coord_range": 2.0, "residual": False},
        {"normalize": True, "norm_eps": 0.5},
        {"coord_clamp": 0.2},  # about half the messages clamped, of both signs
    ],
    ids=lambda o: ",".join(o) or "default",
)
@pytest.mark.parametrize("shifted", [False, True], ids=["plain", "periodic-shift"])
def test_egcl_follows_the_equations_edge_by_edge(options, shifted):
    """Against a direct per-edge evaluation of eqs. 3-8: this catches what equivariance cannot,
    e.g. x_j - x_i for x_i - x_j, or a sum where the mean belongs."""
    torch.manual_seed(1)
    layer = EGCL(6, edge_attr_nf=2, **{"coord_clamp": None, **options}).double().eval()
    torch.nn.init.normal_(layer.coord_mlp[-1].weight, std=1.0)  # O(1) coordinate updates
    inputs = make_inputs(n_nodes=4, n_graphs=2, in_nf=6, velocity=options.get("velocity", False))
    inputs["edge_index"] = inputs["edge_index"][:, :-2]  # unequal degrees: mean != sum / const
    inputs["edge_attr"] = inputs["edge_attr"][:-2]
    n_edges = inputs["edge_index"].shape[1]
    shift = torch.randn(n_edges, 3, generator=torch.Generator().manual_seed(2)).double()
    inputs["edge_shift"] = shift if shifted else None
    with torch.no_grad():
        h, x = layer(**inputs)
        h_ref, x_ref = _egcl_by_the_equations(
            layer, {"coord_clamp": None, **options}, **{"vel": None, **inputs}
        )
    assert (x - inputs["x"]).abs().max() > 0.1  # the coordinate update is not negligible
    torch.testing.assert_close(h, h_ref)
    torch.testing.assert_close(x, x_ref)


@pytest.mark.parametrize(
    ("options", "in_nf", "expected"),
    [
        # phi_e (2F + 1 + A -> F -> F), phi_x (F -> F -> 1, no bias), phi_h (F + F -> F -> F)
        ({}, 6, (13 * 6 + 6 + 36 + 6) + (36 + 6 + 6) + (12 * 6 + 6 + 36 + 6)),
        ({"edge_attr_nf": 2}, 6, (15 * 6 + 6 + 42) + 48 + 120),
        ({"attention": True}, 6, 126 + 48 + 120 + (6 + 1)),  # the gate F -> 1
        ({"velocity": True}, 6, 126 + 48 + 120 + (36 + 6 + 6 + 1)),  # phi_v F -> F -> 1
        ({"update_coords": False}, 6, 126 + 120),
        ({"update_nodes": False}, 6, 126 + 48),
        ({"residual": False}, 3, (7 * 6 + 6 + 42) + 48 + (9 * 6 + 6 + 42)),  # F_in = 3
    ],
    ids=lambda v: ",".join(v) if isinstance(v, dict) else None,
)
def test_egcl_has_the_papers_sub_networks(options, in_nf, expected):
    layer = EGCL(6, in_nf=in_nf, **options)
    assert sum(p.numel() for p in layer.parameters()) == expected
    acts = [type(m) for m in layer.modules() if isinstance(m, torch.nn.SiLU)]
    n_mlps = 2 + ("update_coords" not in options) + options.get("velocity", False)
    n_mlps -= "update_nodes" in options
    assert len(acts) == n_mlps + 1  # phi_e has two SiLUs, every other MLP one


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
