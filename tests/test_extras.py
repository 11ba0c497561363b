"""A feature whose optional dependency is missing stops with one line naming the extra to install.
The missing module is simulated (``sys.modules[name] = None`` makes it unimportable)."""

from __future__ import annotations

import json
import sys

import pytest

from egnn.extras import EXTRAS, MissingExtraError, require_extra


@pytest.fixture
def without(monkeypatch):
    def _hide(*modules: str) -> None:
        for name in modules:
            for loaded in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
                monkeypatch.delitem(sys.modules, loaded)
            monkeypatch.setitem(sys.modules, name, None)

    return _hide


@pytest.mark.parametrize("model", ["tfn", "se3_transformer"])
def test_e3nn_models_name_their_extra(without, model):
    from egnn.nn.nbody import build_nbody_model

    without("e3nn", "egnn.nn.baselines.tfn", "egnn.nn.baselines.se3_transformer")
    with pytest.raises(MissingExtraError) as err:
        build_nbody_model(model)
    assert str(err.value) == f"model '{model}' needs the e3nn extra: pip install 'egnn[e3nn]'"


def test_training_a_model_without_its_extra_exits_with_one_line(without, make_cfg, caplog):
    from egnn.run.common import config_error_exit
    from egnn.run.train import train

    without("e3nn", "egnn.nn.baselines.tfn", "egnn.nn.baselines.se3_transformer")
    cfg = make_cfg("debug=fdr", "model=nbody_tfn")
    with pytest.raises(SystemExit) as exit_info, config_error_exit():
        train(cfg)
    assert exit_info.value.code == 2
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert errors == [
        "configuration error: model 'tfn' needs the e3nn extra: pip install 'egnn[e3nn]'"
    ]


def test_qm9_data_names_its_extra(without):
    from egnn.data.qm9.raw import qm9pack_data_dir

    without("qm9pack")
    with pytest.raises(MissingExtraError, match=r"pip install 'egnn\[qm9\]'"):
        qm9pack_data_dir()


def test_figures_name_the_report_extra(without):
    from egnn.reporting import plots

    without("matplotlib")
    with pytest.raises(MissingExtraError, match=r"^plotting needs the report extra: pip install"):
        plots.pyplot()


def test_sweep_and_logger_choices_are_checked_before_hydra(without, monkeypatch, capsys):
    from egnn.run.common import check_extras, run_main

    without("hydra_plugins.hydra_optuna_sweeper", "tensorboard")
    with pytest.raises(MissingExtraError, match=r"hparams_search=nbody_optuna needs the sweep"):
        check_extras(["experiment=nbody", "hparams_search=nbody_optuna"])
    with pytest.raises(MissingExtraError, match=r"logger=tensorboard needs the tensorboard"):
        check_extras(["logger=tensorboard"])
    check_extras(["experiment=nbody", "launcher=local", "logger=csv"])  # nothing missing
    monkeypatch.setattr(sys, "argv", ["egnn-train", "-m", "hparams_search=nbody_optuna"])
    with pytest.raises(SystemExit) as exit_info:
        run_main(lambda: pytest.fail("Hydra must not start"), "train.yaml")
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "configuration error: hparams_search=nbody_optuna needs the sweep extra:"
        " pip install 'egnn[sweep]'"
    ]


def test_every_extra_is_declared_in_pyproject():
    from pathlib import Path

    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    assert set(EXTRAS) <= set(extras)
    assert extras["dev"][0] == f"egnn[{','.join(sorted(EXTRAS))}]"  # dev has them all
    with pytest.raises(ValueError, match="unknown extra"):
        require_extra("plots", "x")


def test_the_report_without_matplotlib_is_one_line(without, tmp_path, capsys):
    from egnn.records.io import sealed
    from egnn.reporting.report import main as report_main

    without("matplotlib")
    results = tmp_path / "results" / "nbody_data_efficiency"
    results.mkdir(parents=True)
    record = {"experiment": "nbody_data_efficiency", "model": "egnn", "seed": 0, "n_train": 100}
    record.update({"command": "c", "git_commit": "g", "machine": "m", "test/mse": 0.01})
    (results / "egnn-n100-seed0.json").write_text(json.dumps(sealed(record)))
    with pytest.raises(SystemExit) as exit_info:
        report_main(["--results-dir", str(tmp_path / "results"), "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    message = capsys.readouterr().err
    assert message.startswith("error: plotting needs the report extra: pip install")
    assert message.count("\n") == 1
