"""PyTorch Geometric interop (optional extra ``egnn[pyg]``): PyG batches in, egnn models out.

- :func:`batch_from_pyg`: a PyG ``Data``/``Batch`` as an egnn batch dict (edges turned
  receiver-first).
- :class:`PyGEGNN`: the EGNN called on a PyG ``Data``/``Batch`` (``pos``, ``x``, ``edge_index``,
  ``batch``, optional ``edge_attr``), building the edges itself when the data has none.
- :class:`PyGDataModule` (in :mod:`egnn.pyg.datamodule`, imports Lightning and PyG): a PyG
  dataset as a LightningDataModule whose batches are egnn batch dicts.

Only :mod:`egnn.pyg.datamodule` imports ``torch_geometric``; the others read the attributes.
"""

from egnn.pyg.convert import batch_from_pyg
from egnn.pyg.model import PyGEGNN

__all__ = ["PyGEGNN", "batch_from_pyg"]
