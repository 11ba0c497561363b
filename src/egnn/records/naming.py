"""A record's file name comes from its job's Hydra overrides: what the command line changed.

``results/<experiment>/<model>[-<part>...]-seed<k>.json``, one part per override that changes what
the run learned or how it was tested, e.g. ``python train.py experiment=ae_sparsity data.p=0.1
trainer.max_epochs=100 seed=0`` with model ``egnn`` gives ``egnn-e100-p0.1-seed0.json``. A run of
an experiment as configured has no part: ``egnn-seed0.json``. The configs alone say what an
experiment's protocol is; nothing here repeats it.
"""

from __future__ import annotations

import re
from pathlib import Path

# Overrides that do not change what a run learns or how it is tested (where it writes, how it
# logs, how fast it runs, which seed: the seed ends every name): left out of the name.
UNNAMED = (
    "experiment",
    "model",  # the record's model name is the network's (model.net.name), already in front
    "model.net.name",
    "seed",
    "paths.",
    "hydra.",
    "logger",
    "callbacks.model_checkpoint.",
    "trainer.enable_progress_bar",
    "trainer.enable_model_summary",
    "trainer.accelerator",
    "trainer.devices",
    "trainer.detect_anomaly",
    "compile",
    "num_threads",
    "forward_time.",
    "task_name",
    "tags",
    "ckpt_path",
    "pretrained_ckpt",
    "train",
    "test",
    "test_draws",  # more passes make the estimate of the same test metric tighter
    "beside",  # what else ran on the machine: kept in the record, not in its name
)

# Short names of common overrides (prefix + value), in the order they appear in a name; any other
# override is named by its last key and value (``model.optimizer.lr=1e-3`` -> ``lr1e-3``) after
# these.
SHORT = {
    "data.target": "",
    "data.batch_size": "b",
    "trainer.max_epochs": "e",
    "model.train_bce_input": "bce_",
    "model.net.learn_decoder": None,  # false -> fixed_decoder
    "test_ensemble": "ens",
    "data.n_train": "n",
    "data.p": "p",
    "data.dataset": "",
    "model.net.embedding_nf": "k",
}


def _unnamed(key: str) -> bool:
    return any(key == u or (u.endswith(".") and key.startswith(u)) for u in UNNAMED)


def _clean(text: str) -> str:
    """A file-name-safe form of an override's value (Hydra's multirun escapes, ``\\:``, dropped:
    a multirun job is named as the same single run)."""
    return re.sub(r"[^A-Za-z0-9_.+=-]", "_", text.strip("'\"").replace("\\", ""))


def name_parts(overrides: list[str]) -> list[str]:
    """The name parts of a job's overrides (``key=value``, ``+key=value``, ``~key``), in the order
    of :data:`SHORT`, then the others in the order given."""
    known: dict[str, str] = {}
    others: list[str] = []
    for override in overrides:
        delete = override.startswith("~")
        key, _, value = override.lstrip("+~").partition("=")
        if _unnamed(key):
            continue
        last = key.rsplit(".", 1)[-1]
        if delete:
            others.append(f"no_{last}")
        elif key == "model.net.learn_decoder":
            if value.lower() == "false":
                known[key] = "fixed_decoder"
        elif key in SHORT:
            known[key] = f"{SHORT[key]}{_clean(value)}"
        else:
            others.append(f"{last}{_clean(value)}")
    return [known[key] for key in SHORT if key in known] + others


def record_name(record: dict) -> str:
    """``<model>[-<part>...]-seed<k>``: the record's model, its overrides' parts, its seed."""
    parts = [record["model"], *name_parts(record.get("overrides") or [])]
    return "-".join(parts) + f"-seed{record['seed']}"


def record_path(results_dir: str | Path, record: dict) -> Path:
    """``<results_dir>/<experiment>/<record_name>.json``."""
    return Path(results_dir) / record["experiment"] / f"{record_name(record)}.json"
