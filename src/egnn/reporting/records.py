"""Turn a run folder's ``metrics.json`` into a small committed record.

``python -m egnn.reporting.records outputs/nbody/<run>`` writes
``results/<experiment>/<model>-seed<k>.json`` with the command, commit, seed, test metrics
(``test/<name>`` keys), epochs, wall time, forward time and machine.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from omegaconf import OmegaConf

from egnn.atomic import atomic_write_json

KEPT = (
    "experiment",
    "model",
    "n_train",
    "batch_size",
    "dataset",
    "p",
    "embedding_nf",
    "target",
    "seed",
    "data_seed",
    "command",
    "git_commit",
    "epochs",
    "best_epoch",
    "train_time_s",
    "time_per_epoch_s",
    "forward_time_s",
    "forward_time_threads",
    "num_threads",
    "compiled",
    "val/mse_best",
)


def make_record(metrics: dict, name: str | None = None) -> dict:
    """The committed subset of a run's metrics; ``name`` overrides the model name (variants)."""
    record = {key: metrics[key] for key in KEPT if key in metrics}
    record.update({k: v for k, v in metrics.items() if k.startswith("test/")})
    if name:
        record["model"] = name
    machine = metrics.get("machine", {})
    record["machine"] = (
        f"{machine.get('cpu_count', '?')} cores, {machine.get('gpu') or 'no GPU'}, "
        f"torch {machine.get('torch', '?')}, {metrics.get('num_threads', '?')} thread(s)"
    )
    return record


# The swept values that name a record of a grid experiment: {experiment: ((key, prefix), ...)}.
SWEEP_NAMES = {
    "nbody_data_efficiency": (("n_train", "n"),),
    "ae_sparsity": (("p", "p"),),
    "ae_embedding": (("dataset", ""), ("embedding_nf", "k")),
}


# Graphs per step and epochs of the paper's protocol; a record trained otherwise is named
# ``-b<K>`` / ``-e<epochs>``, so that runs of another budget never overwrite the protocol's.
PROTOCOL_BATCH_SIZE = {"ae_community": 1, "ae_erdos_renyi": 1, "ae_sparsity": 1, "ae_embedding": 1}
PROTOCOL_EPOCHS = {
    "ae_community": 100,
    "ae_erdos_renyi": 100,
    "ae_sparsity": 10000,
    "ae_embedding": 100,
}


def record_path(results_dir: Path, record: dict) -> Path:
    """``<experiment>/<model>[-<target>][-b<K>][-e<E>][-<swept values>]-seed<k>.json`` (target for
    QM9; ``-b<K>`` / ``-e<E>`` when an experiment of :data:`PROTOCOL_BATCH_SIZE` ran with K graphs
    per step or E epochs instead of the protocol's; for a grid of :data:`SWEEP_NAMES`, its swept
    values, e.g. ``egnn-n100-seed0.json``)."""
    parts = [record["model"]]
    if record.get("target"):
        parts.append(record["target"])
    for protocol, key, prefix in (
        (PROTOCOL_BATCH_SIZE, "batch_size", "b"),
        (PROTOCOL_EPOCHS, "epochs", "e"),
    ):
        expected = protocol.get(record["experiment"])
        if expected is not None and record.get(key, expected) != expected:
            parts.append(f"{prefix}{record[key]}")
    for key, prefix in SWEEP_NAMES.get(record["experiment"], ()):
        parts.append(
            f"{prefix}{record[key]:g}"
            if isinstance(record[key], float)
            else f"{prefix}{record[key]}"
        )
    return (
        Path(results_dir) / record["experiment"] / ("-".join(parts) + f"-seed{record['seed']}.json")
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dirs", nargs="+", type=Path, help="run folders holding metrics.json")
    parser.add_argument("--results-dir", type=Path, default=Path("results"))
    parser.add_argument(
        "--name",
        default=None,
        help="record under this model name (e.g. dropout0.1 for a probe run)",
    )
    parser.add_argument(
        "--experiment",
        default=None,
        help="record under this experiment folder (e.g. nbody_plus_ideas for probe runs)",
    )
    args = parser.parse_args(argv)
    for run_dir in args.run_dirs:
        metrics_file = run_dir / "metrics.json"
        if not metrics_file.exists():
            raise SystemExit(f"error: {metrics_file} does not exist (did the run finish?)")
        metrics = json.loads(metrics_file.read_text())
        config_file = run_dir / "config_resolved.yaml"
        if "batch_size" not in metrics and config_file.exists():  # runs older than the key
            metrics["batch_size"] = OmegaConf.select(OmegaConf.load(config_file), "data.batch_size")
        record = make_record(metrics, args.name)
        if args.experiment:
            record["experiment"] = args.experiment
        path = record_path(args.results_dir, record)
        atomic_write_json(path, record)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
