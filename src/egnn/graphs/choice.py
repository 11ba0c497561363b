"""One graph builder chosen by name, for DataModules and configs (``data.graph=radius``).

``GRAPHS`` names the choices: ``fully_connected`` (every pair of distinct nodes of a graph),
``radius`` (pairs closer than ``cutoff``, optionally at most ``max_num_neighbors`` per node) and
``knn`` (each node receives from its ``k`` nearest). Edges are receiver-first (row 0 the receiver
i, row 1 the sender j), as everywhere in ``egnn``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import Tensor

from egnn.graphs.batch import fully_connected
from egnn.graphs.knn import knn_graph
from egnn.graphs.radius import radius_graph

GRAPHS = ("fully_connected", "radius", "knn")


@dataclass(frozen=True)
class GraphChoice:
    """A validated graph option: ``kind`` in :data:`GRAPHS` and the parameter it needs.

    Args:
        kind: ``fully_connected``, ``radius`` or ``knn``.
        cutoff: radius of ``radius`` graphs (> 0, units of the positions); unused otherwise.
        k: neighbours per node of ``knn`` graphs (>= 1); unused otherwise.
        max_num_neighbors: optional limit of ``radius`` graphs (the nearest are kept).

    Raises:
        ValueError naming the bad value and what is allowed.
    """

    kind: str = "fully_connected"
    cutoff: float | None = None
    k: int | None = None
    max_num_neighbors: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in GRAPHS:
            raise ValueError(f"graph must be one of {GRAPHS}, got {self.kind!r}")
        if self.kind == "radius" and not (
            self.cutoff is not None and math.isfinite(self.cutoff) and self.cutoff > 0
        ):
            raise ValueError(f"graph=radius needs a cutoff > 0, got cutoff={self.cutoff!r}")
        if self.kind == "knn" and not (
            self.k is not None and int(self.k) == self.k and self.k >= 1
        ):
            raise ValueError(f"graph=knn needs an integer k >= 1, got k={self.k!r}")
        if self.max_num_neighbors is not None and (
            self.kind != "radius"
            or int(self.max_num_neighbors) != self.max_num_neighbors
            or self.max_num_neighbors < 1
        ):
            raise ValueError(
                "max_num_neighbors must be an integer >= 1 and only goes with graph=radius, got "
                f"max_num_neighbors={self.max_num_neighbors!r} with graph={self.kind!r}"
            )

    def __call__(self, pos: Tensor, batch: Tensor) -> Tensor:
        """edge_index [2, E] of the nodes at ``pos`` [N, D] in graphs ``batch`` [N] int64."""
        if self.kind == "radius":
            return radius_graph(pos, self.cutoff, batch, max_num_neighbors=self.max_num_neighbors)
        if self.kind == "knn":
            return knn_graph(pos, int(self.k), batch)
        return fully_connected(batch)
