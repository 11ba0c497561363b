"""Wall and CPU time per QM9 training step (the paper's model, batches of 96 real molecules, fused
Adam), to tell whether trainings running side by side slow each other.

    python scripts/qm9_step_time.py --steps 30 --out outputs/steps_alone.json
    python scripts/qm9_step_time.py --steps 30 --out a.json & python scripts/qm9_step_time.py --steps 30 --out b.json

Wall time per step counts waiting for a core; CPU time per step counts only this process's work
(it grows when side-by-side runs compete for caches and memory bandwidth, not for cores). Prints
and writes medians over the steps after ``--warmup``, with the 1-minute load average before and
after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30, help="timed training steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-dir", default="data", help="QM9 cache folder")
    parser.add_argument("--out", type=Path, default=None, help="JSON file of the result")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    from egnn.data.qm9.datamodule import QM9DataModule
    from egnn.tasks.qm9 import QM9Task

    data = QM9DataModule(data_dir=args.data_dir, n_train=96 * (args.steps + args.warmup))
    data.setup("fit")
    batches = list(data.train_dataloader())
    task = QM9Task(
        net={"in_node_nf": 15, "hidden_nf": 128, "n_layers": 7, "attention": True},
        optimizer={"_target_": "torch.optim.Adam", "lr": 1e-3, "fused": True},
    )
    optimizer = torch.optim.Adam(task.parameters(), lr=1e-3, fused=True)
    load_before = os.getloadavg()[0]
    wall, cpu = [], []
    for k, batch in enumerate(batches):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        optimizer.zero_grad(set_to_none=True)
        loss = (task.normalised_prediction(batch) - batch["target"]).abs().mean()
        loss.backward()
        optimizer.step()
        if k >= args.warmup:
            wall.append(time.perf_counter() - start_wall)
            cpu.append(time.process_time() - start_cpu)
    result = {
        "steps": len(wall),
        "threads": args.threads,
        "wall_s_per_step": statistics.median(wall),
        "cpu_s_per_step": statistics.median(cpu),
        "load_average_1min_before": load_before,
        "load_average_1min_after": os.getloadavg()[0],
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print(json.dumps(result))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
