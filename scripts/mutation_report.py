"""Summarise a mutmut run: the mutation score per module and every surviving mutant's diff.

Usage (from the folder holding ``mutants/``, after ``mutmut run``):
    python scripts/mutation_report.py [--out outputs/mutation/report.md] [PATTERN ...]

PATTERN: fnmatch patterns of mutant names (``egnn.atomic.*``); default: every mutant tested.
Score = killed / (killed + survived), per module; a mutant with no covering test counts as
survived, a timeout as killed, mutants not yet run are left out (counted apart).
"""

from __future__ import annotations

import argparse
import fnmatch
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

KILLED = {"killed", "timeout", "segfault", "caught by type check"}
SURVIVED = {"survived", "no tests", "suspicious"}
LINE = re.compile(r"^\s+(\S+): (.+)$")
MODULE = re.compile(r"^(.*?)\.x(?:_|ǁ)")


def mutmut(*args: str) -> str:
    exe = Path(sys.executable).with_name("mutmut")
    return subprocess.run([str(exe), *args], check=True, capture_output=True, text=True).stdout


def statuses(patterns: list[str]) -> dict[str, str]:
    """Mutant name -> status, for the mutants matching ``patterns`` (all when empty)."""
    out = {}
    for line in mutmut("results", "--all", "true").splitlines():
        match = LINE.match(line)
        if match and (not patterns or any(fnmatch.fnmatch(match[1], p) for p in patterns)):
            out[match[1]] = match[2].strip()
    return out


def module_of(name: str) -> str:
    match = MODULE.match(name)
    return match[1] if match else name.rsplit(".", 1)[0]


def report(by_name: dict[str, str]) -> str:
    counts: dict[str, Counter] = defaultdict(Counter)
    for name, status in by_name.items():
        counts[module_of(name)][status] += 1
    lines = [
        "| module | killed | survived | no tests | not run | score |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for module, c in sorted(counts.items()):
        killed = sum(c[s] for s in KILLED)
        survived = sum(c[s] for s in SURVIVED)
        not_run = sum(c.values()) - killed - survived
        score = f"{100 * killed / (killed + survived):.1f}%" if killed + survived else "-"
        lines.append(
            f"| {module} | {killed} | {c['survived'] + c['suspicious']} | {c['no tests']}"
            f" | {not_run} | {score} |"
        )
    survivors = sorted(n for n, s in by_name.items() if s in SURVIVED)
    lines += ["", f"## Survivors ({len(survivors)})", ""]
    for name in survivors:
        diff = mutmut("show", name).strip()
        lines += [f"### {name} ({by_name[name]})", "", "```diff", diff, "```", ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patterns", nargs="*")
    parser.add_argument("--out", type=Path, default=Path("outputs/mutation/report.md"))
    args = parser.parse_args(argv)
    text = report(statuses(args.patterns))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text.split("\n## Survivors")[0])
    print(f"survivors and their diffs: {args.out}")


if __name__ == "__main__":
    main()
