"""Graph construction helpers: fully connected graphs batched as a disjoint union.

Shapes:
    B graphs of n nodes each; N = B * n nodes; E = B * n * (n - 1) directed edges.
"""

from __future__ import annotations

import torch
from torch import Tensor


def fully_connected_edges(
    n_nodes: int, n_graphs: int = 1, device: torch.device | None = None
) -> Tensor:
    """Directed edges of ``n_graphs`` disjoint complete graphs of ``n_nodes`` nodes (no self loops).

    Node ``k`` of graph ``b`` has the global index ``b * n_nodes + k``. Edges are ordered graph by
    graph, then by receiver, then by sender.

    Returns:
        edge_index [2, E] (int64), row 0 the receiver i, row 1 the sender j.
    """
    if n_nodes < 1 or n_graphs < 1:
        raise ValueError(
            f"n_nodes and n_graphs must be >= 1, got n_nodes={n_nodes}, n_graphs={n_graphs}"
        )
    local = torch.ones(n_nodes, n_nodes, dtype=torch.bool, device=device)
    local.fill_diagonal_(False)
    receivers, senders = local.nonzero(as_tuple=True)
    offsets = torch.arange(n_graphs, device=device).repeat_interleave(receivers.numel()) * n_nodes
    return torch.stack([receivers.repeat(n_graphs) + offsets, senders.repeat(n_graphs) + offsets])
