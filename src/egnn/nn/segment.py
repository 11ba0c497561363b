"""Segment reductions over edges, the message-passing primitives of ``egnn.nn``.

Edges follow the receiver-first convention: ``edge_index[0]`` is the receiving node ``i``,
``edge_index[1]`` the sending node ``j``. Reductions gather per-edge values onto receivers.

Shapes:
    values: [E, *]; index: [E] (int64, values in ``[0, N)``); output: [N, *].
"""

from __future__ import annotations

import torch
from torch import Tensor


def segment_sum(values: Tensor, index: Tensor, num_segments: int) -> Tensor:
    """Sum of ``values`` rows grouped by ``index``.

    Args:
        values: per-edge values, [E, *].
        index: segment of each row, [E].
        num_segments: number of output rows N (empty segments give zeros).

    Returns:
        [N, *] tensor of segment sums.
    """
    out = values.new_zeros((num_segments, *values.shape[1:]))
    return out.index_add_(0, index, values)


def segment_count(index: Tensor, num_segments: int, dtype: torch.dtype) -> Tensor:
    """Number of rows in each segment, clamped to at least 1 so that it can divide.

    Returns:
        [N, 1] tensor of counts in ``dtype``.
    """
    ones = torch.ones(index.shape[0], 1, dtype=dtype, device=index.device)
    return segment_sum(ones, index, num_segments).clamp_(min=1.0)


def segment_mean(
    values: Tensor, index: Tensor, num_segments: int, count: Tensor | None = None
) -> Tensor:
    """Mean of ``values`` rows grouped by ``index`` (empty segments give zeros).

    Args:
        values: [E, *].
        index: [E].
        num_segments: N.
        count: optional precomputed ``segment_count`` [N, 1], reused across layers.
    """
    if count is None:
        count = segment_count(index, num_segments, values.dtype)
    return segment_sum(values, index, num_segments) / count


def segment_softmax(scores: Tensor, index: Tensor, num_segments: int) -> Tensor:
    """Softmax of per-edge ``scores`` [E] over the edges of each segment (receiver). Returns [E]."""
    maxes = scores.new_full((num_segments,), float("-inf"))
    maxes = maxes.scatter_reduce(0, index, scores.detach(), reduce="amax", include_self=True)
    exp = (scores - maxes.index_select(0, index)).exp()
    totals = segment_sum(exp[:, None], index, num_segments)[:, 0]
    return exp / totals.index_select(0, index)
