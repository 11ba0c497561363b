"""The record schema: the small committed JSON made from a run folder's ``metrics.json`` (command,
commit, seed, test metrics as ``test/<name>`` keys, epochs, wall time, forward time, machine)."""

from __future__ import annotations

from egnn.errors import ConfigError

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
    "overrides",
)

# Records written before the training loss's input was recorded (``train_bce_input``) were all
# trained on the BCE of logits: a fact about those records, not a protocol setting.
BCE_INPUT_BEFORE_OPTION = "logits"

# Keys every record holds (a benchmark's JSON under results/benchmark/ is not a record).
REQUIRED = ("experiment", "model", "seed", "command", "git_commit", "machine")


class RecordError(ConfigError):
    """A record file that does not follow the schema (the message names the file and the key)."""


def bce_input_of(record: dict) -> str:
    """The training loss's input of an autoencoder record (:data:`BCE_INPUT_BEFORE_OPTION` when
    the record predates the option)."""
    return record.get("train_bce_input") or BCE_INPUT_BEFORE_OPTION


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
    if test_eval is not None:  # the evaluation's own choices that name the record (test_*)
        record["overrides"] = [
            *record.get("overrides", []),
            *(o for o in test_eval.get("overrides", []) if o.lstrip("+~").startswith("test_")),
        ]
    record["machine"] = (
        f"{machine.get('cpu_count', '?')} cores, {machine.get('gpu') or 'no GPU'}, "
        f"torch {machine.get('torch', '?')}, {metrics.get('num_threads', '?')} thread(s)"
    )
    return record


def validate_record(record: dict, source: str = "record") -> dict:
    """``record`` itself when it follows the schema; else :class:`RecordError` naming ``source``
    and what is wrong."""
    missing = [key for key in REQUIRED if key not in record]
    if missing:
        raise RecordError(f"{source}: lacks {missing} (every record has {list(REQUIRED)})")
    if not any(key.startswith("test/") for key in record):
        raise RecordError(f"{source}: holds no test/<metric> value")
    if not isinstance(record["seed"], int):
        raise RecordError(f"{source}: seed must be an integer, got {record['seed']!r}")
    return record
