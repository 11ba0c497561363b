"""The package's layers import only downward: parsed with ``ast`` over ``src/egnn`` (imports
inside functions included, so a lazy import cannot hide an edge)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import egnn

PACKAGE = Path(egnn.__file__).resolve().parent

# The one place the layer order is written: each layer and the layers it may import (itself
# included). base = the modules in BASE below and the bare package.
LAYERS: dict[str, set[str]] = {
    "base": {"base"},
    "graphs": {"base", "graphs"},  # graph builders: torch and vesin only
    "nn": {"base", "graphs", "nn"},  # pure torch
    "data": {"base", "graphs", "nn", "data"},
    "pyg": {"base", "graphs", "nn", "data", "pyg"},  # optional: PyG batches and datasets in
    "tasks": {"base", "graphs", "nn", "data", "tasks"},  # LightningModules
    "records": {"base", "records"},  # schema, name, read, write, validate
    "testing": {"base", "graphs", "nn", "testing"},  # the equivariance checker
    "run": {"base", "graphs", "nn", "data", "tasks", "records", "run"},  # train, eval, summaries
    "reporting": {"base", "records", "reporting"},  # optional: reads records only
}
BASE = {
    "egnn",
    "egnn.errors",
    "egnn.atomic",
    "egnn.extras",
    "egnn.integrity",  # checksums and locks of the files a run trusts
}
# egnn/__init__.py re-exports EGCL and EGNN from nn on first attribute access (PEP 562).
ROOT_MAY_IMPORT = {"base", "nn"}


def module_name(path: Path) -> str:
    parts = ["egnn", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str | None:
    """The layer of an ``egnn`` module, None for a module of no layer."""
    if module in BASE or any(module.startswith(f"{b}.") for b in BASE - {"egnn"}):
        return "base"
    part = module.split(".")[1]
    return part if part in LAYERS else None


def egnn_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of an ``egnn`` module in ``path``, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return [(line, m) for line, m in found if m == "egnn" or m.startswith("egnn.")]


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_belongs_to_a_layer():
    assert len(SOURCES) > 50
    orphans = [str(p) for p in SOURCES if layer_of(module_name(p)) is None]
    assert not orphans, f"modules outside the layers of LAYERS: {orphans}"


def test_no_module_imports_a_higher_layer():
    violations = []
    for path in SOURCES:
        importer = module_name(path)
        allowed = ROOT_MAY_IMPORT if importer == "egnn" else LAYERS[layer_of(importer)]
        for line, imported in egnn_imports(path):
            if layer_of(imported) not in allowed:
                violations.append(
                    f"{path.relative_to(PACKAGE)}:{line} ({layer_of(importer)}) imports"
                    f" {imported} ({layer_of(imported)})"
                )
    assert not violations, "\n".join(violations)


def test_the_checker_catches_an_upward_import(tmp_path):
    """Test the tester: nn importing run is flagged."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from egnn.run.train import train\n")
    ((line, imported),) = egnn_imports(bad)
    assert line == 2 and layer_of(imported) == "run" not in LAYERS["nn"]


def test_no_string_registry_hides_an_edge():
    """A ``"egnn.x:Class"`` or ``"egnn.x.Class"`` string imported at run time would be an import
    edge this test cannot see; only the configs name classes (instantiated by egnn.run)."""
    pattern = re.compile(r"""["']egnn\.[a-z_.]+[:.][A-Z]\w*["']""")
    hits = [
        f"{p.relative_to(PACKAGE)}: {m.group()}"
        for p in SOURCES
        for m in pattern.finditer(p.read_text())
    ]
    assert not hits, hits


def test_records_and_reporting_load_without_torch():
    code = (
        "import sys, egnn.records, egnn.reporting.report, egnn.reporting.tables;"
        "bad = [m for m in ('torch', 'pytorch_lightning', 'egnn.nn', 'egnn.run') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
