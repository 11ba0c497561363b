"""Export a training checkpoint as a small weights-only checkpoint for ``src/egnn/pretrained/``
(shipped in the package; ``egnn-eval experiment=<experiment>`` finds it there).

Usage: python scripts/export_pretrained.py RUN/checkpoints/epoch_XXXXX.ckpt src/egnn/pretrained/nbody_egnn.ckpt
Keeps the model weights, the hyperparameters (plain data) and the epoch; drops optimizer and loop
state. The run's metrics.json is copied beside it as a JSON record.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from egnn.atomic import atomic_open, atomic_write_json
from egnn.records import make_record


def main(src: str, dst: str) -> None:
    checkpoint = torch.load(src, map_location="cpu", weights_only=True)
    keep = (
        "state_dict",
        "hyper_parameters",
        "epoch",
        "global_step",
        "pytorch-lightning_version",
        "best_val",
    )
    slim = {key: checkpoint[key] for key in keep if key in checkpoint}
    with atomic_open(dst) as handle:
        torch.save(slim, handle)
    metrics_file = Path(src).parent.parent / "metrics.json"
    if metrics_file.exists():
        record = make_record(json.loads(metrics_file.read_text()))
        record["source_checkpoint"] = Path(src).name
        atomic_write_json(Path(dst).with_suffix(".json"), record)
    print(f"wrote {dst} ({Path(dst).stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main(*sys.argv[1:3])
