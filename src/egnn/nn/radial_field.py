"""Radial Field (Köhler et al., 2019) as the paper's N-body baseline: an equivariant flow that
moves each particle along its relative positions with weights depending on distances only."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from egnn.nn.segment import segment_mean


class RadialFieldLayer(nn.Module):
    r"""One Radial Field step with a velocity term:

    .. math::
        x_i \leftarrow x_i + \frac{1}{\deg(i)} \sum_j (x_i - x_j)\, \phi(\|x_i - x_j\|, a_{ij}),
        \qquad x_i \leftarrow x_i + v_i\, \phi_v(\|v_i\|)

    :math:`\phi`: Linear(1 + A -> F), act, Linear(F -> 1, no bias, xavier gain 0.001), tanh.
    :math:`\phi_v`: Linear(1 -> F), act, Linear(F -> 1).

    Shapes:
        x, vel: [N, D]; speed: [N, 1]; edge_index: [2, E]; edge_attr: [E, A]; returns x [N, D].
    """

    def __init__(
        self, hidden_nf: int = 64, edge_attr_nf: int = 0, act: type[nn.Module] = nn.SiLU
    ) -> None:
        super().__init__()
        last = nn.Linear(hidden_nf, 1, bias=False)
        nn.init.xavier_uniform_(last.weight, gain=0.001)
        self.phi = nn.Sequential(nn.Linear(1 + edge_attr_nf, hidden_nf), act(), last, nn.Tanh())
        self.vel_mlp = nn.Sequential(nn.Linear(1, hidden_nf), act(), nn.Linear(hidden_nf, 1))

    def forward(
        self, x: Tensor, vel: Tensor, speed: Tensor, edge_index: Tensor, edge_attr: Tensor | None
    ) -> Tensor:
        row, col = edge_index[0], edge_index[1]
        diff = x.index_select(0, row) - x.index_select(0, col)
        dist = torch.sqrt((diff * diff).sum(dim=1, keepdim=True) + 1e-12)
        scalars = dist if edge_attr is None else torch.cat([dist, edge_attr], dim=1)
        x = x + segment_mean(diff * self.phi(scalars), row, x.shape[0])
        return x + vel * self.vel_mlp(speed)


class RadialField(nn.Module):
    """A stack of :class:`RadialFieldLayer` (4 in the paper). Shapes as the layer."""

    def __init__(
        self,
        hidden_nf: int = 64,
        edge_attr_nf: int = 0,
        n_layers: int = 4,
        act: type[nn.Module] = nn.SiLU,
    ):
        super().__init__()
        self.layers = nn.ModuleList(
            RadialFieldLayer(hidden_nf, edge_attr_nf, act) for _ in range(n_layers)
        )

    def forward(
        self, x: Tensor, vel: Tensor, edge_index: Tensor, edge_attr: Tensor | None = None
    ) -> Tensor:
        speed = vel.norm(dim=1, keepdim=True)
        for layer in self.layers:
            x = layer(x, vel, speed, edge_index, edge_attr)
        return x
