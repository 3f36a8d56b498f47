"""Handlers registered by queue and workflow name, before any exists, over real HTTP.

The application registers ``@tr.assignment(queue="Gold Tickets")`` when it is
built, before the sandbox has a workspace. Then the workspace, its queues,
workflows and workers are created through the REST client, a task is routed,
and the sandbox's signed assignment callback reaches the application (served
by werkzeug on 127.0.0.1), which resolves the names through its own REST
client and answers; the sandbox applies the answer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from taskrouter_flask import (
    Assignment,
    NameResolutionError,
    Target,
    TaskRouter,
    WorkflowConfiguration,
    accept,
)
from taskrouter_flask.names import MIN_REFRESH_INTERVAL
from taskrouter_flask.sandbox.server import Sandbox

DRAIN = 10.0


@dataclass
class App:
    app: Flask
    tr: TaskRouter
    answered: list[tuple[str, Assignment]] = field(default_factory=list)
    #: Added to the name cache's clock, to pass its refresh interval without sleeping.
    skew: float = 0.0


@pytest.fixture
def named_app(sandbox: Sandbox) -> Iterator[App]:
    # Registered first, at "import": nothing exists on the sandbox yet.
    tr = TaskRouter()
    running = App(Flask("named_receiver"), tr)

    @tr.assignment(queue="Platinum")  # never created
    def platinum(assignment: Assignment) -> Any:
        running.answered.append(("platinum", assignment))
        return accept()

    @tr.assignment(queue="Gold Tickets")
    def gold(assignment: Assignment) -> Any:
        running.answered.append(("gold", assignment))
        return accept()

    @tr.assignment(queue="Silver", workflow="Silver Flow")
    def silver(assignment: Assignment) -> Any:
        running.answered.append(("silver", assignment))
        return accept()

    @tr.assignment()
    def fallback(assignment: Assignment) -> Any:
        running.answered.append(("fallback", assignment))
        return None  # left pending

    server = make_server("127.0.0.1", 0, running.app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    running.app.config.update(
        TASKROUTER_ACCOUNT_SID=sandbox.account_sid,
        TASKROUTER_AUTH_TOKEN=sandbox.auth_token,
        TASKROUTER_BASE_URL=sandbox.base_url,
        TASKROUTER_PUBLIC_BASE_URL=f"http://127.0.0.1:{server.server_port}",
    )
    tr.init_app(running.app)
    running.app.extensions["taskrouter"].names.clock = lambda: time.monotonic() + running.skew
    yield running
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_names_registered_before_the_queues_exist_route_real_callbacks(
    sandbox: Sandbox, named_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    app, tr = named_app.app, named_app.tr
    root = sandbox.client()
    workspace = root.workspaces.create(friendly_name="Names")
    client = root.for_workspace(workspace.sid)
    available = next(a.sid for a in client.activities.list() if a.friendly_name == "Available")
    gold = client.task_queues.create(friendly_name="Gold Tickets", target_workers="1==1")
    tickets = client.workflows.create(
        friendly_name="Tickets",
        configuration=WorkflowConfiguration(default_filter=Target(queue=gold.sid)),
        assignment_callback_url=tr.assignment_url(app),
    )
    alice = client.workers.create(friendly_name="alice", activity_sid=available)

    with caplog.at_level(logging.WARNING, logger="taskrouter_flask"):
        task = client.tasks.create(workflow_sid=tickets.sid, attributes={"type": "ticket"})
        assert sandbox.drain(DRAIN)

    # The gold handler answered, and the sandbox applied its accept().
    assert [(name, a.task.sid) for name, a in named_app.answered] == [("gold", task.sid)]
    (reservation,) = client.tasks.reservations(task.sid).list()
    assert (reservation.worker_sid, reservation.reservation_status) == (alice.sid, "accepted")
    assert client.tasks.fetch(task.sid).assignment_status == "assigned"
    # "Platinum" was tried first: no such queue, so it was passed over, with one warning
    # naming the queue and the workspace.
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [w for w in warnings if "'Platinum'" in w] == [
        f"workspace {workspace.sid} has no task queue named 'Platinum': assignment handler"
        " named_app.<locals>.platinum (queue='Platinum') does not match until one exists"
    ]

    # A queue and workflow created after the application started are found once the
    # name cache lists again (it does so at most every MIN_REFRESH_INTERVAL seconds).
    silver = client.task_queues.create(friendly_name="Silver", target_workers="1==1")
    silver_flow = client.workflows.create(
        friendly_name="Silver Flow",
        configuration=WorkflowConfiguration(default_filter=Target(queue=silver.sid)),
        assignment_callback_url=tr.assignment_url(app),
    )
    bob = client.workers.create(friendly_name="bob", activity_sid=available)
    named_app.skew = MIN_REFRESH_INTERVAL
    second = client.tasks.create(workflow_sid=silver_flow.sid, attributes={"type": "ticket"})
    assert sandbox.drain(DRAIN)

    assert [name for name, _ in named_app.answered] == ["gold", "silver"]
    (reservation,) = client.tasks.reservations(second.sid).list()
    assert (reservation.worker_sid, reservation.reservation_status) == (bob.sid, "accepted")
    # At start-up, check_names would have refused the typo-like "Platinum".
    with pytest.raises(NameResolutionError) as raised:
        tr.check_names(app, workspace_sid=workspace.sid)
    assert raised.value.names == ("Platinum",)
