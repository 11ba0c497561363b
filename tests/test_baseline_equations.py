"""The GNN and Radial Field baselines against their equations evaluated edge by edge from the
weight matrices (not from the modules' own sub-networks), on a graph whose nodes receive
different numbers of edges; and their layouts (sizes, options, bounds)."""

import pytest
import torch
from torch.nn.functional import silu

from egnn.nn import fully_connected_edges
from egnn.nn.baselines.gnn import GCL, GNN
from egnn.nn.baselines.radial_field import RadialField, RadialFieldLayer

from .conftest import linear_by_hand


def graph(n=6, d=3, edge_nf=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    edges = fully_connected_edges(n)
    edges = edges[:, torch.rand(edges.shape[1], generator=g) < 0.6]
    return {
        "x": 2 * torch.randn(n, d, generator=g, dtype=torch.float64),
        "vel": torch.randn(n, d, generator=g, dtype=torch.float64),
        "h": torch.randn(n, 3, generator=g, dtype=torch.float64),
        "edge_index": edges,
        "edge_attr": torch.randn(edges.shape[1], edge_nf, generator=g, dtype=torch.float64),
    }


def gcl_by_hand(layer, h, edge_index, edge_attr, residual, attention):
    e, n_ = layer.edge_mlp, layer.node_mlp
    m_sum = torch.zeros(h.shape[0], e[2].weight.shape[0], dtype=h.dtype)
    for k, (i, j) in enumerate(edge_index.t().tolist()):
        m = silu(
            linear_by_hand(e[2], silu(linear_by_hand(e[0], torch.cat([h[i], h[j], edge_attr[k]]))))
        )
        if attention:
            m = m * torch.sigmoid(linear_by_hand(layer.att_mlp[0], m))
        m_sum[i] += m
    out = linear_by_hand(n_[2], silu(linear_by_hand(n_[0], torch.cat([h, m_sum], dim=1))))
    return h + out if residual else out


@pytest.mark.parametrize(
    "options",
    [{}, {"attention": True, "residual": False}],
    ids=["default", "attention,no-residual"],
)
@pytest.mark.parametrize("mlp_decoder", [True, False])
def test_gnn_by_the_equations(options, mlp_decoder):
    torch.manual_seed(0)
    net = GNN(3, 8, 2, in_edge_nf=2, n_layers=2, mlp_decoder=mlp_decoder, **options).double()
    inputs = graph()
    with torch.no_grad():
        got = net(inputs["h"], inputs["edge_index"], inputs["edge_attr"])
        h = linear_by_hand(net.embedding, inputs["h"])
        for layer in net.layers:
            h = gcl_by_hand(
                layer,
                h,
                inputs["edge_index"],
                inputs["edge_attr"],
                options.get("residual", True),
                options.get("attention", False),
            )
        d = net.decoder
        expected = (
            linear_by_hand(d[2], silu(linear_by_hand(d[0], h)))
            if mlp_decoder
            else linear_by_hand(d, h)
        )
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_gnn_layout():
    layer = GCL(8)  # defaults: no edge attributes, residual, no gate
    assert layer.edge_mlp[0].in_features == 16 and layer.residual and layer.att_mlp is None
    tanh_net = GNN(3, 8, 2, act=torch.nn.Tanh)
    acts = {type(m) for m in tanh_net.modules() if isinstance(m, torch.nn.Tanh | torch.nn.SiLU)}
    assert acts == {torch.nn.Tanh}
    net = GNN(3, 8, 2, in_edge_nf=1)
    assert len(net.layers) == 4
    assert all(layer.residual and layer.att_mlp is None for layer in net.layers)
    assert net.layers[0].edge_mlp[0].in_features == 2 * 8 + 1
    assert isinstance(net.decoder, torch.nn.Sequential)
    assert isinstance(GNN(3, 8, 2, mlp_decoder=False).decoder, torch.nn.Linear)
    assert GNN(3, 8, 2).layers[0].edge_mlp[0].in_features == 16  # no edge attributes
    layer = GCL(8, 1, in_nf=3, residual=False)
    assert layer.edge_mlp[0].in_features == 2 * 3 + 1 and layer.node_mlp[0].in_features == 3 + 8


def rf_layer_by_hand(layer, x, vel, edge_index, edge_attr, tanh, velocity):
    phi, n = layer.phi, x.shape[0]
    total, degree = torch.zeros_like(x), torch.zeros(n, 1, dtype=x.dtype)
    for k, (i, j) in enumerate(edge_index.t().tolist()):
        diff = x[i] - x[j]
        dist = torch.sqrt((diff * diff).sum() + 1e-12)
        scalars = dist[None] if edge_attr is None else torch.cat([dist[None], edge_attr[k]])
        assert phi[2].bias is None
        w = linear_by_hand(phi[2], silu(linear_by_hand(phi[0], scalars)))
        total[i] += diff * (torch.tanh(w) if tanh else w)
        degree[i] += 1
    x = x + total / degree.clamp(min=1)
    if velocity:
        speed = torch.sqrt((vel * vel).sum(dim=1, keepdim=True))
        v = layer.vel_mlp
        x = x + vel * linear_by_hand(v[2], silu(linear_by_hand(v[0], speed)))
    return x


@pytest.mark.parametrize(
    "options",
    [{}, {"tanh": False}, {"velocity": False, "coord_decay": 0.1}, {"edge_nf": 0}],
    ids=["default", "no-tanh", "no-velocity,decay", "no-edge-attr"],
)
def test_radial_field_by_the_equations(options):
    options = dict(options)
    edge_nf = options.pop("edge_nf", 2)
    torch.manual_seed(0)
    net = RadialField(8, edge_attr_nf=edge_nf, n_layers=2, **options).double()
    for layer in net.layers:  # O(1) weights, so that tanh and the decay show
        torch.nn.init.normal_(layer.phi[2].weight, std=1.0)
    inputs = graph(edge_nf=edge_nf)
    edge_attr = inputs["edge_attr"] if edge_nf else None
    velocity = options.get("velocity", True)
    vel = inputs["vel"] if velocity else None
    with torch.no_grad():
        got = net(inputs["x"], vel, inputs["edge_index"], edge_attr)
        x = inputs["x"]
        for layer in net.layers:
            x = rf_layer_by_hand(
                layer, x, vel, inputs["edge_index"], edge_attr, options.get("tanh", True), velocity
            )
            x = x - options.get("coord_decay", 0.0) * x
    torch.testing.assert_close(got, x, rtol=1e-12, atol=1e-12)
    assert (got - inputs["x"]).abs().max() > 0.1


def test_radial_field_layout_and_refusal():
    net = RadialField()
    assert len(net.layers) == 4 and net.coord_decay == 0.0
    layer = net.layers[0]
    assert layer.phi[0].in_features == 1 and layer.phi[0].out_features == 64
    assert isinstance(layer.phi[-1], torch.nn.Tanh) and layer.vel_mlp is not None
    assert layer.phi[2].weight.abs().max() < 0.01  # the gain-0.001 initialisation
    assert RadialFieldLayer(velocity=False, tanh=False).vel_mlp is None
    default = RadialFieldLayer()  # 64 features, no edge attributes, velocity term, tanh bound
    assert default.phi[0].in_features == 1 and default.phi[0].out_features == 64
    assert default.vel_mlp is not None and isinstance(default.phi[-1], torch.nn.Tanh)
    with pytest.raises(
        ValueError, match=r"^this RadialField was built with velocity=True: pass vel \[N, D\]$"
    ):
        net(torch.zeros(3, 3), None, fully_connected_edges(3))


def test_radial_field_coincident_particles_stay_finite():
    """Two particles at the same place: the distance under the square root is offset, not cut."""
    torch.manual_seed(0)
    net = RadialField(8, n_layers=1, velocity=False).double()
    x = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    out = net(x, None, fully_connected_edges(2))
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(x.grad).all()
