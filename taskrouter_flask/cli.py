"""``flask taskrouter ...``: commands for a Flask project that uses the extension.

Registered on the application by :meth:`TaskRouter.init_app`, so they are
there wherever ``flask`` finds the app.
"""

from __future__ import annotations

from pathlib import Path

import click
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
