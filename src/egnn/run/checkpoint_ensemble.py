"""Test MSE of N-body runs averaged after training (a post-hoc ensemble of their best checkpoints).

``python -m egnn.run.checkpoint_ensemble RUN_DIR [RUN_DIR ...]`` prints each run's test MSE
and, for every ensemble size k, the mean / min / max test MSE over all k-subsets of the runs. It
measures what averaging independently trained models gives before one trains an ensemble
(``experiment=nbody_plus``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
from pathlib import Path

import hydra
import torch

from egnn.errors import ConfigError
from egnn.run.evaluate import load_task
from egnn.run.resolvers import register_resolvers
from egnn.run.saved_config import load_saved_config


def subset_ensemble_mse(predictions: torch.Tensor, target: torch.Tensor, size: int) -> list[float]:
    """MSE of the mean prediction of every ``size``-subset of the models.

    Shapes: predictions [M, N, 3] (M models), target [N, 3]. Returns C(M, size) values.
    """
    if not 1 <= size <= predictions.shape[0]:
        raise ValueError(f"size must lie in [1, {predictions.shape[0]}], got {size}")
    return [
        float(((predictions[list(subset)].mean(dim=0) - target) ** 2).mean())
        for subset in itertools.combinations(range(predictions.shape[0]), size)
    ]


@torch.no_grad()
def best_checkpoint_predictions(run_dirs: list[Path]) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted test positions of each run's best checkpoint [M, N, 3], and the targets [N, 3]
    (test split of the first run's data config; every run must share it)."""
    register_resolvers()
    run_cfgs = [load_saved_config(run / "config_resolved.yaml") for run in run_dirs]
    if any(cfg.data != run_cfgs[0].data for cfg in run_cfgs[1:]):
        raise ConfigError("the runs were trained on different data configs; give runs of one")
    datamodule = hydra.utils.instantiate(run_cfgs[0].data)
    datamodule.setup("test")
    batches = list(datamodule.test_dataloader())
    predictions = []
    for run, cfg in zip(run_dirs, run_cfgs, strict=True):
        ckpt = json.loads((run / "metrics.json").read_text()).get("best_checkpoint")
        if not ckpt:
            raise ConfigError(
                f"{run}/metrics.json names no best_checkpoint (run without validation?)"
            )
        task = load_task(Path(ckpt), cfg.model).eval()
        predictions.append(torch.cat([task(batch) for batch in batches]))
    target = torch.cat([task.target(batch) for batch in batches])
    return torch.stack(predictions), target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dirs", nargs="+", type=Path, help="finished N-body run folders")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        predictions, target = best_checkpoint_predictions(args.run_dirs)
    except ConfigError as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    for run, mse in zip(args.run_dirs, subset_ensemble_mse(predictions, target, 1), strict=True):
        print(f"{run}: test MSE {mse:.5f}")
    for size in range(2, len(args.run_dirs) + 1):
        values = subset_ensemble_mse(predictions, target, size)
        print(
            f"ensembles of {size} ({len(values)} subsets): mean {statistics.mean(values):.5f}, "
            f"min {min(values):.5f}, max {max(values):.5f}"
        )


if __name__ == "__main__":
    main()
