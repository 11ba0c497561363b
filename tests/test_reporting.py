"""Result records and the README table generated from them."""

import json
from pathlib import Path

import pytest
import torch

from egnn.records.cli import main as record_main
from egnn.records.io import sealed
from egnn.reporting.tables import (
    data_efficiency_table,
    nbody_ideas_table,
    nbody_table,
    replace_between,
)
from egnn.reporting.tables import main as tables_main
from egnn.run.checkpoint_ensemble import subset_ensemble_mse

METRICS = {
    "experiment": "nbody",
    "model": "egnn",
    "seed": 0,
    "test/mse": 0.0072,
    "val/mse_best": 0.0076,
    "best_epoch": 200,
    "epochs": 400,
    "train_time_s": 600.0,
    "train_cpu_s": 450.0,
    "load_average_1min_median": 2.5,
    "beside": "one other training, one thread",
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
    # What ran beside the run: as stated and as measured.
    assert record["beside"] == "one other training, one thread"
    assert record["train_cpu_s"] == 450.0 and record["load_average_1min_median"] == 2.5
    table = nbody_table(results)
    egnn_row = next(line for line in table.splitlines() if line.startswith("| EGNN |"))
    assert "0.0071" in egnn_row and "0.0072 ± 0.0003" in egnn_row and "| 2 |" in egnn_row
    assert "| Linear | 0.0819 | not run |" in table


def test_ideas_table_compares_each_idea_with_the_paper_recipe_of_its_seed(tmp_path):
    results = tmp_path / "results"
    record_main([str(_write_run(tmp_path, 0, 0.0070)), "--results-dir", str(results)])
    idea = _write_run(tmp_path, 1, 0.0063)
    metrics = json.loads((idea / "metrics.json").read_text())
    (idea / "metrics.json").write_text(json.dumps({**metrics, "seed": 0}))
    record_main(
        [str(idea), "--results-dir", str(results), "--experiment", "nbody_plus_ideas"]
        + ["--name", "dropout0.1"]
    )
    assert (results / "nbody_plus_ideas" / "dropout0.1-seed0.json").exists()
    row = nbody_ideas_table(results).splitlines()[2]
    assert row.startswith("| dropout0.1 | 0 | 0.00630 | -10.0% |"), row


def test_readme_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(
        "intro\n<!-- summary-table:start -->\n<!-- summary-table:end -->\n"
        "<!-- nbody-table:start -->\nold\n<!-- nbody-table:end -->\n"
        "<!-- nbody-ideas-table:start -->\n<!-- nbody-ideas-table:end -->\n"
        "<!-- nbody-data-efficiency-table:start -->\n<!-- nbody-data-efficiency-table:end -->\n"
        "<!-- qm9-table:start -->\n<!-- qm9-table:end -->\n"
        "<!-- qm9-runs-table:start -->\n<!-- qm9-runs-table:end -->\n"
        "<!-- autoencoder-table:start -->\n<!-- autoencoder-table:end -->\n"
        "<!-- ae-sparsity-table:start -->\n<!-- ae-sparsity-table:end -->\n"
        "<!-- ae-embedding-table:start -->\n<!-- ae-embedding-table:end -->\n"
        "<!-- benchmark-table:start -->\n<!-- benchmark-table:end -->\nend\n"
    )
    tables_main(["--results-dir", str(tmp_path / "none"), "--readme", str(readme)])
    text = readme.read_text()
    assert "old" not in text and "| EGNN | 0.0071 | not run |" in text and text.endswith("end\n")
    assert "No run yet (records go to `results/ae_embedding/`)." in text
    assert "No run yet (records go to `results/ae_sparsity/`)." in text
    assert "| homo | meV | 29.0 | not run yet | not run yet | — |" in text
    with pytest.raises(ValueError, match="markers"):
        replace_between("no markers", "nbody-table", "x")


def test_tables_fill_markers_across_the_readme_and_the_notes(tmp_path):
    readme, notes = tmp_path / "README.md", tmp_path / "notes"
    notes.mkdir()
    readme.write_text("<!-- summary-table:start -->\n<!-- summary-table:end -->\n")
    markers = ["nbody-table", "nbody-ideas-table", "nbody-data-efficiency-table", "qm9-table"]
    markers += ["qm9-runs-table"]
    markers += ["autoencoder-table", "ae-sparsity-table", "ae-embedding-table"]
    (notes / "a.md").write_text("".join(f"<!-- {m}:start -->\n<!-- {m}:end -->\n" for m in markers))
    args = ["--results-dir", str(tmp_path / "none"), "--readme", str(readme), "--notes", str(notes)]
    with pytest.raises(SystemExit, match="benchmark-table"):  # a marker found in no page
        tables_main(args)
    (notes / "b.md").write_text("<!-- benchmark-table:start -->\n<!-- benchmark-table:end -->\n")
    tables_main(args)
    assert "| N-body (Table 2), MSE | EGNN | 0.0071 | not run | — |" in readme.read_text()
    assert "| EGNN | 0.0071 | not run |" in (notes / "a.md").read_text()


def test_missing_run_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="metrics.json does not exist"):
        record_main([str(tmp_path)])


def test_data_efficiency_records_and_plot(tmp_path, monkeypatch):
    from egnn.reporting import plots
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
                "overrides": [f"model=nbody_{model}", f"data.n_train={n}"],
            }
            metrics["test/mse"] = base * 100 / n
            (run / "metrics.json").write_text(json.dumps(metrics))
            record_main([str(run), "--results-dir", str(results)])
    assert (results / "nbody_data_efficiency" / "egnn-n200-seed0.json").exists()
    points = data_efficiency_points(results)
    assert points["egnn"] == [(100, 0.01), (200, 0.005), (400, 0.0025)]
    figures = []
    save_figure = plots.save_figure
    monkeypatch.setattr(
        plots, "save_figure", lambda fig, out, **kw: figures.append(fig) or save_figure(fig, out)
    )
    out = plot_data_efficiency(results, tmp_path / "plot.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (ax,) = figures[0].axes
    lines = {line.get_label(): line.get_xydata().tolist() for line in ax.lines}
    assert lines["EGNN"] == [[100, 0.01], [200, 0.005], [400, 0.0025]]
    assert lines["GNN"] == [[100, 0.02], [200, 0.01], [400, 0.005]]
    # The paper's Table 2 figures at its 3,000 training trajectories, beside each model's line.
    assert lines["EGNN, paper (Table 2)"] == [[3000, 0.0071]]
    assert lines["GNN, paper (Table 2)"] == [[3000, 0.0107]]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    table = data_efficiency_table(results)
    assert "| 200 | **0.0050** (best epoch 200, 400 epochs, early stop) | 0.0100 (best" in table


def test_stop_label_reads_old_records_from_their_command():
    from egnn.reporting.tables import stop_label

    assert stop_label({"stopped_by": "max_time"}) == "time budget"
    budget = "train.py -m trainer.max_time=00:02:05:00"  # 7,500 s
    assert stop_label({"command": budget, "train_time_s": 7500.5, "epochs": 900}) == "time budget"
    assert stop_label({"command": budget, "train_time_s": 3000, "epochs": 900}) == "early stop"
    assert stop_label({"command": "train.py", "epochs": 10000}) == "epoch cap"
    odd = {"command": "train.py trainer.max_time={days:1}", "train_time_s": 9.0, "epochs": 5}
    assert stop_label(odd) == "early stop"  # an unreadable budget is not an error


def test_learning_curve_plot(tmp_path, monkeypatch):
    from egnn.reporting import plots
    from egnn.reporting.plots import plot_learning_curve

    csv_path = tmp_path / "metrics.csv"
    csv_path.write_text(
        "epoch,step,train/loss,val/best_epoch,val/mae,val/mae_best\n"
        "0,10,,0,5.0,5.0\n0,10,1.0,,,\n1,20,,1,4.0,4.0\n1,20,0.8,,,\n"
    )
    figures = []
    save_figure = plots.save_figure

    def keep_figure(fig, out, **kwargs):
        figures.append(fig)
        return save_figure(fig, out, **kwargs)

    monkeypatch.setattr(plots, "save_figure", keep_figure)
    out = plot_learning_curve(csv_path, tmp_path / "curve.png", "homo", reference=1.0)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (fig,) = figures
    ax_train, ax_val = fig.axes
    # Training loss per epoch (the rows without a validation value); the validation metric (not
    # its running best) per epoch; the paper's value as a dashed line.
    assert ax_train.lines[0].get_xydata().tolist() == [[0, 1.0], [1, 0.8]]
    assert ax_train.get_yscale() == "log" and ax_val.get_yscale() == "log"
    ours, paper = ax_val.lines
    assert ours.get_label() == "ours" and ours.get_xydata().tolist() == [[0, 5.0], [1, 4.0]]
    assert paper.get_label() == "paper" and list(paper.get_ydata()) == [1.0, 1.0]
    assert fig._suptitle.get_text() == "homo"
    assert (
        ax_val.get_xlabel() == "epoch"
        and ax_val.get_ylabel() == "validation MAE (the target's unit)"
    )
    # Two validations per epoch (val_check_interval=0.5): the points are placed by step.
    csv_path.write_text(
        "epoch,step,train/loss,val/best_epoch,val/mae,val/mae_best\n"
        "0,5,,0,6.0,6.0\n0,10,,0,5.0,5.0\n0,10,1.0,,,\n1,15,,1,4.5,4.5\n1,20,,1,4.0,4.0\n"
        "1,20,0.8,,,\n"
    )
    figures.clear()
    plot_learning_curve(csv_path, tmp_path / "curve.png", "homo")
    ax_train, ax_val = figures[0].axes
    assert ax_val.lines[0].get_xydata().tolist() == [[5, 6.0], [10, 5.0], [15, 4.5], [20, 4.0]]
    assert ax_train.lines[0].get_xydata().tolist() == [[10, 1.0], [20, 0.8]]
    assert ax_val.get_xlabel() == "training step"


def _ae_run(tmp_path, name, **fields):
    run = tmp_path / name
    run.mkdir()
    metrics = {
        **METRICS,
        "experiment": "ae_community",
        "model": "egnn",
        "batch_size": 8,
        "epochs": 100,
    }
    del metrics["test/mse"]
    metrics.update({"test/bce": 2.0, "test/error": 0.05, "test/f1": 0.9995, **fields})
    (run / "metrics.json").write_text(json.dumps(metrics))
    return run


def test_record_takes_its_test_metrics_from_an_eval_of_the_run(tmp_path):
    from egnn.reporting.tables import autoencoder_table

    results = tmp_path / "results"
    best = str(tmp_path / "egnn_b1" / "checkpoints" / "epoch_00097.ckpt")
    run = _ae_run(tmp_path, "egnn_b1", batch_size=1, best_checkpoint=best, **{"test/error": 0.107})
    evaluation = tmp_path / "eval"
    evaluation.mkdir()
    tested = {
        "checkpoint": best,
        "command": "eval.py ckpt_path=... test_draws=10",
        "test_draws": 10,
        "test/error": 0.083,
        "test/error_std": 0.009,
        "test/bce": 2.4,
        "test/f1": 0.9987,
    }
    (evaluation / "metrics.json").write_text(json.dumps(tested))
    record_main([str(run), "--test-from", str(evaluation), "--results-dir", str(results)])
    record = json.loads((results / "ae_community" / "egnn-seed0.json").read_text())
    assert record["test/error"] == 0.083 and record["test/error_std"] == 0.009
    assert record["test_draws"] == 10 and record["test_command"] == tested["command"]
    assert record["epochs"] == 100  # the training facts stay the run's
    row = next(line for line in autoencoder_table(results).splitlines() if "| EGNN |" in line)
    assert row.split(" | ")[5:11] == ["0.083", "0.999", "0.999", "1", "1", "10"]
    # An eval that averages 4 draws into each prediction: its own file name and row.
    averaged = tmp_path / "eval_ens4"
    averaged.mkdir()
    tested.update({"test_ensemble": 4, "test/error": 0.002, "test/error_std": 0.001})
    tested["overrides"] = [f"ckpt_path={best}", "test_draws=10", "test_ensemble=4"]
    (averaged / "metrics.json").write_text(json.dumps(tested))
    record_main([str(run), "--test-from", str(averaged), "--results-dir", str(results)])
    record = json.loads((results / "ae_community" / "egnn-ens4-seed0.json").read_text())
    assert record["test_ensemble"] == 4 and record["test/error"] == 0.002
    rows = [line for line in autoencoder_table(results).splitlines() if "| EGNN" in line]
    assert [row.split(" | ")[1] for row in rows[:2]] == ["EGNN", "EGNN, 4 draws averaged"]
    assert rows[1].split(" | ")[5:8] == ["0.0020", "0.999", "0.99870"]
    last = _ae_run(tmp_path, "last", batch_size=1, best_checkpoint=best.replace("97", "99"))
    with pytest.raises(SystemExit, match="not the best checkpoint of"):
        record_main([str(last), "--test-from", str(evaluation), "--results-dir", str(results)])


def test_autoencoder_table_and_sweep_records(tmp_path):
    from egnn.reporting.plots import plot_autoencoder_sweeps
    from egnn.reporting.tables import autoencoder_table, embedding_table, sparsity_table

    results = tmp_path / "results"
    runs = [_ae_run(tmp_path, "egnn", overrides=["data.batch_size=8"])]
    runs.append(_ae_run(tmp_path, "base", model="baseline"))
    runs.append(_ae_run(tmp_path, "egnn_b1", batch_size=1, **{"test/error": 0.04}))
    runs[1].joinpath("metrics.json").write_text(
        json.dumps(
            {
                **METRICS,
                "experiment": "ae_community",
                "model": "baseline",
                "test/error": 31.79,
                "test/f1": 0.0,
            }
        )
    )
    for p in (0.1, 0.5):
        for model in ("egnn", "gnn"):
            runs.append(
                _ae_run(
                    tmp_path,
                    f"s{model}{p}",
                    experiment="ae_sparsity",
                    model=model,
                    p=p,
                    batch_size=1,
                    epochs=10000,
                    overrides=[f"model=ae_{model}", f"data.p={p}"],
                    **{"test/error": p * (1 if model == "gnn" else 0.1)},
                )
            )
    short = dict(experiment="ae_sparsity", model="gnn", p=0.5, batch_size=1, epochs=200)
    short["overrides"] = ["model=ae_gnn", "data.p=0.5", "trainer.max_epochs=200"]
    runs.append(_ae_run(tmp_path, "short", **short))
    for k in (4, 8):
        runs.append(
            _ae_run(
                tmp_path,
                f"k{k}",
                experiment="ae_embedding",
                dataset="erdos_renyi",
                embedding_nf=k,
                batch_size=1,
                overrides=["data.dataset=erdos_renyi", f"model.net.embedding_nf={k}"],
            )
        )
    record_main([str(r) for r in runs] + ["--results-dir", str(results)])
    assert (results / "ae_sparsity" / "gnn-p0.5-seed0.json").exists()
    assert (results / "ae_sparsity" / "gnn-e200-p0.5-seed0.json").exists()  # another budget
    assert (results / "ae_embedding" / "egnn-erdos_renyi-k8-seed0.json").exists()
    # A run as configured has the plain name; data.batch_size=8 on the command line is -b8.
    assert (results / "ae_community" / "egnn-seed0.json").exists()
    assert (results / "ae_community" / "egnn-b8-seed0.json").exists()
    # A run trained on the BCE of probabilities by an override: its own file name and row.
    probs = _ae_run(
        tmp_path,
        "probs",
        batch_size=1,
        train_bce_input="probabilities",
        overrides=["model.train_bce_input=probabilities"],
        **{"test/error": 0.03},
    )
    record_main([str(probs), "--results-dir", str(results)])
    probs_record = results / "ae_community" / "egnn-bce_probabilities-seed0.json"
    assert json.loads(probs_record.read_text())["train_bce_input"] == "probabilities"
    table = autoencoder_table(results)
    rows = [line for line in table.splitlines() if line.startswith("| Community Small | EGNN")]
    assert [row.split(" | ")[-1] for row in rows] == ["logits |", "probabilities |", "logits |"]
    assert rows[1].split(" | ")[5] == "0.030"
    # A run whose distance decoder stayed fixed (the release's code on a GPU): its own name and row.
    fixed = _ae_run(
        tmp_path,
        "fixed",
        batch_size=1,
        train_bce_input="probabilities",
        learn_decoder=False,
        overrides=["model.train_bce_input=probabilities", "model.net.learn_decoder=false"],
        **{"test/error": 0.02},
    )
    record_main([str(fixed), "--results-dir", str(results)])
    fixed_record = results / "ae_community" / "egnn-bce_probabilities-fixed_decoder-seed0.json"
    assert json.loads(fixed_record.read_text())["learn_decoder"] is False
    rows = [
        line
        for line in autoencoder_table(results).splitlines()
        if line.startswith("| Community Small | EGNN (decoder fixed)")
    ]
    assert len(rows) == 1 and rows[0].split(" | ")[5] == "0.020"
    fixed_record.unlink()
    # An option the run's model does not have is not recorded as null.
    assert "learn_decoder" not in json.loads(probs_record.read_text())
    probs_record.unlink()
    table = autoencoder_table(results)
    rows = [line for line in table.splitlines() if line.startswith("| Community Small | EGNN")]
    assert len(rows) == 2  # one row per graphs-per-step setting, never averaged together
    assert rows[0].split(" | ")[2:10] == [
        "2.14",
        "2.00",
        "0.06",
        "0.040",
        "0.999",
        "1.000",
        "1",
        "1",
    ]
    assert rows[1].split(" | ")[2:10] == [
        "2.14",
        "2.00",
        "0.06",
        "0.050",
        "0.999",
        "1.000",
        "1",
        "8",
    ]
    base = next(line for line in table.splitlines() if "Community Small | Baseline" in line)
    assert "| — | — | 31.79 | 31.790 |" in base
    assert "| Erdos-Renyi | EGNN | 1.65 | not run |" in table
    figures = plot_autoencoder_sweeps(results, tmp_path / "figures")
    assert [f.name for f in figures] == ["sparsity.png", "embedding.png"]
    sparsity = sparsity_table(results).splitlines()
    assert sparsity[0] == "| %Error (F1) at edge probability p | 0.1 | 0.5 |"
    egnn = next(row for row in sparsity if row.startswith("| EGNN (10000 epochs,"))
    assert egnn.endswith(" | 0.01 (0.99950) | 0.05 (0.99950) |")
    assert any(
        row.startswith("| GNN (200 epochs,") and row.endswith(" | not run | 0.05 (0.99950) |")
        for row in sparsity
    )
    # The embedding sweep as a table: one row per model, dataset and budget, a column per size.
    (results / "ae_embedding" / "egnn-erdos_renyi-k4-seed0.json").unlink()
    extra = _ae_run(
        tmp_path,
        "k16",
        experiment="ae_embedding",
        dataset="community_small",
        embedding_nf=16,
        batch_size=1,
        overrides=["data.dataset=community_small", "model.net.embedding_nf=16"],
        **{"test/error": 0.25, "test/f1": 0.5},
    )
    record_main([str(extra), "--results-dir", str(results)])
    # A record without F1 shows its %Error alone.
    (results / "ae_embedding" / "gnn-community_small-k16-seed0.json").write_text(
        json.dumps(
            sealed(
                {
                    "model": "gnn",
                    "dataset": "community_small",
                    "embedding_nf": 16,
                    "epochs": 100,
                    "batch_size": 1,
                    "test/error": 0.3,
                }
            )
        )
    )
    table = embedding_table(results).splitlines()
    assert table[0] == "| %Error (F1) at embedding size | 8 | 16 |"
    assert len(table) == 5
    assert table[4].startswith("| GNN, Community Small (") and table[4].endswith(
        " | not run | 0.30 |"
    )
    assert table[2].startswith("| EGNN, Community Small (") and table[2].endswith(
        " | not run | 0.25 (0.500) |"
    )
    assert table[3].startswith("| EGNN, Erdos-Renyi (") and table[3].endswith(" | not run |")


def test_report_folder(tmp_path, monkeypatch):
    from egnn.reporting.report import main as report_main
    from egnn.reporting.report import markdown_table_to_csv, write_report
    from egnn.run.summary import main as summary_main

    assert markdown_table_to_csv("x\n| a | b |\n|---|---|\n| 1 | 2 |\n\n| c |") == "a,b\n1,2\n"
    results = tmp_path / "results"
    record_main([str(_write_run(tmp_path, 0, 0.0070)), "--results-dir", str(results)])
    demo = tmp_path / "demo"
    demo.mkdir()
    (demo / "metrics.json").write_text(
        json.dumps({**METRICS, "experiment": "nbody_demo_seeds", "test/mse": 0.02})
    )
    record_main([str(demo), "--results-dir", str(results)])
    sweep = tmp_path / "multirun_x"
    for job, lr in ((0, 1e-3), (1, 5e-4)):
        (sweep / str(job) / ".hydra").mkdir(parents=True)
        (sweep / str(job) / ".hydra" / "overrides.yaml").write_text(
            f"- experiment=nbody\n- model.optimizer.lr={lr}\n"
        )
        (sweep / str(job) / "metrics.json").write_text(
            json.dumps({"val/mse_best": 0.01 + lr, "test/mse": 0.02})
        )
    (sweep / "optimization_results.yaml").write_text(
        "name: optuna\nbest_params:\n  model.optimizer.lr: 0.0005\nbest_value: 0.0105\n"
    )
    summary_main([str(sweep), "--out", str(results / "sweeps")])
    # Prediction samples an evaluation left in the records: the figures are drawn from them.
    (results / "nbody" / "samples").mkdir()
    (results / "nbody" / "samples" / "egnn-seed0.json").write_text(
        json.dumps(
            {
                "kind": "nbody_trajectories",
                "model": "egnn",
                "frame_in": 30,
                "frame_out": 32,
                "truth": torch.randn(2, 3, 5, 3).tolist(),
                "predicted": torch.randn(2, 5, 3).tolist(),
            }
        )
    )
    (results / "ae_community" / "samples").mkdir(parents=True)
    adjacency = [[0, 1, 0], [1, 0, 1], [0, 1, 0]]
    (results / "ae_community" / "samples" / "egnn-seed0.json").write_text(
        json.dumps(
            {"kind": "adjacency", "graphs": [{"adjacency": adjacency, "probabilities": adjacency}]}
        )
    )
    out = tmp_path / "report"
    (out / "figures").mkdir(parents=True)
    earlier = out / "figures" / "adjacency-ae_community-egnn-2026-11-28_05-10-23.png"
    earlier.write_bytes(b"an earlier figure")
    readme = write_report(results, out)
    text = readme.read_text()
    assert earlier.read_bytes() == b"an earlier figure"  # never deleted, never rewritten
    assert (
        "### adjacency reconstructions: ae_community-egnn-2026-11-28_05-10-23 (made earlier,"
        " not from the present records)" in text
    )
    for name in ("trajectories-nbody-egnn-seed0.png", "adjacency-ae_community-egnn-seed0.png"):
        assert (out / "figures" / name).stat().st_size > 10_000 and name in text
    assert "| nbody_demo_seeds | egnn | 0 | test/mse: 0.02 | 400 |" in text
    assert "- job 1 (model.optimizer.lr=0.0005): test/mse 0.02, val/mse_best 0.0105" in text
    assert "Optuna's best: model.optimizer.lr=0.0005 (value 0.0105)" in text
    for title in ("paper Table 2", "paper Fig. 3", "paper Table 3", "paper Table 4"):
        assert title in text
    assert "| EGNN | 0.0071 | 0.0070 |" in text
    assert (out / "tables" / "nbody.csv").read_text().startswith("Model,Paper MSE,")
    for title in ("against sparsity (overfit set)", "against the embedding size"):
        assert f"## Graph autoencoder: %Error and F1 {title}" in text
    assert "## Performance (backbone benchmark)" in text
    # Made again without the sweep summary and the samples: nothing of the first report goes.
    before = {p.relative_to(out) for p in out.rglob("*")}
    (results / "sweeps" / f"{tmp_path.name}-multirun_x.md").unlink()
    for samples in results.glob("*/samples/*.json"):
        samples.unlink()
    text = write_report(results, out).read_text()
    assert before <= {p.relative_to(out) for p in out.rglob("*")}
    assert "Optuna's best" in text and "trajectories-nbody-egnn-seed0.png" in text
    # The default folder is a scratch folder under the current one, not the committed report/.
    monkeypatch.chdir(tmp_path)
    report_main(["--results-dir", str(results)])
    assert (tmp_path / "outputs" / "report" / "README.md").is_file()


def test_qm9_units_of_the_report_are_those_of_the_data():
    from egnn.data.qm9.targets import TARGETS
    from egnn.reporting import paper

    assert {name: target.unit for name, target in TARGETS.items()} == paper.QM9_UNITS


def test_figures_label_their_axes_with_units_and_keep_legends_off_the_data(tmp_path):
    from egnn.reporting import plots

    plt = plots.pyplot()
    saved = []
    monkeypatch_close = plt.close
    try:
        plt.close = lambda fig=None: saved.append(fig)  # keep the figures to inspect them
        csv_path = tmp_path / "metrics.csv"
        csv_path.write_text(
            "epoch,step,train/loss,val/mse\n0,1,,0.5\n0,1,1.0,\n1,2,,0.25\n1,2,0.5,\n2,3,,0.2\n"
        )
        plots.plot_learning_curve(csv_path, tmp_path / "curve.png", "run", reference=0.1)
    finally:
        plt.close = monkeypatch_close
    fig = saved[0]
    for ax in fig.axes:
        assert "(" in ax.get_ylabel()  # a unit
        assert ax.get_xlabel() == "epoch"
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert all(float(t).is_integer() for t in ticks)
        legend = ax.get_legend()
        if legend is not None:  # outside the axes: left edge right of the axes' right edge
            fig.canvas.draw()
            box = legend.get_window_extent()
            assert box.x0 >= ax.get_window_extent().x1
    plt.close(fig)


def test_git_commit_is_dirty_for_code_not_for_records(tmp_path):
    import subprocess

    from egnn.run.provenance import git_commit

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "results").mkdir()
    (tmp_path / "code.py").write_text("a = 1\n")
    (tmp_path / "results" / "r.json").write_text("{}")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    (tmp_path / "results" / "r.json").write_text('{"test/mse": 1}')
    assert not git_commit(tmp_path).endswith("-dirty")
    (tmp_path / "code.py").write_text("a = 2\n")
    assert git_commit(tmp_path).endswith("-dirty")


def test_benchmark_table(tmp_path):
    from egnn.reporting.tables import benchmark_table

    assert "No benchmark results" in benchmark_table(tmp_path)
    case = {
        "ours": {"forward_s": 0.01, "train_step_s": 0.02, "forward_flops": 2e8},
        "reference": {"forward_s": 0.02, "train_step_s": 0.1, "forward_flops": 3e8},
    }
    (tmp_path / "benchmark").mkdir()
    (tmp_path / "benchmark" / "cpu.json").write_text(
        json.dumps(
            {
                "machine": {"threads": 1},
                "matmul_peak_gflops": 50.0,
                "nbody": case,
                "scaling": [{"nodes": 1000, "edges": 27000, "forward_s": 0.1}],
            }
        )
    )
    table = benchmark_table(tmp_path)
    # Records from before train-step FLOPs were counted show a dash there.
    assert "| 10.00 / 20.00 ms | 2.00x | 20.00 / 100.00 ms | 5.00x | 20.0 (40%) | — |" in table
    assert "torch.compile" not in table  # only the variants that were measured
    case["ours_compiled"] = {
        "forward_s": 0.005,
        "train_step_s": 0.01,
        "forward_flops": 2e8,
        "train_step_flops": 4e8,
    }
    (tmp_path / "benchmark" / "cpu.json").write_text(
        json.dumps(
            {
                "machine": {"threads": 1},
                "matmul_peak_gflops": 50.0,
                "matmul_peak_gflops_measured": [40.0, 50.0],
                "nbody": case,
            }
        )
    )
    assert "peak 50.0 GFLOP/s (the best of 2 measurements over the run)." in benchmark_table(
        tmp_path
    )
    assert (
        "particles, torch.compile | 5.00 / 20.00 ms | 4.00x | 10.00 / 100.00 ms | 10.00x "
        "| 40.0 (80%) | 40.0 (80%) |"
    ) in benchmark_table(tmp_path)
    assert "1000 nodes / 27000 edges: 100 ms" in table
    assert "Other benchmark runs" not in table
    # An older run kept beside cpu.json gets a row of speed-ups; its CPU may not be recorded.
    (tmp_path / "benchmark" / "cpu-old.json").write_text(
        json.dumps({"machine": {}, "matmul_peak_gflops": 206.0, "nbody": case})
    )
    row = [line for line in benchmark_table(tmp_path).splitlines() if "cpu-old.json" in line]
    assert row and row[0].endswith("| not recorded | 206 GFLOP/s | 4.00x | 10.00x | — | — |")
    (tmp_path / "benchmark" / "ideas.json").write_text(
        json.dumps(
            {
                "case": "N-body step",
                "threads": 1,
                "rows": [
                    {"variant": "compiled", "train_step_s": 0.02, "speedup_vs_compiled": 1.0},
                    {
                        "variant": "dense",
                        "train_step_s": 0.025,
                        "speedup_vs_compiled": 0.8,
                        "speedup_per_repeat": [0.75, 0.8, 0.9],
                    },
                ],
            }
        )
    )
    assert "| dense | 25.00 ms | 0.80x (0.75-0.90 over 3 runs) |" in benchmark_table(tmp_path)


def test_learning_curve_without_validation_rows(tmp_path, monkeypatch):
    from egnn.reporting import plots

    figures = []
    save_figure = plots.save_figure
    monkeypatch.setattr(
        plots,
        "save_figure",
        lambda fig, out, **kw: figures.append(fig) or save_figure(fig, out, **kw),
    )
    csv_path = tmp_path / "metrics.csv"
    csv_path.write_text("epoch,step,test/mse,train/loss\n9,300,0.01,\n9,301,,0.02\n")
    assert plots.plot_learning_curve(csv_path, tmp_path / "c.png", "t").is_file()
    ax_train, ax_val = figures[0].axes
    assert ax_train.lines[0].get_xydata().tolist() == [[9, 0.02]]
    assert len(ax_val.lines) == 0 and [t.get_text() for t in ax_val.texts] == [
        "no validation rows in this file"
    ]


def test_time_to_accuracy(tmp_path):
    from egnn.reporting.tables import time_to_accuracy_lines
    from egnn.run.time_to_accuracy import main as tta_main
    from egnn.run.time_to_accuracy import time_to_target

    run = tmp_path / "run"
    (run / "csv").mkdir(parents=True)
    (run / "csv" / "metrics.csv").write_text(
        "epoch,step,time/train_s,train/loss,val/mse\n"
        "4,150,,0.5,\n4,150,3.0,,0.0200\n9,300,6.5,,0.0070\n14,450,9.0,,0.0060\n"
    )
    (run / "metrics.json").write_text(json.dumps({"num_threads": 1, "compiled": True}))
    assert time_to_target(run / "csv" / "metrics.csv", 0.0071) == {
        "epoch": 9,
        "time_s": 6.5,
        "value": 0.0070,
        "train_steps": 301,
    }
    assert time_to_target(run / "csv" / "metrics.csv", 0.001) is None
    # Strictly below, as early stopping's stopping_threshold: 0.0070 does not reach 0.0070.
    assert time_to_target(run / "csv" / "metrics.csv", 0.0070)["epoch"] == 14
    out = tmp_path / "tta.json"
    tta_main(["--target", "0.0071", "--out", str(out), f"fast={run}"])
    lines = "\n".join(time_to_accuracy_lines(out))
    assert "| fast | 6 s | 9 | 0.60 s | 1 |" in lines and "val/mse < 0.0071" in lines
    assert "matmul peak" not in lines  # no floor without a benchmark's step FLOPs
    # 301 steps whose FLOPs take 0.01 s each at the peak: a 3 s floor.
    lines = "\n".join(time_to_accuracy_lines(out, step_at_peak_s=0.01))
    assert "| fast | 6 s | 9 | 0.60 s | 1 |" in lines and lines.endswith("| 301 steps: 3 s |")
    # No floor for a run on other threads than the peak's.
    lines = "\n".join(time_to_accuracy_lines(out, step_at_peak_s=0.01, peak_threads=2))
    assert lines.endswith("| — (the peak is for 2 thread(s)) |")
    # The summary names its machine; the benchmark table gives the floor only for that CPU.
    from egnn.reporting.tables.benchmark import _same_cpu
    from egnn.run.provenance import cpu_model

    summary = json.loads(out.read_text())
    assert summary["machine"]["cpu_model"] == cpu_model()
    assert _same_cpu({"machine": {"cpu_model": cpu_model()}}, summary)
    assert not _same_cpu({"machine": {"cpu_model": "another"}}, summary)
    assert not _same_cpu({"machine": {}}, {"machine": {}})  # unrecorded CPUs never match
    tta_main(["--target", "0.005", "--out", str(out), f"slow={run}"])
    lines = "\n".join(time_to_accuracy_lines(out))
    assert "| slow | not reached: best 0.00600 within 9 s | 14 |" in lines
    # Repeated runs (REPEATS=k): each row, then the median of those that reached the target.
    late = tmp_path / "late"
    (late / "csv").mkdir(parents=True)
    (late / "csv" / "metrics.csv").write_text(
        "epoch,step,time/train_s,val/mse\n4,150,3.0,0.0200\n9,300,7.0,0.0080\n14,450,9.5,0.0065\n"
    )
    runs = [f"after #1={run}", f"after #2={late}", f"after #3={late}", f"before={run}"]
    tta_main(["--target", "0.0071", "--out", str(out), *runs])
    lines = time_to_accuracy_lines(out)
    assert lines[-1] == "| **after, median of 3** | **10 s** | 14 | 0.63 s | 1 | |"
    tta_main(["--target", "0.0062", "--out", str(out), *runs[:2]])
    # Only the runs that got there count, and the row says so.
    assert time_to_accuracy_lines(out)[-1].startswith(
        "| **after, median of 1 of 2 runs** | **9 s**"
    )
    (run / "csv" / "metrics.csv").write_text("epoch,val/mse\n4,0.01\n")
    with pytest.raises(ValueError, match="time/train_s"):
        time_to_target(run / "csv" / "metrics.csv", 0.0071)


def test_sweep_lines_never_mix_budgets(tmp_path):
    from egnn.reporting.plots import SWEEP_BUDGET, SWEEP_MISSING, budget_label, sweep_points

    folder = tmp_path / "ae_sparsity"
    folder.mkdir()
    for name, epochs, error in (("a", 200, 2.0), ("b", 200, 4.0), ("c", 10000, 0.5)):
        record = {"model": "egnn", "p": 0.1, "epochs": epochs, "batch_size": 1, "test/error": error}
        (folder / f"{name}.json").write_text(json.dumps(sealed(record)))
    points = sweep_points(
        tmp_path, "ae_sparsity", "p", "test/error", ("model", "epochs", "batch_size")
    )
    assert points == {("egnn", 200, 1): [(0.1, 3.0)], ("egnn", 10000, 1): [(0.1, 0.5)]}
    assert budget_label(200, 1) == "200 epochs, 1 graph/step"
    # The training loss splits lines too; a record without it was trained on logits.
    record = {"model": "egnn", "p": 0.1, "epochs": 200, "batch_size": 1, "test/error": 1.0}
    (folder / "d.json").write_text(
        json.dumps(sealed({**record, "train_bce_input": "probabilities"}))
    )
    (folder / "e.json").write_text(json.dumps(sealed({**record, "train_bce_input": "logits"})))
    points = sweep_points(
        tmp_path, "ae_sparsity", "p", "test/error", ("model", *SWEEP_BUDGET), SWEEP_MISSING
    )
    assert points[("egnn", 200, 1, "logits")] == [(0.1, pytest.approx(7 / 3))]
    assert points[("egnn", 200, 1, "probabilities")] == [(0.1, 1.0)]
    assert budget_label(200, 1, "logits") == "200 epochs, 1 graph/step, BCE of logits"


def test_subset_ensemble_mse_by_hand():
    target = torch.zeros(1, 3)
    predictions = torch.tensor([[[1.0, 0, 0]], [[-1.0, 0, 0]], [[2.0, 0, 0]]])  # [3 models, 1, 3]
    assert subset_ensemble_mse(predictions, target, 1) == pytest.approx([1 / 3, 1 / 3, 4 / 3])
    # means of pairs: 0, 1.5, 0.5 -> squared error / 3 coordinates
    assert subset_ensemble_mse(predictions, target, 2) == pytest.approx([0, 0.75, 1 / 12])
    with pytest.raises(ValueError, match=r"size must lie in \[1, 3\], got 4"):
        subset_ensemble_mse(predictions, target, 4)


def test_nbody_plus_rows_sit_beside_the_paper_recipe(tmp_path):
    results = tmp_path / "results"
    record_main([str(_write_run(tmp_path, 0, 0.0072)), "--results-dir", str(results)])
    plus = _write_run(tmp_path, 1, 0.0060)
    metrics = json.loads((plus / "metrics.json").read_text())
    (plus / "metrics.json").write_text(json.dumps({**metrics, "experiment": "nbody_plus"}))
    record_main([str(plus), "--results-dir", str(results)])
    table = nbody_table(results)
    assert "| EGNN | 0.0071 | 0.0072 | 1 |" in table  # the paper recipe's row keeps its runs
    assert (
        "| EGNN + motion invariants + dropout (`experiment=nbody_plus`) | — | 0.0060 | 1 |" in table
    )


def test_autoencoder_wall_times_are_a_range_across_runs():
    from egnn.reporting.tables.cells import minutes_range

    assert minutes_range([]) == "—"
    assert minutes_range([31.2]) == "31 min"
    assert minutes_range([176.0, 30.4, 31.0]) == "30-176 min"


def test_sweep_cells_keep_the_digits_of_near_perfect_runs():
    from egnn.reporting.tables import sweep_cell

    assert sweep_cell(10.367, 0.8447) == "10.37 (0.845)"
    assert sweep_cell(0.00062, 0.9999876) == "0.00062 (0.99999)"
    assert sweep_cell(0.0, None) == "0"


def test_result_links_are_relative_to_the_page_they_go_in(tmp_path):
    from egnn.reporting.tables import other_benchmark_lines, relative_link

    bench = tmp_path / "results" / "benchmark"
    bench.mkdir(parents=True)
    (bench / "cpu-old.json").write_text(json.dumps({"matmul_peak_gflops": 50.0, "machine": {}}))
    assert relative_link(bench / "cpu-old.json", tmp_path / "report") == (
        "../results/benchmark/cpu-old.json"
    )
    assert relative_link(Path("results/x.json"), None) == "results/x.json"
    row = other_benchmark_lines(bench, tmp_path / "report")[-1]
    assert row.startswith("| [`cpu-old.json`](../results/benchmark/cpu-old.json) | not recorded |")


def test_qm9_table_shows_the_budget_runs_and_what_they_cost(tmp_path):
    from egnn.reporting.tables import QM9_CPU_BUDGET, qm9_table

    folder = tmp_path / QM9_CPU_BUDGET
    folder.mkdir()
    record = {
        "experiment": QM9_CPU_BUDGET,
        "command": "train.py experiment=qm9_cpu_1h data.target=homo",
        "git_commit": "0" * 40,
        "machine": "2 cores, no GPU",
        "model": "egnn",
        "target": "homo",
        "seed": 0,
        "test/mae": 123.4,
        "epochs": 4,
        "n_train": None,
        "train_time_s": 5400.0,
        "train_cpu_s": 3480.0,
        "load_average_1min_median": 2.14,
    }
    (folder / "egnn-homo-seed0.json").write_text(json.dumps(sealed(record)))
    rows = {line.split(" | ")[0].strip("| "): line for line in qm9_table(tmp_path).splitlines()}
    assert (
        "| 123.4 | 100000 train molecules, 4 epochs, 58 CPU min (1.5 h wall, load 2.1) |"
        in (rows["homo"])
    )
    assert "| 29.0 |" in rows["homo"]  # the paper's MAE beside ours
    assert rows["mu"].endswith("| not run yet | not run yet | — |")


def test_qm9_runs_table_reads_each_runs_curve(tmp_path):
    """A row per record, targets in the paper's order then seeds: the validation MAE at the first,
    best and last checks of the curve kept beside the record, whether the last check still
    improved on the one before (not on the best), the cost, what ran beside, and a link to the
    plot from the page's folder; what a record or curve lacks shows as a dash."""
    from egnn.reporting.tables import QM9_CPU_BUDGET, qm9_runs_table

    folder = tmp_path / "results" / QM9_CPU_BUDGET
    folder.mkdir(parents=True)
    header = "epoch,step,train/loss,val/best_epoch,val/mae,val/mae_best\n"
    curves = {  # two checks an epoch (placed by step), one an epoch (placed by epoch)
        "homo-seed0": "0,520,,0,313.7,313.7\n0,1041,,0,121.1,121.1\n0,1041,0.5,,,\n"
        "1,1562,,0,124.7,121.1\n",
        "mu-seed0": "0,520,,0,0.71,0.71\n1,1041,,1,0.25,0.25\n",
        # the last check beats the one before it but not the best
        "mu-seed1": "0,1,,0,10,10\n1,2,,1,5,5\n2,3,,1,8,5\n3,4,,1,7,5\n",
        "Cv-seed0": "0,1,,0,2.5,2.5\n",  # one check
        "alpha-seed0": "0,1,0.9,,,\n",  # no validation row
    }
    for name, mae, minutes in (
        ("Cv-seed0", 0.5, 70),
        ("mu-seed1", 0.3, 90),
        ("mu-seed0", 0.2454, 88),
        ("homo-seed0", 120.14, 107),
        ("alpha-seed0", 0.9047, 75),
        ("gap-seed0", 195.7, 81),
    ):
        target, seed = name.split("-seed")
        record = {
            "experiment": QM9_CPU_BUDGET,
            "command": f"train.py experiment=qm9_cpu_1h data.target={target} seed={seed}",
            "git_commit": "0" * 40,
            "machine": "2 cores, no GPU",
            "model": "egnn",
            "target": target,
            "seed": int(seed),
            "test/mae": mae,
            "epochs": 4,
            "train_time_s": minutes * 60.0,
            "train_cpu_s": 3720.0,
            "load_average_1min_median": 2.96,
            "beside": "one other QM9 training" if target == "homo" else None,
        }
        if target == "gap":
            del record["train_cpu_s"], record["load_average_1min_median"]
        (folder / f"egnn-{name}.json").write_text(json.dumps(sealed(record)))
        if name in curves:
            (folder / f"egnn-{name}.csv").write_text(header + curves[name])
    (folder / "egnn-mu-seed0.png").write_bytes(b"png")
    table = qm9_runs_table(tmp_path / "results", links_from=tmp_path / "report" / "notes")
    rows = {" ".join(row.split(" | ")[:2]).strip("| "): row for row in table.splitlines()[2:]}
    assert list(rows) == ["alpha 0", "gap 0", "homo 0", "mu 0", "mu 1", "Cv 0"]  # paper order
    assert rows["homo 0"] == (
        "| homo | 0 | 120.1 meV | 313.7 -> 121.1 (step 1,041) -> 124.7 | no | 62 | 107 | 3.0 "
        "| one other QM9 training | — |"
    )
    assert rows["mu 0"] == (
        "| mu | 0 | 0.2454 D | 0.71 -> 0.25 (epoch 1) -> 0.25 | yes | 62 | 88 | 3.0 | — "
        "| [png](../../results/qm9_cpu_1h/egnn-mu-seed0.png) |"
    )
    assert rows["mu 1"].startswith("| mu | 1 | 0.3 D | 10 -> 5 (epoch 1) -> 7 | yes | 62 | 90 |")
    assert rows["Cv 0"].startswith("| Cv | 0 | 0.5 cal/mol K | 2.5 -> 2.5 (epoch 0) -> 2.5 | — |")
    assert rows["alpha 0"].startswith("| alpha | 0 | 0.9047 bohr^3 | no validation rows | — |")
    assert rows["gap 0"] == "| gap | 0 | 195.7 meV | no curve kept | — | — | 81 | — | — | — |"


def test_summary_gives_the_qm9_targets_of_a_budget_one_row(tmp_path):
    """However many targets are run, the README's summary gets one QM9 row per budget (the
    per-target table lives in the QM9 notes), targets in the paper's order with their units."""
    from egnn.reporting.tables import QM9_CPU_BUDGET, summary_table

    results = tmp_path / "results"
    for target, mae, minutes in (("mu", 0.2454, 88), ("homo", 120.14, 107)):
        run = tmp_path / target
        run.mkdir()
        metrics = {
            **METRICS,
            "experiment": QM9_CPU_BUDGET,
            "target": target,
            "test/mae": mae,
            "epochs": 4,
            "train_time_s": minutes * 60.0,
            "command": f"train.py experiment={QM9_CPU_BUDGET} data.target={target}",
            "overrides": [f"experiment={QM9_CPU_BUDGET}", f"data.target={target}"],
        }
        del metrics["test/mse"]
        (run / "metrics.json").write_text(json.dumps(metrics))
        record_main([str(run), "--results-dir", str(results)])
    rows = [line for line in summary_table(results).splitlines() if "QM9" in line]
    assert rows == [
        "| QM9 (Table 4), one CPU hour, MAE of 2 of 12 targets (homo meV, mu D) | EGNN "
        "| homo 29.0, mu 0.029 | homo 120.1, mu 0.2454 | 1 | 4 | 88-107 min |"
    ]
