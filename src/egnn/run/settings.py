"""Every numeric and path setting checked before anything is built, with one line per bad value.

:data:`NUMERIC_RULES` maps each numeric setting of the packaged configs (glob patterns over dotted
keys) to what it allows. :func:`check_settings` walks a composed config and refuses the first value
that breaks its rule, naming the key, the value and what is allowed. A numeric setting without a
rule is an error of ours, which the test suite catches by walking every experiment config.
"""

from __future__ import annotations

import fnmatch
import functools
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from egnn.errors import ConfigError


@dataclass(frozen=True)
class Rule:
    """What a numeric setting allows: its type, its lower bound, and whether null is allowed."""

    description: str
    accepts: Callable[[float], bool]
    integer: bool = False
    nullable: bool = False

    def problem(self, value: object) -> str | None:
        """Why ``value`` breaks the rule, or None when it is allowed."""
        if value is None:
            return None if self.nullable else "null"
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"a {type(value).__name__}"
        if self.integer and not isinstance(value, int):
            return "not an integer"
        if not math.isfinite(value):
            return "not finite"
        return None if self.accepts(value) else "out of range"


POSITIVE_INT = Rule("an integer >= 1", lambda v: v >= 1, integer=True)
POSITIVE_INT_OR_NULL = Rule(
    "an integer >= 1 or null", lambda v: v >= 1, integer=True, nullable=True
)
NON_NEGATIVE_INT = Rule("an integer >= 0", lambda v: v >= 0, integer=True)
NON_NEGATIVE_INT_OR_NULL = Rule(
    "an integer >= 0 or null", lambda v: v >= 0, integer=True, nullable=True
)
INT_FROM_MINUS_ONE = Rule("an integer >= -1 (-1: all)", lambda v: v >= -1, integer=True)
POSITIVE = Rule("a number > 0", lambda v: v > 0)
POSITIVE_OR_NULL = Rule("a number > 0 or null", lambda v: v > 0, nullable=True)
NON_NEGATIVE = Rule("a number >= 0", lambda v: v >= 0)
FINITE_OR_NULL = Rule("a finite number or null", lambda v: True, nullable=True)
PROBABILITY = Rule("a number in [0, 1]", lambda v: 0 <= v <= 1)
PROBABILITY_OR_NULL = Rule("a number in [0, 1] or null", lambda v: 0 <= v <= 1, nullable=True)
DROPOUT = Rule("a number in [0, 1)", lambda v: 0 <= v < 1)
BATCH_LIMIT = Rule(
    "null, a fraction in (0, 1] or a number of batches >= 1",
    lambda v: (0 < v <= 1) if isinstance(v, float) else v >= 1,
    nullable=True,
)
PRECISION_WORDS = ("bf16-mixed", "16-mixed", "32-true", "64-true", "bf16-true", "16-true")
PRECISION = Rule(
    f"16, 32, 64 or one of {', '.join(PRECISION_WORDS)}", lambda v: v in (16, 32, 64), integer=True
)
OVERFIT = Rule("0, a fraction in (0, 1] or a number of batches >= 1", lambda v: v >= 0)

#: Numeric settings of the packaged configs and what each allows (first matching pattern wins).
NUMERIC_RULES: dict[str, Rule] = {
    "seed": NON_NEGATIVE_INT_OR_NULL,
    "num_threads": POSITIVE_INT,
    "data.batch_size": POSITIVE_INT,
    "data.n_train": POSITIVE_INT_OR_NULL,
    "data.num_workers": NON_NEGATIVE_INT,
    "data.frame_in": NON_NEGATIVE_INT,
    "data.frame_out": POSITIVE_INT,
    "data.eval_frame_in": NON_NEGATIVE_INT_OR_NULL,
    "data.eval_frame_out": POSITIVE_INT_OR_NULL,
    "data.p": PROBABILITY_OR_NULL,
    "model.optimizer.lr": POSITIVE,
    "model.optimizer.weight_decay": NON_NEGATIVE,
    "model.optimizer.momentum": NON_NEGATIVE,
    "model.scheduler.T_max": POSITIVE_INT,
    "model.test_draws": POSITIVE_INT,
    "model.test_ensemble": POSITIVE_INT,
    "model.net.dropout": DROPOUT,
    "model.net.coord_decay": NON_NEGATIVE,
    "model.net.coord_clamp": POSITIVE,
    "model.net.max_degree": NON_NEGATIVE_INT,
    "model.net.*_nf": POSITIVE_INT,
    "model.net.n_layers": POSITIVE_INT,
    "model.net.channels": POSITIVE_INT,
    "model.net.div": POSITIVE_INT,
    "trainer.max_epochs": POSITIVE_INT,
    "trainer.min_epochs": NON_NEGATIVE_INT_OR_NULL,
    "trainer.check_val_every_n_epoch": POSITIVE_INT,
    "trainer.log_every_n_steps": POSITIVE_INT,
    "trainer.devices": POSITIVE_INT,
    "trainer.num_nodes": POSITIVE_INT,
    "trainer.num_sanity_val_steps": INT_FROM_MINUS_ONE,
    "trainer.gradient_clip_val": POSITIVE_OR_NULL,
    "trainer.limit_*_batches": BATCH_LIMIT,
    "trainer.val_check_interval": BATCH_LIMIT,
    "trainer.overfit_batches": OVERFIT,
    "trainer.precision": PRECISION,
    "logger.*.flush_logs_every_n_steps": POSITIVE_INT,
    "callbacks.*.patience": NON_NEGATIVE_INT,
    "callbacks.*.min_delta": NON_NEGATIVE,
    "callbacks.*.stopping_threshold": FINITE_OR_NULL,
    "callbacks.*.divergence_threshold": FINITE_OR_NULL,
    "callbacks.*.save_top_k": INT_FROM_MINUS_ONE,
    "callbacks.*.max_depth": INT_FROM_MINUS_ONE,
    "forward_time.n_warmup": NON_NEGATIVE_INT,
    "forward_time.n_runs": POSITIVE_INT,
    "test_draws": POSITIVE_INT_OR_NULL,
    "test_ensemble": POSITIVE_INT_OR_NULL,
}

#: Folders that a run reads from or writes to.
PATH_SETTINGS = ("paths.data_dir", "paths.log_dir")

#: Settings that may be a number or one of these words (Lightning's own vocabulary).
WORDS = {"trainer.devices": {"auto"}, "trainer.precision": set(PRECISION_WORDS)}


@functools.lru_cache(maxsize=4096)
def rule_for(key: str) -> Rule | None:
    """The rule of setting ``key`` (a dotted path), or None when no pattern matches."""
    for pattern, rule in NUMERIC_RULES.items():
        if fnmatch.fnmatchcase(key, pattern):
            return rule
    return None


def leaves(node: object, path: str = "") -> Iterator[tuple[str, object]]:
    """``(dotted key, value)`` of every leaf of a plain config tree (lists are skipped)."""
    if isinstance(node, dict):
        for key, child in node.items():
            if not str(key).startswith("_"):
                yield from leaves(child, f"{path}.{key}" if path else str(key))
    elif not isinstance(node, list):
        yield path, node


def numeric_settings(cfg: DictConfig | dict) -> Iterator[tuple[str, object]]:
    """The settings of ``cfg`` (a config, or one made plain by ``OmegaConf.to_container``) that
    :data:`NUMERIC_RULES` covers or that hold a number."""
    plain = cfg if isinstance(cfg, dict) else OmegaConf.to_container(cfg, resolve=True)
    for key, value in leaves(plain):
        if rule_for(key) is not None or (
            isinstance(value, int | float) and not isinstance(value, bool)
        ):
            yield key, value


def check_numbers(cfg: DictConfig | dict) -> None:
    """Raise :class:`ConfigError` for the first numeric setting that breaks its rule."""
    for key, value in numeric_settings(cfg):
        rule = rule_for(key)
        if rule is None:
            continue  # a number we have no rule for (a user's own key): not ours to judge
        if value in WORDS.get(key, ()):
            continue
        problem = rule.problem(value)
        if problem is not None:
            raise ConfigError(f"{key}={value!r} is {problem}: {key} must be {rule.description}")


def check_folder(key: str, folder: str | os.PathLike) -> None:
    """Raise :class:`ConfigError` unless ``folder`` is (or can be made) a writable directory."""
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{key}={folder} is a file, not a folder: give a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise ConfigError(f"{key}={folder} cannot be created or written ({reason})") from None


MAX_TIME_FORMAT = re.compile(r"^\d{2}:\d{2}:\d{2}:\d{2}$")


def check_settings(cfg: DictConfig) -> None:
    """Check every numeric setting, the time budget and every folder of a composed run config."""
    check_numbers(cfg)
    compile_setting = cfg.get("compile", False)
    if not (
        compile_setting is None or isinstance(compile_setting, bool) or compile_setting == "auto"
    ):
        raise ConfigError(
            f"compile={compile_setting!r} is not allowed: use true, false or auto (compile where"
            " it pays)"
        )
    max_time = OmegaConf.select(cfg, "trainer.max_time")
    if max_time is not None and not MAX_TIME_FORMAT.match(str(max_time)):
        raise ConfigError(
            f"trainer.max_time={max_time!r} is not a duration: give DD:HH:MM:SS (e.g. 00:01:30:00)"
            " or null"
        )
    for key in PATH_SETTINGS:
        folder = OmegaConf.select(cfg, key)
        if folder is not None:
            check_folder(key, folder)
