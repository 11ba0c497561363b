"""Random graph families of the paper's autoencoder experiment, drawn as in its release.

Both generators return dense symmetric adjacency matrices (``uint8`` [n, n], zero diagonal). The draw
order matches the release, so a seed gives the release's graphs: this is what makes the sanity
figures of the paper's "Baseline" row (31.79% and 25.13% positive pairs) come out.
"""

from __future__ import annotations

import random

import networkx as nx
import numpy as np

COMMUNITY_SIZES = (6, 7, 8, 9, 10)
ERDOS_RENYI_SIZES = tuple(range(7, 17))


def _adjacency(graph: nx.Graph) -> np.ndarray:
    return nx.to_numpy_array(graph, nodelist=sorted(graph.nodes), dtype=np.uint8)


def community_graph(
    rng: np.random.RandomState, n_communities: int = 2, p_intra: float = 0.7, p_inter: float = 0.01
) -> np.ndarray:
    """One Community Small graph.

    Community sizes are drawn uniformly from 6..10; community ``k`` is ``G(size, p_intra)`` with the
    fixed seed ``k`` (so a (size, index) pair always gives the same subgraph, as in the release);
    every cross pair becomes an edge with probability ``p_inter``, and two communities that got no
    cross edge are joined by one edge between their first nodes.
    """
    sizes = rng.choice(COMMUNITY_SIZES, n_communities)
    parts = [nx.gnp_random_graph(int(size), p_intra, seed=k) for k, size in enumerate(sizes)]
    graph = nx.disjoint_union_all(parts)
    communities = [sorted(nodes) for nodes in nx.connected_components(graph)]
    for a, first in enumerate(communities):
        for second in communities[a + 1 :]:
            joined = False
            for i in first:
                for j in second:
                    if rng.rand() < p_inter:
                        graph.add_edge(i, j)
                        joined = True
            if not joined:
                graph.add_edge(first[0], second[0])
    return _adjacency(graph)


def community_small(n_graphs: int, seed: int) -> list[np.ndarray]:
    """``n_graphs`` Community Small graphs (12 to 20 nodes) from ``np.random.RandomState(seed)``."""
    rng = np.random.RandomState(seed)
    return [community_graph(rng) for _ in range(n_graphs)]


def erdos_renyi(n_graphs: int, seed: int, p: float = 0.25) -> list[np.ndarray]:
    """``n_graphs`` graphs ``G(n, p)`` with ``n`` cycling over 7..16, then shuffled.

    ``n_graphs`` must be a multiple of 10 (the same count for every size).
    """
    if n_graphs % len(ERDOS_RENYI_SIZES):
        raise ValueError(
            f"n_graphs must be a multiple of {len(ERDOS_RENYI_SIZES)} (one count per size 7..16), "
            f"got {n_graphs}"
        )
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"edge probability p must lie in [0, 1], got {p}")
    rng = random.Random(seed)
    graphs = [
        _adjacency(nx.gnp_random_graph(n, p, seed=rng))
        for _ in range(n_graphs // len(ERDOS_RENYI_SIZES))
        for n in ERDOS_RENYI_SIZES
    ]
    rng.shuffle(graphs)
    return graphs
