"""A mistyped key or option on the command line stops with one line and exit code 2, before
Hydra; what composes, or what only Hydra or a sweeper can judge, is left to them."""

import pytest

from egnn.run.common import CONFIG_DIR
from egnn.run.override_check import override_error

from .conftest import run_entry_point


def _error(*argv: str) -> str | None:
    error = override_error(list(argv), str(CONFIG_DIR), "train.yaml")
    return None if error is None else str(error)


def test_unknown_key_is_named_with_hydras_hint():
    assert _error("experiment=nbody", "trainer.max_epoch=5") == (
        "Could not override 'trainer.max_epoch'. To append to your config use +trainer.max_epoch=5"
    )


def test_unknown_option_lists_the_allowed_ones():
    error = _error("experiment=nbody", "model=nbody_egnnn")
    assert error.startswith("In 'train.yaml': Could not find 'model/nbody_egnnn' (allowed: ")
    assert "nbody_egnn, nbody_gnn," in error and "\n" not in error


def test_an_override_that_does_not_parse_is_one_line():
    assert _error("trainer.max_epochs=[1") == "no viable alternative at input '[1'"


def test_a_sweep_is_checked_at_its_first_value():
    assert _error("-m", "experiment=nbody,qm9", "seed=0,1", "model=nbody_egnn") is None
    assert _error("-m", "experiment=nbody", "seed=range(3)") is None
    error = _error("-m", "experiment=nbody", "trainer.max_epoch=1,2")
    assert error.startswith("Could not override 'trainer.max_epoch'.")


@pytest.mark.parametrize(
    "argv",
    [
        ("experiment=nbody", "+trainer.profiler=simple", "~callbacks.early_stopping"),
        ("experiment=nbody", "hparams_search=nbody_optuna", "hydra.sweeper.n_trials=3"),
        ("-m", "experiment=nbody", "model.optimizer.lr=interval(1e-4,1e-2)"),  # Optuna's to expand
        (
            "--config-dir",
            "/nowhere",
            "experiment=nbody",
            "trainer.max_epoch=5",
        ),  # Hydra's own setup
        ("--cfg",),  # not a command line Hydra accepts: Hydra's usage message
        ("--version",),
    ],
)
def test_what_composes_or_only_hydra_can_judge_passes(argv, capsys):
    assert _error(*argv) is None
    assert capsys.readouterr() == ("", "")  # Hydra prints its usage itself, once


def test_an_option_from_the_users_search_path_is_allowed(tmp_path):
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "mine.yaml").write_text("# @package _global_\nseed: 7\n")
    assert _error(f"hydra.searchpath=[file://{tmp_path}]", "experiment=mine") is None
    assert _error("experiment=mine").startswith("In 'train.yaml': Could not find 'experiment/mine'")


@pytest.mark.parametrize("script", ["train.py", "eval.py"])
def test_entry_points_exit_2_with_one_line(script, tmp_path):
    result = run_entry_point(script, "experiment=nbody", "paths.nope=1")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        "configuration error: Could not override 'paths.nope'. "
        "To append to your config use +paths.nope=1"
    )
    assert "Traceback" not in result.stdout + result.stderr
