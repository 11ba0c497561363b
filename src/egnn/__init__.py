"""egnn: E(n) Equivariant Graph Neural Networks, their experiments and baselines.

Layers, each importing only those before it (``tests/test_import_graph.py``): ``errors``,
``atomic``, ``extras`` (base); ``nn`` (pure torch); ``data``; ``tasks`` (LightningModules);
``records`` (beside them, base only); ``run`` (entry points); ``reporting`` (optional, records
only); ``testing`` (the equivariance checker).
"""

__all__ = ["EGCL", "EGNN"]
__version__ = "0.1.0"


def __getattr__(name: str):
    """``egnn.EGCL`` and ``egnn.EGNN``, imported on first use (so that ``import egnn.records``
    does not load torch)."""
    if name in __all__:
        from egnn import nn

        return getattr(nn, name)
    raise AttributeError(f"module 'egnn' has no attribute {name!r}")
