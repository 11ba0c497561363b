"""Read an offline W&B run back without the network: its name, group, job type, config and summary.

wandb keeps an offline run's records in ``offline-run-*/run-<id>.wandb``, a LevelDB-style log
(file header ``:W&B``, 0xBEE1, version; 32 KiB blocks of records, each with a 7-byte header: CRC32,
length, type FULL/FIRST/MIDDLE/LAST) of ``wandb_internal_pb2.Record`` protobufs.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from wandb.proto import wandb_internal_pb2 as pb

BLOCK = 32768
HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path: Path) -> list[pb.Record]:
    """Every record of a ``.wandb`` file, in order."""
    data = Path(path).read_bytes()
    ident, magic, version = struct.unpack("<4sHB", data[:HEADER])
    assert ident == b":W&B" and magic == 0xBEE1 and version == 0, (ident, magic, version)
    found, pending, offset = [], b"", HEADER
    while offset + HEADER <= len(data):
        left_in_block = BLOCK - offset % BLOCK
        if left_in_block < HEADER:  # zero padding at the end of a block
            offset += left_in_block
            continue
        _, length, kind = struct.unpack("<IHB", data[offset : offset + HEADER])
        chunk = data[offset + HEADER : offset + HEADER + length]
        offset += HEADER + length
        if kind == 0 and length == 0:
            break
        pending = chunk if kind in (FULL, FIRST) else pending + chunk
        if kind in (FULL, LAST):
            record = pb.Record()
            record.ParseFromString(pending)
            found.append(record)
            pending = b""
    return found


def read_run(run_dir: Path) -> dict:
    """``{"id", "name", "group", "job_type", "config", "summary", "exit_code"}`` of one
    ``offline-run-*`` folder (config and summary with their JSON values decoded)."""
    (path,) = Path(run_dir).glob("run-*.wandb")
    run: dict = {"config": {}, "summary": {}, "exit_code": None}
    for record in records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run.update(
                id=record.run.run_id,
                name=record.run.display_name,
                group=record.run.run_group,
                job_type=record.run.job_type,
            )
            for item in record.run.config.update:
                run["config"][item.key] = json.loads(item.value_json)
        elif kind == "config":
            for item in record.config.update:
                run["config"][item.key] = json.loads(item.value_json)
        elif kind == "summary":
            for item in record.summary.update:
                key = item.key or ".".join(item.nested_key)
                run["summary"][key] = json.loads(item.value_json)
        elif kind == "exit":
            run["exit_code"] = record.exit.exit_code
    return run
