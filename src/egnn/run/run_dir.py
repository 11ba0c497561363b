"""Run folders: a new timestamped folder per run, or the folder of the run being resumed."""

from __future__ import annotations

import itertools
from pathlib import Path

from egnn.errors import ConfigError

CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = "last.ckpt"


def latest_resumable_run(task_dir: str | Path) -> Path | None:
    """The most recently written run folder under ``task_dir`` that holds ``checkpoints/last.ckpt``
    (None when there is none)."""
    candidates = sorted(
        Path(task_dir).glob(f"*/{CHECKPOINT_DIR}/{LAST_CHECKPOINT}"),
        key=lambda p: p.stat().st_mtime,
    )
    return candidates[-1].parent.parent if candidates else None


def choose_run_dir(task_dir: str, timestamp: str, ckpt_path: str | None) -> str:
    """Folder of this run (the ``egnn.run_dir`` resolver of ``configs/hydra/default.yaml``).

    - ``ckpt_path`` null: ``<task_dir>/<timestamp>``, a new folder claimed by this process (see
      :func:`claim_new_run_dir`);
    - ``ckpt_path=last``: the newest run folder under ``task_dir`` with a last checkpoint (a new
      folder when there is none: training then says that there is nothing to resume, since an
      error raised here, inside Hydra's set-up, would end in a traceback);
    - ``ckpt_path=<run>/checkpoints/<file>.ckpt``: that run's folder, so a resumed run continues
      writing where it started; any other checkpoint path starts a new folder.
    """
    if ckpt_path == "last" and (resumable := latest_resumable_run(task_dir)) is not None:
        return str(resumable)
    if ckpt_path not in (None, "", "None", "null"):
        path = Path(ckpt_path)
        if path.parent.name == CHECKPOINT_DIR and (path.parent.parent / ".hydra").is_dir():
            return str(path.parent.parent)
    return str(claim_new_run_dir(task_dir, timestamp))


def claim_new_run_dir(task_dir: str | Path, timestamp: str) -> Path:
    """Create and return ``<task_dir>/<timestamp>``, or ``<timestamp>_1``, ``_2``, ... when another
    run started in the same second: ``mkdir`` is atomic, so two runs never share (and overwrite) one
    folder."""
    Path(task_dir).mkdir(parents=True, exist_ok=True)
    names = itertools.chain([timestamp], (f"{timestamp}_{n}" for n in itertools.count(1)))
    for name in names:
        try:
            (Path(task_dir) / name).mkdir()
            return Path(task_dir) / name
        except FileExistsError:
            continue


def resolve_checkpoint(ckpt_path: str | None, run_dir: str | Path) -> str | None:
    """The checkpoint file to resume from, checked to exist (``last`` means this run's last.ckpt)."""
    if ckpt_path in (None, ""):
        return None
    path = (
        Path(run_dir) / CHECKPOINT_DIR / LAST_CHECKPOINT if ckpt_path == "last" else Path(ckpt_path)
    )
    if ckpt_path == "last" and not path.is_file():
        raise ConfigError(
            f"ckpt_path=last: nothing to resume: no run folder under {Path(run_dir).parent} holds"
            f" {CHECKPOINT_DIR}/{LAST_CHECKPOINT}"
        )
    if not path.is_file():
        raise ConfigError(f"ckpt_path={ckpt_path!r}: checkpoint file {path} does not exist")
    return str(path)
