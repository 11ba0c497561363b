"""Optimizers and schedulers from plain dictionaries (``{"_target_": "torch.optim.Adam", ...}``).

Task modules store these dictionaries as hyperparameters, so a checkpoint holds data, not objects,
and loads without Hydra.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import ModuleType

import torch

from egnn.errors import ConfigError

_EXAMPLES = {"torch.optim": "Adam", "torch.optim.lr_scheduler": "CosineAnnealingLR"}

#: Where optimizer and scheduler classes are looked up, with the base class each must derive from.
OPTIMIZER_MODULES: tuple[tuple[ModuleType, type], ...] = (
    (torch.optim, torch.optim.Optimizer),
    (torch.optim.lr_scheduler, torch.optim.lr_scheduler.LRScheduler),
)


def find_class(target: object, module: ModuleType, base: type) -> type | None:
    """The subclass of ``base`` named ``target`` (e.g. ``"torch.optim.Adam"``) inside ``module``,
    or None. Only names inside ``module`` are looked up, never an arbitrary import: these
    dictionaries also come back from checkpoints, which anyone may have written."""
    prefix = f"{module.__name__}."
    name = target[len(prefix) :] if isinstance(target, str) and target.startswith(prefix) else ""
    found = getattr(module, name, None) if name.isidentifier() else None
    return found if isinstance(found, type) and issubclass(found, base) else None


def _resolve(target: str, module: ModuleType, base: type) -> type:
    found = find_class(target, module, base)
    if found is None:
        raise ConfigError(
            f"_target_ {target!r} is not a class of {module.__name__}: give one such as"
            f" '{module.__name__}.{_EXAMPLES[module.__name__]}'"
        )
    return found


def build_optimizer(spec: Mapping, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """``spec`` = ``{"_target_": "torch.optim.Adam", "lr": ..., ...}``."""
    kwargs = dict(spec)
    if "_target_" not in kwargs:
        raise ValueError(f"optimizer config needs a '_target_' key, got keys {sorted(kwargs)}")
    return _resolve(kwargs.pop("_target_"), torch.optim, torch.optim.Optimizer)(params, **kwargs)


def build_scheduler(spec: Mapping | None, optimizer: torch.optim.Optimizer) -> dict | None:
    """``spec`` = ``{"_target_": ..., "interval": "epoch", ...}`` or None; returns Lightning's dict."""
    if not spec:
        return None
    kwargs = dict(spec)
    interval = kwargs.pop("interval", "epoch")
    monitor = kwargs.pop("monitor", None)
    scheduler_class = _resolve(
        kwargs.pop("_target_"), torch.optim.lr_scheduler, torch.optim.lr_scheduler.LRScheduler
    )
    scheduler = scheduler_class(optimizer, **kwargs)
    config = {"scheduler": scheduler, "interval": interval}
    if monitor:
        config["monitor"] = monitor
    return config
