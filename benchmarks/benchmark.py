"""``python -m benchmarks.benchmark`` (from the repository root): throughput of our backbone against the
release's formulation, measured in one process, plus this machine's matmul peak.

Shapes: (a) N-body, 100 systems x 5 particles, 4 layers, 64 hidden, velocity
variant; (b) QM9, batches of 96 real molecules, 7 layers, 128 hidden, edge inference, no
coordinate updates (the reference pads every molecule to the batch's largest and computes all
pairs with masks); (c) scaling, one graph of 1,000 to 10,000 nodes with radius-graph edges.
Medians over repeated passes; ratios come from the same process. Writes a JSON file.
"""

from __future__ import annotations

import argparse
import os
import statistics
from copy import deepcopy
from functools import partial
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from egnn.atomic import atomic_write_json
from egnn.nn.compile import compile_module
from egnn.nn.graph import fully_connected_edges
from egnn.nn.nbody import NBodyEGNN, charge_products, squared_distances
from egnn.nn.qm9 import QM9EGNN
from egnn.nn.release import reference_egnn, reference_qm9
from egnn.run.provenance import machine
from egnn.run.timing import median_time, median_times

OURS_VARIANTS = ("ours", "ours_compiled")  # eager backbone, then torch.compile'd
TIMES = ("forward_s", "train_step_s")


def flops_of(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def train_step(fn):
    """The timed training step of a case: forward, a scalar loss and the backward pass."""
    return lambda: fn().float().pow(2).mean().backward()


def measure(fns: dict, n_warmup: int, n_runs: int) -> dict:
    """Forward (no grad) and forward+backward medians of each ``fns[name]()`` (which returns a
    tensor), the functions timed in turn (:func:`~egnn.run.timing.median_times`)."""
    with torch.inference_mode():
        forward = median_times(fns, n_warmup, n_runs)
    steps = median_times({name: train_step(fn) for name, fn in fns.items()}, n_warmup, n_runs)
    return {name: {"forward_s": forward[name], "train_step_s": steps[name]} for name in fns}


def matmul_peak(n_runs: int = 20) -> float:
    """GFLOP/s of a 1024^3 float32 matmul on this machine, one measurement (median of
    ``n_runs``). The benchmark takes the best of one before and one after each case, so that a
    busy moment of a shared machine does not lower the peak the cases are compared with."""
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    return 2 * 1024**3 / median_time(lambda: a @ b, 3, n_runs) / 1e9


def compiled_copy(model: torch.nn.Module) -> torch.nn.Module | None:
    """A compiled deep copy of ``model`` (same weights), or None where compiling is unavailable."""
    copy = deepcopy(model)
    return copy if compile_module(copy) else None


def measure_variants(
    model: torch.nn.Module,
    call,
    release,
    compile: bool,
    n_warmup: int,
    n_runs: int,
    repeats: int = 1,
) -> dict:
    """``ours`` (eager), ``ours_compiled`` (when ``compile`` and available) and ``reference``
    (the release's formulation, eager as in the release), timed in turn by :func:`measure`,
    ``repeats`` times. ``call(model)`` runs our model on the case's batch; ``release()`` the
    reference. Each variant's times are the medians over the repeats; ``repeats`` keeps each."""
    # FLOPs of the eager functions only: counting them through a compiled module would change its
    # dispatch and make it recompile (or fall back to eager) in the timings that follow.
    flops = {
        "ours": {
            "forward_flops": flops_of(lambda: call(model).detach()),
            "train_step_flops": flops_of(train_step(lambda: call(model))),
        },
        "reference": {
            "forward_flops": flops_of(lambda: release().detach()),
            "train_step_flops": flops_of(train_step(release)),
        },
    }
    flops["ours_compiled"] = flops["ours"]  # the same function
    model.zero_grad(set_to_none=True)
    fns = {"ours": lambda: call(model)}
    compiled = compiled_copy(model) if compile else None
    if compiled is not None:
        torch.testing.assert_close(call(compiled), call(model), rtol=1e-4, atol=1e-4)
        fns["ours_compiled"] = lambda: call(compiled)
    fns["reference"] = release
    runs = [measure(fns, n_warmup, n_runs) for _ in range(repeats)]
    result = {}
    for name in fns:
        times = [{key: run[name][key] for key in TIMES} for run in runs]
        result[name] = {
            **{key: statistics.median(t[key] for t in times) for key in TIMES},
            **flops[name],
            "repeats": times,
        }
    return result


def nbody_systems(n_systems: int = 100, n: int = 5) -> tuple[torch.Tensor, ...]:
    """Random inputs of the N-body shape, drawn from torch's current random state.

    Returns pos, vel [S * n, 3]; charges [S * n, 1] (+-1); edge_index [2, S * n * (n - 1)].
    """
    edge_index = fully_connected_edges(n, n_systems)
    pos, vel = torch.randn(n_systems * n, 3), 0.5 * torch.randn(n_systems * n, 3)
    charges = torch.randint(0, 2, (n_systems * n, 1)).float() * 2 - 1
    return pos, vel, charges, edge_index


def nbody_case(n_warmup: int, n_runs: int, compile: bool = False, repeats: int = 1) -> dict:
    torch.manual_seed(0)
    model = NBodyEGNN()
    pos, vel, charges, edge_index = nbody_systems()

    def call(net):
        return net(pos, vel, charges, edge_index)

    def release():
        edge_attr = torch.cat(
            [charge_products(charges, edge_index), squared_distances(pos, edge_index)], 1
        )
        return reference_egnn(
            model.egnn, vel.norm(dim=1, keepdim=True), pos, edge_index, edge_attr, vel
        )[1]

    torch.testing.assert_close(call(model), release(), rtol=1e-4, atol=1e-5)
    return measure_variants(model, call, release, compile, n_warmup, n_runs, repeats)


def qm9_batches(data_dir: str, n_batches: int) -> list[list[int]]:
    from egnn.data.qm9.dataset import load_qm9, split_indices

    data = load_qm9(data_dir)
    train = split_indices(len(data["n_atoms"]))["train"]
    return data, [train[i * 96 : (i + 1) * 96].tolist() for i in range(n_batches)]


def qm9_case(
    data_dir: str, n_warmup: int, n_runs: int, compile: bool = False, repeats: int = 1
) -> dict:
    from egnn.data.qm9.datamodule import MoleculeDataset, collate_molecules
    from egnn.data.qm9.features import node_features

    torch.manual_seed(0)
    model = QM9EGNN()
    data, batches = qm9_batches(data_dir, 1)
    molecules = MoleculeDataset(data, torch.tensor(batches[0]), 0)
    batch = collate_molecules([molecules[k] for k in range(len(molecules))])
    device = torch.get_default_device()
    batch = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
    sizes = torch.bincount(batch["batch"])
    n_max, n_graphs = int(sizes.max()), len(sizes)
    # Padded layout of the release: n_max slots per molecule, masks for real atoms and pairs.
    slot = torch.cat([torch.arange(int(s)) for s in sizes]) + batch["batch"] * n_max
    node_mask = torch.zeros(n_graphs * n_max, 1)
    node_mask[slot] = 1.0
    z_padded = torch.zeros(n_graphs * n_max, dtype=torch.long)
    z_padded[slot] = batch["z"].long()
    attr_padded = node_features(z_padded) * node_mask
    pos_padded = torch.zeros(n_graphs * n_max, 3)
    pos_padded[slot] = batch["pos"]
    padded_edges = fully_connected_edges(n_max, n_graphs)
    edge_mask = node_mask[padded_edges[0]] * node_mask[padded_edges[1]]

    def call(net):
        return net(batch["node_attr"], batch["pos"], batch["edge_index"], batch["batch"], n_graphs)

    def release():
        return reference_qm9(
            model, attr_padded, pos_padded, padded_edges, edge_mask, node_mask, n_max
        )

    torch.testing.assert_close(call(model), release(), rtol=1e-3, atol=1e-3)
    shape = {
        "molecules": n_graphs,
        "mean_atoms": float(sizes.float().mean()),
        "max_atoms": n_max,
        "edges_ours": int(batch["edge_index"].shape[1]),
        "edges_reference": int(padded_edges.shape[1]),
    }
    return {
        "shape": shape,
        **measure_variants(model, call, release, compile, n_warmup, n_runs, repeats),
    }


def radius_graph(pos: torch.Tensor, radius: float) -> torch.Tensor:
    dist = torch.cdist(pos, pos)
    receivers, senders = ((dist < radius) & (dist > 0)).nonzero(as_tuple=True)
    return torch.stack([receivers, senders])


def scaling_case(sizes: list[int], n_warmup: int, n_runs: int) -> list[dict]:
    torch.manual_seed(0)
    model = NBodyEGNN()
    rows = []
    for n in sizes:
        pos = torch.rand(n, 3) * (n / 1000) ** (1 / 3) * 10.0  # constant density: ~30 neighbours
        edge_index = radius_graph(pos, 2.0)
        vel, charges = torch.randn(n, 3), torch.ones(n, 1)
        with torch.inference_mode():
            seconds = median_time(partial(model, pos, vel, charges, edge_index), n_warmup, n_runs)
        rows.append({"nodes": n, "edges": int(edge_index.shape[1]), "forward_s": seconds})
    return rows


def autoencoder_case(
    data_dir: str, batch_sizes: list[int], models: list[str], n_graphs: int = 256, repeats: int = 3
) -> list[dict]:
    """Training time per graph of the graph autoencoders (forward, backward and Adam step) on the
    first ``n_graphs`` Community Small training graphs, ``batch_size`` graphs per step: the cost of
    the paper's one-graph steps against batched ones. Median over ``repeats`` passes."""
    import statistics
    import time

    from egnn.data.graphs.datamodule import AdjacencyDataset, collate_graphs
    from egnn.data.graphs.dataset import load_split
    from egnn.tasks.autoencoder import GraphAutoencoderTask

    items = list(AdjacencyDataset(load_split(data_dir, "community_small", "train")[:n_graphs]))
    rows = []
    for name in models:
        for batch_size in batch_sizes:
            torch.manual_seed(0)
            task = GraphAutoencoderTask({"name": name})
            task.log_train_loss = lambda loss, n: loss  # no trainer: time the step itself
            optimizer = torch.optim.Adam(task.parameters(), lr=1e-4)
            batches = [
                collate_graphs(items[k : k + batch_size]) for k in range(0, n_graphs, batch_size)
            ]
            times = []
            for _ in range(repeats + 1):  # the first pass warms up
                start = time.perf_counter()
                for batch in batches:
                    optimizer.zero_grad(set_to_none=True)
                    task.training_step(batch, 0).backward()
                    optimizer.step()
                times.append((time.perf_counter() - start) / n_graphs)
            rows.append(
                {
                    "model": name,
                    "batch_size": batch_size,
                    "s_per_graph": statistics.median(times[1:]),
                }
            )
    return rows


def machine_info(args: argparse.Namespace) -> dict:
    """The machine as every run record describes it (:func:`egnn.run.provenance.machine`), with the
    benchmark's threads and device and the load it ran under (runnable processes, 1-min mean)."""
    return {
        **machine(),
        "threads": args.threads,
        "load_average_1min": os.getloadavg()[0],
        "device": args.device,
        "gpu": torch.cuda.get_device_name() if args.device.startswith("cuda") else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("results/benchmark/cpu.json"))
    parser.add_argument("--data-dir", default="data", help="QM9 cache folder (built on first use)")
    parser.add_argument("--runs", type=int, default=30, help="timed passes per measurement")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="repeated measurements of the N-body and QM9 cases (medians reported)",
    )
    parser.add_argument(
        "--device", default="cpu", help="torch device of the measurements (cpu, cuda, cuda:1)"
    )
    parser.add_argument("--skip-qm9", action="store_true")
    parser.add_argument(
        "--no-compile", action="store_true", help="skip the torch.compile variant of our backbone"
    )
    parser.add_argument(
        "--autoencoder-only",
        action="store_true",
        help="only the graph autoencoder's time per graph against graphs per step",
    )
    parser.add_argument(
        "--scaling", default="1000,2000,5000,10000", help="node counts of the scaling case"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_default_device(args.device)
    if args.autoencoder_only:
        rows = autoencoder_case(args.data_dir, [1, 8, 32], ["egnn", "gnn", "rf"])
        for row in rows:
            base = next(r for r in rows if r["model"] == row["model"] and r["batch_size"] == 1)
            row["speedup_vs_batch_1"] = base["s_per_graph"] / row["s_per_graph"]
            print(
                f"autoencoder {row['model']}: {row['batch_size']} graph(s) per step: "
                f"{row['s_per_graph'] * 1e3:.2f} ms per graph ({row['speedup_vs_batch_1']:.2f}x)"
            )
        atomic_write_json(args.out, {"machine": machine_info(args), "autoencoder": rows})
        print(f"wrote {args.out}")
        return
    peaks = [matmul_peak()]
    result = {
        "machine": machine_info(args),
        "nbody": nbody_case(5, args.runs, not args.no_compile, args.repeats),
    }
    peaks.append(matmul_peak())
    if not args.skip_qm9:
        result["qm9"] = qm9_case(
            args.data_dir, 2, max(args.runs // 3, 5), not args.no_compile, args.repeats
        )
        peaks.append(matmul_peak())
    result["scaling"] = scaling_case([int(n) for n in args.scaling.split(",")], 2, 5)
    result["matmul_peak_gflops"] = max(peaks)
    result["matmul_peak_gflops_measured"] = peaks
    print(
        f"matmul peak: {result['matmul_peak_gflops']:.1f} GFLOP/s ({args.threads} thread(s)), the"
        f" best of {', '.join(f'{p:.1f}' for p in peaks)}"
    )
    for case in ("nbody", "qm9"):
        if case not in result:
            continue
        ref = result[case]["reference"]
        for variant in (*OURS_VARIANTS, "reference"):
            if variant not in result[case]:
                continue
            entry = result[case][variant]
            entry["forward_gflops"] = entry["forward_flops"] / entry["forward_s"] / 1e9
            entry["train_step_gflops"] = entry["train_step_flops"] / entry["train_step_s"] / 1e9
        for variant in OURS_VARIANTS:
            if variant not in result[case]:
                continue
            ours = result[case][variant]
            for key in TIMES:
                ours[f"{key}_speedup"] = ref[key] / ours[key]
                ours[f"{key}_speedup_per_repeat"] = [
                    r[key] / o[key] for r, o in zip(ref["repeats"], ours["repeats"], strict=True)
                ]
            print(
                f"{case} {variant}: forward {ours['forward_s'] * 1e3:.2f} ms vs "
                f"{ref['forward_s'] * 1e3:.2f} ms ({ours['forward_s_speedup']:.2f}x); train step "
                f"{ours['train_step_s'] * 1e3:.2f} ms vs {ref['train_step_s'] * 1e3:.2f} ms "
                f"({ours['train_step_s_speedup']:.2f}x); forward {ours['forward_gflops']:.1f} "
                f"GFLOP/s ({ours['forward_flops'] / 1e6:.0f} MFLOP vs "
                f"{ref['forward_flops'] / 1e6:.0f} MFLOP), train step "
                f"{ours['train_step_gflops']:.1f} GFLOP/s ({ours['train_step_flops'] / 1e6:.0f} "
                f"MFLOP); per repeat: forward "
                + ", ".join(f"{x:.2f}x" for x in ours["forward_s_speedup_per_repeat"])
                + "; train step "
                + ", ".join(f"{x:.2f}x" for x in ours["train_step_s_speedup_per_repeat"])
            )
    for row in result["scaling"]:
        print(
            f"scaling: {row['nodes']} nodes, {row['edges']} edges: forward {row['forward_s'] * 1e3:.1f} ms"
        )
    atomic_write_json(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
