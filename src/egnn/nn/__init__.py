"""Pure-torch layers, the EGNN backbone and task models (no Lightning, no Hydra here)."""

from egnn.nn.egcl import EGCL
from egnn.nn.egnn import EGNN
from egnn.nn.graph import fully_connected_edges
from egnn.nn.nbody import NBODY_MODELS, NBodyEGNN, build_nbody_model

__all__ = [
    "EGCL",
    "EGNN",
    "NBODY_MODELS",
    "NBodyEGNN",
    "build_nbody_model",
    "fully_connected_edges",
]
