"""The EGNN network is its parts: every option reaches every layer, the defaults are the layer's,
and bad options or inputs are refused in a message that names the value.

Equivariance and the comparisons with the release's formulation cannot see a wrongly wired
option (a layer built without ``attention`` still matches a reference that reads the same
layer); here the network is compared with the same layers built and applied by hand, on a graph
whose nodes send and receive different numbers of edges.
"""

import inspect

import pytest
import torch

from egnn import EGCL, EGNN
from egnn.nn import fully_connected_edges

#: Options shared by EGNN and EGCL, with a value other than the default for each.
LAYER_OPTIONS = {
    "attention": True,
    "residual": False,
    "coord_agg": "sum",
    "normalize": True,
    "tanh": True,
    "coord_range": 2.5,
    "coord_clamp": 0.05,
    "norm_eps": 0.3,
    "act": torch.nn.Tanh,
}


def asymmetric_graph(n_nodes=6, seed=0):
    """A directed graph whose in-degrees differ from node to node and from the out-degrees."""
    edges = fully_connected_edges(n_nodes)
    keep = torch.rand(edges.shape[1], generator=torch.Generator().manual_seed(seed)) < 0.6
    edges = edges[:, keep]
    in_degree = torch.bincount(edges[0], minlength=n_nodes)
    out_degree = torch.bincount(edges[1], minlength=n_nodes)
    assert len(set(in_degree.tolist())) > 1 and not torch.equal(in_degree, out_degree)
    return edges


def inputs_for(edge_index, n_nodes=6, in_nf=3, edge_nf=2, d=3, seed=1):
    g = torch.Generator().manual_seed(seed)
    return {
        "h": torch.randn(n_nodes, in_nf, generator=g, dtype=torch.float64),
        "x": 2 * torch.randn(n_nodes, d, generator=g, dtype=torch.float64),
        "edge_index": edge_index,
        "edge_attr": torch.randn(edge_index.shape[1], edge_nf, generator=g, dtype=torch.float64)
        if edge_nf
        else None,
        "vel": torch.randn(n_nodes, d, generator=g, dtype=torch.float64),
    }


def by_hand(net, layer_options, h, x, edge_index, edge_attr, vel, edge_shift=None, coord_decay=0.0):
    """The network rebuilt from freshly made EGCLs (loaded with the network's weights) and run
    step by step: embedding, layers, coordinate decay, projection."""
    hidden = net.layers[0].hidden_nf
    if net.embedding_in is not None:
        h = net.embedding_in(h)
    for k, built in enumerate(net.layers):
        first_raw = k == 0 and net.embedding_in is None
        layer = EGCL(
            hidden,
            edge_attr_nf=net.in_edge_nf,
            velocity=net.velocity,
            in_nf=h.shape[1],
            update_nodes=built.node_mlp is not None,
            **{**layer_options, "residual": layer_options.get("residual", True) and not first_raw},
        ).double()
        layer.load_state_dict(built.state_dict())
        layer.eval()
        h, x = layer(
            h,
            x,
            edge_index,
            edge_attr if net.in_edge_nf else None,
            vel if net.velocity else None,
            edge_shift=edge_shift,
        )
        x = x - coord_decay * x
    if net.embedding_out is not None:
        h = net.embedding_out(h)
    return h, x


def make(in_nf=3, out_nf=2, edge_nf=2, n_layers=3, **options):
    torch.manual_seed(0)
    net = EGNN(in_nf, 8, out_nf, in_edge_nf=edge_nf, n_layers=n_layers, **options).double()
    for layer in net.layers:  # O(1) coordinate updates, so that every option shows
        if layer.coord_mlp is not None:
            torch.nn.init.normal_(layer.coord_mlp[-1].weight, std=1.0)
    return net.eval()


@pytest.mark.parametrize("name", sorted(LAYER_OPTIONS))
def test_each_option_reaches_every_layer(name):
    options = {name: LAYER_OPTIONS[name]}
    if name in ("tanh", "coord_range", "norm_eps"):  # they act only together with these
        options |= {"tanh": True, "normalize": name == "norm_eps", "coord_clamp": None}
    net = make(**options)
    inputs = inputs_for(asymmetric_graph())
    with torch.no_grad():
        got = net(**{k: v for k, v in inputs.items() if k != "vel"})
        expected = by_hand(net, options, **inputs)
        default = by_hand(net, {}, **inputs) if name != "attention" else None
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    if default is not None:  # the option changes the output: the comparison above can fail
        assert not torch.allclose(got[1], default[1], atol=1e-6)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"velocity": True, "n_layers": 2},
        {"embed_input": False, "coord_clamp": None},
        {"node_output": False, "out_nf": None},
        {"out_nf": None},
        {"coord_decay": 0.2},
        {"edge_nf": 1},
        {"edge_nf": 0},
    ],
    ids=lambda o: ",".join(o) or "default",
)
def test_network_equals_its_layers_applied_by_hand(options):
    options = dict(options)
    coord_decay = options.get("coord_decay", 0.0)
    edge_nf = options.pop("edge_nf", 2)
    net = make(edge_nf=edge_nf, **options)
    inputs = inputs_for(asymmetric_graph(), edge_nf=edge_nf)
    if not net.velocity:
        del inputs["vel"]
    with torch.no_grad():
        got = net(**inputs)
        layer_options = {k: v for k, v in options.items() if k in LAYER_OPTIONS}
        expected = by_hand(net, layer_options, **{"vel": None, **inputs}, coord_decay=coord_decay)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    out_nf = options.get("out_nf", 2)
    assert got[0].shape == (6, 8 if out_nf is None else out_nf)  # projected where asked
    moved = (got[1] - inputs["x"]).abs().max()
    assert moved > 0.1  # the coordinates moved: a lost update would show


def test_only_the_last_layer_skips_its_node_update():
    net = make(n_layers=3, out_nf=None, node_output=False)
    assert [layer.node_mlp is not None for layer in net.layers] == [True, True, False]
    assert all(layer.node_mlp is not None for layer in make(n_layers=3).layers)


def test_periodic_shift_reaches_every_layer():
    edge_index = asymmetric_graph()
    inputs = inputs_for(edge_index)
    del inputs["vel"]
    shift = torch.randn(edge_index.shape[1], 3, generator=torch.Generator().manual_seed(5)).double()
    net = make()
    with torch.no_grad():
        got = net(**inputs, edge_shift=shift)
        expected = by_hand(net, {}, **inputs, vel=None, edge_shift=shift)
        unshifted = net(**inputs)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    assert not torch.allclose(got[1], unshifted[1])


def test_network_defaults_are_the_layers_and_the_papers():
    net_defaults = inspect.signature(EGNN).parameters
    layer_defaults = inspect.signature(EGCL).parameters
    shared = set(net_defaults) & set(layer_defaults)
    assert {"attention", "normalize", "tanh", "coord_range", "coord_clamp", "norm_eps"} <= shared
    for name in shared:
        assert net_defaults[name].default == layer_defaults[name].default, name
    net = EGNN(1, 8, 1)
    assert len(net.layers) == 4  # the paper's four layers
    layer = net.layers[0]
    assert (layer.att_mlp, layer.normalize, layer.tanh) == (None, False, False)
    assert (layer.coord_range, layer.coord_clamp, layer.norm_eps) == (1.0, 100.0, 1e-8)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"coord_decay": 1.0}, r"coord_decay must lie in \[0, 1\), got 1.0$"),
        ({"coord_decay": -0.1}, r"coord_decay must lie in \[0, 1\), got -0.1$"),
        ({"in_node_nf": 0}, r"^in_node_nf must be an integer >= 1, got 0$"),
        ({"hidden_nf": 2.5}, r"^hidden_nf must be an integer >= 1, got 2.5$"),
        ({"in_edge_nf": -1}, r"^in_edge_nf must be an integer >= 0, got -1$"),
        ({"n_layers": 0}, r"^n_layers must be an integer >= 1, got 0$"),
        (
            {"node_output": False},
            r"^node_output=False returns no node features: it needs out_node_nf=None$",
        ),
        ({"out_node_nf": 0}, r"^out_node_nf must be >= 1 or None, got 0$"),
    ],
)
def test_bad_options_are_named_with_their_value(options, message):
    args = {"in_node_nf": 3, "hidden_nf": 8, "out_node_nf": 2, **options}
    with pytest.raises(ValueError, match=message):
        EGNN(**args)


def test_smallest_sizes_are_accepted():
    net = EGNN(in_node_nf=1, hidden_nf=1, out_node_nf=1, in_edge_nf=0, n_layers=1, coord_decay=0.0)
    h, x = net(torch.ones(2, 1), torch.randn(2, 3), fully_connected_edges(2))
    assert h.shape == (2, 1) and x.shape == (2, 3)


@pytest.mark.parametrize(
    ("edge_nf", "change", "message"),
    [
        (2, {"x": torch.zeros(5, 3)}, r"^x must have shape \[N=6, D\], got \[5, 3\]$"),
        (1, {"edge_attr": None}, r"^edge_attr must have shape \[E=\d+, 1\], got None$"),
        (2, {"edge_attr": "wide"}, r"^edge_attr must have shape \[E=(\d+), 2\], got \[\1, 3\]$"),
        (
            0,
            {"edge_attr": "one"},
            r"^edge_attr was given but the network was built with in_edge_nf=0$",
        ),
        (
            2,
            {"vel": torch.zeros(6, 2)},
            r"^velocity=True needs vel of shape \[6, 3\], got \[6, 2\]$",
        ),
        (2, {"vel": None}, r"^velocity=True needs vel of shape \[6, 3\], got None$"),
        (
            2,
            {"edge_shift": "short"},
            r"^edge_shift must have shape \[E=(\d+), D=3\], got \[\1, 2\]$",
        ),
    ],
)
def test_bad_inputs_are_named_with_their_shape(edge_nf, change, message):
    net = make(edge_nf=edge_nf, velocity=True, n_layers=1).float()
    inputs = {
        k: v.float() if v is not None and v.is_floating_point() else v
        for k, v in inputs_for(asymmetric_graph(), edge_nf=edge_nf).items()
    }
    n_edges = inputs["edge_index"].shape[1]
    special = {
        "wide": torch.zeros(n_edges, 3),
        "one": torch.zeros(n_edges, 1),
        "short": torch.zeros(n_edges, 2),
    }
    inputs.update({k: special.get(v, v) if isinstance(v, str) else v for k, v in change.items()})
    with pytest.raises(ValueError, match=message):
        net(**inputs)


def test_empty_edge_attributes_are_no_attributes():
    """An [E, 0] tensor is what a data pipeline without edge features hands over: accepted by a
    network built with in_edge_nf=0, and the same as passing none."""
    net = make(edge_nf=0)
    inputs = inputs_for(asymmetric_graph(), edge_nf=0)
    del inputs["vel"]
    empty = torch.zeros(inputs["edge_index"].shape[1], 0, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(net(**{**inputs, "edge_attr": empty}), net(**inputs))
    single_edge = torch.tensor([[0], [1]])
    with pytest.raises(ValueError, match="in_edge_nf=0"):
        net(inputs["h"], inputs["x"], single_edge, torch.zeros(1, 1, dtype=torch.float64))


@pytest.mark.parametrize(
    "options",
    [{"coord_clamp": 0.05}, {"edge_nf": 0}, {"coord_agg": "mean", "velocity": True}],
    ids=["clamp-acting", "no-edge-attributes", "mean-over-unequal-degrees"],
)
def test_release_formulation_on_a_graph_with_unequal_degrees(options):
    """The reference the benchmark times, on what the symmetric test graphs cannot show: messages
    clamped on both sides, no edge attributes, nodes receiving one edge or none."""
    from egnn.nn.release import reference_egnn

    options = dict(options)
    edge_nf = options.pop("edge_nf", 2)
    net = make(edge_nf=edge_nf, **options)
    edge_index = asymmetric_graph()
    into_1 = (edge_index[0] == 1).nonzero()[1:, 0]  # node 1 keeps one incoming edge
    keep = edge_index[0] != 3  # node 3 receives none
    keep[into_1] = False
    edge_index = edge_index[:, keep]
    assert torch.bincount(edge_index[0], minlength=6)[[1, 3]].tolist() == [1, 0]
    inputs = inputs_for(edge_index, edge_nf=edge_nf)
    if not net.velocity:
        del inputs["vel"]
    with torch.no_grad():
        got = net(**inputs)
        expected = reference_egnn(net, **inputs)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
