"""The EGNN called on PyG data."""

from __future__ import annotations

from torch import Tensor, nn

from egnn.data import keys as K
from egnn.graphs import GraphChoice
from egnn.nn import EGNN
from egnn.pyg.convert import batch_from_pyg


class PyGEGNN(nn.Module):
    """:class:`egnn.nn.EGNN` whose ``forward`` takes a PyG ``Data`` or ``Batch``.

    The data's ``x`` are the input node features, ``pos`` the positions, ``edge_index`` (PyG's
    source-to-target order, converted here) the edges and ``edge_attr`` the optional edge
    attributes. Data without ``edge_index`` (or every input, with ``rebuild_edges=True``) gets
    the edges of ``graph`` built from ``pos`` and ``batch``.

    Args:
        graph: how to build missing edges, e.g. ``GraphChoice("radius", cutoff=5.0)``.
        rebuild_edges: ignore the data's edges and always build them with ``graph``.
        **egnn_kwargs: arguments of :class:`egnn.nn.EGNN` (``in_node_nf``, ``hidden_nf``, ...).

    Shapes:
        data.x [N, in_node_nf]; data.pos [N, D]; data.edge_index [2, E]; data.batch [N];
        data.edge_attr [E, in_edge_nf]. Returns h_out [N, out_node_nf] and x_out [N, D].
    """

    def __init__(
        self, graph: GraphChoice | None = None, rebuild_edges: bool = False, **egnn_kwargs
    ) -> None:
        super().__init__()
        if rebuild_edges and graph is None:
            raise ValueError(
                "rebuild_edges=True needs a graph, e.g. GraphChoice('radius', cutoff=5.0)"
            )
        self.graph, self.rebuild_edges = graph, rebuild_edges
        self.egnn = EGNN(**egnn_kwargs)

    def forward(self, data) -> tuple[Tensor, Tensor]:
        batch = batch_from_pyg(data)
        if K.NODE_ATTR not in batch:
            raise ValueError("the PyG data has no `x`: PyGEGNN needs input node features [N, F]")
        edge_index = batch.get(K.EDGE_INDEX)
        if edge_index is None or self.rebuild_edges:
            if self.graph is None:
                raise ValueError(
                    "the PyG data has no `edge_index`: pass graph=GraphChoice(...) to build one"
                )
            edge_index = self.graph(batch[K.POS], batch[K.BATCH])
            batch.pop(K.EDGE_ATTR, None)  # attributes of the data's edges do not fit new edges
        return self.egnn(batch[K.NODE_ATTR], batch[K.POS], edge_index, batch.get(K.EDGE_ATTR))
