"""The scale benchmark's machinery on a tiny cloud: one case in its own process, its record, and
the table and plot made from records."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "scale.py"


@pytest.mark.slow  # ~45 s on a busy 2-core machine (a subprocess, warm-up, FLOP fit)
def test_one_case_record_and_report(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", MALLOC_MMAP_THRESHOLD_="131072")
    command = [sys.executable, str(SCRIPT), "case", "--impl", "ours", "--n", "300"]
    done = subprocess.run(
        [*command, "--repeats", "1", "--backward"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads(done.stdout.splitlines()[-1])
    assert record["status"] == "ok"
    assert record["pairs"] > 300
    for key in ("graph_s", "forward_s", "forward_backward_s", "forward_backward_peak_mb"):
        assert record[key] > 0, key
    assert 0 < record["forward_backward_matmul_fraction"] < 1
    # the FLOP fit: 2 layers of F=32 cost a few thousand FLOPs per edge and node
    assert 1e3 < record["forward_gflop"] * 1e9 / record["pairs"] < 1e5
    (tmp_path / "records.jsonl").write_text(json.dumps(record) + "\n")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "report", "--out", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| ours (radius graph + EGNN) | 1 | 300 |" in (tmp_path / "table.md").read_text()
    assert (tmp_path / "scale.png").stat().st_size > 10_000
