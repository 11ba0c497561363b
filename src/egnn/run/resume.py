"""Resuming keeps a run's provenance: it goes on with the run's own saved config.

``ckpt_path=last`` (or a checkpoint path inside a run folder) resumes that run with the config it
saved (``config_resolved.yaml``), not with whatever the new command composes. Overrides given on the
new command line are compared with it:

- the harmless ones (:data:`HARMLESS`: a longer ``max_epochs``, a time budget, another logger,
  devices, threads, paths, ...) are applied and recorded;
- any other one that changes a value (model, data, optimiser, seed, ...) is refused with one line
  that lists the differing keys.

The run's ``config_resolved.yaml`` and its first ``.hydra/`` are never rewritten (Hydra writes the
resume's own into ``.hydra/resume_<time>/``, see :func:`hydra_subdir`); every resume is appended to
``resumes.yaml`` in the run folder, and ``metrics.json`` lists them under ``resumes``.
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml
from omegaconf import DictConfig, OmegaConf, open_dict

from egnn.atomic import atomic_write_text
from egnn.errors import ConfigError
from egnn.run.saved_config import load_saved_config, user_config_targets, walk

SAVED_CONFIG = "config_resolved.yaml"
RESUMES = "resumes.yaml"

# Keys (and prefixes) that a resume may change: when and how long it trains, where it logs, on
# which hardware; never what it learns.
HARMLESS = (
    "ckpt_path",
    "task_name",
    "tags",
    "num_threads",
    "compile",
    "test",
    "paths",
    "logger",
    "forward_time",
    "trainer.max_epochs",
    "trainer.min_epochs",
    "trainer.max_time",
    "trainer.accelerator",
    "trainer.devices",
    "trainer.num_nodes",
    "trainer.strategy",
    "trainer.enable_progress_bar",
    "trainer.enable_model_summary",
    "trainer.log_every_n_steps",
    "trainer.default_root_dir",
    "callbacks.early_stopping.patience",
    "callbacks.model_summary",
)
# Config groups whose choice does not select one subtree of the config: ``experiment`` names the
# run folder's group (checked through task_name), the others may touch any key.
GLOBAL_GROUPS = ("debug", "hparams_search", "launcher", "local")


def hydra_subdir(run_dir: str) -> str:
    """Where Hydra writes this job's ``config.yaml`` and ``overrides.yaml`` inside ``run_dir``:
    ``.hydra`` for a new run, ``.hydra/resume_<time>`` when the folder already holds a run's
    (a resume), so that the original ones are kept."""
    if (Path(run_dir) / ".hydra" / "config.yaml").is_file():
        return f".hydra/resume_{time.strftime('%Y-%m-%d_%H-%M-%S')}"
    return ".hydra"


def is_harmless(key: str) -> bool:
    return any(_under(key, h) for h in HARMLESS)


def touched_keys(overrides: list[str]) -> list[str]:
    """Config keys (prefixes) that command-line ``overrides`` may change; ``""`` means any key."""
    keys = []
    for override in overrides:
        key = override.split("=", 1)[0].lstrip("+~").split("@", 1)[0]
        if key == "experiment" or key.startswith("hydra."):
            continue
        keys.append("" if key in GLOBAL_GROUPS else key)
    return keys


def _under(key: str, prefix: str) -> bool:
    return prefix == "" or key == prefix or key.startswith((f"{prefix}.", f"{prefix}["))


def differences(saved: DictConfig, new: DictConfig, prefixes: list[str]) -> dict[str, tuple]:
    """``{key: (saved value, new value)}`` for the leaves under ``prefixes`` that differ."""
    old_leaves = dict(walk(OmegaConf.to_container(saved, resolve=True)))
    new_leaves = dict(walk(OmegaConf.to_container(new, resolve=True)))
    changed = {}
    for key in sorted(set(old_leaves) | set(new_leaves)):
        if not any(_under(key, p) for p in prefixes):
            continue
        old, value = old_leaves.get(key, "<unset>"), new_leaves.get(key, "<unset>")
        if old != value:
            changed[key] = (old, value)
    return changed


def resume_config(cfg: DictConfig, run_dir: Path, overrides: list[str]) -> tuple[DictConfig, dict]:
    """The config to resume ``run_dir`` with: its saved config, with this command's harmless
    changes and this machine's paths. Returns it and the changes ``{key: (old, new)}``; raises
    :class:`ConfigError` naming the keys when an override would change the experiment."""
    # data: checked before anything is built (the classes of this command's own config folders pass)
    saved = load_saved_config(run_dir / SAVED_CONFIG, user_config_targets())
    changed = differences(saved, cfg, touched_keys(overrides))
    changed.pop("ckpt_path", None)  # what is resumed, recorded on its own
    refused = {k: v for k, v in changed.items() if not is_harmless(k)}
    if refused:
        listed = ", ".join(f"{k} ({old!r} -> {new!r})" for k, (old, new) in refused.items())
        raise ConfigError(
            f"resuming {run_dir}: these overrides would change the experiment: {listed}; resume"
            " with the run's own settings (harmless ones such as trainer.max_epochs or logger are"
            " allowed) or start a new run"
        )
    resumed = saved.copy()
    with open_dict(resumed):
        resumed.paths = cfg.paths  # this machine's folders
        resumed.ckpt_path = cfg.get("ckpt_path")
        for prefix in {_harmless_prefix(key) for key in changed}:
            OmegaConf.update(resumed, prefix, OmegaConf.select(cfg, prefix), force_add=True)
    return resumed, changed


def _harmless_prefix(key: str) -> str:
    """The entry of :data:`HARMLESS` that ``key`` falls under (copied over as a whole)."""
    return next(h for h in HARMLESS if _under(key, h))


def override_key(override: str) -> str:
    """The config key an override sets (``+a.b=1``, ``~a.b`` and ``a.b=1`` all give ``a.b``)."""
    return override.split("=", 1)[0].lstrip("+~")


def resumed_run_overrides(first: list[str], resume: list[str]) -> list[str]:
    """What a resumed run ran with, as overrides: the run's first command's, each replaced by the
    resume's override of the same key (a longer ``trainer.max_epochs``), then the resume's other
    ones (``ckpt_path=last``). A record of the run is named from these, not from the resume's
    alone, which lack the run's model and data settings."""
    later = {override_key(o): o for o in resume}
    merged = [later.pop(override_key(o), o) for o in first]
    return [*merged, *later.values()]


def first_run_provenance(run_dir: Path, program: str, resume: list[str]) -> dict | None:
    """``{"command", "overrides"}`` of the run in ``run_dir`` as its first command started it,
    with this resume's overrides merged in (:func:`resumed_run_overrides`); None when the folder
    has no ``.hydra/overrides.yaml`` (a run started outside Hydra's command line)."""
    path = Path(run_dir) / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return None
    first = yaml.safe_load(path.read_text()) or []
    return {
        "command": " ".join([program, *first]),
        "overrides": resumed_run_overrides(first, resume),
    }


def record_resume(run_dir: Path, entry: dict) -> list[dict]:
    """Append ``entry`` to the run's ``resumes.yaml``; returns every resume recorded so far."""
    path = run_dir / RESUMES
    entries = (yaml.safe_load(path.read_text()) or []) if path.is_file() else []
    entries.append(entry)
    atomic_write_text(path, yaml.safe_dump(entries, sort_keys=False))
    return entries
