"""Radius graphs: every pair of nodes of the same graph closer than a cutoff, periodic or not.

Built on vesin's cell lists (:mod:`egnn.graphs.cell_list`): time and memory grow with N and the
number of edges E, never with N * N. Edges follow the receiver-first convention of
:mod:`egnn.graphs.convention` (row 0 the receiver i, row 1 the sender j; PyG's default is the
reverse, see :func:`egnn.graphs.to_pyg`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from egnn.graphs.batch import check_batch, num_graphs
from egnn.graphs.cell_list import (
    MAX_DIM,
    as_points,
    check_cutoff,
    check_positions,
    cutoff_pairs,
    pack_graphs,
)
from egnn.graphs.select import keep_nearest


def _check_max_neighbours(max_num_neighbors: int | None) -> None:
    if max_num_neighbors is not None and (
        int(max_num_neighbors) != max_num_neighbors or max_num_neighbors < 1
    ):
        raise ValueError(
            f"max_num_neighbors must be an integer >= 1 or None, got {max_num_neighbors!r}"
        )


def _add_self_loops(edge_index: Tensor, n_nodes: int) -> Tensor:
    nodes = torch.arange(n_nodes, device=edge_index.device)
    return torch.cat([edge_index, torch.stack([nodes, nodes])], dim=1)


def radius_graph(
    pos: Tensor,
    r: float,
    batch: Tensor | None = None,
    max_num_neighbors: int | None = None,
    loop: bool = False,
) -> Tensor:
    """Edges between the nodes of each graph that lie closer than ``r`` (distance < r).

    Both directions of each pair are listed. Duplicate points (distance 0) are neighbours.

    Args:
        pos: node positions, [N, D] with D = 1, 2 or 3.
        r: cutoff radius (> 0), in the units of ``pos``.
        batch: graph of each node, [N] int64; ``None`` for one graph. Nodes of different graphs
            are never joined.
        max_num_neighbors: keep only this many senders per receiver, the nearest ones (the choice
            among equally distant senders is arbitrary); ``None`` keeps all.
        loop: also include the self loop (i, i) of every node.

    Returns:
        edge_index [2, E] int64, row 0 the receiver i, row 1 the sender j (receiver-first;
        :func:`egnn.graphs.to_pyg` converts to PyG's source-to-target order). Edges are grouped by
        receiver only when ``max_num_neighbors`` is set (then nearest sender first); otherwise the
        edge order is unspecified.
    """
    check_positions(pos)
    r = check_cutoff(r)
    _check_max_neighbours(max_num_neighbors)
    n_nodes = pos.shape[0]
    batch = check_batch(batch, n_nodes, pos.device)
    points = pack_graphs(as_points(pos), batch, num_graphs(batch), gap=r)
    if max_num_neighbors is None:
        receiver, sender = cutoff_pairs(points, r, quantities="ij")
    else:
        receiver, sender, distance = cutoff_pairs(points, r, quantities="ijd")
        keep = keep_nearest(receiver, distance, max_num_neighbors, n_nodes, bound=r)
        receiver, sender = receiver[keep], sender[keep]
    edge_index = torch.stack([receiver, sender]).to(device=pos.device, dtype=torch.long)
    return _add_self_loops(edge_index, n_nodes) if loop else edge_index


def _pad_cell(cell: Tensor, dim: int) -> Tensor:
    """A [D, D] cell as vesin's [3, 3] box: the extra rows are unit vectors along the extra axes."""
    box = torch.eye(MAX_DIM, dtype=torch.float64, device=cell.device)
    box[:dim, :dim] = cell.detach().to(torch.float64)
    return box


def periodic_radius_graph(
    pos: Tensor,
    r: float,
    cell: Tensor,
    batch: Tensor | None = None,
    pbc: bool | list[bool] | tuple[bool, ...] | Tensor = True,
    max_num_neighbors: int | None = None,
    loop: bool = False,
) -> tuple[Tensor, Tensor]:
    """Radius graph under periodic boundary conditions: edges to the periodic images of nodes.

    The sender of edge ``e`` sits at ``pos[j] + shift[e]`` (one of its periodic images), so the
    edge vector from sender to receiver is ``pos[i] - pos[j] - shift[e]`` and its length is < r.
    A cell smaller than 2r gives several edges between the same two nodes (different images) and
    edges from a node to its own images; the self loop with zero shift is added only with
    ``loop``. Positions need not lie inside the cell.

    Args:
        pos: node positions, [N, D] with D = 1, 2 or 3.
        r: cutoff radius (> 0).
        cell: the cell vectors as rows, [D, D] shared by all graphs or [B, D, D] one per graph.
        batch: graph of each node, [N] int64; ``None`` for one graph.
        pbc: periodic along each cell vector: one bool or D bools. Along a non-periodic vector
            the cell's extent is ignored.
        max_num_neighbors: keep only this many (nearest) senders per receiver; ``None``: all.
        loop: also include the self loop (i, i) with zero shift.

    Returns:
        edge_index [2, E] int64 (row 0 the receiver i, row 1 the sender j; receiver-first, see
        :func:`egnn.graphs.to_pyg`) and shift [E, D] in the dtype of ``pos``, equal to
        ``cell_shift @ cell`` with integer cell shifts (differentiable with respect to ``cell``).
        Edges are grouped by graph; within a graph their order is unspecified.
    """
    check_positions(pos)
    r = check_cutoff(r)
    _check_max_neighbours(max_num_neighbors)
    n_nodes, dim = pos.shape
    batch = check_batch(batch, n_nodes, pos.device)
    n_graphs = max(num_graphs(batch), 1)
    if not isinstance(cell, Tensor) or cell.dim() not in (2, 3) or cell.shape[-2:] != (dim, dim):
        got = list(cell.shape) if isinstance(cell, Tensor) else type(cell).__name__
        raise ValueError(f"cell must have shape [D, D] or [B, D, D] with D={dim}, got {got}")
    cells = cell.expand(n_graphs, dim, dim) if cell.dim() == 2 else cell
    if cells.shape[0] != n_graphs:
        raise ValueError(f"cell has {cells.shape[0]} cells but the batch has {n_graphs} graphs")
    periodic = torch.zeros(MAX_DIM, dtype=torch.bool)
    periodic[:dim] = torch.as_tensor(pbc, dtype=torch.bool).expand(dim)
    points = as_points(pos)
    pieces = []
    for b in range(n_graphs):
        nodes = torch.nonzero(batch == b).squeeze(1)
        found = cutoff_pairs(
            points[nodes], r, _pad_cell(cells[b], dim), periodic, quantities="ijSd"
        )
        receiver, sender, cell_shift, distance = found
        if max_num_neighbors is not None:
            keep = keep_nearest(receiver, distance, max_num_neighbors, nodes.numel(), bound=r)
            receiver, sender, cell_shift = receiver[keep], sender[keep], cell_shift[keep]
        if loop:
            local = torch.arange(nodes.numel(), device=nodes.device)
            receiver, sender = torch.cat([receiver, local]), torch.cat([sender, local])
            cell_shift = torch.cat([cell_shift, cell_shift.new_zeros(nodes.numel(), MAX_DIM)])
        shift = cell_shift[:, :dim].to(pos.dtype) @ cells[b].to(pos.dtype)
        pieces.append((nodes[receiver], nodes[sender], shift))
    edge_index = torch.stack([torch.cat([p[0] for p in pieces]), torch.cat([p[1] for p in pieces])])
    return edge_index.to(device=pos.device, dtype=torch.long), torch.cat([p[2] for p in pieces])
