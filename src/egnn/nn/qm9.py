"""The paper's QM9 model: an E(n)-invariant EGNN (no coordinate updates) with a sum readout."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from egnn.nn.egnn import EGNN
from egnn.nn.graph import fully_connected_edges
from egnn.nn.registry import Entry, build_registered
from egnn.nn.release import reference_qm9
from egnn.nn.segment import segment_sum


class QM9EGNN(nn.Module):
    r"""Embedding Linear(15 -> F), ``n_layers`` EGCLs with edge inference and no coordinate
    updates, per-atom MLP F -> F -> F, sum over the molecule's atoms, MLP F -> F -> 1.

    Args:
        in_node_nf: input node features (15: one-hot species times (Z/9)^p, p = 0, 1, 2).
        hidden_nf: F (128 in the paper).
        n_layers: EGCLs (7 in the paper).
        attention: edge inference (on in the paper).

    Shapes:
        node_attr: [N, in_node_nf]; pos: [N, 3]; edge_index: [2, E]; batch: [N] graph of each node;
        returns one prediction per graph, [B].
    """

    def __init__(
        self,
        in_node_nf: int = 15,
        hidden_nf: int = 128,
        n_layers: int = 7,
        attention: bool = True,
        **egnn_kwargs,
    ):
        super().__init__()
        self.egnn = EGNN(
            in_node_nf,
            hidden_nf,
            None,
            n_layers=n_layers,
            attention=attention,
            update_coords=False,
            **egnn_kwargs,
        )
        self.node_dec = nn.Sequential(
            nn.Linear(hidden_nf, hidden_nf), nn.SiLU(), nn.Linear(hidden_nf, hidden_nf)
        )
        self.graph_dec = nn.Sequential(
            nn.Linear(hidden_nf, hidden_nf), nn.SiLU(), nn.Linear(hidden_nf, 1)
        )

    def forward(
        self, node_attr: Tensor, pos: Tensor, edge_index: Tensor, batch: Tensor, num_graphs: int
    ) -> Tensor:
        h, _ = self.egnn(node_attr, pos, edge_index)
        graph = segment_sum(self.node_dec(h), batch, num_graphs)
        return self.graph_dec(graph).squeeze(-1)


def padded_layout(
    node_attr: Tensor, pos: Tensor, batch: Tensor, num_graphs: int
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, int]:
    """A batch in the release's layout: every molecule padded to the batch's largest, ``n_max``
    slots each, all ``n_max (n_max - 1)`` ordered pairs, masks for the real atoms and pairs.

    Shapes: node_attr [N, F]; pos [N, 3]; batch [N], sorted (each molecule's atoms together, as
    every collate of this package gives them; an unsorted batch would be laid out wrongly).
    Returns (node_attr [B n_max, F], pos [B n_max, 3], edge_index [2, B n_max (n_max - 1)],
    edge_mask [E, 1], node_mask [B n_max, 1], n_max); padding slots hold zeros.
    """
    sizes = torch.bincount(batch, minlength=num_graphs)
    n_max = int(sizes.max())
    first = torch.cumsum(sizes, 0) - sizes  # index of each molecule's first atom
    slot = torch.arange(batch.shape[0], device=batch.device) - first[batch] + batch * n_max
    n_slots = num_graphs * n_max
    node_mask = node_attr.new_zeros(n_slots, 1).index_fill_(0, slot, 1.0)
    attr = node_attr.new_zeros(n_slots, node_attr.shape[1]).index_copy_(0, slot, node_attr)
    padded_pos = pos.new_zeros(n_slots, pos.shape[1]).index_copy_(0, slot, pos)
    edge_index = fully_connected_edges(n_max, num_graphs, device=batch.device)
    edge_mask = node_mask[edge_index[0]] * node_mask[edge_index[1]]
    return attr, padded_pos, edge_index, edge_mask, node_mask, n_max


class QM9EGNNRelease(QM9EGNN):
    """The paper's QM9 EGNN computed as the release computes it
    (:func:`~egnn.nn.release.reference_qm9`): the same parameters and function as
    :class:`QM9EGNN`, at the release's cost (every molecule padded to the batch's largest, all
    padded pairs computed and masked, the first edge layer on the per-edge concatenation).

    Registered as the QM9 model ``egnn_release``: it stands in for the release's code in a
    training run on the machine at hand (an equal-time comparison). It always uses the complete
    graph of each molecule, as the release does: ``edge_index`` is not read. Shapes as
    :class:`QM9EGNN`.
    """

    # The options of QM9EGNN that the release's formulation computes; any other EGNN option
    # (dropout, ...) would make the two functions differ, so it is refused.
    OPTIONS = ("in_node_nf", "hidden_nf", "n_layers", "attention")

    def __init__(self, **kwargs) -> None:
        unsupported = sorted(set(kwargs) - set(self.OPTIONS))
        if unsupported:
            raise ValueError(f"egnn_release is the paper's model: {unsupported} not supported")
        super().__init__(**kwargs)

    def forward(
        self, node_attr: Tensor, pos: Tensor, edge_index: Tensor, batch: Tensor, num_graphs: int
    ) -> Tensor:
        return reference_qm9(self, *padded_layout(node_attr, pos, batch, num_graphs))


QM9_MODELS: dict[str, Entry] = {"egnn": QM9EGNN, "egnn_release": QM9EGNNRelease}


def build_qm9_model(name: str = "egnn", **kwargs) -> nn.Module:
    """The QM9 model registered as ``name`` (``egnn``, ``egnn_release``) with ``kwargs``."""
    return build_registered(QM9_MODELS, "QM9", name, **kwargs)
