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

    :math:`\phi`: Linear(1 + A -> F), act, Linear(F -> 1, no bias, xavier gain 0.001), then tanh
    when ``tanh=True`` (the release's N-body model bounds the weights for stability; its graph
    autoencoder leaves them unbounded).
    :math:`\phi_v`: Linear(1 -> F), act, Linear(F -> 1); the velocity term exists only when
    ``velocity=True`` (the graph autoencoder has no velocities).

    Shapes:
        x, vel: [N, D]; speed: [N, 1]; edge_index: [2, E]; edge_attr: [E, A]; returns x [N, D].
    """

    def __init__(
        self,
        hidden_nf: int = 64,
        edge_attr_nf: int = 0,
        act: type[nn.Module] = nn.SiLU,
        velocity: bool = True,
        tanh: bool = True,
    ) -> None:
        super().__init__()
        last = nn.Linear(hidden_nf, 1, bias=False)
        nn.init.xavier_uniform_(last.weight, gain=0.001)
        bound = [nn.Tanh()] if tanh else []
        self.phi = nn.Sequential(nn.Linear(1 + edge_attr_nf, hidden_nf), act(), last, *bound)
        self.vel_mlp = (
            nn.Sequential(nn.Linear(1, hidden_nf), act(), nn.Linear(hidden_nf, 1))
            if velocity
            else None
        )

    def forward(
        self,
        x: Tensor,
        vel: Tensor | None,
        speed: Tensor | None,
        edge_index: Tensor,
        edge_attr: Tensor | None,
    ) -> Tensor:
        row, col = edge_index[0], edge_index[1]
        diff = x.index_select(0, row) - x.index_select(0, col)
        dist = torch.sqrt((diff * diff).sum(dim=1, keepdim=True) + 1e-12)
        scalars = dist if edge_attr is None else torch.cat([dist, edge_attr], dim=1)
        x = x + segment_mean(diff * self.phi(scalars), row, x.shape[0])
        return x if self.vel_mlp is None else x + vel * self.vel_mlp(speed)


class RadialField(nn.Module):
    """A stack of :class:`RadialFieldLayer` (4 in the paper). Shapes as the layer.

    ``velocity=False`` drops the velocity term (``vel`` may then be None); ``coord_decay`` shrinks
    ``x <- x - coord_decay * x`` after every layer, as in the graph autoencoder (this breaks
    translation equivariance, not rotation or reflection equivariance); ``tanh`` as in the layer.
    """

    def __init__(
        self,
        hidden_nf: int = 64,
        edge_attr_nf: int = 0,
        n_layers: int = 4,
        act: type[nn.Module] = nn.SiLU,
        velocity: bool = True,
        coord_decay: float = 0.0,
        tanh: bool = True,
    ):
        super().__init__()
        self.coord_decay = coord_decay
        self.velocity = velocity
        self.layers = nn.ModuleList(
            RadialFieldLayer(hidden_nf, edge_attr_nf, act, velocity, tanh) for _ in range(n_layers)
        )

    def forward(
        self, x: Tensor, vel: Tensor | None, edge_index: Tensor, edge_attr: Tensor | None = None
    ) -> Tensor:
        if self.velocity and vel is None:
            raise ValueError("this RadialField was built with velocity=True: pass vel [N, D]")
        speed = vel.norm(dim=1, keepdim=True) if self.velocity else None
        for layer in self.layers:
            x = layer(x, vel, speed, edge_index, edge_attr)
            if self.coord_decay:
                x = x - self.coord_decay * x
        return x
