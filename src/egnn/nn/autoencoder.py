"""Graph autoencoders of the paper's Table 3: an encoder embeds every node, a decoder predicts each
adjacency entry from the distance between two embeddings.

Every model has the same call signature, ``model(node_attr, edge_index, edge_attr) -> logits``, where
the edges are all ordered pairs i != j of each graph (fully connected, no self loops) and
``edge_attr`` holds the input adjacency entry of each pair. Encoders that start from random
coordinates (Noise-GNN, Radial Field, EGNN) redraw them at every forward pass, in training and in
evaluation alike.

Shapes:
    node_attr: [N, 1] (ones); edge_index: [2, E]; edge_attr: [E, 1]; returns logits [E].
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from egnn.nn.baselines.gnn import GNN
from egnn.nn.baselines.radial_field import RadialField
from egnn.nn.egnn import EGNN
from egnn.nn.registry import build_registered


def squared_differences(z: Tensor, edge_index: Tensor) -> Tensor:
    """:math:`(z_i - z_j)^2` per edge and embedding dimension, [E, K]."""
    diff = z.index_select(0, edge_index[0]) - z.index_select(0, edge_index[1])
    return diff * diff


class DistanceDecoder(nn.Module):
    r""":math:`\mathrm{logit}_{ij} = w \|z_i - z_j\|^2 + b` with scalars ``w`` (init -0.1), ``b``
    (init 1): the EGNN and Radial Field decoder. Shapes: z [N, K], edge_index [2, E] -> [E].

    ``learnable=False`` keeps ``w`` and ``b`` at their initial values (buffers, same state-dict
    names). That is what the release's code does on a GPU: its ``w`` and ``b`` are created as
    ``nn.Parameter(...).to(device)``, which on a CUDA device returns a plain tensor that the module
    does not register, so the optimizer never sees it (on CPU the same line keeps the parameter).
    The paper's runs cannot have kept them fixed: with ``b = 1`` no entry gets a probability above
    sigmoid(1), and the BCE stays far above the paper's (README)."""

    def __init__(self, w_init: float = -0.1, b_init: float = 1.0, learnable: bool = True) -> None:
        super().__init__()
        for name, value in (("w", w_init), ("b", b_init)):
            tensor = torch.tensor([float(value)])
            if learnable:
                self.register_parameter(name, nn.Parameter(tensor))
            else:
                self.register_buffer(name, tensor)

    def forward(self, z: Tensor, edge_index: Tensor) -> Tensor:
        return self.w * squared_differences(z, edge_index).sum(dim=1) + self.b


class WeightedDistanceDecoder(nn.Module):
    r""":math:`\mathrm{logit}_{ij} = \sum_k w_k (z_{ik} - z_{jk})^2 + b`: one learnable weight per
    embedding dimension (the GNN decoder). Shapes: z [N, K], edge_index [2, E] -> [E]."""

    def __init__(self, embedding_nf: int) -> None:
        super().__init__()
        self.linear = nn.Linear(embedding_nf, 1)

    def forward(self, z: Tensor, edge_index: Tensor) -> Tensor:
        return self.linear(squared_differences(z, edge_index)).squeeze(1)


class GraphAutoencoder(nn.Module):
    """Base: ``forward`` = ``decoder(encode(...))``; subclasses define ``encode`` -> z [N, K].

    ``probabilistic`` is False for a model whose outputs are hard decisions (its BCE is undefined);
    ``random_input`` is True for a model that draws a random input at every pass (its outputs
    differ from pass to pass).
    """

    probabilistic = True
    random_input = False
    decoder: nn.Module

    def encode(self, node_attr: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, node_attr: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        return self.decoder(self.encode(node_attr, edge_index, edge_attr), edge_index)


class GNNAutoencoder(GraphAutoencoder):
    """GNN encoder (``n_layers`` GCLs, ``hidden_nf``, then Linear(hidden -> embedding_nf)) with the
    per-dimension distance decoder. ``noise=True`` is the Noise-GNN: the node input is fresh
    N(0, 1) noise of ``noise_nf`` dimensions at every pass instead of the constant ones."""

    def __init__(
        self,
        hidden_nf: int = 64,
        embedding_nf: int = 8,
        n_layers: int = 4,
        noise: bool = False,
        noise_nf: int = 1,
    ) -> None:
        super().__init__()
        self.noise_nf = noise_nf if noise else 0
        self.random_input = bool(self.noise_nf)
        in_nf = self.noise_nf or 1
        self.gnn = GNN(
            in_nf, hidden_nf, embedding_nf, in_edge_nf=1, n_layers=n_layers, mlp_decoder=False
        )
        self.decoder = WeightedDistanceDecoder(embedding_nf)

    def encode(self, node_attr: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        if self.noise_nf:
            node_attr = torch.randn(
                node_attr.shape[0], self.noise_nf, dtype=edge_attr.dtype, device=edge_attr.device
            )
        return self.gnn(node_attr, edge_index, edge_attr)


class CoordinateAutoencoder(GraphAutoencoder):
    """Base of the encoders that move random points: x ~ N(0, I) in ``embedding_nf`` dimensions,
    drawn by :meth:`initial_coords` at every pass, moved by :meth:`move`; the embedding is the
    final x, decoded by :class:`DistanceDecoder` (``learn_decoder=False``: its ``w`` and ``b`` fixed
    at -0.1 and 1, as the release's code does on a GPU). The logits are invariant to any orthogonal map
    of the initial points (rotations and reflections)."""

    random_input = True

    def __init__(self, embedding_nf: int, learn_decoder: bool) -> None:
        super().__init__()
        self.embedding_nf = embedding_nf
        self.decoder = DistanceDecoder(learnable=learn_decoder)

    def initial_coords(self, node_attr: Tensor) -> Tensor:
        """Fresh N(0, I) points [N, embedding_nf]."""
        shape = (node_attr.shape[0], self.embedding_nf)
        return torch.randn(shape, dtype=node_attr.dtype, device=node_attr.device)

    def move(self, x: Tensor, node_attr: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        raise NotImplementedError

    def encode(self, node_attr: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        return self.move(self.initial_coords(node_attr), node_attr, edge_index, edge_attr)


class EGNNAutoencoder(CoordinateAutoencoder):
    """The shared :class:`~egnn.nn.EGNN` backbone as encoder: h = ones, x random (see
    :class:`CoordinateAutoencoder`), ``x <- x - coord_decay * x`` after each layer."""

    def __init__(
        self,
        hidden_nf: int = 64,
        embedding_nf: int = 8,
        n_layers: int = 4,
        coord_decay: float = 1e-3,
        learn_decoder: bool = True,
        **egnn_kwargs,
    ) -> None:
        super().__init__(embedding_nf, learn_decoder)
        self.egnn = EGNN(
            1,
            hidden_nf,
            None,
            in_edge_nf=1,
            n_layers=n_layers,
            coord_decay=coord_decay,
            **egnn_kwargs,
        )

    def move(self, x: Tensor, node_attr: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        return self.egnn(node_attr, x, edge_index, edge_attr)[1]


class RadialFieldAutoencoder(CoordinateAutoencoder):
    """Radial Field encoder: x random (see :class:`CoordinateAutoencoder`), ``n_layers`` radial
    steps with the adjacency entry as edge attribute and no velocity term,
    ``x <- x - coord_decay * x`` after each. ``tanh`` bounds the edge weights as the N-body Radial
    Field does; ``configs/model/ae_rf.yaml`` sets ``tanh: false``, the release's autoencoder, which
    fits far better (README). The default stays ``True`` so that checkpoints saved before the
    option existed rebuild the model they were trained as."""

    def __init__(
        self,
        hidden_nf: int = 64,
        embedding_nf: int = 8,
        n_layers: int = 4,
        coord_decay: float = 1e-3,
        tanh: bool = True,
        learn_decoder: bool = True,
    ) -> None:
        super().__init__(embedding_nf, learn_decoder)
        self.rf = RadialField(
            hidden_nf,
            edge_attr_nf=1,
            n_layers=n_layers,
            velocity=False,
            coord_decay=coord_decay,
            tanh=tanh,
        )

    def move(self, x: Tensor, node_attr: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        return self.rf(x, None, edge_index, edge_attr)


class EmptyGraphBaseline(nn.Module):
    """The paper's "Baseline" row: predicts no edge at all (logit -inf everywhere; no parameters,
    nothing to train)."""

    probabilistic = False
    random_input = False

    def forward(self, node_attr: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        return torch.full(
            (edge_index.shape[1],), float("-inf"), dtype=edge_attr.dtype, device=edge_attr.device
        )


AE_MODELS: dict[str, type[nn.Module]] = {
    "baseline": EmptyGraphBaseline,
    "gnn": GNNAutoencoder,
    "noise_gnn": GNNAutoencoder,
    "rf": RadialFieldAutoencoder,
    "egnn": EGNNAutoencoder,
}


def build_autoencoder(name: str, **kwargs) -> nn.Module:
    """The autoencoder registered as ``name`` (``noise_gnn`` is the GNN with ``noise=True``)."""
    if name == "noise_gnn":
        kwargs.setdefault("noise", True)
    return build_registered(AE_MODELS, "graph autoencoder", name, **kwargs)
