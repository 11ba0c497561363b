"""Models for the N-body task: positions and velocities at one frame -> positions later.

Every N-body model has the same call signature, so the task module and the tests treat them alike.

Shapes:
    pos: [N, 3] positions; vel: [N, 3] velocities; charges: [N, 1];
    edge_index: [2, E] fully connected per system; returns predicted positions [N, 3].
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from egnn.nn.egnn import EGNN


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
        row, col = edge_index[0], edge_index[1]
        speed = vel.norm(dim=1, keepdim=True)
        sq_dist = (pos[row] - pos[col]).pow(2).sum(dim=1, keepdim=True)
        edge_attr = torch.cat([charges[row] * charges[col], sq_dist], dim=1)
        _, pos_out = self.egnn(speed, pos, edge_index, edge_attr=edge_attr, vel=vel)
        return pos_out


NBODY_MODELS: dict[str, type[nn.Module]] = {"egnn": NBodyEGNN}


def build_nbody_model(name: str, **kwargs) -> nn.Module:
    """Instantiate the N-body model registered as ``name`` with its keyword arguments."""
    if name not in NBODY_MODELS:
        raise ValueError(f"unknown N-body model {name!r}; choose one of {sorted(NBODY_MODELS)}")
    return NBODY_MODELS[name](**kwargs)
