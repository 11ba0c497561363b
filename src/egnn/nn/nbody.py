"""Models for the N-body task: positions and velocities at one frame -> positions later.

Every N-body model has the same call signature, so the task module and the tests treat them alike:
``model(pos, vel, charges, edge_index) -> predicted positions``.

Shapes:
    pos: [N, 3] positions; vel: [N, 3] velocities; charges: [N, 1];
    edge_index: [2, E] fully connected per system; returns predicted positions [N, 3].
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from egnn.nn.egnn import EGNN
from egnn.nn.gnn import GNN
from egnn.nn.radial_field import RadialField
from egnn.nn.registry import build_registered


def charge_products(charges: Tensor, edge_index: Tensor) -> Tensor:
    """:math:`c_i c_j` per edge, [E, 1]."""
    return charges.index_select(0, edge_index[0]) * charges.index_select(0, edge_index[1])


def squared_distances(pos: Tensor, edge_index: Tensor) -> Tensor:
    """:math:`\\|x_i - x_j\\|^2` per edge, [E, 1]."""
    diff = pos.index_select(0, edge_index[0]) - pos.index_select(0, edge_index[1])
    return (diff * diff).sum(dim=1, keepdim=True)


class NBodyEGNN(nn.Module):
    r"""The paper's N-body EGNN: the velocity variant with :math:`h^0_i = \|v_i\|` and
    :math:`a_{ij} = [c_i c_j, \|x_i - x_j\|^2]` (squared distance of the input frame).

    Args:
        hidden_nf: hidden size (64 in the paper).
        n_layers: EGCLs (4 in the paper).
        **egnn_kwargs: further :class:`~egnn.nn.egnn.EGNN` options (``coord_agg``, ``tanh``, ...).
    """

    def __init__(self, hidden_nf: int = 64, n_layers: int = 4, **egnn_kwargs) -> None:
        super().__init__()
        self.egnn = EGNN(
            in_node_nf=1,
            hidden_nf=hidden_nf,
            out_node_nf=None,
            in_edge_nf=2,
            n_layers=n_layers,
            velocity=True,
            **egnn_kwargs,
        )

    def forward(self, pos: Tensor, vel: Tensor, charges: Tensor, edge_index: Tensor) -> Tensor:
        speed = vel.norm(dim=1, keepdim=True)
        edge_attr = torch.cat(
            [charge_products(charges, edge_index), squared_distances(pos, edge_index)], dim=1
        )
        _, pos_out = self.egnn(speed, pos, edge_index, edge_attr=edge_attr, vel=vel)
        return pos_out


class NBodyGNN(nn.Module):
    """The paper's GNN baseline: node input [x, v], edge attribute c_i c_j, decoder to absolute
    positions. Not equivariant (it sees raw coordinates)."""

    def __init__(self, hidden_nf: int = 64, n_layers: int = 4, **gnn_kwargs) -> None:
        super().__init__()
        self.gnn = GNN(6, hidden_nf, 3, in_edge_nf=1, n_layers=n_layers, **gnn_kwargs)

    def forward(self, pos: Tensor, vel: Tensor, charges: Tensor, edge_index: Tensor) -> Tensor:
        return self.gnn(
            torch.cat([pos, vel], dim=1), edge_index, charge_products(charges, edge_index)
        )


class NBodyRadialField(nn.Module):
    r"""The paper's Radial Field baseline: :math:`\phi` sees :math:`[\|x_i - x_j\|, c_i c_j,
    \|x^0_i - x^0_j\|^2]` and each layer adds :math:`v_i \phi_v(\|v_i\|)`."""

    def __init__(self, hidden_nf: int = 64, n_layers: int = 4, **rf_kwargs) -> None:
        super().__init__()
        self.rf = RadialField(hidden_nf, edge_attr_nf=2, n_layers=n_layers, **rf_kwargs)

    def forward(self, pos: Tensor, vel: Tensor, charges: Tensor, edge_index: Tensor) -> Tensor:
        edge_attr = torch.cat(
            [charge_products(charges, edge_index), squared_distances(pos, edge_index)], dim=1
        )
        return self.rf(pos, vel, edge_index, edge_attr)


class NBodyLinear(nn.Module):
    """Linear(6 -> 3) on [x, v]: the paper's 'Linear' row (not equivariant)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(6, 3)

    def forward(self, pos: Tensor, vel: Tensor, charges: Tensor, edge_index: Tensor) -> Tensor:
        return self.linear(torch.cat([pos, vel], dim=1))


class NBodyLinearDynamics(nn.Module):
    """Constant-velocity extrapolation :math:`x + t v` with a learnable time ``t`` (init 0.7)."""

    def __init__(self, t_init: float = 0.7) -> None:
        super().__init__()
        self.time = nn.Parameter(torch.tensor([float(t_init)]))

    def forward(self, pos: Tensor, vel: Tensor, charges: Tensor, edge_index: Tensor) -> Tensor:
        return pos + vel * self.time


# Model name -> "module:class". The e3nn baselines are imported only when asked for.
NBODY_MODELS: dict[str, str] = {
    "egnn": "egnn.nn.nbody:NBodyEGNN",
    "gnn": "egnn.nn.nbody:NBodyGNN",
    "rf": "egnn.nn.nbody:NBodyRadialField",
    "linear": "egnn.nn.nbody:NBodyLinear",
    "linear_vel": "egnn.nn.nbody:NBodyLinearDynamics",
    "tfn": "egnn.nn.tfn:NBodyTFN",
    "se3_transformer": "egnn.nn.se3_transformer:NBodySE3Transformer",
}


def build_nbody_model(name: str, **kwargs) -> nn.Module:
    """Instantiate the N-body model registered as ``name`` with its keyword arguments."""
    return build_registered(NBODY_MODELS, "N-body", name, **kwargs)
