"""egnn: E(n) Equivariant Graph Neural Networks, their experiments and baselines."""

from egnn.nn import EGCL, EGNN

__all__ = ["EGCL", "EGNN"]
__version__ = "0.1.0"
