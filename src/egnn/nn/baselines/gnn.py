"""A plain message-passing GNN (the paper's non-equivariant baseline)."""

from __future__ import annotations

from torch import Tensor, nn

from egnn.nn.egcl_eq3_6 import MessageNodeMLPs


class GCL(MessageNodeMLPs):
    r"""Graph convolutional layer: the EGCL without coordinates.

    .. math::
        m_{ij} = \phi_e(h_i, h_j, a_{ij}), \quad h_i' = h_i + \phi_h\big(h_i, \textstyle\sum_j m_{ij}\big)

    Args:
        hidden_nf: node feature size F.
        edge_attr_nf: edge attribute size A.
        act: activation class.
        residual: add :math:`h_i` (on in the paper's N-body GNN; needs ``in_nf == hidden_nf``).
        attention: gate messages by :math:`\sigma(\mathrm{Linear}(m_{ij}))`.
        in_nf: input node feature size F_in (default F): a first layer fed the raw node
            features, as the release's graph autoencoder does.

    Shapes:
        h: [N, F_in]; edge_index: [2, E]; edge_attr: [E, A]; returns [N, F].
    """

    def __init__(
        self,
        hidden_nf: int,
        edge_attr_nf: int = 0,
        act: type[nn.Module] = nn.SiLU,
        residual: bool = True,
        attention: bool = False,
        in_nf: int | None = None,
    ) -> None:
        super().__init__(hidden_nf, edge_attr_nf, act, residual, attention, in_nf)

    def forward(self, h: Tensor, edge_index: Tensor, edge_attr: Tensor | None = None) -> Tensor:
        return self.node_model(h, edge_index, self.messages(h, edge_index, edge_attr))


class GNN(nn.Module):
    """Embedding, ``n_layers`` :class:`GCL` and a decoder: the MLP ``F -> F -> out_node_nf``, or
    one ``Linear(F -> out_node_nf)`` with ``mlp_decoder=False`` (the graph autoencoder's).

    Shapes:
        h: [N, in_node_nf]; edge_index: [2, E]; edge_attr: [E, in_edge_nf]; returns [N, out_node_nf].
    """

    def __init__(
        self,
        in_node_nf: int,
        hidden_nf: int,
        out_node_nf: int,
        in_edge_nf: int = 0,
        n_layers: int = 4,
        residual: bool = True,
        attention: bool = False,
        act: type[nn.Module] = nn.SiLU,
        mlp_decoder: bool = True,
    ) -> None:
        super().__init__()
        self.embedding = nn.Linear(in_node_nf, hidden_nf)
        self.layers = nn.ModuleList(
            GCL(hidden_nf, in_edge_nf, act=act, residual=residual, attention=attention)
            for _ in range(n_layers)
        )
        self.decoder = (
            nn.Sequential(nn.Linear(hidden_nf, hidden_nf), act(), nn.Linear(hidden_nf, out_node_nf))
            if mlp_decoder
            else nn.Linear(hidden_nf, out_node_nf)
        )

    def forward(self, h: Tensor, edge_index: Tensor, edge_attr: Tensor | None = None) -> Tensor:
        h = self.embedding(h)
        for layer in self.layers:
            h = layer(h, edge_index, edge_attr)
        return self.decoder(h)
