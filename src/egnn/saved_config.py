"""Configs read from disk are data, never code.

A ``config_resolved.yaml`` beside a checkpoint or in a run folder may come from anyone who shared
the folder. Hydra would import and call whatever its ``_target_`` keys name, so before anything is
built from such a config, every ``_target_`` in it must name one of the project's own classes
(:data:`ALLOWED_TARGETS`) and no value may be an interpolation (a resolver such as ``oc.env``
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
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from egnn.errors import ConfigError

#: Classes that a config read from disk may name as ``_target_``: the project's datamodules, task
#: modules and callbacks, and the Lightning / torch classes that the packaged configs use.
ALLOWED_TARGETS: frozenset[str] = frozenset(
    {
        "egnn.data.nbody.datamodule.NBodyDataModule",
        "egnn.data.qm9.datamodule.QM9DataModule",
        "egnn.data.graphs.datamodule.GraphDataModule",
        "egnn.tasks.nbody.NBodyTask",
        "egnn.tasks.qm9.QM9Task",
        "egnn.tasks.autoencoder.GraphAutoencoderTask",
        "egnn.callbacks.WallClock",
        "pytorch_lightning.Trainer",
        "pytorch_lightning.callbacks.ModelCheckpoint",
        "pytorch_lightning.callbacks.EarlyStopping",
        "pytorch_lightning.callbacks.ModelSummary",
        "pytorch_lightning.loggers.CSVLogger",
        "pytorch_lightning.loggers.TensorBoardLogger",
        "pytorch_lightning.loggers.WandbLogger",
        "torch.optim.Adam",
        "torch.optim.AdamW",
        "torch.optim.SGD",
        "torch.optim.lr_scheduler.CosineAnnealingLR",
        "torch.optim.lr_scheduler.StepLR",
        "torch.optim.lr_scheduler.ReduceLROnPlateau",
    }
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


def check_config_is_data(cfg: DictConfig, source: str | Path) -> None:
    """Refuse ``cfg`` (read from ``source``) if it names a class outside :data:`ALLOWED_TARGETS`
    or holds an interpolation."""
    for key, value in walk(OmegaConf.to_container(cfg, resolve=False)):
        if isinstance(value, str) and "${" in value:
            raise ConfigError(
                f"{source}: {key} is an interpolation ({value!r}); a config read from disk must"
                " hold plain values"
            )
        parts = re.split(r"[.\[]", key)
        if "_target_" in parts and (parts[-1] != "_target_" or value not in ALLOWED_TARGETS):
            raise ConfigError(
                f"{source}: refusing _target_ {value!r} at {key}: a config read from disk may only"
                " name the project's own classes (egnn.saved_config.ALLOWED_TARGETS)"
            )


def load_saved_config(path: str | Path) -> DictConfig:
    """The config stored in ``path``, checked by :func:`check_config_is_data`."""
    try:
        cfg = OmegaConf.load(path)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, OmegaConfBaseException, ValueError) as err:
        raise ConfigError(f"{path}: not a readable YAML config ({err})") from err
    if not isinstance(cfg, DictConfig):
        raise ConfigError(f"{path}: expected a mapping of settings, got a {type(cfg).__name__}")
    check_config_is_data(cfg, path)
    return cfg


def allowed_class(target: str, source: str | Path) -> type:
    """The class named ``target`` (dotted path), only if it is in :data:`ALLOWED_TARGETS`."""
    if target not in ALLOWED_TARGETS:
        raise ConfigError(
            f"{source}: refusing _target_ {target!r}: only the project's own classes may be named"
            " (egnn.saved_config.ALLOWED_TARGETS)"
        )
    return hydra.utils.get_class(target)
