"""``flask taskrouter ...``: commands for a Flask project that uses the extension.

Registered on the application by :meth:`TaskRouter.init_app`, so they are
there wherever ``flask`` finds the app.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
import requests
from flask import current_app
from flask.cli import AppGroup

from . import wire
from .models import EVENT_TYPES
from .signature import compute_signature
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
@click.option(
    "--api-key-sid",
    metavar="SK...",
    help="An API key SID clients may use (default: the app's TASKROUTER_API_KEY_SID).",
)
@click.option(
    "--api-key-secret",
    metavar="SECRET",
    help="Its secret (default: the app's TASKROUTER_API_KEY_SECRET).",
)
def sandbox(
    host: str,
    port: int,
    data: Path | None,
    seed: int | None,
    api_key_sid: str | None,
    api_key_secret: str | None,
) -> None:
    """Run a local TaskRouter with this app's credentials.

    Clients authenticate with TASKROUTER_ACCOUNT_SID and TASKROUTER_AUTH_TOKEN, or with
    the app's API key (TASKROUTER_API_KEY_SID and TASKROUTER_API_KEY_SECRET), as with
    Twilio; callbacks are signed with the token, so the app's endpoints accept them.
    Point TASKROUTER_BASE_URL at the printed URL.
    """
    from .sandbox.server import DEFAULT_ACCOUNT_SID, Sandbox

    config = current_app.config
    token = config.get("TASKROUTER_AUTH_TOKEN")
    if not token:
        raise click.ClickException("set TASKROUTER_AUTH_TOKEN: callbacks are signed with it")
    try:
        server = Sandbox(
            account_sid=config.get("TASKROUTER_ACCOUNT_SID") or DEFAULT_ACCOUNT_SID,
            auth_token=token,
            host=host,
            port=port,
            data=data,
            seed=seed,
            api_key_sid=api_key_sid or config.get("TASKROUTER_API_KEY_SID"),
            api_key_secret=api_key_secret or config.get("TASKROUTER_API_KEY_SECRET"),
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    server.serve_until_interrupted(click.echo)


# -- debugging webhooks: trigger and sign ----------------------------------------------------


def _auth_token(given: str | None) -> str:
    token = given or current_app.config.get("TASKROUTER_AUTH_TOKEN")
    if not token:
        raise click.UsageError(
            "give --auth-token, or set TASKROUTER_AUTH_TOKEN in the app's config"
        )
    return str(token)


def _json_object(value: str | None, option: str) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        data = wire.loads(value)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON ({exc})", param_hint=option) from exc
    if not isinstance(data, dict):
        raise click.BadParameter(
            'expected a JSON object, e.g. \'{"type": "ticket"}\'', param_hint=option
        )
    return data


def _fields(pairs: tuple[str, ...], hint: str) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint=hint)
        fields.setdefault(name, []).append(value)
    return fields


@taskrouter_cli.command("trigger")
@click.argument("event_type", metavar="EVENT_TYPE")
@click.option(
    "--url",
    required=True,
    help="The endpoint to post to, exactly as the app sees it (it is part of the signature),"
    " e.g. http://127.0.0.1:5000/taskrouter/events.",
)
@click.option("--auth-token", help="Token to sign with (default: the app's TASKROUTER_AUTH_TOKEN).")
@click.option(
    "--count",
    type=click.IntRange(1, 100_000),
    default=1,
    show_default=True,
    help="How many callbacks to send, each with fresh SIDs.",
)
@click.option("--task-attributes", metavar="JSON", help="The task's attributes, a JSON object.")
@click.option("--worker-attributes", metavar="JSON", help="The worker's attributes, a JSON object.")
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set a wire field, e.g. -p TaskQueueSid=WQ... (repeatable).",
)
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds per request.")
def trigger(
    event_type: str,
    url: str,
    auth_token: str | None,
    count: int,
    task_attributes: str | None,
    worker_attributes: str | None,
    params: tuple[str, ...],
    timeout: float,
) -> None:
    """Send a correctly signed sample callback to a running app.

    EVENT_TYPE is a TaskRouter event type (task.created, reservation.accepted,
    ...) for the events endpoint, or `assignment` for the assignment endpoint.
    The payload has realistic SIDs and the fields that event carries; the
    answer's status (and body) is printed. Exits non-zero if any callback was
    refused or could not be sent.
    """
    if event_type != "assignment" and event_type not in EVENT_TYPES:
        close = difflib.get_close_matches(event_type, sorted(EVENT_TYPES | {"assignment"}), n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise click.BadParameter(
            f"{event_type!r} is not a TaskRouter event type (or 'assignment'){hint}",
            param_hint="EVENT_TYPE",
        )
    from .testing import assignment_payload, event_payload, signed_form

    token = _auth_token(auth_token)
    task = _json_object(task_attributes, "--task-attributes")
    worker = _json_object(worker_attributes, "--worker-attributes")
    extra = {name: values[-1] for name, values in _fields(params, "--param").items()}

    def payload() -> dict[str, str]:
        if event_type == "assignment":
            fields = assignment_payload(task_attributes=task, worker_attributes=worker)
        else:
            fields = event_payload(event_type, task_attributes=task, worker_attributes=worker)
        fields.update(extra)
        return fields

    statuses: Counter[int] = Counter()
    with requests.Session() as session:

        def send() -> requests.Response:
            body, headers = signed_form(url, payload(), token)
            try:
                return session.post(url, data=body, headers=headers, timeout=timeout)
            except requests.RequestException as exc:
                raise click.ClickException(f"could not send to {url}: {exc}") from exc

        if count == 1:
            response = send()
            statuses[response.status_code] += 1
            text = response.text.strip()
            click.echo(
                f"POST {url} ({event_type}) -> {response.status_code}"
                + (f" {text}" if text else "")
            )
        else:
            with click.progressbar(
                range(count), label=f"Sending {count} {event_type} callbacks", show_pos=True
            ) as bar:
                for _ in bar:
                    statuses[send().status_code] += 1
            summary = ", ".join(f"{status} x{n}" for status, n in sorted(statuses.items()))
            click.echo(f"POST {url} ({event_type}): {summary}")
    refused = sum(n for status, n in statuses.items() if status >= 400)
    if refused:
        hint = ""
        if 403 in statuses:
            hint = (
                " (403: the signature did not match; check --auth-token and that --url is the URL"
                " the app sees, scheme, host and port included)"
            )
        raise click.ClickException(f"{refused} of {count} refused{hint}")


@taskrouter_cli.command("sign")
@click.option("--url", required=True, help="The full URL the request goes to.")
@click.option("--auth-token", help="Token to sign with (default: the app's TASKROUTER_AUTH_TOKEN).")
@click.argument("params", nargs=-1, metavar="[NAME=VALUE]...")
def sign(url: str, auth_token: str | None, params: tuple[str, ...]) -> None:
    """Print the X-Twilio-Signature for a form POST of PARAMS to URL.

    Compare it with the header a request carried to see whether the URL, the
    fields or the token differ. A NAME given twice sends both values.
    """
    token = _auth_token(auth_token)
    fields: Mapping[str, list[str]] = _fields(params, "NAME=VALUE")
    click.echo(compute_signature(url, fields, token))
