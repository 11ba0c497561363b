"""Reusable test helpers (equivariance checker) for users' own models as well as ours."""

from egnn.testing.equivariance import (
    EDGE_INDEX,
    EDGE_SCALAR,
    GRAPH_SCALAR,
    NODE_SCALAR,
    POSITION,
    VECTOR,
    assert_equivariant,
    equivariance_errors,
    random_orthogonal,
)

__all__ = [
    "EDGE_INDEX",
    "EDGE_SCALAR",
    "GRAPH_SCALAR",
    "NODE_SCALAR",
    "POSITION",
    "VECTOR",
    "assert_equivariant",
    "equivariance_errors",
    "random_orthogonal",
]
