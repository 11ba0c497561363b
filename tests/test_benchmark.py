"""The benchmark runs, and the QM9 fast path equals the release's padded formulation in float64."""

import json

import torch

from benchmarks.benchmark import main as benchmark_main
from egnn.data.qm9.features import node_features
from egnn.nn.graph import fully_connected_edges
from egnn.nn.qm9 import QM9EGNN
from egnn.nn.release import reference_qm9

from .conftest import load_file


def test_qm9_sparse_equals_padded_release_formulation():
    torch.manual_seed(0)
    model = QM9EGNN(hidden_nf=16, n_layers=3).double()
    sizes, n_max = [5, 3], 5
    z = torch.tensor([6, 1, 1, 1, 1, 8, 1, 1])
    pos = torch.randn(8, 3, dtype=torch.float64)
    batch = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1])
    edges = torch.cat([fully_connected_edges(5), fully_connected_edges(3) + 5], dim=1)
    ours = model(node_features(z).double(), pos, edges, batch, 2)
    slot = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7])  # molecule 1 starts at slot n_max = 5
    node_mask = torch.zeros(2 * n_max, 1, dtype=torch.float64)
    node_mask[slot] = 1
    z_padded = torch.zeros(2 * n_max, dtype=torch.long)
    z_padded[slot] = z
    pos_padded = torch.zeros(2 * n_max, 3, dtype=torch.float64)
    pos_padded[slot] = pos
    padded_edges = fully_connected_edges(n_max, 2)
    edge_mask = node_mask[padded_edges[0]] * node_mask[padded_edges[1]]
    attr = node_features(z_padded).double() * node_mask
    release = reference_qm9(model, attr, pos_padded, padded_edges, edge_mask, node_mask, n_max)
    assert sum(sizes) == 8
    torch.testing.assert_close(ours, release, rtol=1e-12, atol=1e-12)


def test_benchmark_runs(tmp_path):
    out = tmp_path / "bench.json"
    benchmark_main(
        ["--runs", "2", "--repeats", "2", "--skip-qm9", "--no-compile", "--scaling", "200"]
        + ["--out", str(out)]
    )
    result = json.loads(out.read_text())
    ours, ref = result["nbody"]["ours"], result["nbody"]["reference"]
    assert len(ours["repeats"]) == len(ours["forward_s_speedup_per_repeat"]) == 2
    assert ours["forward_s_speedup"] == ref["forward_s"] / ours["forward_s"]
    assert result["nbody"]["ours"]["forward_s"] > 0
    assert result["matmul_peak_gflops"] == max(result["matmul_peak_gflops_measured"]) > 0
    assert result["nbody"]["reference"]["forward_flops"] > result["nbody"]["ours"]["forward_flops"]
    # The backward pass costs about twice the forward: a train step counts 2.5x-3.5x its FLOPs.
    assert 2.5 < ours["train_step_flops"] / ours["forward_flops"] < 3.5
    assert ours["train_step_gflops"] == ours["train_step_flops"] / ours["train_step_s"] / 1e9
    assert result["scaling"][0]["nodes"] == 200


def test_autoencoder_batching_case(tmp_path):
    from benchmarks.benchmark import autoencoder_case

    rows = autoencoder_case(str(tmp_path), [1, 4], ["gnn"], n_graphs=8, repeats=1)
    assert [(r["model"], r["batch_size"]) for r in rows] == [("gnn", 1), ("gnn", 4)]
    assert all(r["s_per_graph"] > 0 for r in rows)


def test_gpu_check_script_is_valid_bash():
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "gpu_check.sh"
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    text = script.read_text()
    for needle in (
        "--device cuda",
        "experiment=nbody",
        "experiment=qm9",
        "experiment=ae_community",
    ):
        assert needle in text


def test_median_times_takes_turns_in_blocks():
    from egnn.run.timing import median_times

    calls = []
    fns = {name: (lambda name=name: calls.append(name)) for name in ("a", "b")}
    result = median_times(fns, n_warmup=2, n_runs=5, rounds=2)
    assert set(result) == {"a", "b"} and all(t >= 0 for t in result.values())
    # warm-up of each, then per round one untimed + its share (3, then 2) of timed calls each.
    assert "".join(calls) == "aabb" + "aaaa" + "bbbb" + "aaa" + "bbb"


def test_dense_speed_idea_is_the_same_function_in_float64():
    """The dense complete-graph variant timed by benchmarks/perf_ideas.py computes our N-body EGNN."""
    from egnn.nn.nbody import NBodyEGNN

    perf_ideas = load_file("benchmarks/perf_ideas.py", "perf_ideas")
    torch.manual_seed(0)
    model = NBodyEGNN().double()
    pos, vel = torch.randn(20, 3, dtype=torch.float64), torch.randn(20, 3, dtype=torch.float64)
    charges = torch.randint(0, 2, (20, 1)).double() * 2 - 1
    dense = perf_ideas.DenseNBodyEGNN(model, 5).double()
    torch.testing.assert_close(
        dense(pos, vel, charges), model(pos, vel, charges, fully_connected_edges(5, 4))
    )
