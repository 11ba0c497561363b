"""Configs read from disk are data, never code.

A ``config_resolved.yaml`` beside a checkpoint or in a run folder may come from anyone who shared
the folder. Hydra would import and call whatever its ``_target_`` keys name, so before anything is
built from such a config, every ``_target_`` in it must name one of the project's own classes
(:data:`ALLOWED_TARGETS`, plus those of the config folders the user adds with
``hydra.searchpath`` on the same command line) and no value may be an interpolation (a resolver such as ``oc.env``
would run on our side). Anything else is refused with one line naming the key and the file.

Configs composed by Hydra from the packaged configs and the command line are the user's own and are
not restricted here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import hydra
import yaml
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from egnn.errors import ConfigError
from egnn.run.common import CONFIG_DIR
from egnn.tasks.optim import OPTIMIZER_MODULES, find_class


def config_targets(folder: Path) -> frozenset[str]:
    """Every ``_target_`` that the YAML configs under ``folder`` name, outside Hydra's own
    settings (sweepers, launchers) and a git-ignored ``local/`` folder."""
    found = set()
    for path in sorted(Path(folder).rglob("*.yaml")):
        if "local" in path.relative_to(folder).parts:
            continue
        for key, value in walk(yaml.safe_load(path.read_text()) or {}):
            parts = re.split(r"[.\[]", key)
            if parts[-1] == "_target_" and "hydra" not in parts:
                found.add(value)
    return frozenset(found)


def user_config_targets() -> frozenset[str]:
    """The classes that the config folders added on this command line (``hydra.searchpath``, e.g.
    a user's own experiment) name: the user's own code, trusted like the packaged configs."""
    try:
        searchpath = HydraConfig.get().searchpath
    except ValueError:  # not inside a Hydra run
        return frozenset()
    folders = [Path(entry[len("file://") :]) for entry in searchpath if entry.startswith("file://")]
    return frozenset().union(*(config_targets(f) for f in folders if f.is_dir()))


def is_allowed_target(target: object, extra: frozenset[str] = frozenset()) -> bool:
    """True for a class of the project's configs, or any torch optimizer or scheduler (which the
    task modules look up inside torch.optim only, never by import)."""
    if not isinstance(target, str):
        return False
    return (
        target in ALLOWED_TARGETS
        or target in extra
        or any(find_class(target, module, base) is not None for module, base in OPTIMIZER_MODULES)
    )


def walk(node: object, path: str = "") -> Iterator[tuple[str, object]]:
    """``(dotted key, value)`` of every leaf of a plain (``OmegaConf.to_container``) config tree."""
    if isinstance(node, dict):
        for key, child in node.items():
            yield from walk(child, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from walk(child, f"{path}[{index}]")
    else:
        yield path, node


#: The classes of the project's own configs: what a config read from disk may name.
ALLOWED_TARGETS: frozenset[str] = config_targets(CONFIG_DIR)


def check_config_is_data(
    cfg: DictConfig, source: str | Path, extra: frozenset[str] = frozenset()
) -> None:
    """Refuse ``cfg`` (read from ``source``) if it names a class outside :data:`ALLOWED_TARGETS`
    or holds an interpolation."""
    for key, value in walk(OmegaConf.to_container(cfg, resolve=False)):
        if isinstance(value, str) and "${" in value:
            raise ConfigError(
                f"{source}: {key} is an interpolation ({value!r}); a config read from disk must"
                " hold plain values"
            )
        parts = re.split(r"[.\[]", key)
        if "_target_" in parts and (parts[-1] != "_target_" or not is_allowed_target(value, extra)):
            raise ConfigError(
                f"{source}: refusing _target_ {value!r} at {key}: a config read from disk may only"
                " name the classes of the project's own configs"
            )


def load_saved_config(path: str | Path, extra: frozenset[str] = frozenset()) -> DictConfig:
    """The config stored in ``path``, checked by :func:`check_config_is_data`."""
    try:
        cfg = OmegaConf.load(path)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, OmegaConfBaseException, ValueError) as err:
        raise ConfigError(f"{path}: not a readable YAML config ({err})") from err
    if not isinstance(cfg, DictConfig):
        raise ConfigError(f"{path}: expected a mapping of settings, got a {type(cfg).__name__}")
    check_config_is_data(cfg, path, extra)
    return cfg


def allowed_class(target: str, source: str | Path, extra: frozenset[str] = frozenset()) -> type:
    """The class named ``target`` (dotted path), only if :func:`is_allowed_target`."""
    if not is_allowed_target(target, extra):
        raise ConfigError(
            f"{source}: refusing _target_ {target!r}: a config read from disk may only name the"
            " classes of the project's own configs"
        )
    return hydra.utils.get_class(target)
