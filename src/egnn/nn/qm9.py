"""The paper's QM9 model: an E(n)-invariant EGNN (no coordinate updates) with a sum readout."""

from __future__ import annotations

from torch import Tensor, nn

from egnn.nn.egnn import EGNN
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
