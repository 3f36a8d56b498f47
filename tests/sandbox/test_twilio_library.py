"""Twilio's own helper library, pointed at the sandbox, does a whole TaskRouter job.

If the official client can provision a workspace, route a task, read and
update the reservation, page through a long list and understand the errors,
the sandbox speaks TaskRouter's wire format (paths, parameters, JSON, paging
``meta``, error bodies) and not merely our own client's dialect. The
callbacks the sandbox sends are checked with Twilio's ``RequestValidator``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, request
from werkzeug.serving import make_server

from taskrouter_flask import TaskRouter
from taskrouter_flask.models import Assignment, Event
from taskrouter_flask.sandbox.clock import ManualClock
from taskrouter_flask.sandbox.server import Sandbox
from taskrouter_flask.signature import SIGNATURE_HEADER

pytest.importorskip("twilio")

from twilio.base.exceptions import TwilioRestException  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402
from twilio.rest import Client  # noqa: E402

TOKEN = "library-test-token-0123456789abcdef"
DRAIN = 10.0


@dataclass
class Receiver:
    """A Flask application with the extension, served on 127.0.0.1; handlers record calls."""

    app: Flask
    tr: TaskRouter
    assignments: list[Assignment] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    #: ``(url, form fields, X-Twilio-Signature)`` of each event the handler saw.
    signed: list[tuple[str, dict[str, str], str]] = field(default_factory=list)
    answer: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    app = Flask("library_receiver")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    app.config.update(
        TASKROUTER_AUTH_TOKEN=TOKEN,
        TASKROUTER_PUBLIC_BASE_URL=f"http://127.0.0.1:{server.server_port}",
    )
    tr = TaskRouter(app)
    running = Receiver(app, tr)

    @tr.assignment()
    def on_assignment(assignment: Assignment) -> Any:
        with running.lock:
            running.assignments.append(assignment)
        return running.answer

    @tr.event()
    def on_event(event: Event) -> None:
        with running.lock:
            running.events.append(event)
            running.signed.append(
                (request.url, dict(event.raw), request.headers.get(SIGNATURE_HEADER, ""))
            )

    yield running
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(clock=ManualClock(), seed=0, auth_token=TOKEN) as running:
        yield running


@pytest.fixture
def twilio(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    """Twilio's ``Client``, its TaskRouter domain pointed at the sandbox."""
    for name in ("TWILIO_EDGE", "TWILIO_REGION"):  # they would rewrite the host name
        monkeypatch.delenv(name, raising=False)
    client = Client(sandbox.account_sid, TOKEN)
    # twilio/rest/taskrouter/TaskrouterBase.py: a Domain whose base_url every
    # TaskRouter request is built on ("https://taskrouter.twilio.com").
    client.taskrouter.base_url = sandbox.base_url
    yield client
    session = getattr(client.http_client, "session", None)
    if session is not None:
        session.close()


@dataclass
class Workspace:
    """What the library provisioned: the workspace context and the SIDs a test needs."""

    sid: str
    context: Any
    activities: dict[str, str]
    queue_sid: str
    workflow_sid: str


def provision(twilio: Client, receiver: Receiver, *, workers: tuple[str, ...]) -> Workspace:
    """Workspace, queue, workflow and workers, all created with Twilio's library."""
    workspace = twilio.taskrouter.v1.workspaces.create(
        friendly_name="Library", event_callback_url=receiver.tr.events_url(receiver.app)
    )
    context = twilio.taskrouter.v1.workspaces(workspace.sid)
    activities = {a.friendly_name: a.sid for a in context.activities.list()}
    activities["Break"] = context.activities.create(friendly_name="Break", available=False).sid
    queue = context.task_queues.create(friendly_name="Everyone", target_workers="1==1")
    configuration = {"task_routing": {"filters": [], "default_filter": {"queue": queue.sid}}}
    workflow = context.workflows.create(
        friendly_name="Tickets",
        configuration=json.dumps(configuration),
        assignment_callback_url=receiver.tr.assignment_url(receiver.app),
        task_reservation_timeout=60,
    )
    for name in workers:
        context.workers.create(
            friendly_name=name,
            activity_sid=activities["Available"],
            attributes=json.dumps({"name": name}),
        )
    return Workspace(workspace.sid, context, activities, queue.sid, workflow.sid)


def test_the_library_provisions_routes_and_accepts(
    sandbox: Sandbox, twilio: Client, receiver: Receiver
) -> None:
    receiver.answer = None  # leave the reservation pending, for the library to accept
    ws = provision(twilio, receiver, workers=("alice",))

    assert set(ws.activities) == {"Offline", "Available", "Unavailable", "Break"}
    (queue,) = ws.context.task_queues.list()
    assert (queue.sid, queue.target_workers) == (ws.queue_sid, "1==1")
    workflow = ws.context.workflows(ws.workflow_sid).fetch()
    assert json.loads(workflow.configuration)["task_routing"]["default_filter"] == {
        "queue": ws.queue_sid
    }
    (worker,) = ws.context.workers.list()
    assert (worker.friendly_name, worker.activity_name, worker.available) == (
        "alice",
        "Available",
        True,
    )
    # A list leaves attributes out, as TaskRouter's worker resource says; a fetch has them.
    assert worker.attributes is None
    assert json.loads(ws.context.workers(worker.sid).fetch().attributes) == {"name": "alice"}

    task = ws.context.tasks.create(
        workflow_sid=ws.workflow_sid, attributes=json.dumps({"type": "ticket"}), priority=3
    )
    assert sandbox.drain(DRAIN)

    assert task.assignment_status == "reserved"
    assert task.priority == 3
    (reservation,) = ws.context.tasks(task.sid).reservations.list()
    assert reservation.reservation_status == "pending"
    assert (reservation.worker_sid, reservation.worker_name) == (worker.sid, "alice")
    (assignment,) = receiver.assignments
    assert assignment.reservation_sid == reservation.sid
    assert assignment.task.sid == task.sid
    assert assignment.task.attributes == {"type": "ticket"}
    assert assignment.worker.sid == worker.sid

    accepted = (
        ws.context.tasks(task.sid)
        .reservations(reservation.sid)
        .update(reservation_status="accepted")
    )
    assert sandbox.drain(DRAIN)

    assert accepted.reservation_status == "accepted"
    assert ws.context.tasks(task.sid).fetch().assignment_status == "assigned"
    (seen_by_worker,) = ws.context.workers(worker.sid).reservations.list()
    assert (seen_by_worker.sid, seen_by_worker.reservation_status) == (reservation.sid, "accepted")
    statistics = ws.context.statistics().fetch()
    assert statistics.realtime["tasks_by_status"]["assigned"] == 1
    assert statistics.cumulative["reservations_accepted"] == 1

    types = [e.type for e in receiver.events if e.raw.get("TaskSid") == task.sid]
    assert types.index("reservation.created") < types.index("reservation.accepted")
    # Twilio's own validator agrees with every signature the sandbox made.
    validator = RequestValidator(TOKEN)
    assert receiver.signed
    for url, form, signature in receiver.signed:
        assert validator.validate(url, form, signature)
        assert not RequestValidator("another-token").validate(url, form, signature)


def test_an_accept_from_the_assignment_callback_is_seen_by_the_library(
    sandbox: Sandbox, twilio: Client, receiver: Receiver
) -> None:
    receiver.answer = {"instruction": "accept"}
    ws = provision(twilio, receiver, workers=("alice",))

    task = ws.context.tasks.create(workflow_sid=ws.workflow_sid, attributes="{}")
    assert sandbox.drain(DRAIN)

    (reservation,) = ws.context.tasks(task.sid).reservations.list()
    assert reservation.reservation_status == "accepted"
    assert ws.context.tasks(task.sid).fetch().assignment_status == "assigned"
    assert len(receiver.assignments) == 1


def test_the_library_pages_through_all_workers(
    sandbox: Sandbox, twilio: Client, receiver: Receiver
) -> None:
    ws = provision(twilio, receiver, workers=())
    created = [ws.context.workers.create(friendly_name=f"agent-{n:03}").sid for n in range(120)]
    assert sandbox.drain(DRAIN)

    listed = [w.sid for w in ws.context.workers.list(page_size=50)]
    assert listed == created

    sizes = []
    page = ws.context.workers.page(page_size=50)
    for _ in range(5):  # bounded: three pages are expected
        sizes.append(len(list(page)))
        page = page.next_page()
        if page is None:
            break
    assert sizes == [50, 50, 20]

    assert len(list(ws.context.workers.list(limit=70, page_size=50))) == 70
    assert [w.friendly_name for w in ws.context.workers.list(friendly_name="agent-042")] == [
        "agent-042"
    ]


def test_errors_reach_the_library_as_twilio_exceptions(
    sandbox: Sandbox, twilio: Client, receiver: Receiver
) -> None:
    ws = provision(twilio, receiver, workers=("alice",))

    with pytest.raises(TwilioRestException) as missing:
        ws.context.tasks("WT" + "0" * 32).fetch()
    assert (missing.value.status, missing.value.code) == (404, 20404)

    task = ws.context.tasks.create(workflow_sid=ws.workflow_sid, attributes="{}")
    with pytest.raises(TwilioRestException) as stale:
        ws.context.tasks(task.sid).update(attributes='{"a": 1}', if_match="999")
    assert stale.value.status == 412

    intruder = Client(sandbox.account_sid, "wrong-token")
    intruder.taskrouter.base_url = sandbox.base_url
    with pytest.raises(TwilioRestException) as refused:
        intruder.taskrouter.v1.workspaces(ws.sid).fetch()
    assert (refused.value.status, refused.value.code) == (401, 20003)
    assert sandbox.drain(DRAIN)


class _BulkBody:
    """The library's bulk statistics call wants an object with ``to_dict()``."""

    def __init__(self, sids: list[str]) -> None:
        self.sids = sids

    def to_dict(self) -> dict[str, Any]:
        return {"TaskQueueSids": self.sids}


def test_the_library_filters_reads_events_and_statistics_and_dequeues(
    sandbox: Sandbox, twilio: Client, receiver: Receiver
) -> None:
    receiver.answer = None
    ws = provision(twilio, receiver, workers=("alice", "bob"))
    bob = next(w for w in ws.context.workers.list() if w.friendly_name == "bob")
    ws.context.workers(bob.sid).update(activity_sid=ws.activities["Offline"])
    first = ws.context.tasks.create(workflow_sid=ws.workflow_sid, attributes='{"n": 1}')
    second = ws.context.tasks.create(workflow_sid=ws.workflow_sid, attributes='{"n": 2}')
    assert sandbox.drain(DRAIN)

    assert [t.sid for t in ws.context.tasks.list(assignment_status=["pending", "reserved"])] == [
        first.sid,
        second.sid,
    ]
    assert [t.sid for t in ws.context.tasks.list(evaluate_task_attributes="n == 2")] == [second.sid]
    assert [w.friendly_name for w in ws.context.workers.list(available="true")] == ["alice"]
    assert [w.friendly_name for w in ws.context.workers.list(activity_name="Offline")] == ["bob"]
    types = [e.event_type for e in ws.context.events.list(task_sid=first.sid)]
    assert types[0] == "reservation.created" and types[-1] == "task.created"  # newest first

    (reservation,) = ws.context.tasks(first.sid).reservations.list()
    alice = reservation.worker_sid
    dequeued = (
        ws.context.workers(alice)
        .reservations(reservation.sid)
        .update(
            instruction="dequeue",
            dequeue_from="+15005550006",
            dequeue_post_work_activity_sid=ws.activities["Break"],
        )
    )
    assert dequeued.reservation_status == "accepted"
    ws.context.tasks(first.sid).update(assignment_status="completed", reason="done")
    assert sandbox.drain(DRAIN)

    assert ws.context.workers(alice).fetch().activity_name == "Break"
    realtime = ws.context.task_queues(ws.queue_sid).real_time_statistics().fetch()
    assert realtime.tasks_by_status["completed"] == 1
    assert realtime.tasks_by_status["pending"] == 1  # nobody is available for the second
    bulk = ws.context.task_queues.bulk_real_time_statistics.create(_BulkBody([ws.queue_sid]))
    assert bulk.task_queue_response_count == 1
    assert bulk.task_queue_data[0]["task_queue_sid"] == ws.queue_sid
    cumulative = ws.context.workers.cumulative_statistics().fetch()
    assert cumulative.reservations_created == 1
    assert cumulative.reservations_accepted == 1
