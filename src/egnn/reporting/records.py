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
    "stopped_by",
    "train_time_s",
    "train_cpu_s",
    "load_average_1min_median",
    "beside",
    "time_per_epoch_s",
    "forward_time_s",
    "forward_time_threads",
    "num_threads",
    "compiled",
    "test_draws",
    "test_ensemble",
    "train_bce_input",
    "learn_decoder",
    "val/mse_best",
)

# Keys that runs older than the key lack (or that only the config holds), read from their
# config_resolved.yaml instead.
CONFIG_FALLBACKS = {
    "batch_size": "data.batch_size",
    "train_bce_input": "model.train_bce_input",
    "learn_decoder": "model.net.learn_decoder",
}

# What a record without ``train_bce_input`` was trained on: every autoencoder run before the
# option existed used the BCE of logits.
DEFAULT_BCE_INPUT = "logits"


def bce_input_of(record: dict) -> str:
    """The training loss's input of an autoencoder record (:data:`DEFAULT_BCE_INPUT` when the
    record predates the option)."""
    return record.get("train_bce_input") or DEFAULT_BCE_INPUT


def test_ensemble_of(record: dict) -> int:
    """Random draws averaged into each test prediction of an autoencoder record (1, the paper's
    single draw, when the record predates the option)."""
    return record.get("test_ensemble") or 1


def decoder_fixed(record: dict) -> bool:
    """Whether an autoencoder record's distance decoder was left untrained
    (``model.net.learn_decoder=false``); records without the key trained it."""
    return record.get("learn_decoder") is False


def make_record(metrics: dict, name: str | None = None, test_eval: dict | None = None) -> dict:
    """The committed subset of a run's metrics; ``name`` overrides the model name (variants);
    ``test_eval``, the ``metrics.json`` of an ``eval.py`` run of this run's checkpoint, replaces
    the test metrics (e.g. a mean over several draws) and adds its command and commit as
    ``test_command`` and ``test_git_commit``."""
    record = {key: metrics[key] for key in KEPT if key in metrics}
    test_source = test_eval if test_eval is not None else metrics
    record.update({k: v for k, v in test_source.items() if k.startswith("test/")})
    if test_eval is not None:
        record["test_command"] = test_eval.get("command")
        record["test_git_commit"] = test_eval.get("git_commit")
        record["test_draws"] = test_eval.get("test_draws")
        record["test_ensemble"] = test_eval.get("test_ensemble")
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
    per step or E epochs instead of the protocol's; ``-bce_probabilities`` for an autoencoder
    trained on the BCE of probabilities instead of logits; ``-fixed_decoder`` for one whose
    distance decoder was not trained; ``-ens<D>`` for one tested with D random draws averaged
    into each prediction; for a grid of :data:`SWEEP_NAMES`, its
    swept values, e.g. ``egnn-n100-seed0.json``)."""
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
    if bce_input_of(record) != DEFAULT_BCE_INPUT:
        parts.append(f"bce_{bce_input_of(record)}")
    if decoder_fixed(record):
        parts.append("fixed_decoder")
    if test_ensemble_of(record) > 1:
        parts.append(f"ens{test_ensemble_of(record)}")
    for key, prefix in SWEEP_NAMES.get(record["experiment"], ()):
        parts.append(
            f"{prefix}{record[key]:g}"
            if isinstance(record[key], float)
            else f"{prefix}{record[key]}"
        )
    return (
        Path(results_dir) / record["experiment"] / ("-".join(parts) + f"-seed{record['seed']}.json")
    )


def read_metrics(run_dir: Path) -> dict:
    """``<run_dir>/metrics.json``; exits with the missing path named when the run did not finish."""
    metrics_file = run_dir / "metrics.json"
    if not metrics_file.exists():
        raise SystemExit(f"error: {metrics_file} does not exist (did the run finish?)")
    return json.loads(metrics_file.read_text())


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
    parser.add_argument(
        "--test-from",
        type=Path,
        default=None,
        help="an eval.py output folder of this run's checkpoint whose test metrics replace the"
        " run's (one run folder only)",
    )
    args = parser.parse_args(argv)
    if args.test_from and len(args.run_dirs) != 1:
        raise SystemExit(f"error: --test-from takes one run folder, got {len(args.run_dirs)}")
    test_eval = read_metrics(args.test_from) if args.test_from else None
    for run_dir in args.run_dirs:
        metrics = read_metrics(run_dir)
        if test_eval is not None:
            best, tested = metrics.get("best_checkpoint"), test_eval.get("checkpoint")
            if not best or not tested or Path(tested).resolve() != Path(best).resolve():
                raise SystemExit(
                    f"error: {args.test_from} evaluated {tested!r}, not the best checkpoint of"
                    f" {run_dir} ({best!r}), whose training facts the record keeps"
                )
        config_file = run_dir / "config_resolved.yaml"
        missing = [key for key in CONFIG_FALLBACKS if metrics.get(key) is None]
        if missing and config_file.exists():
            config = OmegaConf.load(config_file)
            for key in missing:
                value = OmegaConf.select(config, CONFIG_FALLBACKS[key])
                if value is not None:  # not an option of this run's model or task
                    metrics[key] = value
        record = make_record(metrics, args.name, test_eval)
        if args.experiment:
            record["experiment"] = args.experiment
        path = record_path(args.results_dir, record)
        atomic_write_json(path, record)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
