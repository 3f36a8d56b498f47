"""The pure modules stay pure: importing them must not import Flask (docs/architecture.md)."""

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
    "taskrouter_flask.names",
    "taskrouter_flask.expressions",
    "taskrouter_flask.workflow",
    "taskrouter_flask.client",
    "taskrouter_flask.settings",
    "taskrouter_flask.callback_url",
    "taskrouter_flask.dedup",
    "taskrouter_flask.pipeline",
    "taskrouter_flask.signals",
    "taskrouter_flask.wire",
    "taskrouter_flask.access_token",
]


@pytest.mark.parametrize("module", PURE)
def test_module_imports_without_flask(module: str) -> None:
    code = f"import sys, {module}; sys.exit('flask' in sys.modules or 'werkzeug' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_public_names_are_exported() -> None:
    import taskrouter_flask

    for name in taskrouter_flask.__all__:
        assert getattr(taskrouter_flask, name) is not None


def test_worker_token_names_are_exported() -> None:
    import taskrouter_flask
    from taskrouter_flask import access_token

    assert taskrouter_flask.AccessTokenError is access_token.AccessTokenError
    assert taskrouter_flask.WorkerGrant is access_token.WorkerGrant
    assert taskrouter_flask.mint_worker_token is access_token.mint_worker_token
    assert {"AccessTokenError", "WorkerGrant", "mint_worker_token"} <= set(taskrouter_flask.__all__)


@pytest.mark.parametrize(
    "statement",
    [
        "import taskrouter_flask",
        "from taskrouter_flask import AccessTokenError, WorkerGrant, mint_worker_token",
        "from taskrouter_flask import TaskRouter",
    ],
)
def test_pyjwt_is_imported_only_to_mint_a_token(statement: str) -> None:
    code = f"import sys; {statement}; sys.exit('jwt' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_version_comes_from_the_installed_distribution() -> None:
    from importlib import metadata

    import taskrouter_flask

    assert taskrouter_flask.__version__ == metadata.version("taskrouter-flask")


def test_version_falls_back_when_the_distribution_is_not_installed() -> None:
    code = (
        "import importlib.metadata as m\n"
        "def missing(name):\n"
        "    raise m.PackageNotFoundError(name)\n"
        "m.version = missing\n"
        "import taskrouter_flask\n"
        "print(taskrouter_flask.__version__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    assert result.stdout.strip() == "0+unknown"


def test_one_not_found_for_the_client_and_the_sandbox() -> None:
    import taskrouter_flask
    from taskrouter_flask.client import NotFound as ClientNotFound
    from taskrouter_flask.errors import NotFound
    from taskrouter_flask.sandbox.errors import NotFound as EngineNotFound

    assert taskrouter_flask.NotFound is NotFound
    assert issubclass(ClientNotFound, NotFound) and issubclass(EngineNotFound, NotFound)
    assert issubclass(NotFound, taskrouter_flask.TaskRouterError)
