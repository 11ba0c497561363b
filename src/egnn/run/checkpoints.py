"""Checkpoints written atomically with a checksum, and read only when intact.

:class:`ChecksummedCheckpointIO` is the Trainer's checkpoint plugin: every ``.ckpt`` is written to
a temporary file, renamed into place, then given a ``.sha256``; resuming verifies it. Evaluating
reads checkpoints through :func:`read_checkpoint`, which does the same check and turns a truncated,
garbled or foreign file into one line naming it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO

from egnn.atomic import atomic_open
from egnn.integrity import DamagedFileError, has_checksum, remove_checksum, verify, write_checksum

log = logging.getLogger(__name__)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint at ``path`` (tensors only, on the CPU), after checking its ``.sha256``.

    Raises :class:`DamagedFileError` when the file does not match its checksum, cannot be read,
    or is not a Lightning checkpoint. A file without a checksum (older versions) is read with a
    warning that it could not be verified.
    """
    verify(path)
    if not has_checksum(path):
        log.warning("%s has no .sha256 beside it: it cannot be checked for damage", path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, garbage, a pickle with objects: all unreadable here
        first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise DamagedFileError(f"{path} is not a readable checkpoint: {first_line}") from err
    if not isinstance(checkpoint, Mapping) or "state_dict" not in checkpoint:
        raise DamagedFileError(f"{path} is not a Lightning checkpoint (it holds no state_dict)")
    return checkpoint


def checkpoint_model_name(checkpoint: Mapping) -> str | None:
    """The model name (``net.name``) stored in a checkpoint's hyperparameters, if any."""
    net = checkpoint.get("hyper_parameters", {}).get("net") or {}
    return net.get("name") if isinstance(net, Mapping) else None


class ChecksummedCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint I/O with atomic writes and a ``.sha256`` per checkpoint."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None
    ) -> None:
        with atomic_open(path) as handle:
            torch.save(checkpoint, handle)
        write_checksum(path)

    def load_checkpoint(
        self, path: str | Path, map_location: Any = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        return read_checkpoint(path)

    def remove_checkpoint(self, path: str | Path) -> None:
        super().remove_checkpoint(path)
        remove_checksum(path)


__all__ = [
    "ChecksummedCheckpointIO",
    "DamagedFileError",
    "checkpoint_model_name",
    "read_checkpoint",
]
