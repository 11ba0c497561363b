"""A linear layer on the concatenation [h_i, h_j, s_ij], evaluated without building it per edge."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F


def pair_linear(
    layer: nn.Linear, h: Tensor, edge_index: Tensor, edge_scalars: Tensor | None
) -> Tensor:
    r"""``layer([h_i, h_j, s_ij])`` for every edge, computed as :math:`W_1 h_i + W_2 h_j + W_s s_{ij} + b`.

    The node terms are projected once per node ([N, F] work instead of [E, F]) and then gathered;
    the result equals the concatenated layer up to floating-point rounding.

    Args:
        layer: ``nn.Linear(2F + S, F_out)`` whose input is the concatenation.
        h: node features [N, F].
        edge_index: [2, E], row 0 the receiver i, row 1 the sender j.
        edge_scalars: per-edge inputs [E, S] (None when S = 0).

    Returns:
        [E, F_out].
    """
    nf = h.shape[1]
    weight = layer.weight  # [F_out, 2F + S]
    # One matmul for both node projections: [N, 2 F_out] = [W1 h | W2 h].
    node_proj = F.linear(h, torch.cat([weight[:, :nf], weight[:, nf : 2 * nf]], dim=0))
    out_nf = weight.shape[0]
    receiver, sender = node_proj[:, :out_nf], node_proj[:, out_nf:]
    gathered = receiver.index_select(0, edge_index[0]) + sender.index_select(0, edge_index[1])
    if edge_scalars is None:
        return gathered if layer.bias is None else gathered + layer.bias
    bias = layer.bias if layer.bias is not None else weight.new_zeros(out_nf)
    return torch.addmm(bias, edge_scalars, weight[:, 2 * nf :].t()) + gathered
