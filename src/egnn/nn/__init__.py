"""Pure-torch layers, the EGNN backbone, baselines and task models (no Lightning, no Hydra here)."""

from egnn.nn.baselines.gnn import GCL, GNN
from egnn.nn.baselines.radial_field import RadialField
from egnn.nn.egcl_eq3_6 import EGCL
from egnn.nn.egnn import EGNN
from egnn.nn.graph import fully_connected_edges
from egnn.nn.nbody import NBODY_MODELS, NBodyEGNN, build_nbody_model

__all__ = [
    "EGCL",
    "EGNN",
    "GCL",
    "GNN",
    "NBODY_MODELS",
    "NBodyEGNN",
    "RadialField",
    "build_nbody_model",
    "fully_connected_edges",
]
