"""Keep the nearest senders of each receiver in a list of candidate edges."""

from __future__ import annotations

import torch
from torch import Tensor

_BELOW_ONE = 1.0 - 2.0**-30


def sort_by_receiver_then_distance(
    receiver: Tensor, distance: Tensor, bound: float | None = None
) -> Tensor:
    """Permutation that groups edges by receiver, nearest sender first.

    With ``bound`` (every distance is <= bound) one sort of the float64 key
    ``receiver + distance / bound`` does it; it orders distances that differ by more than about
    1e-8 * bound (for N < 2^24). Without it, two stable sorts order them exactly.

    Shapes: receiver [E] int64, distance [E] -> [E] int64.
    """
    if bound is not None:
        fraction = (distance.to(torch.float64) / bound).clamp(0.0, _BELOW_ONE)
        return torch.argsort(receiver.to(torch.float64) + fraction)
    by_distance = torch.argsort(distance, stable=True)
    return by_distance[torch.argsort(receiver[by_distance], stable=True)]


def keep_nearest(
    receiver: Tensor,
    distance: Tensor,
    limit: Tensor | int,
    n_nodes: int,
    bound: float | None = None,
) -> Tensor:
    """Indices of the edges to keep: the ``limit`` nearest senders of every receiver.

    The choice among equally distant senders at the limit is arbitrary. The kept edges come
    grouped by receiver, nearest first.

    Args:
        receiver: [E] int64 receiving node of each candidate edge.
        distance: [E] its length.
        limit: most senders per receiver, an int or a per-node [N] int64 tensor.
        n_nodes: N.
        bound: an upper bound of ``distance``, for the one-sort ordering of
            :func:`sort_by_receiver_then_distance`.

    Returns:
        [E'] int64 indices into the candidate edges.
    """
    order = sort_by_receiver_then_distance(receiver, distance, bound)
    sorted_receiver = receiver[order]
    counts = torch.bincount(sorted_receiver, minlength=n_nodes)
    first = torch.cumsum(counts, 0) - counts
    rank = torch.arange(order.numel(), device=order.device) - first[sorted_receiver]
    bound_per_edge = limit[sorted_receiver] if isinstance(limit, Tensor) else limit
    return order[rank < bound_per_edge]
