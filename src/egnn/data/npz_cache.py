"""Generated datasets cached as ``.npz`` files: written atomically with a ``.sha256`` beside them,
and read back only when intact.

Each file holds its arrays and ``params``, a JSON string of the parameters that made it; a reader
compares them with the parameters it expects and regenerates on any difference.
"""

from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path

import numpy as np

from egnn.atomic import atomic_open
from egnn.integrity import DamagedFileError, has_checksum, verify, write_checksum

log = logging.getLogger(__name__)


def write_npz(path: Path, params: dict, **arrays: np.ndarray) -> None:
    """Write ``arrays`` and ``params`` to ``path`` atomically, then its checksum."""
    with atomic_open(path) as handle:
        np.savez(handle, params=np.array(json.dumps(params, sort_keys=True)), **arrays)
    write_checksum(path)


def read_npz_params(path: Path, arrays: set[str], what: str) -> dict | None:
    """The ``params`` stored in ``path``, or None when it is missing, lacks one of ``arrays``, or
    is damaged (one warning line naming ``what`` and the fault). A file without a ``.sha256``
    (written by an older version) is checked in full (every array's CRC) and then given one."""
    if not path.exists():
        return None
    try:
        if has_checksum(path):
            verify(path)
        else:
            with zipfile.ZipFile(path) as archive:
                bad_member = archive.testzip()
            if bad_member is not None:
                raise DamagedFileError(f"{path}: bad CRC in {bad_member}")
        with np.load(path, allow_pickle=False) as data:
            if not {*arrays, "params"} <= set(data.files):
                return None
            params = json.loads(str(data["params"]))
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as err:
        log.warning("%s %s is damaged or unreadable (%s): it will be regenerated", what, path, err)
        return None
    if not has_checksum(path):
        write_checksum(path)
    return params
