"""``egnn-nbody-generate``: generates a preset once, reuses the cache, regenerates on --force."""

from __future__ import annotations

import logging

import pytest

from egnn.data.nbody import cli
from egnn.data.nbody.dataset import NBODY_DATASETS


def test_generates_then_reuses_then_forces(tmp_path, monkeypatch, capsys):
    calls = []
    cached = {"state": False}

    def fake_generate(data_dir, name):
        calls.append(("generate", data_dir, name))
        cached["state"] = True
        return 1.25

    def fake_ensure(data_dir, name):
        calls.append(("ensure", data_dir, name))

    def fake_is_cached(data_dir, name):
        calls.append(("is_cached", data_dir, name))
        return cached["state"]

    monkeypatch.setattr(cli, "generate", fake_generate)
    monkeypatch.setattr(cli, "ensure_dataset", fake_ensure)
    monkeypatch.setattr(cli, "is_cached", fake_is_cached)
    folder = str(tmp_path / "cache")

    cli.main(["tiny", "--data-dir", folder])
    assert calls == [("is_cached", folder, "tiny"), ("generate", folder, "tiny")]
    assert capsys.readouterr().out == "generated 'tiny' in 1.2 s\n"

    calls.clear()
    cli.main(["tiny", "--data-dir", folder])  # cached: checked and reused, not simulated again
    assert calls == [("is_cached", folder, "tiny"), ("ensure", folder, "tiny")]
    assert capsys.readouterr().out == f"'tiny' already cached under {folder}\n"

    calls.clear()
    cli.main(["tiny", "--data-dir", folder, "--force"])  # regenerated without asking the cache
    assert calls == [("generate", folder, "tiny")]

    calls.clear()
    cli.main(["small"])  # the default folder
    assert calls[0] == ("is_cached", "data", "small")


def test_unknown_preset_is_one_line_with_the_choices(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["huge"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'huge'" in err
    for name in NBODY_DATASETS:
        assert repr(name) in err


def test_help_names_every_option(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["--help"])
    assert stop.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "generate an N-body dataset into the cache and report the time" in out
    assert "{large,small,tiny} dataset preset options:" in out
    assert "--data-dir DATA_DIR cache folder (default: data)" in out
    assert "--force regenerate even if cached" in out


def test_progress_is_logged_at_info_as_bare_messages(monkeypatch, tmp_path):
    """The generation's progress lines (INFO) reach the terminal without a prefix."""
    monkeypatch.setattr(logging.root, "handlers", [])  # as in a fresh process
    monkeypatch.setattr(logging.root, "level", logging.WARNING)
    monkeypatch.setattr(cli, "is_cached", lambda data_dir, name: True)
    monkeypatch.setattr(cli, "ensure_dataset", lambda data_dir, name: None)
    cli.main(["tiny", "--data-dir", str(tmp_path)])
    assert logging.root.level == logging.INFO
    (handler,) = logging.root.handlers
    assert handler.formatter._fmt == "%(message)s"
