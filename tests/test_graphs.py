"""egnn.graphs against brute force: fully connected, radius, kNN and periodic radius graphs on
batched clouds of varied sizes (empty graphs, single nodes, duplicate points; D = 1, 2, 3)."""

import itertools
import math
import subprocess
import sys

import pytest
import torch

from egnn.graphs import (
    batch_from_sizes,
    from_pyg,
    fully_connected,
    graph_sizes,
    knn_graph,
    periodic_radius_graph,
    radius_graph,
    to_pyg,
)
from egnn.graphs import knn as knn_module

SIZES = [0, 1, 2, 7, 40, 0, 130, 3]


def random_cloud(sizes, dim, seed=0, duplicates=True, scale=4.0):
    """Batched random points; the first node of each graph of >= 3 nodes is repeated."""
    g = torch.Generator().manual_seed(seed)
    batch = batch_from_sizes(sizes)
    pos = scale * torch.rand(len(batch), dim, generator=g, dtype=torch.float64)
    pos = pos + 100.0 * torch.randn(len(sizes), dim, generator=g, dtype=torch.float64)[batch]
    if duplicates:
        start = 0
        for n in sizes:
            if n >= 3:
                pos[start + 1] = pos[start]
            start += n
    return pos, batch


def pairwise_distances(a, b):
    """Exact [N, M] distances (torch.cdist may use a less precise matrix-product formula)."""
    return (a[:, None, :] - b[None, :, :]).norm(dim=-1)


def edge_set(edge_index):
    return set(map(tuple, edge_index.t().tolist()))


def brute_radius(pos, batch, r, loop=False):
    dist = pairwise_distances(pos, pos)
    same = batch[:, None] == batch[None, :]
    mask = same & (dist < r)
    if not loop:
        mask.fill_diagonal_(False)
    return {(i, j) for i, j in mask.nonzero().tolist()}


def test_edge_direction_converters_swap_rows():
    edges = torch.tensor([[0, 0, 2], [1, 2, 1]])
    assert torch.equal(to_pyg(edges), torch.tensor([[1, 2, 1], [0, 0, 2]]))
    assert torch.equal(from_pyg(to_pyg(edges)), edges)
    with pytest.raises(ValueError, match="shape \\[2, E\\]"):
        to_pyg(torch.zeros(3, 2, dtype=torch.long))


@pytest.mark.parametrize("loop", [False, True])
def test_fully_connected_matches_brute_force_for_any_sizes(loop):
    sizes = [3, 0, 1, 5, 2]
    batch = batch_from_sizes(sizes)
    shuffled = batch[torch.randperm(len(batch), generator=torch.Generator().manual_seed(1))]
    for b in (batch, shuffled):
        expected = {
            (i, j)
            for i in range(len(b))
            for j in range(len(b))
            if b[i] == b[j] and (loop or i != j)
        }
        edges = fully_connected(b, loop=loop)
        assert edges.dtype == torch.long
        assert edges.shape[1] == len(expected) == sum(n * (n - (not loop)) for n in sizes)
        assert edge_set(edges) == expected
    assert fully_connected(torch.zeros(0, dtype=torch.long)).shape == (2, 0)
    assert torch.equal(graph_sizes(batch), torch.tensor(sizes))


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("loop", [False, True])
def test_radius_graph_matches_brute_force(dim, loop):
    pos, batch = random_cloud(SIZES, dim, seed=dim)
    r = 1.2
    edges = radius_graph(pos, r, batch, loop=loop)
    assert edges.shape[1] == len(edge_set(edges))  # no duplicate edges
    assert edge_set(edges) == brute_radius(pos, batch, r, loop)
    assert edges.shape[1] > 100


def test_radius_graph_float32_single_graph_and_trivial_inputs():
    pos, _ = random_cloud([300], 3, seed=5)
    edges = radius_graph(pos.float(), 1.0)
    # Distances are compared in float64, of the float32 positions.
    single = torch.zeros(300, dtype=torch.long)
    assert edge_set(edges) == brute_radius(pos.float().double(), single, 1.0)
    assert radius_graph(torch.zeros(0, 3), 1.0).shape == (2, 0)
    assert radius_graph(torch.zeros(1, 2), 1.0).shape == (2, 0)
    assert radius_graph(torch.zeros(1, 2), 1.0, loop=True).tolist() == [[0], [0]]
    # Duplicate points are neighbours at distance 0.
    assert edge_set(radius_graph(torch.zeros(3, 3), 0.5)) == {
        (i, j) for i in range(3) for j in range(3) if i != j
    }


@pytest.mark.parametrize("limit", [1, 4])
def test_radius_graph_max_num_neighbors_keeps_the_nearest(limit):
    pos, batch = random_cloud(SIZES, 3, seed=7, duplicates=False)
    r = 1.5
    edges = radius_graph(pos, r, batch, max_num_neighbors=limit)
    full = brute_radius(pos, batch, r)
    dist = pairwise_distances(pos, pos)
    for i in range(len(batch)):
        senders = [j for (a, j) in full if a == i]
        nearest = sorted(senders, key=lambda j: dist[i, j].item())[:limit]
        assert set(edges[1][edges[0] == i].tolist()) == set(nearest)


def brute_knn_distances(pos, batch, k, loop):
    dist = pairwise_distances(pos, pos)
    dist[batch[:, None] != batch[None, :]] = math.inf
    if not loop:
        dist.fill_diagonal_(math.inf)
    out = []
    for i in range(len(batch)):
        row = dist[i][torch.isfinite(dist[i])]
        out.append(torch.sort(row).values[:k])
    return out


def check_knn(pos, batch, k, loop):
    edges = knn_graph(pos, k, batch, loop=loop)
    assert edges.shape[1] == len(edge_set(edges))
    assert bool((batch[edges[0]] == batch[edges[1]]).all())
    dist = (pos[edges[0]] - pos[edges[1]]).norm(dim=1)
    expected = brute_knn_distances(pos, batch, k, loop)
    for i in range(len(batch)):
        mine = dist[edges[0] == i]
        assert torch.all(mine[1:] >= mine[:-1])  # nearest first
        torch.testing.assert_close(mine, expected[i], rtol=0, atol=1e-10)
    return edges


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("k", [1, 6, 20])
@pytest.mark.parametrize("loop", [False, True])
def test_knn_graph_matches_brute_force(dim, k, loop):
    pos, batch = random_cloud(SIZES, dim, seed=10 * dim + k)
    check_knn(pos, batch, k, loop)


def test_knn_graph_exact_on_continuous_points():
    pos, batch = random_cloud([50, 80], 3, seed=3, duplicates=False)
    edges = knn_graph(pos, 5, batch)
    dist = pairwise_distances(pos, pos)
    dist[batch[:, None] != batch[None, :]] = math.inf
    dist.fill_diagonal_(math.inf)
    expected = {
        (i, j) for i in range(len(batch)) for j in dist[i].topk(5, largest=False).indices.tolist()
    }
    assert edge_set(edges) == expected


@pytest.mark.parametrize(
    "patch", [{"EXPECTED_NEIGHBOURS": 0.05}, {"EXPECTED_NEIGHBOURS": 0.05, "MAX_ROUNDS": 1}]
)
def test_knn_graph_repeated_queries_and_exact_fallback(monkeypatch, patch):
    """A first cutoff far too small: the doubling rounds, then the chunked search, must still
    return the exact neighbours (a dense cluster beside sparse outliers)."""
    for name, value in patch.items():
        monkeypatch.setattr(knn_module, name, value)
    monkeypatch.setattr(knn_module, "CHUNK_ELEMENTS", 64)
    g = torch.Generator().manual_seed(4)
    cluster = 0.01 * torch.randn(150, 3, generator=g, dtype=torch.float64)
    outliers = 20 * torch.rand(20, 3, generator=g, dtype=torch.float64)
    pos = torch.cat([cluster, outliers, 0.5 * torch.rand(30, 3, generator=g, dtype=torch.float64)])
    batch = batch_from_sizes([170, 30])
    check_knn(pos, batch, 8, loop=False)


def test_knn_graph_small_graphs_connect_everything():
    batch = batch_from_sizes([1, 2, 3])
    pos = torch.randn(6, 2, dtype=torch.float64)
    assert edge_set(knn_graph(pos, 10, batch)) == edge_set(fully_connected(batch))
    assert edge_set(knn_graph(pos, 10, batch, loop=True)) == edge_set(
        fully_connected(batch, loop=True)
    )
    assert knn_graph(torch.zeros(0, 3), 3).shape == (2, 0)
    assert knn_graph(torch.zeros(1, 3), 3).shape == (2, 0)
    assert knn_graph(torch.zeros(1, 3), 3, loop=True).tolist() == [[0], [0]]
    assert knn_graph(torch.zeros(3, 2), 3, batch_from_sizes([1, 1, 1])).shape == (2, 0)


def brute_periodic(pos, cell, pbc, r, loop):
    """(i, j, shift) of every sender image within r of each receiver, by enumerating images."""
    dim = pos.shape[1]
    heights = 1.0 / torch.linalg.inv(cell).norm(dim=0)  # distance between opposite cell faces
    frac = pos @ torch.linalg.inv(cell)  # unwrapped positions span several cells
    span = (frac.max(dim=0).values - frac.min(dim=0).values) if len(pos) else torch.zeros(dim)
    reach = [
        int(math.ceil(r / h.item() + s.item())) + 1 if p else 0
        for h, s, p in zip(heights, span, pbc, strict=True)
    ]
    found = set()
    for shift in itertools.product(*[range(-m, m + 1) for m in reach]):
        vec = torch.tensor(shift, dtype=pos.dtype) @ cell
        dist = pairwise_distances(pos, pos + vec)
        for i, j in (dist < r).nonzero().tolist():
            if i == j and not any(shift) and not loop:
                continue
            found.add((i, j, shift))
    return found


def periodic_set(edges, shift, cell):
    cell_shift = torch.round(shift @ torch.linalg.inv(cell)).long()
    torch.testing.assert_close(cell_shift.to(shift.dtype) @ cell, shift)
    return {
        (i, j, tuple(s)) for (i, j), s in zip(edges.t().tolist(), cell_shift.tolist(), strict=True)
    }


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("loop", [False, True])
def test_periodic_radius_graph_matches_brute_force(dim, loop):
    g = torch.Generator().manual_seed(dim)
    sizes = [12, 0, 1, 25]
    batch = batch_from_sizes(sizes)
    # Skewed cells, one smaller than 2r (several images of the same node within reach).
    cells = (
        torch.eye(dim, dtype=torch.float64).repeat(len(sizes), 1, 1)
        * torch.tensor([3.0, 2.0, 2.5, 1.3], dtype=torch.float64)[:, None, None]
    )
    cells = cells + 0.3 * torch.rand(len(sizes), dim, dim, generator=g, dtype=torch.float64)
    pos = 4 * torch.rand(len(batch), dim, generator=g, dtype=torch.float64) - 1  # not wrapped
    pbc = [True] * dim
    if dim == 3:
        pbc[2] = False
    r = 1.1
    edges, shift = periodic_radius_graph(pos, r, cells, batch, pbc=pbc, loop=loop)
    assert shift.shape == (edges.shape[1], dim)
    vectors = pos[edges[0]] - pos[edges[1]] - shift
    assert bool((vectors.norm(dim=1) < r).all())
    start = 0
    for b, n in enumerate(sizes):
        nodes = slice(start, start + n)
        mine = batch[edges[0]] == b
        local = edges[:, mine] - start
        got = periodic_set(local, shift[mine], cells[b])
        assert len(got) == int(mine.sum())
        assert got == brute_periodic(pos[nodes], cells[b], pbc, r, loop)
        start += n


def test_periodic_radius_graph_without_periodicity_is_the_radius_graph():
    pos, batch = random_cloud([30, 20], 3, seed=2)
    edges, shift = periodic_radius_graph(
        pos, 1.3, torch.eye(3, dtype=torch.float64), batch, pbc=False
    )
    assert edge_set(edges) == edge_set(radius_graph(pos, 1.3, batch))
    assert bool((shift == 0).all())


def test_periodic_shift_is_differentiable_in_the_cell():
    pos = torch.rand(10, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    cell = (1.5 * torch.eye(3, dtype=torch.float64)).requires_grad_()
    edges, shift = periodic_radius_graph(pos, 1.0, cell)
    (shift**2).sum().backward()
    cell_shift = torch.round(shift.detach() / 1.5)
    assert bool(cell_shift.abs().sum() > 0)
    # d/dC sum ||S C||^2 = 2 S^T S C
    torch.testing.assert_close(cell.grad, 2 * cell_shift.t() @ cell_shift @ cell.detach())


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: radius_graph(torch.zeros(3, 4), 1.0), "D = 1, 2 or 3"),
        (lambda: radius_graph(torch.zeros(3), 1.0), "shape \\[N, D\\]"),
        (lambda: radius_graph(torch.zeros(3, 3), -1.0), "r \\(the cutoff radius\\)"),
        (lambda: radius_graph(torch.zeros(3, 3), 1.0, max_num_neighbors=0), "max_num_neighbors"),
        (lambda: radius_graph(torch.zeros(3, 3), 1.0, torch.zeros(2, dtype=torch.long)), "batch"),
        (lambda: radius_graph(torch.full((2, 3), math.nan), 1.0), "NaN"),
        (lambda: knn_graph(torch.zeros(3, 3), 0), "k must be"),
        (lambda: periodic_radius_graph(torch.zeros(3, 3), 1.0, torch.eye(2)), "cell must"),
    ],
)
def test_bad_inputs_raise_one_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_graphs_import_neither_lightning_nor_hydra():
    """egnn.graphs sits beside the pure-torch egnn.nn: torch, numpy and vesin only."""
    code = (
        "import sys, egnn.graphs; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'pytorch_lightning', 'lightning', 'hydra', 'omegaconf', 'torch_geometric'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
