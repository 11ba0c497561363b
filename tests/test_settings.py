"""Every numeric and path setting of every experiment refuses a bad value in one line (exit 2).

The settings are derived from the composed configs, so a new numeric setting without a rule in
``egnn.settings.NUMERIC_RULES`` fails here instead of being forgotten.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from egnn.errors import ConfigError
from egnn.run.settings import (
    PATH_SETTINGS,
    check_numbers,
    check_settings,
    numeric_settings,
    rule_for,
)

from .conftest import (
    CONFIG_DIR,
    EXPERIMENTS,
    compose_config,
    run_entry_point,
    single_error_line,
)

MODELS = sorted(p.stem for p in (CONFIG_DIR / "model").glob("*.yaml"))


def _composed(tmp_path, overrides: list[str]):
    cfg = compose_config(overrides, tmp_path)
    return OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))


def _model_groups() -> list[str]:
    """``experiment=E model=M`` for every model config, with the first experiment it fits."""
    groups = []
    for model in MODELS:
        for experiment in EXPERIMENTS:
            try:
                cfg = compose_config([f"experiment={experiment}", f"model={model}"], Path("/tmp"))
                OmegaConf.to_container(cfg, resolve=True)
            except Exception:  # e.g. a QM9 model under the N-body data: no target to resolve
                continue
            groups.append(f"experiment={experiment} model={model}")
            break
        else:
            raise AssertionError(f"model config {model} composes with no experiment")
    return groups


@pytest.fixture(scope="module")
def every_config(tmp_path_factory) -> dict[str, dict]:
    """Every experiment, and every model with an experiment it fits, composed and resolved."""
    groups = [f"experiment={e}" for e in EXPERIMENTS] + _model_groups()
    return {
        group: OmegaConf.to_container(_composed(tmp_path_factory.mktemp("cfg"), group.split()))
        for group in groups
    }


@pytest.fixture(scope="module")
def every_setting(every_config) -> list[tuple[str, str, object]]:
    """(overrides, key, default) of every numeric setting of every composed config."""
    return [
        (group, key, value)
        for group, plain in every_config.items()
        for key, value in numeric_settings(plain)
    ]


def test_every_numeric_setting_has_a_rule(every_setting):
    assert len(every_setting) > 100
    missing = sorted({key for _, key, _ in every_setting if rule_for(key) is None})
    assert not missing, f"numeric settings without a rule in NUMERIC_RULES: {missing}"


def test_every_default_passes(every_config):
    for plain in every_config.values():
        check_numbers(plain)


def bad_values(key: str, default: object) -> list[object]:
    """Values that ``key``'s rule must refuse: a word, non-finite numbers, and the nearest number
    below its lower bound."""
    rule = rule_for(key)
    values: list[object] = ["abc", math.nan, math.inf]
    for candidate in (-1e9, -2, -1, 0, 0.5, 1.5, 1):
        if rule.problem(candidate) is not None:
            values.append(candidate)
    if rule.integer:
        values.append(2.5)
    return values


def test_every_bad_value_is_refused_in_one_line(every_config, every_setting):
    """Each (config, numeric setting) pair gets every bad value of its rule; the message names
    the key, the value and what is allowed."""
    tried = 0
    for group, key, default in every_setting:
        *parents, name = key.split(".")
        node = every_config[group]
        for parent in parents:
            node = node[parent]
        for bad in bad_values(key, default):
            node[name] = bad
            with pytest.raises(ConfigError) as err:
                check_numbers(every_config[group])
            message = str(err.value)
            assert "\n" not in message
            assert message.startswith(f"{key}={bad!r} is "), message
            assert rule_for(key).description in message
            tried += 1
        node[name] = default
    assert tried > 500


@pytest.mark.parametrize("key", PATH_SETTINGS)
def test_folder_that_is_a_file_is_refused(key, tmp_path):
    cfg = _composed(tmp_path, ["experiment=nbody"])
    a_file = tmp_path / "plain_file"
    a_file.write_text("x")
    OmegaConf.update(cfg, key, str(a_file))
    with pytest.raises(ConfigError, match=rf"{key}={a_file} is a file, not a folder"):
        check_settings(cfg)


@pytest.mark.parametrize("key", PATH_SETTINGS)
def test_folder_that_cannot_be_created_is_refused(key, tmp_path):
    cfg = _composed(tmp_path, ["experiment=nbody"])
    blocked = "/proc/egnn-cannot-create-here"  # /proc refuses new folders, even to root
    OmegaConf.update(cfg, key, blocked)
    with pytest.raises(ConfigError, match=rf"{key}={blocked} cannot be created or written"):
        check_settings(cfg)


def test_time_budget_format(tmp_path):
    cfg = _composed(tmp_path, ["experiment=qm9_cpu"])
    OmegaConf.update(cfg, "trainer.max_time", "50 minutes")
    with pytest.raises(ConfigError, match="trainer.max_time='50 minutes' is not a duration"):
        check_settings(cfg)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("model.optimizer.lr=-1", "model.optimizer.lr=-1 is out of range"),
        ("trainer.max_epochs=0", "trainer.max_epochs=0 is out of range"),
        ("data.batch_size=abc", "data.batch_size='abc' is a str"),
        ("compile=sometimes", "compile='sometimes' is not allowed: use true, false or auto"),
    ],
)
def test_train_command_exits_2_with_one_line(override, expected, tmp_path):
    result = run_entry_point("train.py", "experiment=nbody", override, f"paths.log_dir={tmp_path}")
    assert expected in single_error_line(result)


def test_full_traceback_on_request(tmp_path):
    result = run_entry_point(
        "train.py",
        "experiment=nbody",
        "trainer.max_epochs=0",
        f"paths.log_dir={tmp_path}",
        full_error=True,
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "trainer.max_epochs=0" in result.stderr
