"""Name -> ``"module:Class"`` registries, imported only when a model is asked for (so optional
dependencies such as e3nn load only for the models that need them)."""

from __future__ import annotations

import importlib

from torch import nn

from egnn.errors import ConfigError


def build_registered(registry: dict[str, str], kind: str, name: str, **kwargs) -> nn.Module:
    """Instantiate ``registry[name]`` with ``kwargs``; an unknown name lists the known ones."""
    if name not in registry:
        raise ConfigError(f"unknown {kind} model {name!r}; choose one of {sorted(registry)}")
    module_name, class_name = registry[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)(**kwargs)
