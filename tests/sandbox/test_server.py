"""The sandbox as people start it: the command line, and state kept across restarts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flask import Flask

from taskrouter_flask.sandbox.clock import ManualClock
from taskrouter_flask.sandbox.server import Sandbox


def test_module_help_explains_every_option() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "taskrouter_flask.sandbox", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    for option in ("--host", "--port", "--account-sid", "--auth-token", "--data", "--seed"):
        assert option in result.stdout


def test_flask_command_help(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["taskrouter", "sandbox", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--data", "--seed"):
        assert option in result.output


def test_a_restart_continues_where_it_stopped(tmp_path: Path) -> None:
    data = tmp_path / "sandbox.db"
    clock = ManualClock()
    with Sandbox(clock=clock, data=data, seed=1) as first:
        client = first.client()
        workspace = client.workspaces.create(friendly_name="Support", template="FIFO")
        client = client.for_workspace(workspace.sid)
        available = next(a for a in client.activities.list() if a.friendly_name == "Available")
        client.workers.create(friendly_name="Alice", activity_sid=available.sid)
        task = client.tasks.create(attributes={"type": "ticket"})
        reservation = next(iter(client.tasks.reservations(task.sid).list()))
        assert reservation.reservation_status == "pending"
    assert data.exists()

    with Sandbox(clock=ManualClock(clock.now()), data=data) as second:
        client = second.client(workspace.sid)
        assert client.tasks.fetch(task.sid).assignment_status == "reserved"
        # The reservation timer survived the restart.
        second.advance(121)
        assert client.tasks.reservations(task.sid).fetch(reservation.sid).reservation_status == (
            "timeout"
        )
        other = client.tasks.create(attributes={"type": "chat"})
        assert other.sid != task.sid
        assert len(list(client.tasks.list())) == 2
