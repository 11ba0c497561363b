"""Graph builders for point clouds, molecules and particle systems (pure torch + vesin-torch).

Edge direction, once for the whole package: every ``edge_index`` is [2, E] int64 with **row 0 the
receiver i and row 1 the sender j** (messages flow from ``edge_index[1]`` to ``edge_index[0]``).
PyTorch Geometric's default is the reverse (row 0 source, row 1 target); :func:`to_pyg` and
:func:`from_pyg` swap the rows.

Builders (B graphs, N nodes, E edges, D = 1, 2 or 3 dimensions; ``batch`` [N] the graph of each
node, ``None`` for one graph):

- :func:`fully_connected` ``(batch)``: every ordered pair of distinct nodes of each graph.
- :func:`radius_graph` ``(pos, r, batch, max_num_neighbors, loop)``: pairs closer than r.
- :func:`periodic_radius_graph` ``(pos, r, cell, batch, pbc, ...)``: the same under periodic
  boundary conditions, returning ``(edge_index, shift)``; the sender sits at ``pos[j] + shift``.
- :func:`knn_graph` ``(pos, k, batch, loop)``: each node receives from its k nearest nodes.

Radius and kNN graphs use vesin's cell lists: memory grows with N + E, never N * N, and so does
the time of radius graphs (kNN graphs add, for each node short of k neighbours within the first
cutoffs, a chunked exact search of its own graph; see :mod:`egnn.graphs.knn`).
:class:`GraphChoice` picks one of them by name (``fully_connected``, ``radius``, ``knn``), as the
DataModules' ``graph`` option does.
"""

from egnn.graphs.batch import batch_from_sizes, fully_connected, graph_sizes, num_graphs
from egnn.graphs.choice import GRAPHS, GraphChoice
from egnn.graphs.convention import RECEIVER, SENDER, from_pyg, to_pyg
from egnn.graphs.knn import knn_graph
from egnn.graphs.radius import periodic_radius_graph, radius_graph

__all__ = [
    "GRAPHS",
    "GraphChoice",
    "RECEIVER",
    "SENDER",
    "batch_from_sizes",
    "from_pyg",
    "fully_connected",
    "graph_sizes",
    "knn_graph",
    "num_graphs",
    "periodic_radius_graph",
    "radius_graph",
    "to_pyg",
]
