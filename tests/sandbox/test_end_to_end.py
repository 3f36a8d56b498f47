"""The sandbox and a Flask application using the extension, talking real HTTP both ways.

The sandbox serves the REST API on one 127.0.0.1 port and posts signed
assignment and event callbacks to a receiver application (our extension,
served by werkzeug on another 127.0.0.1 port). Everything is provisioned
through our REST client, as an application would do against Twilio; time
only moves when a test calls ``sandbox.advance``, and ``sandbox.drain``
waits for callbacks instead of sleeping.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from flask import Flask, Response, request
from werkzeug.serving import make_server

from taskrouter_flask import Target, TaskRouter, WorkflowConfiguration, accept, dequeue, reject
from taskrouter_flask.client import TaskRouterClient
from taskrouter_flask.models import Assignment, Event
from taskrouter_flask.sandbox.callbacks import Delivery
from taskrouter_flask.sandbox.clock import ManualClock
from taskrouter_flask.sandbox.server import Sandbox
from taskrouter_flask.signature import SIGNATURE_HEADER, compute_signature
from taskrouter_flask.testing import event_payload, signed_form

TOKEN = "end-to-end-token-0123456789abcdef"
OTHER_TOKEN = "some-other-token-fedcba9876543210"
RESERVATION_TIMEOUT = 30
DRAIN = 10.0

Decide = Callable[[Assignment], Any]


# -- the receiver: a Flask application using the extension, on a real server ----------------


@dataclass
class Received:
    """One callback the receiver's handlers saw, with the signature it came with."""

    url: str
    form: dict[str, str]
    signature: str


@dataclass
class Receiver:
    """A running application: its URLs and what its handlers recorded."""

    app: Flask
    tr: TaskRouter
    base_url: str
    decide: Decide
    events: list[Event] = field(default_factory=list)
    event_requests: list[Received] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    #: The JSON the ``/raw/assignment`` route answers (bypasses the extension).
    raw_answer: dict[str, Any] = field(default_factory=dict)
    raw_calls: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def assignment_url(self) -> str:
        return self.tr.assignment_url(self.app)

    @property
    def events_url(self) -> str:
        return self.tr.events_url(self.app)

    @property
    def raw_url(self) -> str:
        return self.base_url + "/raw/assignment"

    def event_types(self) -> list[str]:
        with self.lock:
            return [event.type for event in self.events]


def _serve(app: Flask) -> tuple[Any, threading.Thread]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    return server, thread


ReceiverFactory = Callable[..., Receiver]


@pytest.fixture
def make_receiver() -> Iterator[ReceiverFactory]:
    """Start receiver applications; every one is shut down after the test."""
    running: list[tuple[Any, threading.Thread]] = []

    def start(
        decide: Decide = lambda assignment: accept(),
        *,
        token: str = TOKEN,
        secondary_token: str | None = None,
    ) -> Receiver:
        app = Flask(f"receiver{len(running)}")
        # The server is bound first, so the application knows its own public URL.
        server, thread = _serve(app)
        running.append((server, thread))
        base_url = f"http://127.0.0.1:{server.server_port}"
        app.config.update(
            TASKROUTER_AUTH_TOKEN=token,
            TASKROUTER_SECONDARY_AUTH_TOKEN=secondary_token,
            TASKROUTER_PUBLIC_BASE_URL=base_url,
        )
        tr = TaskRouter(app)
        receiver = Receiver(app=app, tr=tr, base_url=base_url, decide=decide)

        @tr.assignment()
        def on_assignment(assignment: Assignment) -> Any:
            with receiver.lock:
                receiver.assignments.append(assignment)
            return receiver.decide(assignment)

        @tr.event("*")
        def on_event(event: Event) -> None:
            # The form fields are the event's ``raw``: the extension has read the body.
            received = Received(
                request.url, dict(event.raw), request.headers.get(SIGNATURE_HEADER, "")
            )
            with receiver.lock:
                receiver.events.append(event)
                receiver.event_requests.append(received)

        @app.post("/raw/assignment")
        def raw_assignment() -> Response:
            with receiver.lock:
                receiver.raw_calls.append(dict(request.form))
            return Response(json.dumps(receiver.raw_answer), mimetype="application/json")

        return receiver

    yield start
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


SandboxFactory = Callable[..., Sandbox]


@pytest.fixture
def make_sandbox() -> Iterator[SandboxFactory]:
    """Start sandboxes with a manual clock; each is stopped after the test."""
    started: list[Sandbox] = []

    def start(*, token: str = TOKEN, assignment_timeout: float = 5.0) -> Sandbox:
        sandbox = Sandbox(
            clock=ManualClock(), seed=0, auth_token=token, assignment_timeout=assignment_timeout
        )
        sandbox.start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sandbox(make_sandbox: SandboxFactory) -> Sandbox:
    """A sandbox signing with the receivers' token (overrides the plugin's fixture)."""
    return make_sandbox()


def _closed_port_url(path: str) -> str:
    """A URL on a 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


# -- provisioning through our REST client ---------------------------------------------------


@dataclass
class Setup:
    """A workspace provisioned over REST: its client, activities, queue, workflow, workers."""

    client: TaskRouterClient
    workspace_sid: str
    activities: dict[str, str]
    queue_sid: str
    workflow_sid: str
    workers: dict[str, str]

    def create_task(self, **attributes: Any) -> str:
        task = self.client.tasks.create(
            workflow_sid=self.workflow_sid, attributes=attributes or {"type": "ticket"}
        )
        return task.sid

    def reservations(self, task_sid: str) -> dict[str, str]:
        """``{worker name: reservation status}`` of a task, read over REST."""
        names = {sid: name for name, sid in self.workers.items()}
        return {
            names[r.worker_sid or ""]: r.reservation_status or ""
            for r in self.client.tasks.reservations(task_sid).list()
        }

    def pending(self, task_sid: str) -> list[Any]:
        reservations = self.client.tasks.reservations(task_sid)
        return list(reservations.list(reservation_status="pending"))

    def status(self, task_sid: str) -> str | None:
        return self.client.tasks.fetch(task_sid).assignment_status

    def activity_of(self, worker: str) -> str | None:
        return self.client.workers.fetch(self.workers[worker]).activity_name


def provision(
    sandbox: Sandbox,
    *,
    assignment_url: str | None,
    fallback_url: str | None = None,
    event_url: str | None = None,
    events_filter: str | None = None,
    workers: tuple[str, ...] = ("alice",),
    max_reserved_workers: int = 1,
) -> Setup:
    """Create a workspace and everything a task needs to be routed, over REST."""
    root = sandbox.client()
    options: dict[str, Any] = {}
    if event_url is not None:
        options["event_callback_url"] = event_url
    if events_filter is not None:
        options["events_filter"] = events_filter
    workspace = root.workspaces.create(friendly_name="Support", **options)
    client = root.for_workspace(workspace.sid)
    activities = {a.friendly_name or "": a.sid for a in client.activities.list()}
    activities["Timed Out"] = client.activities.create(
        friendly_name="Timed Out", available=False
    ).sid
    client.workspaces.update(workspace.sid, timeout_activity_sid=activities["Timed Out"])
    queue = client.task_queues.create(
        friendly_name="Everyone", target_workers="1==1", max_reserved_workers=max_reserved_workers
    )
    workflow_options: dict[str, Any] = {}
    if assignment_url is not None:
        workflow_options["assignment_callback_url"] = assignment_url
    if fallback_url is not None:
        workflow_options["fallback_assignment_callback_url"] = fallback_url
    workflow = client.workflows.create(
        friendly_name="Tickets",
        configuration=WorkflowConfiguration(default_filter=Target(queue=queue.sid)),
        task_reservation_timeout=RESERVATION_TIMEOUT,
        **workflow_options,
    )
    worker_sids = {
        name: client.workers.create(
            friendly_name=name, activity_sid=activities["Available"], attributes={"name": name}
        ).sid
        for name in workers
    }
    return Setup(client, workspace.sid, activities, queue.sid, workflow.sid, worker_sids)


def drain(sandbox: Sandbox) -> None:
    assert sandbox.drain(DRAIN), "callbacks were still being delivered after the timeout"


def deliveries(sandbox: Sandbox, kind: str) -> list[Delivery]:
    return [d for d in list(sandbox.callbacks.deliveries) if d.kind == kind]


def task_event_types(receiver: Receiver, task_sid: str) -> list[str]:
    """The types of the events about ``task_sid`` the receiver handled, in arrival order."""
    with receiver.lock:
        return [e.type for e in receiver.events if e.raw.get("TaskSid") == task_sid]


# -- the happy path ---------------------------------------------------------------------------


def test_the_receivers_accept_assigns_the_task_and_every_event_arrives_signed(
    sandbox: Sandbox, make_receiver: ReceiverFactory
) -> None:
    receiver = make_receiver()
    setup = provision(
        sandbox, assignment_url=receiver.assignment_url, event_url=receiver.events_url
    )

    task_sid = setup.create_task(type="ticket", customer="gold")
    drain(sandbox)

    assert setup.status(task_sid) == "assigned"
    assert setup.reservations(task_sid) == {"alice": "accepted"}
    (assignment,) = receiver.assignments
    assert assignment.task.sid == task_sid
    assert assignment.task.attributes == {"type": "ticket", "customer": "gold"}
    assert assignment.worker.sid == setup.workers["alice"]
    assert assignment.worker.attributes == {"name": "alice"}
    assert assignment.workflow_sid == setup.workflow_sid
    assert assignment.task_queue_sid == setup.queue_sid
    assert assignment.workspace_sid == setup.workspace_sid
    (applied,) = deliveries(sandbox, "assignment")
    assert (applied.url, applied.status, applied.outcome) == (
        receiver.assignment_url,
        200,
        "applied accept",
    )

    types = task_event_types(receiver, task_sid)
    core = [
        t for t in types if t in ("task.created", "reservation.created", "reservation.accepted")
    ]
    assert core == ["task.created", "reservation.created", "reservation.accepted"]
    assert "workspace.created" in receiver.event_types()

    # Every event callback was answered 204 by the extension, and each carried a
    # signature the receiver's own token reproduces for the URL it was sent to.
    events = deliveries(sandbox, "event")
    assert events and all((d.status, d.outcome) == (204, "delivered") for d in events)
    assert len(receiver.event_requests) == len(events)
    for received in receiver.event_requests:
        assert received.url == receiver.events_url
        assert received.signature == compute_signature(received.url, received.form, TOKEN)
    # The engine's event log and the callbacks agree, in order.
    assert [e.type for e in setup.client.events.list(task_sid=task_sid)][::-1] == types

    stats = setup.client.workspace_statistics()
    assert stats.realtime is not None and stats.cumulative is not None
    assert stats.realtime["tasks_by_status"]["assigned"] == 1
    assert stats.realtime["total_tasks"] == 1
    assert stats.realtime["total_workers"] == 1
    assert stats.cumulative["reservations_created"] == 1
    assert stats.cumulative["reservations_accepted"] == 1
    assert stats.cumulative["tasks_created"] == 1
    queue_stats = setup.client.task_queues.real_time_statistics(setup.queue_sid)
    assert queue_stats.tasks_by_status is not None
    assert queue_stats.tasks_by_status["assigned"] == 1
    assert queue_stats.tasks_by_status["pending"] == 0
    assert queue_stats.total_eligible_workers == 1


def test_a_handler_answering_none_leaves_the_reservation_for_a_rest_accept(
    sandbox: Sandbox, make_receiver: ReceiverFactory
) -> None:
    receiver = make_receiver(lambda assignment: None)
    setup = provision(
        sandbox, assignment_url=receiver.assignment_url, event_url=receiver.events_url
    )

    task_sid = setup.create_task()
    drain(sandbox)

    assert len(receiver.assignments) == 1
    (answer,) = deliveries(sandbox, "assignment")
    assert (answer.status, answer.outcome) == (200, "pending")
    (pending,) = setup.pending(task_sid)
    assert pending.worker_sid == setup.workers["alice"]
    assert setup.status(task_sid) == "reserved"
    assert "reservation.accepted" not in task_event_types(receiver, task_sid)

    accepted = setup.client.tasks.reservations(task_sid).update(
        pending.sid, reservation_status="accepted"
    )
    drain(sandbox)

    assert accepted.reservation_status == "accepted"
    assert setup.status(task_sid) == "assigned"
    assert task_event_types(receiver, task_sid)[-1] == "reservation.accepted"
    realtime = setup.client.workspace_statistics().realtime
    assert realtime is not None and realtime["tasks_by_status"]["assigned"] == 1


# -- failures of the receiver ---------------------------------------------------------------


def test_a_dead_receiver_and_dead_fallback_leave_the_reservation_to_time_out(
    sandbox: Sandbox, make_receiver: ReceiverFactory
) -> None:
    events = make_receiver()
    dead, dead_fallback = _closed_port_url("/assign"), _closed_port_url("/fallback")
    setup = provision(
        sandbox,
        assignment_url=dead,
        fallback_url=dead_fallback,
        event_url=events.events_url,
        workers=("alice", "bob"),
    )

    task_sid = setup.create_task()
    drain(sandbox)

    assert setup.reservations(task_sid) == {"alice": "pending"}
    tried = deliveries(sandbox, "assignment")
    assert [(d.url, d.status) for d in tried] == [(dead, None), (dead_fallback, None)]
    assert all(d.outcome.startswith("failed") for d in tried)

    sandbox.advance(RESERVATION_TIMEOUT - 1)
    drain(sandbox)
    assert setup.reservations(task_sid) == {"alice": "pending"}

    sandbox.advance(2)
    drain(sandbox)

    assert setup.reservations(task_sid) == {"alice": "timeout", "bob": "pending"}
    assert setup.activity_of("alice") == "Timed Out"
    assert setup.activity_of("bob") == "Available"
    assert setup.status(task_sid) == "reserved"
    types = task_event_types(events, task_sid)
    assert types.count("reservation.created") == 2
    assert types.index("reservation.timeout") < len(types) - 1
    # bob's reservation was offered to the same dead URLs.
    assert [d.url for d in deliveries(sandbox, "assignment")][2:] == [dead, dead_fallback]


def test_the_fallback_answers_when_the_main_url_fails(
    sandbox: Sandbox, make_receiver: ReceiverFactory
) -> None:
    def broken(assignment: Assignment) -> Any:
        raise RuntimeError("the database is down")

    main = make_receiver(broken)
    fallback = make_receiver()
    setup = provision(
        sandbox, assignment_url=main.assignment_url, fallback_url=fallback.assignment_url
    )

    task_sid = setup.create_task()
    drain(sandbox)

    assert len(main.assignments) == 1 and len(fallback.assignments) == 1
    assert main.assignments[0].reservation_sid == fallback.assignments[0].reservation_sid
    assert [(d.url, d.status, d.outcome) for d in deliveries(sandbox, "assignment")] == [
        (main.assignment_url, 500, "error status"),
        (fallback.assignment_url, 200, "applied accept"),
    ]
    assert setup.status(task_sid) == "assigned"
    assert setup.reservations(task_sid) == {"alice": "accepted"}


def test_an_invalid_instruction_is_not_applied(
    sandbox: Sandbox, make_receiver: ReceiverFactory
) -> None:
    receiver = make_receiver()
    receiver.raw_answer = {"instruction": "teleport"}
    setup = provision(sandbox, assignment_url=receiver.raw_url)

    task_sid = setup.create_task()
    drain(sandbox)

    assert len(receiver.raw_calls) == 1
    (refused,) = deliveries(sandbox, "assignment")
    assert refused.status == 200 and refused.outcome.startswith("refused")
    assert setup.reservations(task_sid) == {"alice": "pending"}
    assert setup.status(task_sid) == "reserved"


def test_an_invalid_instruction_falls_back_to_the_fallback_url(
    sandbox: Sandbox, make_receiver: ReceiverFactory
) -> None:
    raw = make_receiver()
    raw.raw_answer = {"instruction": "teleport"}
    fallback = make_receiver()
    setup = provision(sandbox, assignment_url=raw.raw_url, fallback_url=fallback.assignment_url)

    task_sid = setup.create_task()
    drain(sandbox)

    assert [d.outcome.split(":")[0] for d in deliveries(sandbox, "assignment")] == [
        "refused",
        "applied accept",
    ]
    assert setup.status(task_sid) == "assigned"


def test_an_answer_without_an_instruction_leaves_it_pending_and_is_recorded_once(
    sandbox: Sandbox, make_receiver: ReceiverFactory
) -> None:
    receiver = make_receiver()
    receiver.raw_answer = {"note": "thinking about it"}
    setup = provision(sandbox, assignment_url=receiver.raw_url)

    task_sid = setup.create_task()
    drain(sandbox)

    assert len(receiver.raw_calls) == 1
    assert setup.reservations(task_sid) == {"alice": "pending"}
    assert len(deliveries(sandbox, "assignment")) == len(receiver.raw_calls)


def test_the_extension_refuses_to_send_an_invalid_instruction(
    sandbox: Sandbox, make_receiver: ReceiverFactory
) -> None:
    """A handler's invalid dict never reaches the sandbox: the extension answers 500."""
    receiver = make_receiver(lambda assignment: {"instruction": "teleport"})
    setup = provision(sandbox, assignment_url=receiver.assignment_url)

    task_sid = setup.create_task()
    drain(sandbox)

    assert [(d.status, d.outcome) for d in deliveries(sandbox, "assignment")] == [
        (500, "error status")
    ]
    assert setup.reservations(task_sid) == {"alice": "pending"}


# -- several reservations at once -----------------------------------------------------------


def test_max_reserved_workers_offers_to_three_and_the_others_are_rescinded(
    sandbox: Sandbox, make_receiver: ReceiverFactory
) -> None:
    def only_bob(assignment: Assignment) -> Any:
        return accept() if assignment.worker.attributes.get("name") == "bob" else None

    receiver = make_receiver(only_bob)
    setup = provision(
        sandbox,
        assignment_url=receiver.assignment_url,
        event_url=receiver.events_url,
        workers=("alice", "bob", "carol"),
        max_reserved_workers=3,
    )

    task_sid = setup.create_task()
    drain(sandbox)

    offered = sorted(a.worker.attributes["name"] for a in receiver.assignments)
    assert offered == ["alice", "bob", "carol"]
    assert len({a.reservation_sid for a in receiver.assignments}) == 3
    assert setup.reservations(task_sid) == {
        "alice": "rescinded",
        "bob": "accepted",
        "carol": "rescinded",
    }
    assert setup.status(task_sid) == "assigned"
    types = task_event_types(receiver, task_sid)
    assert types.count("reservation.created") == 3
    assert types.count("reservation.rescinded") == 2
    assert types.count("reservation.accepted") == 1
    # The rescinded workers are free again, and nothing else was offered.
    assert setup.activity_of("alice") == "Available"
    assert len(deliveries(sandbox, "assignment")) == 3


# -- which events are sent, and whether they are believed -----------------------------------


def test_events_filter_limits_the_event_callbacks(
    sandbox: Sandbox, make_receiver: ReceiverFactory
) -> None:
    receiver = make_receiver()
    setup = provision(
        sandbox,
        assignment_url=receiver.assignment_url,
        event_url=receiver.events_url,
        events_filter="task.created,reservation.accepted",
    )

    task_sid = setup.create_task()
    drain(sandbox)

    assert setup.status(task_sid) == "assigned"
    assert receiver.event_types() == ["task.created", "reservation.accepted"]
    sent = [d.params["EventType"] for d in deliveries(sandbox, "event")]
    assert sent == ["task.created", "reservation.accepted"]
    # The engine still logged everything; only the callbacks were filtered.
    logged = {e.type for e in setup.client.events.list(task_sid=task_sid)}
    assert {"reservation.created", "task.created", "reservation.accepted"} <= logged

    setup.client.workspaces.update(setup.workspace_sid, events_filter="task.completed")
    setup.client.tasks.update(task_sid, assignment_status="completed", reason="resolved")
    drain(sandbox)
    assert receiver.event_types()[2:] == ["task.completed"]


def test_callbacks_signed_with_another_token_are_refused(
    make_sandbox: SandboxFactory, make_receiver: ReceiverFactory
) -> None:
    sandbox = make_sandbox(token=OTHER_TOKEN)
    receiver = make_receiver()
    setup = provision(
        sandbox, assignment_url=receiver.assignment_url, event_url=receiver.events_url
    )

    task_sid = setup.create_task()
    drain(sandbox)

    assert receiver.events == [] and receiver.assignments == []
    events = deliveries(sandbox, "event")
    assert events, "the sandbox sent no event callback"
    assert all((d.status, d.outcome) == (403, "refused") for d in events)
    assert [(d.status, d.outcome) for d in deliveries(sandbox, "assignment")] == [
        (403, "error status")
    ]
    assert setup.reservations(task_sid) == {"alice": "pending"}


# -- more answers, more URLs ------------------------------------------------------------------


def test_a_rejecting_handler_moves_the_worker_and_the_task_goes_to_the_next(
    sandbox: Sandbox, make_receiver: ReceiverFactory
) -> None:
    activities: dict[str, str] = {}

    def not_alice(assignment: Assignment) -> Any:
        if assignment.worker.attributes.get("name") == "alice":
            return reject(activity_sid=activities["Unavailable"])
        return accept()

    receiver = make_receiver(not_alice)
    setup = provision(
        sandbox,
        assignment_url=receiver.assignment_url,
        event_url=receiver.events_url,
        workers=("alice", "bob"),
    )
    activities.update(setup.activities)

    task_sid = setup.create_task()
    drain(sandbox)

    assert setup.reservations(task_sid) == {"alice": "rejected", "bob": "accepted"}
    assert setup.activity_of("alice") == "Unavailable"
    assert setup.status(task_sid) == "assigned"
    assert [d.outcome for d in deliveries(sandbox, "assignment")] == [
        "applied reject",
        "applied accept",
    ]
    types = task_event_types(receiver, task_sid)
    assert types.index("reservation.rejected") < types.index("reservation.accepted")


def test_a_dequeue_answer_is_applied_and_its_post_work_activity_used_on_completion(
    sandbox: Sandbox, make_receiver: ReceiverFactory
) -> None:
    activities: dict[str, str] = {}
    receiver = make_receiver(
        lambda assignment: dequeue(
            from_="+15005550006", post_work_activity_sid=activities["Unavailable"]
        )
    )
    setup = provision(sandbox, assignment_url=receiver.assignment_url)
    activities.update(setup.activities)

    task_sid = setup.create_task()
    drain(sandbox)

    assert [d.outcome for d in deliveries(sandbox, "assignment")] == ["applied dequeue"]
    assert setup.status(task_sid) == "assigned"
    assert setup.activity_of("alice") == "Available"

    setup.client.tasks.update(task_sid, assignment_status="wrapping", reason="hung up")
    setup.client.tasks.update(task_sid, assignment_status="completed", reason="resolved")
    drain(sandbox)

    assert setup.reservations(task_sid) == {"alice": "completed"}
    assert setup.activity_of("alice") == "Unavailable"


def test_a_slow_receiver_times_out_and_the_fallback_answers(
    make_sandbox: SandboxFactory, make_receiver: ReceiverFactory
) -> None:
    sandbox = make_sandbox(assignment_timeout=0.3)
    release = threading.Event()

    def slow(assignment: Assignment) -> Any:
        release.wait(5)  # bounded: the sandbox gives up after 0.3 s
        return accept()

    main = make_receiver(slow)
    fallback = make_receiver()
    setup = provision(
        sandbox, assignment_url=main.assignment_url, fallback_url=fallback.assignment_url
    )
    try:
        task_sid = setup.create_task()
        drain(sandbox)
    finally:
        release.set()

    outcomes = [(d.url, d.status, d.outcome) for d in deliveries(sandbox, "assignment")]
    assert outcomes[0][:2] == (main.assignment_url, None)
    assert "timed out" in outcomes[0][2]
    assert outcomes[1:] == [(fallback.assignment_url, 200, "applied accept")]
    assert setup.reservations(task_sid) == {"alice": "accepted"}
    assert len(main.assignments) == 1  # the slow answer, when it came, was not read


def test_a_query_string_and_non_ascii_attributes_are_signed_and_checked(
    sandbox: Sandbox, make_receiver: ReceiverFactory
) -> None:
    receiver = make_receiver()
    events_url = receiver.events_url + "?tenant=acme&region=eu-west"
    setup = provision(sandbox, assignment_url=receiver.assignment_url, event_url=events_url)

    task_sid = setup.create_task(customer="Zoë Ångström", note="50% off & more")
    drain(sandbox)

    assert setup.status(task_sid) == "assigned"
    assert receiver.assignments[0].task.attributes["customer"] == "Zoë Ångström"
    events = deliveries(sandbox, "event")
    assert events and all(d.status == 204 for d in events)
    created = [e for e in receiver.events if e.type == "task.created"]
    assert created[0].task is not None
    assert created[0].task.attributes["note"] == "50% off & more"
    assert all(r.url == events_url for r in receiver.event_requests)


def test_a_receiver_rotating_its_token_accepts_the_secondary(
    make_sandbox: SandboxFactory, make_receiver: ReceiverFactory
) -> None:
    sandbox = make_sandbox(token=OTHER_TOKEN)
    receiver = make_receiver(secondary_token=OTHER_TOKEN)
    setup = provision(
        sandbox, assignment_url=receiver.assignment_url, event_url=receiver.events_url
    )

    task_sid = setup.create_task()
    drain(sandbox)

    assert setup.status(task_sid) == "assigned"
    assert all(d.status == 204 for d in deliveries(sandbox, "event"))


def test_a_waiting_task_is_offered_when_a_worker_becomes_available(
    sandbox: Sandbox, make_receiver: ReceiverFactory
) -> None:
    receiver = make_receiver()
    setup = provision(
        sandbox, assignment_url=receiver.assignment_url, event_url=receiver.events_url
    )
    setup.client.workers.update(setup.workers["alice"], activity_sid=setup.activities["Offline"])

    task_sid = setup.create_task()
    drain(sandbox)
    assert receiver.assignments == []
    assert setup.status(task_sid) == "pending"

    setup.client.workers.update(setup.workers["alice"], activity_sid=setup.activities["Available"])
    drain(sandbox)

    assert len(receiver.assignments) == 1
    assert setup.status(task_sid) == "assigned"
    assert task_event_types(receiver, task_sid)[-2:] == [
        "reservation.created",
        "reservation.accepted",
    ]


def test_an_answer_after_the_reservation_timed_out_changes_nothing(
    sandbox: Sandbox, make_receiver: ReceiverFactory
) -> None:
    arrived, release = threading.Event(), threading.Event()

    def late(assignment: Assignment) -> Any:
        arrived.set()
        release.wait(4)  # bounded, and within the sandbox's 5 s assignment timeout
        return accept()

    receiver = make_receiver(late)
    setup = provision(sandbox, assignment_url=receiver.assignment_url)
    try:
        task_sid = setup.create_task()
        assert arrived.wait(5), "the assignment callback never arrived"
        sandbox.advance(RESERVATION_TIMEOUT + 1)
        assert setup.reservations(task_sid) == {"alice": "timeout"}
    finally:
        release.set()
    drain(sandbox)

    (answer,) = deliveries(sandbox, "assignment")
    assert answer.outcome.startswith("late")
    assert setup.reservations(task_sid) == {"alice": "timeout"}
    assert setup.status(task_sid) == "pending"
    assert setup.activity_of("alice") == "Timed Out"


def test_a_handler_can_read_flask_request_form_on_a_real_server(
    make_receiver: ReceiverFactory,
) -> None:
    receiver = make_receiver()
    seen: list[dict[str, str]] = []

    @receiver.tr.event("task.created")
    def read_form(event: Event) -> None:
        seen.append(dict(request.form))

    url = receiver.events_url
    body, headers = signed_form(url, event_payload("task.created"), TOKEN)
    try:
        response = requests.post(url, data=body, headers=headers, timeout=2)
    except requests.ReadTimeout:
        pytest.fail("the receiver hung reading request.form")
    assert response.status_code == 204
    assert seen and seen[0]["EventType"] == "task.created"
