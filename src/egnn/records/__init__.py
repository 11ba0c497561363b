"""Records: the committed JSON of a run (schema, name, read, write, validate).

``egnn-record outputs/<task>/<run>`` (or ``python -m egnn.records``) writes
``results/<experiment>/<name>.json``; the name comes from the job's Hydra overrides
(:mod:`egnn.records.naming`).
"""

from egnn.records.io import (
    load_records,
    read_json_record,
    read_metrics,
    read_record,
    seal_file,
    write_record,
)
from egnn.records.naming import record_name, record_path
from egnn.records.schema import (
    BCE_INPUT_BEFORE_OPTION,
    RecordError,
    bce_input_of,
    decoder_fixed,
    make_record,
    test_ensemble_of,
    validate_record,
)

__all__ = [
    "BCE_INPUT_BEFORE_OPTION",
    "RecordError",
    "bce_input_of",
    "decoder_fixed",
    "load_records",
    "make_record",
    "read_json_record",
    "read_metrics",
    "read_record",
    "record_name",
    "record_path",
    "seal_file",
    "test_ensemble_of",
    "validate_record",
    "write_record",
]
