"""Model registries: name -> class, or a loader function for models with an optional dependency
(imported only when such a model is asked for, with one line naming the extra when it is missing)."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from egnn.errors import ConfigError

# A registry entry: the model class itself, or a function returning it (imports on demand).
Entry = type[nn.Module] | Callable[[], type[nn.Module]]


def build_registered(registry: dict[str, Entry], kind: str, name: str, **kwargs) -> nn.Module:
    """Instantiate ``registry[name]`` with ``kwargs``; an unknown name lists the known ones."""
    if name not in registry:
        raise ConfigError(f"unknown {kind} model {name!r}; choose one of {sorted(registry)}")
    entry = registry[name]
    model_class = entry if isinstance(entry, type) else entry()
    return model_class(**kwargs)
