"""Optional dependencies: each belongs to an extra of the package (``pip install 'egnn[e3nn]'``).

A feature that needs a missing one stops with one line naming the extra to install
(:class:`MissingExtraError`, a :class:`~egnn.errors.ConfigError`: exit code 2, no traceback).
"""

from __future__ import annotations

import importlib.util

from egnn.errors import ConfigError

# Extra -> the top-level modules it provides (as imported, not as named on PyPI).
EXTRAS: dict[str, tuple[str, ...]] = {
    "e3nn": ("e3nn",),
    "pyg": ("torch_geometric",),
    "qm9": ("qm9pack",),
    "report": ("matplotlib",),
    "sweep": (
        "hydra_plugins.hydra_optuna_sweeper",
        "hydra_plugins.hydra_joblib_launcher",
        "hydra_plugins.hydra_submitit_launcher",
    ),
    "tensorboard": ("tensorboard",),
}


class MissingExtraError(ConfigError):
    """A feature needs an optional dependency that is not installed."""


def is_installed(module: str) -> bool:
    """Whether ``module`` can be imported (found without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ModuleNotFoundError, ValueError):  # a missing parent package, or a broken module
        return False


def require_extra(extra: str, needed_by: str, module: str | None = None) -> None:
    """Raise :class:`MissingExtraError` unless ``module`` (default: the extra's first module) is
    installed, e.g. ``"model 'tfn' needs the e3nn extra: pip install 'egnn[e3nn]'"``."""
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; the extras are {sorted(EXTRAS)}")
    module = module or EXTRAS[extra][0]
    if not is_installed(module):
        raise MissingExtraError(f"{needed_by} needs the {extra} extra: pip install 'egnn[{extra}]'")
