"""The e3nn baselines computed with e3nn's own tensor-product module, for tests and benchmarks.

:func:`reference_forward` runs a built :class:`~egnn.nn.baselines.tfn.NBodyTFN` or
:class:`~egnn.nn.baselines.se3_transformer.NBodySE3Transformer` with the same parameters, but
every radial-weighted tensor product computed by ``o3.FullyConnectedTensorProduct(...,
shared_weights=False)`` fed by (its part of) the radial network's flat output, and key and value
coupled and contracted separately: the straightforward e3nn formulation that the models'
two-stage products replace.

Shapes: pos, vel [N, 3]; charges [N, 1]; edge_index [2, E]; returns [N, 3].
"""

from __future__ import annotations

import torch
from e3nn import o3
from torch import Tensor, nn

from egnn.nn.baselines.edge_tensor_product import RadialTensorProduct
from egnn.nn.baselines.se3_transformer import EquivariantAttention
from egnn.nn.baselines.tfn import IrrepsDynamics, TFNLayer, edge_geometry
from egnn.nn.segment import segment_mean, segment_softmax, segment_sum


def _e3nn_product(
    rtp: RadialTensorProduct, features: Tensor, sh: Tensor, lengths: Tensor
) -> Tensor:
    """``rtp``'s function through e3nn's module (built once and kept on ``rtp``, not registered)."""
    if not hasattr(rtp, "_e3nn"):
        parameter = next(iter(rtp.radial.parameters()))
        default = torch.get_default_dtype()
        torch.set_default_dtype(parameter.dtype)  # e3nn makes its constants in the default dtype
        try:
            tp = o3.FullyConnectedTensorProduct(
                rtp.irreps_in, rtp.irreps_sh, rtp.irreps_out, shared_weights=False
            ).to(parameter.device)
        finally:
            torch.set_default_dtype(default)
        object.__setattr__(rtp, "_e3nn", tp)
    weights = rtp.radial(lengths).chunk(rtp.copies, dim=1)
    outs = tuple(rtp._e3nn(features, sh, w) for w in weights)
    return outs[0] if rtp.copies == 1 else outs


def _tfn_layer(layer: TFNLayer, features, sh, lengths, edge_index) -> Tensor:
    senders = features.index_select(0, edge_index[1])
    messages = _e3nn_product(layer.message, senders, sh, lengths)
    out = layer.self_interaction(features) + segment_mean(messages, edge_index[0], len(features))
    return layer.norm(layer.gate(out)) if layer.gate is not None else out


def _attention(layer: EquivariantAttention, features, sh, lengths, edge_index) -> Tensor:
    receivers, senders = edge_index[0], edge_index[1]
    sender_features = features.index_select(0, senders)
    query = layer.query(features).index_select(0, receivers)
    key, value = _e3nn_product(layer.key_value, sender_features, sh, lengths)
    alpha = segment_softmax((query * key).sum(dim=1) * layer.scale, receivers, len(features))
    attended = segment_sum(alpha[:, None] * value, receivers, len(features))
    out = layer.self_interaction(features) + layer.project(attended)
    return layer.norm(layer.gate(out)) if layer.gate is not None else out


def reference_forward(
    model: IrrepsDynamics, pos: Tensor, vel: Tensor, charges: Tensor, edge_index: Tensor
) -> Tensor:
    """``model(pos, vel, charges, edge_index)`` computed with e3nn's tensor-product module."""
    sh, lengths = edge_geometry(pos, edge_index, model.irreps_sh)
    features = torch.cat([charges, vel], dim=1)
    for layer in model.layers:
        step = _attention if isinstance(layer, EquivariantAttention) else _tfn_layer
        features = step(layer, features, sh, lengths, edge_index)
    return pos + model.output_scale * features


class ReferenceModel(nn.Module):
    """``model`` (shared, not copied) whose forward is :func:`reference_forward`."""

    def __init__(self, model: IrrepsDynamics):
        super().__init__()
        self.model = model

    def forward(self, pos: Tensor, vel: Tensor, charges: Tensor, edge_index: Tensor) -> Tensor:
        return reference_forward(self.model, pos, vel, charges, edge_index)
