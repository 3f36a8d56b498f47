"""The pure modules stay pure: importing them must not import Flask (DESIGN's dependency rules)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PURE = [
    "taskrouter_flask.errors",
    "taskrouter_flask.models",
    "taskrouter_flask.signature",
    "taskrouter_flask.instructions",
    "taskrouter_flask.schemas",
    "taskrouter_flask.dispatch",
    "taskrouter_flask.expressions",
    "taskrouter_flask.workflow",
    "taskrouter_flask.client",
]


@pytest.mark.parametrize("module", PURE)
def test_module_imports_without_flask(module: str) -> None:
    code = f"import sys, {module}; sys.exit('flask' in sys.modules or 'werkzeug' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_public_names_are_exported() -> None:
    import taskrouter_flask

    for name in taskrouter_flask.__all__:
        assert getattr(taskrouter_flask, name) is not None
