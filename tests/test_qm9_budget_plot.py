"""scripts/plot_qm9_budget.py: learning curves of QM9 budget runs against steps and CPU minutes."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import load_file


def _module():
    return load_file("scripts/plot_qm9_budget.py", "plot_qm9_budget")


def _run(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    (run / "csv").mkdir(parents=True)
    (run / "csv" / "metrics.csv").write_text(
        "epoch,step,time/cpu_s,time/train_s,train/loss,val/mae\n"
        "0,207,120.0,600.0,,473.3\n"
        "0,207,,,0.9,\n"
        "1,415,240.0,1200.0,,317.4\n"
    )
    (run / "config_resolved.yaml").write_text(
        "data:\n  n_train: 40000\ntrainer:\n  max_epochs: 3\n"
    )
    return run


def test_curves_of_runs_and_of_records(tmp_path, capsys):
    plot = _module()
    run = _run(tmp_path)
    rows = plot.curve(run / "csv" / "metrics.csv")
    assert [(r["step"], r["cpu_min"], r["wall_min"], r["mae"]) for r in rows] == [
        (207, 2.0, 10.0, 473.3),
        (415, 4.0, 20.0, 317.4),
    ]
    assert plot.label(run) == "40,000 molecules x 3 epochs"
    record_csv = tmp_path / "record.csv"
    record_csv.write_text("epoch,step,test/mae,val/mae\n0,104,,413.5\n1,209,,378.2\n")
    assert [r["cpu_min"] for r in plot.curve(record_csv)] == [None, None]

    out = tmp_path / "curves.png"
    plot.main(
        [str(run), "--curve", f"10,000 molecules x 12 epochs={record_csv}", "--out", str(out)]
    )
    assert out.stat().st_size > 0
    printed = capsys.readouterr().out
    assert (
        "| 415 | 1 | 4.0 | 20.0 | 317.4 |" in printed and "| 209 | 1 | - | - | 378.2 |" in printed
    )


def test_a_curve_needs_a_label(tmp_path):
    with pytest.raises(SystemExit, match="LABEL=CSV"):
        _module().main(["--curve", "no-label.csv", "--out", str(tmp_path / "x.png")])


def test_equal_time_runs_are_named_by_model(tmp_path, capsys):
    plot = _module()
    ours = _run(tmp_path / "ours")
    release = _run(tmp_path / "release")
    (release / "config_resolved.yaml").write_text(
        "data:\n  n_train: null\ntrainer:\n  max_epochs: 4\nmodel:\n  net:\n    name: egnn_release\n"
    )
    assert plot.label(release) == "release's formulation, 100,000 molecules x 4 epochs"
    assert [plot.model_label(ours), plot.model_label(release)] == ["ours", "release's formulation"]
    plot.main([str(ours), str(release), "--time", "wall", "--out", str(tmp_path / "t.png")])
    printed = capsys.readouterr().out
    assert "\nours (" in printed and "\nrelease's formulation (" in printed
