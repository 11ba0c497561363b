"""k-nearest-neighbour graphs, exact, on top of cutoff queries (never N * N memory).

vesin answers cutoff queries only, so :func:`knn_graph` works in rounds:

1. Each graph gets a cutoff from its bounding box that should hold about 4(k + 1) neighbours at
   uniform density (nodes on faces and edges of the box see a half or a quarter of that); the graph is rescaled so that this cutoff is 1 (rescaling keeps the order of
   distances), and all graphs of the batch go through one cutoff query.
2. Nodes that found at least k neighbours keep the k nearest. Those are exact: every node
   outside the cutoff is farther than every node inside.
3. A graph whose share of short nodes exceeds 1/16 is queried again with twice the cutoff (at
   most four rounds, and at most ``MAX_ROUND_PAIRS`` pairs per round); the remaining short nodes
   are answered by an exact chunked search against their own graph, which holds at most
   ``CHUNK_ELEMENTS`` distances at a time. That search costs n_b distances per short node, so
   strongly clustered clouds (a dense cluster far from sparse outliers) are slower, never larger.

Edges follow the receiver-first convention of :mod:`egnn.graphs.convention`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from egnn.graphs.batch import check_batch, graph_sizes, num_graphs
from egnn.graphs.cell_list import MAX_DIM, as_points, check_positions, cutoff_pairs, pack_graphs
from egnn.graphs.select import keep_nearest, sort_by_receiver_then_distance

CHUNK_ELEMENTS = 1 << 22  # distances held at once by the exact fallback (32 MiB in float64)
MAX_ROUNDS = 4
SHORT_SHARE = 1 / 16  # above this share of short nodes, a graph is queried with a doubled cutoff
MAX_ROUND_PAIRS = 1 << 25  # largest expected number of pairs of a repeated cutoff query
EXPECTED_NEIGHBOURS = 4  # the first cutoff holds about this many times (k + 1) nodes
_UNIT_BALL = {1: 2.0, 2: math.pi, 3: 4.0 * math.pi / 3.0}


def _initial_cutoffs(points: Tensor, batch: Tensor, n_graphs: int, k_per_graph: Tensor) -> Tensor:
    """A cutoff per graph expected to hold about 4(k + 1) nodes, from the bounding box. [B]."""
    index = batch[:, None].expand(-1, MAX_DIM)
    inf = torch.full((n_graphs, MAX_DIM), math.inf, dtype=points.dtype, device=points.device)
    low = inf.scatter_reduce(0, index, points, reduce="amin")
    high = (-inf).scatter_reduce(0, index, points, reduce="amax")
    extent = torch.nan_to_num(high - low, nan=0.0, posinf=0.0, neginf=0.0)
    diameter = extent.norm(dim=1)
    scale = diameter.clamp(min=1e-300)
    active = extent > 1e-9 * scale[:, None]  # axes along which the graph is spread
    dims = active.sum(dim=1)
    volume = torch.where(active, extent, torch.ones_like(extent)).prod(dim=1)
    sizes = graph_sizes(batch, n_graphs).to(points.dtype).clamp(min=1.0)
    spread = dims > 0  # graphs of one node, or of coincident nodes: any cutoff holds them all
    exponent = 1.0 / dims.clamp(min=1).to(points.dtype)
    ball = torch.tensor([1.0, *_UNIT_BALL.values()], dtype=points.dtype, device=points.device)
    per_node = volume / sizes / ball[dims]  # ball volume per node / unit ball volume
    guess = (EXPECTED_NEIGHBOURS * (k_per_graph.to(points.dtype) + 1.0) * per_node) ** exponent
    guess = torch.minimum(guess, 1.0001 * diameter)  # no need to look past the diameter
    cutoffs = torch.where(spread, guess, torch.ones_like(guess))
    return cutoffs


def _exact_chunked(
    points: Tensor, queries: Tensor, candidates: Tensor, k: int, loop: bool
) -> tuple[Tensor, Tensor, Tensor]:
    """The k nearest ``candidates`` of each node of ``queries`` by direct distances, in chunks.

    Returns receiver [Q * k], sender [Q * k] and distance [Q * k].
    """
    rows = max(1, CHUNK_ELEMENTS // max(candidates.numel(), 1))
    receivers, senders, distances = [], [], []
    for start in range(0, queries.numel(), rows):
        chunk = queries[start : start + rows]
        dist = torch.cdist(  # [C, n_b], differences, not the less precise matrix-product form
            points[chunk], points[candidates], compute_mode="donot_use_mm_for_euclid_dist"
        )
        if not loop:
            dist[chunk[:, None] == candidates[None, :]] = math.inf
        nearest, where = torch.topk(dist, k, dim=1, largest=False)
        receivers.append(chunk.repeat_interleave(k))
        senders.append(candidates[where].reshape(-1))
        distances.append(nearest.reshape(-1))
    return torch.cat(receivers), torch.cat(senders), torch.cat(distances)


def knn_graph(pos: Tensor, k: int, batch: Tensor | None = None, loop: bool = False) -> Tensor:
    """Edges from each node's k nearest nodes of the same graph to the node.

    The result is exact (see the module docstring for the method); at distance ties the choice
    among equally distant nodes is unspecified. A graph of n <= k nodes connects each node to all
    others (n - 1 senders; n with ``loop``). Duplicate points are neighbours at distance 0.

    Args:
        pos: node positions, [N, D] with D = 1, 2 or 3.
        k: number of neighbours per node (>= 1).
        batch: graph of each node, [N] int64; ``None`` for one graph.
        loop: count the node itself among its k nearest (the self loop (i, i) is then an edge).

    Returns:
        edge_index [2, E] int64, row 0 the receiver i (the node), row 1 the sender j (one of its k
        nearest); receiver-first, :func:`egnn.graphs.to_pyg` converts to PyG's order. Edges are
        grouped by receiver, nearest sender first. The graph is not symmetric.
    """
    check_positions(pos)
    if int(k) != k or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    k = int(k)
    n_nodes = pos.shape[0]
    batch = check_batch(batch, n_nodes, pos.device)
    n_graphs = num_graphs(batch)
    if n_nodes == 0:
        return torch.zeros(2, 0, dtype=torch.long, device=pos.device)
    points = as_points(pos)
    sizes = graph_sizes(batch, n_graphs)
    k_graph = torch.clamp(sizes if loop else sizes - 1, max=k)  # [B]
    k_node = k_graph[batch]
    cutoffs = _initial_cutoffs(points, batch, n_graphs, k_graph)

    done: list[tuple[Tensor, Tensor, Tensor]] = []
    pending = k_node > 0  # nodes still without their k neighbours
    for _ in range(MAX_ROUNDS):
        if not bool(pending.any()):
            break
        graphs = torch.unique(batch[pending])
        nodes = torch.nonzero(torch.isin(batch, graphs)).squeeze(1)
        scaled = points[nodes] / cutoffs[batch[nodes]][:, None]  # the graph's cutoff becomes 1
        local_batch = torch.searchsorted(graphs, batch[nodes])
        packed = pack_graphs(scaled, local_batch, graphs.numel(), gap=1.0)
        receiver, sender, distance = cutoff_pairs(packed, 1.0, quantities="ijd")
        if nodes.numel() < n_nodes:  # local indices of this round -> indices of the batch
            receiver, sender = nodes[receiver], nodes[sender]
        if loop:
            receiver, sender = torch.cat([receiver, nodes]), torch.cat([sender, nodes])
            distance = torch.cat([distance, distance.new_zeros(nodes.numel())])
        pairs = torch.bincount(batch[receiver], minlength=n_graphs)
        found = torch.bincount(receiver, minlength=n_nodes)
        complete = pending & (found >= k_node)
        # The k nearest of every receiver first (at most N * k edges), then only complete ones.
        keep = keep_nearest(receiver, distance, k_node, n_nodes, bound=1.0)
        receiver, sender = receiver[keep], sender[keep]
        use = complete[receiver]
        receiver, sender = receiver[use], sender[use]
        done.append((receiver, sender, (points[receiver] - points[sender]).norm(dim=1)))
        pending = pending & ~complete
        # Graphs with many short nodes are queried again with twice the cutoff (about 8x the
        # pairs, within MAX_ROUND_PAIRS); the others go to the exact fallback.
        short = torch.bincount(batch[pending], minlength=n_graphs)
        grow = short.to(points.dtype) > SHORT_SHARE * sizes.to(points.dtype)
        if int((8 * pairs[grow]).sum()) > MAX_ROUND_PAIRS:
            grow[:] = False
        to_fallback = pending & ~grow[batch]
        if bool(to_fallback.any()):
            done.extend(_fallback(points, batch, to_fallback, k_graph, loop))
            pending = pending & ~to_fallback
        cutoffs = torch.where(grow, 2.0 * cutoffs, cutoffs)
    if bool(pending.any()):
        done.extend(_fallback(points, batch, pending, k_graph, loop))

    if not done:  # only graphs of one node (and no self loops)
        return torch.zeros(2, 0, dtype=torch.long, device=pos.device)
    if len(done) == 1:  # one round, no fallback: already grouped by receiver, nearest first
        return torch.stack(done[0][:2]).to(pos.device)
    receiver, sender, distance = (torch.cat(parts) for parts in zip(*done, strict=True))
    order = sort_by_receiver_then_distance(receiver, distance)
    return torch.stack([receiver[order], sender[order]]).to(pos.device)


def _fallback(
    points: Tensor, batch: Tensor, pending: Tensor, k_graph: Tensor, loop: bool
) -> list[tuple[Tensor, Tensor, Tensor]]:
    """Exact chunked search for the ``pending`` nodes [N] bool, graph by graph."""
    found = []
    for b in torch.unique(batch[pending]).tolist():
        queries = torch.nonzero(pending & (batch == b)).squeeze(1)
        candidates = torch.nonzero(batch == b).squeeze(1)
        found.append(_exact_chunked(points, queries, candidates, int(k_graph[b]), loop))
    return found
