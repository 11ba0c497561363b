"""Result records and the README table generated from them."""

import json

import pytest

from egnn.reporting.records import main as record_main
from egnn.reporting.tables import main as tables_main
from egnn.reporting.tables import nbody_table, replace_between

METRICS = {
    "experiment": "nbody",
    "model": "egnn",
    "seed": 0,
    "test/mse": 0.0072,
    "val/mse_best": 0.0076,
    "best_epoch": 200,
    "epochs": 400,
    "train_time_s": 600.0,
    "time_per_epoch_s": 1.5,
    "forward_time_s": 0.0135,
    "forward_time_threads": 1,
    "num_threads": 1,
    "command": "train.py experiment=nbody seed=0",
    "git_commit": "abc",
    "machine": {"cpu_count": 2, "gpu": None, "torch": "2.13.0+cpu"},
    "run_dir": "/somewhere",
}


def _write_run(tmp_path, seed, mse):
    run = tmp_path / f"run{seed}"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({**METRICS, "seed": seed, "test/mse": mse}))
    return run


def test_records_and_table(tmp_path):
    results = tmp_path / "results"
    runs = [_write_run(tmp_path, s, m) for s, m in ((0, 0.0070), (1, 0.0074))]
    record_main([str(r) for r in runs] + ["--results-dir", str(results)])
    record = json.loads((results / "nbody" / "egnn-seed1.json").read_text())
    assert record["test/mse"] == 0.0074 and record["git_commit"] == "abc"
    assert record["machine"] == "2 cores, no GPU, torch 2.13.0+cpu, 1 thread(s)"
    assert "run_dir" not in record  # records are portable
    table = nbody_table(results)
    egnn_row = next(line for line in table.splitlines() if line.startswith("| EGNN |"))
    assert "0.0071" in egnn_row and "0.0072 ± 0.0003" in egnn_row and "| 2 |" in egnn_row
    assert "| Linear | 0.0819 | not run |" in table


def test_readme_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(
        "intro\n<!-- nbody-table:start -->\nold\n<!-- nbody-table:end -->\n"
        "<!-- qm9-table:start -->\n<!-- qm9-table:end -->\nend\n"
    )
    tables_main(["--results-dir", str(tmp_path / "none"), "--readme", str(readme)])
    text = readme.read_text()
    assert "old" not in text and "| EGNN | 0.0071 | not run |" in text and text.endswith("end\n")
    assert "| homo | meV | 29.0 | not run yet | not run yet | — |" in text
    with pytest.raises(ValueError, match="markers"):
        replace_between("no markers", "nbody-table", "x")


def test_missing_run_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="metrics.json does not exist"):
        record_main([str(tmp_path)])


def test_data_efficiency_records_and_plot(tmp_path):
    from egnn.reporting.plots import data_efficiency_points, plot_data_efficiency

    results = tmp_path / "results"
    for model, base in (("egnn", 0.01), ("gnn", 0.02)):
        for n in (100, 200, 400):
            run = tmp_path / f"{model}{n}"
            run.mkdir()
            metrics = {
                **METRICS,
                "experiment": "nbody_data_efficiency",
                "model": model,
                "n_train": n,
            }
            metrics["test/mse"] = base * 100 / n
            (run / "metrics.json").write_text(json.dumps(metrics))
            record_main([str(run), "--results-dir", str(results)])
    assert (results / "nbody_data_efficiency" / "egnn-n200-seed0.json").exists()
    points = data_efficiency_points(results)
    assert points["egnn"] == [(100, 0.01), (200, 0.005), (400, 0.0025)]
    out = plot_data_efficiency(results, tmp_path / "plot.png")
    assert out.stat().st_size > 1000


def test_learning_curve_plot(tmp_path):
    from egnn.reporting.plots import plot_learning_curve

    csv_path = tmp_path / "metrics.csv"
    csv_path.write_text(
        "epoch,step,train/loss,val/best_epoch,val/mae,val/mae_best\n"
        "0,10,,0,5.0,5.0\n0,10,1.0,,,\n1,20,,1,4.0,4.0\n1,20,0.8,,,\n"
    )
    out = plot_learning_curve(csv_path, tmp_path / "curve.png", "homo", reference=1.0)
    assert out.stat().st_size > 1000
