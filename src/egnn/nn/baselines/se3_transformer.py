"""SE(3)-Transformer (Fuchs et al., 2020) for the N-body task, built on e3nn.

Attention between equivariant features: keys and values are tensor products of the sender's
features with the edge's spherical harmonics (radial weights), queries a linear map of the
receiver's features; the attention score is the dot product of query and key, invariant under
O(3) because every irrep block transforms by an orthogonal matrix. With parity tracked the model is
equivariant to reflections as well.
"""

from __future__ import annotations

import math

from e3nn import o3
from e3nn.nn import BatchNorm
from torch import Tensor, nn

from egnn.errors import ConfigError
from egnn.nn.baselines.edge_tensor_product import EdgeCoupling, RadialTensorProduct
from egnn.nn.baselines.tfn import IrrepsDynamics, gated, hidden_irreps
from egnn.nn.segment import segment_softmax, segment_sum


class EquivariantAttention(nn.Module):
    r""":math:`f_i' = \mathrm{BN}(\mathrm{Gate}(W_s f_i + W_o \sum_j \alpha_{ij} V_{ij}))`, with
    :math:`\alpha_{ij} = \mathrm{softmax}_j(\langle Q f_i, K_{ij}\rangle / \sqrt{d_k})` (one head).

    Keys :math:`K_{ij}` and values :math:`V_{ij}` are radial-weighted tensor products of the
    sender's features with the edge's spherical harmonics (one weight per path, input channel,
    output channel and edge; one radial MLP gives those of both), with the ``irreps_attention``
    channels, fewer than the layer's (the original SE(3)-Transformer divides the channels of keys,
    queries and values by ``div``); :math:`W_o` maps the attention output back, and
    :math:`W_s f_i + W_o(\cdot)` is the original's linear map of the concatenation of input and
    attention output.

    Shapes: features [N, irreps_in.dim]; sh [E, sh dim]; lengths [E, 1]; edge_index [2, E].
    """

    def __init__(
        self,
        irreps_in: o3.Irreps,
        irreps_out: o3.Irreps,
        irreps_attention: o3.Irreps,
        irreps_sh: o3.Irreps,
        gate: bool = True,
    ):
        super().__init__()
        irreps_value, self.gate = gated(irreps_out) if gate else (irreps_out, None)
        self.query = o3.Linear(irreps_in, irreps_attention)
        # Key and value couple the same sender features with the same harmonics: coupled once.
        self.coupling = EdgeCoupling(irreps_in, irreps_sh, irreps_attention)
        # Key and value: one radial MLP, its last layer giving the weights of both.
        self.key_value = RadialTensorProduct(irreps_in, irreps_sh, irreps_attention, copies=2)
        self.project = o3.Linear(irreps_attention, irreps_value)
        self.self_interaction = o3.Linear(irreps_in, irreps_value)
        self.scale = 1.0 / math.sqrt(o3.Irreps(irreps_attention).dim)
        self.norm = BatchNorm(irreps_out) if gate else None

    def forward(self, features: Tensor, sh: Tensor, lengths: Tensor, edge_index: Tensor) -> Tensor:
        receivers, senders = edge_index[0], edge_index[1]
        query = self.query(features).index_select(0, receivers)
        coupled = self.coupling(features.index_select(0, senders), sh)
        key, value = self.key_value(coupled, lengths)
        alpha = segment_softmax((query * key).sum(dim=1) * self.scale, receivers, features.shape[0])
        attended = segment_sum(alpha[:, None] * value, receivers, features.shape[0])
        out = self.self_interaction(features) + self.project(attended)
        return self.norm(self.gate(out)) if self.gate is not None else out


class NBodySE3Transformer(IrrepsDynamics):
    """The paper's SE(3)-Transformer baseline: charge (type 0) and velocity (type 1) in, degrees up
    to ``max_degree`` (2), ``channels`` (21) per degree, one head, ``n_layers`` (4) attention
    layers, the last giving one type-1 vector added to x.

    Args:
        channels: multiplicity of every degree of the hidden features (21).
        max_degree: highest degree (2).
        n_layers: attention layers (4).
        div: keys, queries and values have ``channels // div`` channels per degree (the original
            SE(3)-Transformer's default is 4); the per-edge radial weights, the bulk of the cost,
            scale with ``channels * channels // div``.

    Shapes: pos, vel [N, 3]; charges [N, 1]; edge_index [2, E]; returns [N, 3].
    """

    def __init__(
        self, channels: int = 21, max_degree: int = 2, n_layers: int = 4, div: int = 4
    ) -> None:
        super().__init__()
        if not isinstance(div, int) or isinstance(div, bool) or not 1 <= div <= channels:
            raise ConfigError(
                f"div must be an integer from 1 to channels ({channels}), got {div!r}"
            )
        self.irreps_sh = o3.Irreps.spherical_harmonics(max_degree)
        hidden = hidden_irreps(channels, max_degree)
        attention = hidden_irreps(channels // div, max_degree)
        layers, irreps = [], o3.Irreps("1x0e + 1x1o")
        for _ in range(n_layers - 1):
            layers.append(EquivariantAttention(irreps, hidden, attention, self.irreps_sh))
            irreps = hidden
        layers.append(
            EquivariantAttention(irreps, o3.Irreps("1x1o"), attention, self.irreps_sh, gate=False)
        )
        self.layers = nn.ModuleList(layers)
