"""The EGNN on cutoff graphs: whole-model E(n) equivariance with the graph rebuilt from the moved
positions (float64, reflections included), periodic images, batching and a gradient check."""

import pytest
import torch

from egnn import EGNN
from egnn.graphs import batch_from_sizes, knn_graph, periodic_radius_graph, radius_graph
from egnn.testing import NODE_SCALAR, POSITION, assert_equivariant, random_orthogonal

SIZES = [1, 9, 0, 30, 17]


def make_net(in_nf=4, dim_edge=0, **options):
    torch.manual_seed(0)
    net = EGNN(in_nf, 16, 3, in_edge_nf=dim_edge, n_layers=3, coord_clamp=None, **options)
    for layer in net.layers:  # large coordinate updates, so broken equivariance would show
        torch.nn.init.normal_(layer.coord_mlp[-1].weight, std=0.3)
    return net.double().eval()


def make_cloud(dim=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    batch = batch_from_sizes(SIZES)
    pos = 2.5 * torch.rand(len(batch), dim, generator=g, dtype=torch.float64)
    h = torch.randn(len(batch), 4, generator=g, dtype=torch.float64)
    return h, pos, batch


GRAPHS = {
    "radius": lambda pos, batch: radius_graph(pos, 1.2, batch),
    "radius_limited": lambda pos, batch: radius_graph(pos, 1.5, batch, max_num_neighbors=6),
    "knn": lambda pos, batch: knn_graph(pos, 5, batch),
}


@pytest.mark.parametrize("graph", list(GRAPHS))
@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("options", [{}, {"attention": True, "normalize": True}])
def test_egnn_on_rebuilt_graphs_is_equivariant(graph, dim, options):
    """E(n) (rotations, reflections, translations) and permutations, the graph built inside."""
    net = make_net(**options)
    h, pos, batch = make_cloud(dim)
    build = GRAPHS[graph]
    assert build(pos, batch).shape[1] > len(batch)  # the test runs on a real graph

    def model(h, x, batch):
        return net(h, x, build(x, batch))

    kinds = {"h": NODE_SCALAR, "x": POSITION, "batch": NODE_SCALAR}
    errors = assert_equivariant(
        model, {"h": h, "x": pos, "batch": batch}, kinds, (NODE_SCALAR, POSITION), atol=1e-10
    )
    assert set(errors) == {"rotation", "reflection", "translation", "permutation", "all"}


def test_checker_rejects_a_graph_that_is_not_invariant():
    """A graph built from raw coordinates (nodes with x_0 > 1.2 get no edges) breaks equivariance,
    and the checker must say so: the test above can fail."""
    net = make_net()
    h, pos, batch = make_cloud(3)

    def model(h, x, batch):
        edges = radius_graph(x, 1.2, batch)
        return net(h, x, edges[:, x[edges[0], 0] < 1.2])

    kinds = {"h": NODE_SCALAR, "x": POSITION, "batch": NODE_SCALAR}
    with pytest.raises(AssertionError, match="rotation"):
        assert_equivariant(
            model, {"h": h, "x": pos, "batch": batch}, kinds, (NODE_SCALAR, POSITION)
        )


def periodic_model(net, r=0.9):
    def model(h, x, cell, batch):
        edges, shift = periodic_radius_graph(x, r, cell, batch)
        return net(h, x, edges, edge_shift=shift)

    return model


def test_periodic_egnn_is_equivariant_and_sees_images():
    """Rotating (or reflecting) positions and cells together rotates x_out and keeps h_out; moving
    a node by a lattice vector changes nothing but that node's x_out, by the same vector."""
    net = make_net()
    h, pos, batch = make_cloud(3, seed=1)
    cells = torch.diag_embed(torch.tensor([[2.0, 2.5, 2.2]] * len(SIZES), dtype=torch.float64))
    cells = cells + 0.2 * torch.rand(len(SIZES), 3, 3, dtype=torch.float64)
    model = periodic_model(net)
    h_out, x_out = model(h, pos, cells, batch)
    g = torch.Generator().manual_seed(3)
    for reflection in (False, True):
        q = random_orthogonal(3, reflection, g)
        t = torch.randn(3, dtype=torch.float64, generator=g)
        h_moved, x_moved = model(h, pos @ q.t() + t, cells @ q.t(), batch)
        torch.testing.assert_close(h_moved, h_out, rtol=0, atol=1e-10)
        torch.testing.assert_close(x_moved, x_out @ q.t() + t, rtol=0, atol=1e-10)
    lattice = torch.tensor([1.0, -2.0, 1.0], dtype=torch.float64) @ cells[batch[5]]
    wrapped = pos.clone()
    wrapped[5] += lattice
    h_wrapped, x_wrapped = model(h, wrapped, cells, batch)
    torch.testing.assert_close(h_wrapped, h_out, rtol=0, atol=1e-10)
    expected = x_out.clone()
    expected[5] += lattice
    torch.testing.assert_close(x_wrapped, expected, rtol=0, atol=1e-10)
    # Without the shifts the same edges would give another result: the images matter.
    edges, shift = periodic_radius_graph(pos, 0.9, cells, batch)
    assert bool(shift.abs().sum() > 0)
    assert not torch.allclose(net(h, pos, edges)[0], h_out)


def test_batched_radius_graph_equals_graphs_one_by_one():
    net = make_net()
    h, pos, batch = make_cloud(3, seed=2)
    h_all, x_all = net(h, pos, radius_graph(pos, 1.2, batch))
    start = 0
    for n in SIZES:
        nodes = slice(start, start + n)
        h_one, x_one = net(h[nodes], pos[nodes], radius_graph(pos[nodes], 1.2))
        torch.testing.assert_close(h_all[nodes], h_one, rtol=0, atol=1e-12)
        torch.testing.assert_close(x_all[nodes], x_one, rtol=0, atol=1e-12)
        start += n


def test_gradients_on_a_radius_graph_match_finite_differences():
    net = make_net(dim_edge=1, attention=True)
    h, pos, batch = make_cloud(3, seed=4)
    h, pos, batch = h[:26], pos[:26], batch[:26]  # a node alone, then graphs of 9 and 16 nodes
    edges = radius_graph(pos, 1.2, batch)
    assert edges.shape[1] > 26
    edge_attr = torch.rand(edges.shape[1], 1, dtype=torch.float64)
    h.requires_grad_(True)
    pos.requires_grad_(True)

    def f(h, pos):
        h_out, x_out = net(h, pos, edges, edge_attr)
        return h_out.sum(dim=1), x_out

    assert torch.autograd.gradcheck(f, (h, pos), eps=1e-6, atol=1e-6)
