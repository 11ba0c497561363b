"""Batch vectors: several graphs as one disjoint union, and the complete graph of each.

A batch of B graphs with N nodes in all is described by ``batch`` [N] int64, the graph of each
node (values in ``[0, B)``; nodes of one graph need not be contiguous). Edges follow the
receiver-first convention of :mod:`egnn.graphs.convention`: row 0 the receiver i, row 1 the
sender j.
"""

from __future__ import annotations

import torch
from torch import Tensor


def check_batch(batch: Tensor | None, n_nodes: int, device: torch.device) -> Tensor:
    """``batch`` validated, or all zeros (one graph) when ``None``.

    Shapes: batch [N] integer -> [N] int64.
    """
    if batch is None:
        return torch.zeros(n_nodes, dtype=torch.long, device=device)
    if batch.dim() != 1 or batch.shape[0] != n_nodes or batch.dtype.is_floating_point:
        raise ValueError(
            f"batch must be an integer tensor of shape [N={n_nodes}], got {list(batch.shape)} {batch.dtype}"
        )
    if n_nodes and int(batch.min()) < 0:
        raise ValueError(f"batch values must be >= 0 (graph indices), got {int(batch.min())}")
    return batch.to(torch.long)


def num_graphs(batch: Tensor) -> int:
    """B = 1 + the largest graph index (0 for an empty batch)."""
    return int(batch.max()) + 1 if batch.numel() else 0


def graph_sizes(batch: Tensor, n_graphs: int | None = None) -> Tensor:
    """Number of nodes of each graph. Shapes: batch [N] -> [B] int64 (empty graphs count 0)."""
    n_graphs = num_graphs(batch) if n_graphs is None else n_graphs
    return torch.bincount(batch, minlength=n_graphs)


def batch_from_sizes(sizes: Tensor | list[int]) -> Tensor:
    """The batch vector of graphs with ``sizes`` nodes, stored one after the other.

    Shapes: sizes [B] -> batch [N = sum(sizes)] int64.
    """
    sizes = torch.as_tensor(sizes, dtype=torch.long)
    if sizes.dim() != 1 or (sizes.numel() and int(sizes.min()) < 0):
        raise ValueError(f"sizes must be a 1-D list of counts >= 0, got {sizes.tolist()}")
    return torch.repeat_interleave(torch.arange(sizes.numel(), device=sizes.device), sizes)


def fully_connected(batch: Tensor, loop: bool = False) -> Tensor:
    """Every ordered pair of distinct nodes of the same graph, for graphs of any sizes.

    Memory is that of the output, sum over graphs of n_b * (n_b - 1) edges; nothing of size
    N * N is allocated. Graphs with one node (or none) get no edges unless ``loop``.

    Args:
        batch: graph of each node, [N] int64 (nodes of one graph need not be contiguous).
        loop: also include the self loop (i, i) of every node.

    Returns:
        edge_index [2, E] int64, row 0 the receiver i, row 1 the sender j (the receiver-first
        convention; :func:`egnn.graphs.to_pyg` converts). Edges are grouped by graph, then by
        receiver, then ordered by sender (order of the nodes within their graph).
    """
    if not isinstance(batch, torch.Tensor):
        raise ValueError(f"batch must be a tensor [N] of graph indices, got {type(batch).__name__}")
    batch = check_batch(batch, batch.shape[0], batch.device)
    order = torch.argsort(batch, stable=True)  # nodes of graph b are order[ptr[b] : ptr[b + 1]]
    sizes = graph_sizes(batch)
    ptr = torch.cumsum(sizes, 0) - sizes
    width = sizes if loop else (sizes - 1).clamp(min=0)  # senders per receiver
    per_graph = sizes * width
    edge_graph = torch.repeat_interleave(
        torch.arange(sizes.numel(), device=batch.device), per_graph
    )
    if edge_graph.numel() == 0:
        return torch.zeros(2, 0, dtype=torch.long, device=batch.device)
    first_edge = torch.cumsum(per_graph, 0) - per_graph
    local = torch.arange(edge_graph.numel(), device=batch.device) - first_edge[edge_graph]
    w = width[edge_graph]
    receiver = torch.div(local, w, rounding_mode="floor")
    sender = local - receiver * w
    if not loop:
        sender = sender + (sender >= receiver).long()  # skip the receiver itself
    base = ptr[edge_graph]
    return torch.stack([order[base + receiver], order[base + sender]])
