"""Optimizers and schedulers from plain dictionaries (``{"_target_": "torch.optim.Adam", ...}``).

Task modules store these dictionaries as hyperparameters, so a checkpoint holds data, not objects,
and loads without Hydra.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping

import torch


def _resolve(target: str) -> type:
    module_name, _, attr = target.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as err:
        raise ValueError(
            f"cannot import {target!r}: give a dotted path such as 'torch.optim.Adam'"
        ) from err


def build_optimizer(spec: Mapping, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """``spec`` = ``{"_target_": "torch.optim.Adam", "lr": ..., ...}``."""
    kwargs = dict(spec)
    if "_target_" not in kwargs:
        raise ValueError(f"optimizer config needs a '_target_' key, got keys {sorted(kwargs)}")
    return _resolve(kwargs.pop("_target_"))(params, **kwargs)


def build_scheduler(spec: Mapping | None, optimizer: torch.optim.Optimizer) -> dict | None:
    """``spec`` = ``{"_target_": ..., "interval": "epoch", ...}`` or None; returns Lightning's dict."""
    if not spec:
        return None
    kwargs = dict(spec)
    interval = kwargs.pop("interval", "epoch")
    monitor = kwargs.pop("monitor", None)
    scheduler = _resolve(kwargs.pop("_target_"))(optimizer, **kwargs)
    config = {"scheduler": scheduler, "interval": interval}
    if monitor:
        config["monitor"] = monitor
    return config
