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

from egnn.extras import require_extra
from egnn.nn.baselines.gnn import GNN
from egnn.nn.baselines.radial_field import RadialField
from egnn.nn.egnn import EGNN
from egnn.nn.registry import Entry, build_registered
from egnn.nn.release import reference_egnn


def charge_products(charges: Tensor, edge_index: Tensor) -> Tensor:
    """:math:`c_i c_j` per edge, [E, 1]."""
    return charges.index_select(0, edge_index[0]) * charges.index_select(0, edge_index[1])


def squared_distances(pos: Tensor, edge_index: Tensor) -> Tensor:
    """:math:`\\|x_i - x_j\\|^2` per edge, [E, 1]."""
    diff = pos.index_select(0, edge_index[0]) - pos.index_select(0, edge_index[1])
    return (diff * diff).sum(dim=1, keepdim=True)


def relative_motion(pos: Tensor, vel: Tensor, edge_index: Tensor) -> Tensor:
    r"""E(n)-invariant relative motion per edge: :math:`v_i \cdot v_j`,
    :math:`(x_i - x_j) \cdot (v_i - v_j)` (closing speed times distance) and :math:`\|v_i - v_j\|^2`.

    Shapes: pos, vel [N, 3]; edge_index [2, E] (row 0 the receiver i). Returns [E, 3].
    """
    row, col = edge_index[0], edge_index[1]
    v_i, v_j = vel.index_select(0, row), vel.index_select(0, col)
    dx, dv = pos.index_select(0, row) - pos.index_select(0, col), v_i - v_j
    return torch.stack([(v_i * v_j).sum(dim=1), (dx * dv).sum(dim=1), (dv * dv).sum(dim=1)], dim=1)


class NBodyEGNN(nn.Module):
    r"""The paper's N-body EGNN: the velocity variant with :math:`h^0_i = \|v_i\|` and
    :math:`a_{ij} = [c_i c_j, \|x_i - x_j\|^2]` (squared distance of the input frame).

    Args:
        hidden_nf: hidden size (64 in the paper).
        n_layers: EGCLs (4 in the paper).
        motion_features: append :func:`relative_motion` to :math:`a_{ij}` (beyond the paper: the
            messages then see how each pair moves, not only where it is; still E(n)-invariant).
        **egnn_kwargs: further :class:`~egnn.nn.egnn.EGNN` options (``coord_agg``, ``tanh``, ...).
    """

    # compile=auto compiles it: one CPU thread, batch 100, training step 1.1-1.3x faster.
    compile_pays = True

    def __init__(
        self, hidden_nf: int = 64, n_layers: int = 4, motion_features: bool = False, **egnn_kwargs
    ) -> None:
        super().__init__()
        self.motion_features = motion_features
        self.egnn = EGNN(
            in_node_nf=1,
            hidden_nf=hidden_nf,
            out_node_nf=None,
            in_edge_nf=5 if motion_features else 2,
            n_layers=n_layers,
            velocity=True,
            node_output=False,  # only the positions are predicted
            **egnn_kwargs,
        )

    def forward(self, pos: Tensor, vel: Tensor, charges: Tensor, edge_index: Tensor) -> Tensor:
        speed = vel.norm(dim=1, keepdim=True)
        edge_features = [charge_products(charges, edge_index), squared_distances(pos, edge_index)]
        if self.motion_features:
            edge_features.append(relative_motion(pos, vel, edge_index))
        _, pos_out = self.egnn(
            speed, pos, edge_index, edge_attr=torch.cat(edge_features, dim=1), vel=vel
        )
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


class NBodyEnsemble(nn.Module):
    """``members`` independently initialised N-body models whose predictions are averaged.

    Trained with the mean of the members' own losses (:meth:`member_predictions`), so each member
    learns as if alone (same batches, its own initialisation); the ensemble predicts their mean.

    Shapes: as every N-body model, ``(pos [N, 3], vel [N, 3], charges [N, 1], edge_index [2, E])``
    -> predicted positions [N, 3].

    Args:
        members: number of models (>= 1).
        member: registered name of the member model (``"egnn"``, ...).
        **member_kwargs: the member's own options (``hidden_nf``, ...).
    """

    def __init__(self, members: int = 3, member: str = "egnn", **member_kwargs) -> None:
        super().__init__()
        if not isinstance(members, int) or members < 1:
            raise ValueError(f"members must be a positive integer, got {members!r}")
        if member == "ensemble":
            raise ValueError("an ensemble's members cannot themselves be ensembles")
        self.members = nn.ModuleList(
            build_nbody_model(member, **member_kwargs) for _ in range(int(members))
        )

    def compile(self, *args, **kwargs) -> None:
        """Compile every member (training calls them one by one through :meth:`member_predictions`,
        which a compiled ``forward`` of the ensemble would bypass)."""
        for model in self.members:
            model.compile(*args, **kwargs)

    def member_predictions(
        self, pos: Tensor, vel: Tensor, charges: Tensor, edge_index: Tensor
    ) -> Tensor:
        """Every member's predicted positions, [members, N, 3]."""
        return torch.stack([model(pos, vel, charges, edge_index) for model in self.members])

    def forward(self, pos: Tensor, vel: Tensor, charges: Tensor, edge_index: Tensor) -> Tensor:
        return self.member_predictions(pos, vel, charges, edge_index).mean(dim=0)


class NBodyEGNNRelease(NBodyEGNN):
    """The paper's N-body EGNN computed as the release computes it
    (:func:`~egnn.nn.release.reference_egnn`): the same parameters and function as
    :class:`NBodyEGNN`, at the release's cost (per-edge concatenation).

    Registered as the N-body model ``egnn_release``: a reference model that stands in for the
    release's code in a training run on the machine at hand (time to accuracy). Shapes as
    :class:`NBodyEGNN`.
    """

    compile_pays = False  # it stands for the release's eager code

    def __init__(self, hidden_nf: int = 64, n_layers: int = 4, **egnn_kwargs) -> None:
        if egnn_kwargs.get("motion_features"):
            raise ValueError("egnn_release is the paper's model: motion_features must be False")
        super().__init__(hidden_nf, n_layers, **egnn_kwargs)

    def forward(self, pos: Tensor, vel: Tensor, charges: Tensor, edge_index: Tensor) -> Tensor:
        edge_attr = torch.cat(
            [charge_products(charges, edge_index), squared_distances(pos, edge_index)], dim=1
        )
        speed = vel.norm(dim=1, keepdim=True)
        return reference_egnn(self.egnn, speed, pos, edge_index, edge_attr, vel)[1]


def _tfn() -> type[nn.Module]:
    require_extra("e3nn", "model 'tfn'")
    from egnn.nn.baselines.tfn import NBodyTFN

    return NBodyTFN


def _se3_transformer() -> type[nn.Module]:
    require_extra("e3nn", "model 'se3_transformer'")
    from egnn.nn.baselines.se3_transformer import NBodySE3Transformer

    return NBodySE3Transformer


# Model name -> class; the e3nn baselines are imported only when asked for.
NBODY_MODELS: dict[str, Entry] = {
    "egnn": NBodyEGNN,
    "gnn": NBodyGNN,
    "rf": NBodyRadialField,
    "linear": NBodyLinear,
    "linear_vel": NBodyLinearDynamics,
    "tfn": _tfn,
    "se3_transformer": _se3_transformer,
    "ensemble": NBodyEnsemble,
    # The same function at the release's cost (per-edge concatenation): time-to-accuracy baseline.
    "egnn_release": NBodyEGNNRelease,
}


def build_nbody_model(name: str, **kwargs) -> nn.Module:
    """Instantiate the N-body model registered as ``name`` with its keyword arguments."""
    return build_registered(NBODY_MODELS, "N-body", name, **kwargs)
