"""Artifacts verified on read, and one writer at a time.

Every file that a later run trusts (checkpoints, data caches) gets a ``<file>.sha256`` beside it,
in ``sha256sum`` format, written after the file itself is complete. On read the digest is compared:
a flipped bit or a truncation is detected instead of giving a wrong metric.

:func:`exclusive` is an advisory ``flock`` on ``<path>.lock``: a second process that needs the same
cache waits for the first one (which builds it once), and a process that dies releases its lock
with it, so a stale lock never blocks anybody.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from egnn.atomic import atomic_write_text
from egnn.errors import ConfigError

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20


class DamagedFileError(ConfigError):
    """A file whose content does not match its recorded checksum (or cannot be parsed)."""


def checksum_path(path: str | os.PathLike) -> Path:
    return Path(f"{path}.sha256")


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def write_checksum(path: str | os.PathLike) -> None:
    """Record the sha256 of the complete file ``path`` in ``<path>.sha256`` (atomically)."""
    atomic_write_text(checksum_path(path), f"{sha256_of(path)}  {Path(path).name}\n")


def has_checksum(path: str | os.PathLike) -> bool:
    return checksum_path(path).is_file()


def verify(path: str | os.PathLike) -> None:
    """Raise :class:`DamagedFileError` (one line naming the file and the fault) unless ``path``
    exists and matches its ``.sha256``; a file without one is not checked here."""
    path = Path(path)
    if not path.is_file():
        raise DamagedFileError(f"{path} does not exist")
    if not has_checksum(path):
        return
    recorded = checksum_path(path).read_text().split()
    actual = sha256_of(path)
    if not recorded or recorded[0] != actual:
        raise DamagedFileError(
            f"{path} is damaged: its sha256 is {actual[:12]}..., its {checksum_path(path).name}"
            f" records {recorded[0][:12] if recorded else 'nothing'}..."
        )


def remove_checksum(path: str | os.PathLike) -> None:
    with contextlib.suppress(FileNotFoundError):
        checksum_path(path).unlink()


def remove_orphan_temporaries(path: str | os.PathLike) -> int:
    """Delete the temporary files that killed writers of ``path`` left beside it (the
    ``.<name>.*.tmp`` files of :func:`egnn.atomic.atomic_open`). Call it while holding
    :func:`exclusive` on ``path``, so that no live writer's file is removed. Returns the count."""
    path = Path(path)
    removed = 0
    for name in (path.name, checksum_path(path).name):
        for orphan in path.parent.glob(f".{name}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                orphan.unlink()
                removed += 1
    if removed:
        log.warning(
            "removed %d temporary file(s) left by an interrupted writer of %s", removed, path
        )
    return removed


def _exclusive(path: str | os.PathLike, wait: bool = True, what: str = "") -> Iterator[None]:
    """Hold the lock ``<path>.lock`` for the block.

    ``wait``: block until the holder is done (logging once that we wait); otherwise raise
    :class:`ConfigError` at once, naming the holder's pid. ``what`` names the resource in messages.
    """
    lock_path = Path(f"{path}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            if not wait:
                raise ConfigError(
                    f"{what or path} is in use by another process ({holder}); wait for it to end"
                ) from None
            log.info("waiting for another process (%s) that holds %s", holder, what or path)
            start = time.perf_counter()
            fcntl.flock(handle, fcntl.LOCK_EX)
            log.info("%s released after %.1f s", what or path, time.perf_counter() - start)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {os.uname().nodename}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# Wrapped here rather than decorated, so that mutation testing (which skips decorated
# functions) reaches the body.
exclusive = contextlib.contextmanager(_exclusive)
