"""Tensor Field Network (Thomas et al., 2018) for the N-body task, built on e3nn.

Features are direct sums of irreducible representations of O(3) (``e3nn.o3.Irreps``); with parity
tracked, the network is equivariant to rotations AND reflections (velocities are ``1o`` vectors,
spherical harmonics of degree l have parity (-1)^l).
"""

from __future__ import annotations

import torch
from e3nn import o3
from e3nn.nn import BatchNorm, Gate
from torch import Tensor, nn

from egnn.nn.baselines.edge_tensor_product import EdgeCoupling, RadialTensorProduct
from egnn.nn.segment import segment_mean


def hidden_irreps(channels: int, max_degree: int) -> o3.Irreps:
    """``channels`` copies of each degree 0..max_degree with the parity of spherical harmonics."""
    return o3.Irreps([(channels, (degree, (-1) ** degree)) for degree in range(max_degree + 1)])


def gated(irreps: o3.Irreps) -> tuple[o3.Irreps, Gate]:
    """The tensor-product output irreps that a Gate needs (scalars + one gate per non-scalar) and the Gate."""
    scalars = o3.Irreps([(mul, ir) for mul, ir in irreps if ir.l == 0])
    non_scalars = o3.Irreps([(mul, ir) for mul, ir in irreps if ir.l > 0])
    gates = o3.Irreps(f"{non_scalars.num_irreps}x0e")
    gate = Gate(scalars, [torch.nn.functional.silu], gates, [torch.sigmoid], non_scalars)
    return gate.irreps_in, gate


def edge_geometry(pos: Tensor, edge_index: Tensor, irreps_sh: o3.Irreps) -> tuple[Tensor, Tensor]:
    """Spherical harmonics of the edge directions [E, sh dim] and edge lengths [E, 1]."""
    vec = pos.index_select(0, edge_index[0]) - pos.index_select(0, edge_index[1])
    sh = o3.spherical_harmonics(irreps_sh, vec, normalize=True, normalization="component")
    return sh, vec.norm(dim=1, keepdim=True)


class TFNLayer(nn.Module):
    """:math:`f_i' = \\mathrm{BN}(\\mathrm{Gate}(W f_i + \\frac{1}{\\deg i}\\sum_j TP(f_j, Y(\\hat r_{ij}); R(r_{ij}))))`
    (equivariant batch norm of the irreps' norms keeps feature scales bounded over depth)."""

    def __init__(
        self,
        irreps_in: o3.Irreps,
        irreps_hidden: o3.Irreps,
        irreps_sh: o3.Irreps,
        gate: bool = True,
    ):
        super().__init__()
        irreps_tp, self.gate = gated(irreps_hidden) if gate else (irreps_hidden, None)
        self.coupling = EdgeCoupling(irreps_in, irreps_sh, irreps_tp)
        self.message = RadialTensorProduct(irreps_in, irreps_sh, irreps_tp)
        self.self_interaction = o3.Linear(irreps_in, irreps_tp)
        self.norm = BatchNorm(irreps_hidden) if gate else None
        self.irreps_out = irreps_hidden

    def forward(self, features: Tensor, sh: Tensor, lengths: Tensor, edge_index: Tensor) -> Tensor:
        coupled = self.coupling(features.index_select(0, edge_index[1]), sh)
        messages = self.message(coupled, lengths)
        out = self.self_interaction(features) + segment_mean(
            messages, edge_index[0], features.shape[0]
        )
        return self.norm(self.gate(out)) if self.gate is not None else out


class IrrepsDynamics(nn.Module):
    """Shared forward of the e3nn N-body models: features [charge (0e), velocity (1o)] pass through
    ``self.layers`` (each called with features, spherical harmonics, lengths, edges) and the final
    ``1o`` vector is added to the positions."""

    irreps_sh: o3.Irreps
    layers: nn.ModuleList

    def __init__(self) -> None:
        super().__init__()
        # The displacement starts small (as the EGNN's gain-0.001 coordinate layer does).
        self.output_scale = nn.Parameter(torch.tensor(0.01))

    def forward(self, pos: Tensor, vel: Tensor, charges: Tensor, edge_index: Tensor) -> Tensor:
        sh, lengths = edge_geometry(pos, edge_index, self.irreps_sh)
        features = torch.cat([charges, vel], dim=1)
        for layer in self.layers:
            features = layer(features, sh, lengths, edge_index)
        return pos + self.output_scale * features


class NBodyTFN(IrrepsDynamics):
    """The paper's TFN baseline: type-0 input = charge, type-1 input = velocity, no edge
    features, radial net on :math:`\\|r_{ij}\\|`, ``n_layers`` layers, output one type-1 vector added to x.

    Args:
        channels: multiplicity of every degree (16 in the paper).
        max_degree: highest degree of the hidden features (1 in the paper).
        n_layers: message-passing layers (4).

    Shapes: pos, vel [N, 3]; charges [N, 1]; edge_index [2, E]; returns [N, 3].
    """

    def __init__(self, channels: int = 16, max_degree: int = 1, n_layers: int = 4) -> None:
        super().__init__()
        self.irreps_in = o3.Irreps("1x0e + 1x1o")
        self.irreps_sh = o3.Irreps.spherical_harmonics(max_degree)
        hidden = hidden_irreps(channels, max_degree)
        layers, irreps = [], self.irreps_in
        for _ in range(n_layers - 1):
            layers.append(TFNLayer(irreps, hidden, self.irreps_sh))
            irreps = hidden
        layers.append(TFNLayer(irreps, o3.Irreps("1x1o"), self.irreps_sh, gate=False))
        self.layers = nn.ModuleList(layers)
