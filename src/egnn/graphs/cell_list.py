"""The neighbour-list engine: vesin-torch's cell lists, wrapped for the builders of this package.

vesin computes the pairs closer than a cutoff in one 3-D system per call (periodic or not) in
time and memory linear in N and in the number of pairs. The builders reduce every query to such
calls: inputs with D < 3 are padded with zero coordinates, and a batch of non-periodic graphs is
packed into one system (:func:`pack_graphs`) so that a whole batch costs one call.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from vesin_torch import NeighborList

MAX_DIM = 3


def check_positions(pos: Tensor) -> None:
    """Raise a clear error unless ``pos`` is a floating [N, D] tensor with 1 <= D <= 3."""
    if not isinstance(pos, Tensor) or pos.dim() != 2 or not pos.dtype.is_floating_point:
        got = list(pos.shape) if isinstance(pos, Tensor) else type(pos).__name__
        raise ValueError(f"pos must be a floating-point tensor of shape [N, D], got {got}")
    if not 1 <= pos.shape[1] <= MAX_DIM:
        raise ValueError(
            f"pos must have D = 1, 2 or 3 spatial dimensions (neighbour lists are 3-D), got D={pos.shape[1]}"
        )
    if pos.numel() and not bool(torch.isfinite(pos).all()):
        raise ValueError("pos holds NaN or Inf values")


def check_cutoff(r: float) -> float:
    r = float(r)
    if not (math.isfinite(r) and r > 0):
        raise ValueError(f"r (the cutoff radius) must be a finite number > 0, got {r!r}")
    return r


def as_points(pos: Tensor) -> Tensor:
    """Detached float64 copy of ``pos`` padded to 3 columns. Shapes: [N, D] -> [N, 3]."""
    points = pos.detach().to(torch.float64)
    if points.shape[1] < MAX_DIM:
        points = torch.nn.functional.pad(points, (0, MAX_DIM - points.shape[1]))
    return points.contiguous()


def pack_graphs(points: Tensor, batch: Tensor, n_graphs: int, gap: float) -> Tensor:
    """Translate each graph to its own slot of a cubic grid, at least ``gap`` from every other.

    Pairs closer than ``gap`` then never join two graphs, so one neighbour-list call serves the
    whole batch. Distances within a graph are unchanged (up to float64 rounding of the shift).

    Shapes: points [N, 3] float64; batch [N]; returns [N, 3].
    """
    if n_graphs <= 1:
        return points - points.min(dim=0).values if points.shape[0] else points
    index = batch[:, None].expand(-1, MAX_DIM)
    inf = torch.full((n_graphs, MAX_DIM), math.inf, dtype=points.dtype, device=points.device)
    low = inf.scatter_reduce(0, index, points, reduce="amin")
    high = (-inf).scatter_reduce(0, index, points, reduce="amax")
    empty = ~torch.isfinite(low[:, 0])
    low[empty], high[empty] = 0.0, 0.0
    spacing = (high - low).max(dim=0).values + 2.0 * gap  # [3]
    side = math.ceil(n_graphs ** (1 / 3) - 1e-9)
    slots = torch.arange(n_graphs, device=points.device)
    grid = torch.stack([slots % side, (slots // side) % side, slots // (side * side)], dim=1)
    offset = grid.to(points.dtype) * spacing - low  # [B, 3]
    return points + offset[batch]


def cutoff_pairs(
    points: Tensor,
    cutoff: float,
    box: Tensor | None = None,
    periodic: Tensor | bool = False,
    quantities: str = "ijd",
    n_threads: int | None = None,
) -> list[Tensor]:
    """All ordered pairs (i, j), i != j (or periodic images), at distance < ``cutoff``.

    Args:
        points: [N, 3] float64.
        cutoff: the radius.
        box: [3, 3] float64 cell (rows are the cell vectors); zeros when not periodic.
        periodic: bool, or [3] bool tensor, per cell vector.
        quantities: vesin's letters: ``i`` receiver, ``j`` sender, ``S`` cell shift [E, 3] int32
            (the sender's image lies at ``points[j] + S @ box``), ``d`` distance [E].
        n_threads: CPU threads of the search (default: torch's intra-op thread count).

    Returns:
        the requested quantities, in no particular order (both (i, j) and (j, i) are listed).
    """
    if points.shape[0] == 0:
        empty = {
            "i": torch.zeros(0, dtype=torch.long),
            "j": torch.zeros(0, dtype=torch.long),
            "S": torch.zeros(0, 3, dtype=torch.int32),
            "d": torch.zeros(0, dtype=torch.float64),
        }
        return [empty[q].to(points.device) for q in quantities]
    if box is None:
        box = torch.zeros(3, 3, dtype=torch.float64, device=points.device)
    threads = torch.get_num_threads() if n_threads is None else n_threads
    search = NeighborList(cutoff=cutoff, full_list=True, sorted=False, n_threads=threads)
    return search.compute(points, box, periodic, quantities=quantities)
