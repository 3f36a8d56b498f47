"""The engine's parts keep to their side: pure, and none reaches into another's private state."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import taskrouter_flask.sandbox as sandbox_package

#: The engine and every part of it: no Flask, no HTTP, no threads of their own, no files.
ENGINE_MODULES = [
    "bounds",
    "clock",
    "codec",
    "engine",
    "errors",
    "eventlog",
    "facts",
    "lifecycle",
    "part",
    "queries",
    "resources",
    "routing",
    "scheduler",
    "state",
    "statistics",
    "store",
    "wire",
]
#: What an engine module may not bring in, even indirectly.
FORBIDDEN = ("flask", "werkzeug", "requests", "sqlite3", "socket", "http.client")
SANDBOX = Path(sandbox_package.__file__).parent


def test_every_module_of_the_sandbox_is_classified() -> None:
    """A new module must say whether it is part of the pure engine (and be tested as such)."""
    outside = {
        "__init__",
        "__main__",
        "api",
        "callbacks",
        "channels",
        "collector",
        "gateway",
        "http_server",
        "journal",
        "parameters",
        "render",
        "sdk_payloads",
        "server",
        "snapshot",
        "wschannels",
    }
    found = {path.stem for path in SANDBOX.glob("*.py")}
    assert found - outside == set(ENGINE_MODULES)


@pytest.mark.parametrize("module", ENGINE_MODULES)
def test_engine_module_is_pure(module: str) -> None:
    code = (
        f"import sys, taskrouter_flask.sandbox.{module};"
        f" bad = [m for m in {FORBIDDEN!r} if m in sys.modules];"
        " print(', '.join(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"{module} imports {result.stdout.strip()}{result.stderr}"


@pytest.mark.parametrize("module", ENGINE_MODULES)
def test_no_module_touches_another_objects_private_state(module: str) -> None:
    """``x._name`` is allowed only on ``self`` (and ``cls``): parts talk through public names."""
    tree = ast.parse((SANDBOX / f"{module}.py").read_text())
    offenders = [
        f"line {node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
    ]
    assert offenders == []


@pytest.mark.parametrize("module", [m for m in ENGINE_MODULES if m not in ("wire", "state")])
def test_the_engine_reads_typed_event_facts_not_wire_fields(module: str) -> None:
    """TaskRouter's CamelCase event fields are for callbacks and JSON, never for decisions."""
    tree = ast.parse((SANDBOX / f"{module}.py").read_text())
    offenders = [
        f"line {node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "fields"
        and not (isinstance(node.value, ast.Name) and node.value.id == "dataclasses")
    ]
    offenders += [
        f"line {node.lineno}: imports wire"
        for node in ast.walk(tree)
        # the sandbox's wire (level 1); the package's wire (SIDs, JSON, dates) is for everyone
        if isinstance(node, ast.ImportFrom) and node.module == "wire" and node.level == 1
    ]
    offenders += [
        f"line {node.lineno}: imports {alias.name} from the package's wire"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "wire" and node.level == 2
        for alias in node.names
        if alias.name.endswith("_FIELDS")
    ]
    assert offenders == []
