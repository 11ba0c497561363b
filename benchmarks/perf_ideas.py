"""Speed ideas for the N-body training step, measured against the compiled backbone, and kept only if they pay.

One process times the N-body training step (100 systems x 5 particles, forward, MSE, backward,
fused Adam) of several variants of the same function, in turn and in blocks
(:func:`egnn.run.timing.median_times`, ``--repeats`` times), and writes the medians and each
variant's ratio to the default compiled path:

- ``eager``: no ``torch.compile``;
- ``compiled``: ``compile=true`` as the trainer does it (the baseline, ratio 1; on CPU with
  Inductor's ``cpp_wrapper``, :func:`egnn.nn.compile.inductor_options`);
- ``compiled, Python wrapper``: Inductor's defaults, the kernels called from Python (our
  ``compile=true`` until 2026-12-02);
- ``compiled, max-autotune``: ``mode="max-autotune-no-cudagraphs"`` (Inductor's C++ GEMM
  templates, tuned per shape; torch.compile takes a mode or options, so Python wrapper);
- ``compiled, dense``: complete graphs stored as [B, n, n, F] pair tensors instead of edge lists,
  so that no gather or scatter is left (the diagonal pairs are computed and masked out, 25% more
  edge work at n = 5);
- ``compiled autograd``: the backward pass compiled as well (``torch._dynamo.compiled_autograd``);
- ``compiled, bf16 autocast``: the compiled model under CPU bf16 autocast
  (``trainer.precision=bf16-mixed``): bf16 matmuls, float32 coordinates; not the same arithmetic.

Usage: ``OMP_NUM_THREADS=1 python -m benchmarks.perf_ideas [--threads 1] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Callable
from copy import deepcopy
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from benchmarks.benchmark import nbody_systems
from egnn.atomic import atomic_write_json
from egnn.nn.compile import inductor_options
from egnn.nn.egcl_eq3_6 import EGCL
from egnn.nn.nbody import NBodyEGNN
from egnn.run.provenance import cpu_model
from egnn.run.timing import median_times


def dense_egcl(layer: EGCL, h: Tensor, x: Tensor, edge_attr: Tensor, vel: Tensor, mask: Tensor):
    """``layer`` (velocity variant, mean coordinate aggregation) on complete graphs of n nodes.

    Shapes: h [B, n, F]; x, vel [B, n, 3]; edge_attr [B, n, n, A]; mask [n, n, 1] (0 on the
    diagonal). Returns h' [B, n, F] and x' [B, n, 3].
    """
    n, nf = h.shape[1], h.shape[2]
    diff = x[:, :, None] - x[:, None]  # [B, n, n, 3]; zero on the diagonal
    radial = (diff * diff).sum(-1, keepdim=True)
    first = layer.edge_mlp[0]
    out_nf = first.weight.shape[0]
    node_proj = F.linear(h, torch.cat([first.weight[:, :nf], first.weight[:, nf : 2 * nf]]))
    receiver, sender = node_proj[..., :out_nf], node_proj[..., out_nf:]
    pair_terms = F.linear(torch.cat([radial, edge_attr], -1), first.weight[:, 2 * nf :], first.bias)
    m = layer.edge_mlp[1:](receiver[:, :, None] + sender[:, None] + pair_terms)
    trans = (diff * layer.coord_mlp(m)).clamp(-layer.coord_clamp, layer.coord_clamp)
    x = x + trans.sum(2) / (n - 1) + layer.vel_mlp(h) * vel
    if layer.node_mlp is not None:  # None: a last layer whose node features nothing reads
        h = h + layer.node_mlp(torch.cat([h, (m * mask).sum(2)], -1))
    return h, x


class DenseNBodyEGNN(nn.Module):
    """The N-body EGNN's function on systems of ``n`` particles, evaluated densely (same weights)."""

    def __init__(self, model: NBodyEGNN, n: int) -> None:
        super().__init__()
        self.model, self.n = model, n
        self.register_buffer("mask", (1.0 - torch.eye(n))[:, :, None])

    def forward(self, pos: Tensor, vel: Tensor, charges: Tensor) -> Tensor:
        batch = pos.shape[0] // self.n
        x, v = pos.view(batch, self.n, 3), vel.view(batch, self.n, 3)
        q = charges.view(batch, self.n, 1)
        diff = x[:, :, None] - x[:, None]
        edge_attr = torch.cat([q[:, :, None] * q[:, None], (diff * diff).sum(-1, keepdim=True)], -1)
        egnn = self.model.egnn
        h = egnn.embedding_in(v.norm(dim=-1, keepdim=True))
        for layer in egnn.layers:
            h, x = dense_egcl(layer, h, x, edge_attr, v, self.mask)
        return x.reshape(-1, 3)


def make_steps(n_systems: int = 100, n: int = 5) -> dict:
    """Training-step closures of every variant, each with its own copy of one initialisation."""
    torch.manual_seed(0)
    pos, vel, charges, edge_index = nbody_systems(n_systems, n)
    base = NBodyEGNN()

    def edge_list(
        compiled: bool = True, **compile_kwargs
    ) -> tuple[nn.Module, Callable[[], Tensor]]:
        model = deepcopy(base)
        if compiled:
            model.compile(**compile_kwargs)
        return model, lambda: model(pos, vel, charges, edge_index)

    options = inductor_options(str(pos.device))
    dense = DenseNBodyEGNN(deepcopy(base), n)
    dense.compile(options=options)
    variants = {
        "eager": edge_list(compiled=False),
        "compiled": edge_list(options=options),
        "compiled, Python wrapper": edge_list(),
        "compiled, max-autotune": edge_list(mode="max-autotune-no-cudagraphs"),
        "compiled, dense": (dense, lambda: dense(pos, vel, charges)),
        "compiled autograd": edge_list(options=options),
        "compiled, bf16 autocast": bf16_autocast(*edge_list(options=options)),
    }
    torch.testing.assert_close(
        variants["compiled, dense"][1](), variants["eager"][1](), rtol=1e-4, atol=1e-5
    )
    return {
        name: training_step(model, forward, pos + vel, name == "compiled autograd")
        for name, (model, forward) in variants.items()
    }


def bf16_autocast(model: nn.Module, forward) -> tuple[nn.Module, Callable[[], Tensor]]:
    """``forward`` under CPU bf16 autocast, as ``trainer.precision=bf16-mixed`` runs it."""

    def autocast_forward() -> Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return forward()

    return model, autocast_forward


def training_step(model: nn.Module, forward, target: Tensor, compiled_backward: bool):
    """forward, MSE to ``target``, backward (compiled with ``compiled_backward``), fused Adam."""
    from torch._dynamo import compiled_autograd

    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4, fused=True)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = F.mse_loss(forward(), target)
        if compiled_backward:
            with compiled_autograd._enable(torch.compile):
                loss.backward()
        else:
            loss.backward()
        optimizer.step()

    return step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=50, help="timed steps per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="measurements (medians reported)")
    parser.add_argument("--out", type=Path, default=Path("results/benchmark/ideas.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    steps = make_steps()
    repeats = [median_times(steps, n_warmup=5, n_runs=args.runs) for _ in range(args.repeats)]
    medians = {name: statistics.median(r[name] for r in repeats) for name in steps}
    rows = [
        {
            "variant": name,
            "train_step_s": medians[name],
            "speedup_vs_compiled": medians["compiled"] / medians[name],
            "speedup_per_repeat": [r["compiled"] / r[name] for r in repeats],
        }
        for name in steps
    ]
    for row in rows:
        print(
            f"{row['variant']:24s} {row['train_step_s'] * 1e3:7.2f} ms "
            f"{row['speedup_vs_compiled']:.2f}x the compiled step"
        )
    atomic_write_json(
        args.out,
        {
            "case": "N-body training step, 100 systems x 5 particles, 4 layers, 64 hidden",
            "threads": args.threads,
            "load_average_1min": os.getloadavg()[0],
            "torch": torch.__version__,
            "cpu_model": cpu_model(),
            "rows": rows,
        },
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
