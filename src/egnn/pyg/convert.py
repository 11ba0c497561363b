"""A PyG ``Data``/``Batch`` as an egnn batch dict (the keys of :mod:`egnn.data.keys`)."""

from __future__ import annotations

import torch

from egnn.data import keys as K
from egnn.graphs import from_pyg


def batch_from_pyg(data) -> dict:
    """The fields of a PyG ``Data`` or ``Batch`` under egnn's batch keys.

    PyG's ``edge_index`` (row 0 source, row 1 target) becomes receiver-first (row 0 the receiver
    i, row 1 the sender j); edge attributes keep their order. A single ``Data`` gets
    ``batch`` = zeros and one graph.

    Returns:
        ``{pos [N, D], node_attr [N, F] (from x, if any), edge_index [2, E] (if any),
        edge_attr [E, A] (if any), batch [N], num_graphs B, target (from y, if any)}``.
    """
    pos = getattr(data, "pos", None)
    if pos is None:
        raise ValueError("the PyG data has no `pos`: egnn needs node positions [N, D]")
    batch = getattr(data, "batch", None)
    if batch is None:
        batch = torch.zeros(pos.shape[0], dtype=torch.long, device=pos.device)
    out = {
        K.POS: pos,
        K.BATCH: batch,
        K.NUM_GRAPHS: int(getattr(data, "num_graphs", 1) or 1),
    }
    optional = {
        K.NODE_ATTR: getattr(data, "x", None),
        K.EDGE_ATTR: getattr(data, "edge_attr", None),
        K.TARGET: getattr(data, "y", None),
    }
    out.update({key: value for key, value in optional.items() if value is not None})
    edge_index = getattr(data, "edge_index", None)
    if edge_index is not None:
        out[K.EDGE_INDEX] = from_pyg(edge_index)
    return out
