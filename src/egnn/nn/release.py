"""The release's formulation of the EGCL, evaluated with the parameters of our :class:`EGCL`: the
reference our fast paths are tested against (the reference model ``egnn_release`` of
:mod:`egnn.nn.nbody` runs it in training).

Per edge, the first layer of phi_e acts on the concatenation [h_i, h_j, d_ij, a_ij]; sums are
scatter sums over all edges. It is slow by design: tests compare our fast paths against it in
float64, and the benchmark measures our speed-up over it.
"""

from __future__ import annotations

import torch
from torch import Tensor

from egnn.nn.egcl_eq3_6 import EGCL
from egnn.nn.egnn import EGNN


def _scatter_sum(values: Tensor, index: Tensor, n: int) -> Tensor:
    out = values.new_zeros((n, values.shape[1]))
    return out.scatter_add_(0, index[:, None].expand_as(values), values)


def reference_egcl(layer: EGCL, h: Tensor, x: Tensor, edge_index: Tensor, edge_attr=None, vel=None):
    """One EGCL step in the concatenation formulation. Shapes as :class:`EGCL`."""
    row, col = edge_index
    n = h.shape[0]
    coord_diff = x[row] - x[col]
    radial = (coord_diff**2).sum(1, keepdim=True)
    parts = [h[row], h[col], radial] + ([edge_attr] if edge_attr is not None else [])
    m = layer.edge_mlp(torch.cat(parts, dim=1))
    if layer.att_mlp is not None:
        m = m * layer.att_mlp(m)
    if layer.update_coords:
        if layer.normalize:
            coord_diff = coord_diff / torch.sqrt(radial + layer.norm_eps)
        weight = layer.coord_mlp(m)
        if layer.tanh:
            weight = torch.tanh(weight) * layer.coord_range
        trans = coord_diff * weight
        if layer.coord_clamp is not None:
            trans = trans.clamp(-layer.coord_clamp, layer.coord_clamp)
        agg = _scatter_sum(trans, row, n)
        if layer.coord_agg == "mean":
            count = _scatter_sum(torch.ones_like(trans[:, :1]), row, n).clamp(min=1)
            agg = agg / count
        if layer.velocity:
            agg = agg + layer.vel_mlp(h) * vel
        x = x + agg
    if layer.node_mlp is None:  # a last layer whose node features nothing reads
        return h, x
    out = layer.node_mlp(torch.cat([h, _scatter_sum(m, row, n)], dim=1))
    h = h + out if layer.residual else out
    return h, x


def reference_egnn(net: EGNN, h: Tensor, x: Tensor, edge_index: Tensor, edge_attr=None, vel=None):
    """A whole :class:`EGNN` forward in the concatenation formulation."""
    if net.embedding_in is not None:
        h = net.embedding_in(h)
    for layer in net.layers:
        h, x = reference_egcl(layer, h, x, edge_index, edge_attr if net.in_edge_nf else None, vel)
    if net.embedding_out is not None:
        h = net.embedding_out(h)
    return h, x


def reference_qm9(net, node_attr, pos, edge_index, edge_mask, node_mask, n_max: int):
    """The release's QM9 formulation: every molecule padded to ``n_max`` atoms, all n_max^2 - n_max
    ordered pairs computed, padding masked out (messages by ``edge_mask`` [E, 1], node outputs by
    ``node_mask`` [N, 1]); ``net`` is a :class:`~egnn.nn.qm9.QM9EGNN` whose parameters are used.

    Shapes: node_attr [B * n_max, 15]; pos [B * n_max, 3]; edge_index [2, B * n_max * (n_max - 1)].
    Returns [B].
    """
    row, col = edge_index
    n = node_attr.shape[0]
    h = net.egnn.embedding_in(node_attr) * node_mask
    coord_diff = pos[row] - pos[col]
    radial = (coord_diff**2).sum(1, keepdim=True)
    for layer in net.egnn.layers:
        m = layer.edge_mlp(torch.cat([h[row], h[col], radial], dim=1))
        if layer.att_mlp is not None:
            m = m * layer.att_mlp(m)
        m = m * edge_mask
        out = layer.node_mlp(torch.cat([h, _scatter_sum(m, row, n)], dim=1))
        h = (h + out) * node_mask  # the paper's QM9 layers are all residual
    h = net.node_dec(h) * node_mask
    graph = h.view(-1, n_max, h.shape[1]).sum(1)
    return net.graph_dec(graph).squeeze(-1)
