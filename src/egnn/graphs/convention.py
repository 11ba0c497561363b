"""The edge direction convention of ``egnn``, and converters to and from PyTorch Geometric's.

Every ``edge_index`` in ``egnn`` is a [2, E] int64 tensor whose **row 0 is the receiver i** and
**row 1 the sender j**: edge ``e`` carries a message from node ``edge_index[1, e]`` to node
``edge_index[0, e]``, and messages are summed (or averaged) over ``edge_index[0]``. This is the
reverse of PyTorch Geometric's default ``flow="source_to_target"``, where row 0 is the source and
row 1 the target. :func:`to_pyg` and :func:`from_pyg` swap the two rows (and nothing else), so a
symmetric graph keeps its edge set but not its edge order; per-edge tensors (attributes, shifts)
keep their order and need no change.
"""

from __future__ import annotations

from torch import Tensor

RECEIVER = 0  # edge_index[RECEIVER]: [E] receiving node i of each edge
SENDER = 1  # edge_index[SENDER]: [E] sending node j of each edge


def _check_edge_index(edge_index: Tensor) -> None:
    if edge_index.dim() != 2 or edge_index.shape[0] != 2 or edge_index.dtype.is_floating_point:
        raise ValueError(
            f"edge_index must be an integer tensor of shape [2, E], got {list(edge_index.shape)} {edge_index.dtype}"
        )


def to_pyg(edge_index: Tensor) -> Tensor:
    """``egnn`` edges (row 0 receiver i, row 1 sender j) as PyG edges (row 0 source, row 1 target).

    Shapes: edge_index [2, E] -> [2, E] (the same edges, rows swapped; edge order unchanged).
    """
    _check_edge_index(edge_index)
    return edge_index.flip(0)


def from_pyg(edge_index: Tensor) -> Tensor:
    """PyG edges (row 0 source, row 1 target) as ``egnn`` edges (row 0 receiver i, row 1 sender j).

    Shapes: edge_index [2, E] -> [2, E] (rows swapped; edge order unchanged).
    """
    _check_edge_index(edge_index)
    return edge_index.flip(0)
