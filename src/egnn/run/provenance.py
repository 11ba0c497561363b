"""Where a run came from: git commit, command line, machine."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import torch


def git_commit(repo_dir: str | Path | None = None) -> str:
    """``HEAD``'s commit hash, with ``-dirty`` when tracked files other than result records
    (``results/``, ``report/``, which runs write while others go on) changed; ``unknown`` outside
    git."""
    cwd = Path(repo_dir or Path(__file__).resolve().parent)
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ":(top)",
                ":(top,exclude)results",
                ":(top,exclude)report",
            ],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def program_name() -> str:
    """The program that started this process, without its folder (``train.py``)."""
    return Path(sys.argv[0]).name


def command_line() -> str:
    """The command that started this process, as typed (program name relative)."""
    return " ".join([program_name(), *sys.argv[1:]])


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, e.g. ``"AMD EPYC"``), or what
    :mod:`platform` knows elsewhere: timings depend on it, and this project's machines change."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    """CPU/GPU description of this machine."""
    info = {
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    return info
