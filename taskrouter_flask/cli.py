"""``flask taskrouter ...``: commands for a Flask project that uses the extension.

Registered on the application by :meth:`TaskRouter.init_app`, so they are
there wherever ``flask`` finds the app.
"""

from __future__ import annotations

import threading
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from .workflow import WorkflowConfiguration, WorkflowConfigurationError

__all__ = ["taskrouter_cli"]

taskrouter_cli = AppGroup("taskrouter", help="TaskRouter tools.")


@taskrouter_cli.command("validate-workflow")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate_workflow(path: Path) -> None:
    """Check the workflow configuration in PATH (JSON) and print every problem."""
    try:
        problems = WorkflowConfiguration.from_json(path.read_bytes()).validate()
    except WorkflowConfigurationError as exc:
        problems = exc.problems
    for problem in problems:
        click.echo(f"{path}: {problem}", err=True)
    if problems:
        count = len(problems)
        raise click.ClickException(f"{count} problem{'s' if count != 1 else ''} in {path}")
    click.echo(f"{path}: OK")


@taskrouter_cli.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8099, show_default=True, help="Port to listen on; 0 picks a free one."
)
@click.option(
    "--data",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite file to keep state in across restarts (default: in memory).",
)
@click.option("--seed", type=int, help="Make generated SIDs repeat from run to run.")
def sandbox(host: str, port: int, data: Path | None, seed: int | None) -> None:
    """Run a local TaskRouter with this app's credentials.

    Clients authenticate with TASKROUTER_ACCOUNT_SID and TASKROUTER_AUTH_TOKEN, and
    callbacks are signed with that token, so the app's endpoints accept them. Point
    TASKROUTER_BASE_URL at the printed URL.
    """
    from .sandbox.server import DEFAULT_ACCOUNT_SID, Sandbox

    config = current_app.config
    token = config.get("TASKROUTER_AUTH_TOKEN")
    if not token:
        raise click.ClickException("set TASKROUTER_AUTH_TOKEN: callbacks are signed with it")
    server = Sandbox(
        account_sid=config.get("TASKROUTER_ACCOUNT_SID") or DEFAULT_ACCOUNT_SID,
        auth_token=token,
        host=host,
        port=port,
        data=data,
        seed=seed,
    )
    with server:
        click.echo(f"TaskRouter sandbox on {server.base_url}")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            click.echo("stopping")
