"""How the sandbox delivers callbacks: whole-answer deadlines, independence, retries, stopping.

Every receiver here is a real HTTP server on 127.0.0.1 (``http.server``, one thread
per request) whose behaviour a test chooses: answer, hang, drip its answer byte by
byte, answer too much. The sandbox is real too, provisioned over REST with a
manual clock, and its timeouts are shortened so that each test takes a few seconds.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest

from taskrouter_flask import Target, WorkflowConfiguration
from taskrouter_flask.client import TaskRouterClient
from taskrouter_flask.sandbox.callbacks import MAX_ANSWER_BYTES, Delivery
from taskrouter_flask.sandbox.clock import ManualClock
from taskrouter_flask.sandbox.server import Sandbox
from taskrouter_flask.signature import SIGNATURE_HEADER, compute_signature

TOKEN = "delivery-token-0123456789abcdef"
ACCEPT = json.dumps({"instruction": "accept"}).encode()
#: What a deadline may be overrun by: scheduling, the fallback's own round trip.
SLACK = 0.75

Behaviour = Callable[["_Handler", dict[str, str]], None]


# -- receivers --------------------------------------------------------------------------------


@dataclass
class Request:
    path: str
    form: dict[str, str]
    signature: str
    at: float


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    counted = False

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
        receiver = self.server.receiver
        receiver.arrived(Request(self.path, form, self.headers.get(SIGNATURE_HEADER, ""), now()))
        self.counted = True
        try:
            receiver.behaviour(self, form)
        except OSError:  # the sandbox gave up and closed the connection
            self.close_connection = True
        finally:
            self.leave()

    def leave(self) -> None:
        """Count this request as finished (once): before its answer goes out, since the
        sender may start its next request as soon as it has read the answer."""
        if self.counted:
            self.counted = False
            self.server.receiver.left()

    def answer(self, status: int, body: bytes = b"", *, length: bool = True) -> None:
        self.leave()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Receiver:
    """A running receiver: its base URL, what it does, and what it saw."""

    server: _Server
    behaviour: Behaviour
    release: threading.Event = field(default_factory=threading.Event)
    requests: list[Request] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def url(self, path: str = "/callback") -> str:
        return self.base_url + path

    def arrived(self, request: Request) -> None:
        with self.lock:
            self.requests.append(request)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def left(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def seen(self) -> list[Request]:
        with self.lock:
            return list(self.requests)

    def event_types(self) -> list[str]:
        return [r.form["EventType"] for r in self.seen()]


def answering(status: int, body: bytes = b"") -> Behaviour:
    return lambda handler, form: handler.answer(status, body)


NO_CONTENT = answering(204)


def hanging(handler: _Handler, form: dict[str, str]) -> None:
    """Answer nothing until the test ends (bounded, in case it never does)."""
    handler.server.receiver.release.wait(20)
    handler.answer(200, b"{}")


def slow(seconds: float, status: int = 204) -> Behaviour:
    def behave(handler: _Handler, form: dict[str, str]) -> None:
        time.sleep(seconds)
        handler.answer(status)

    return behave


def dripping_body(body: bytes, every: float) -> Behaviour:
    """Send the status and headers at once, then the body one byte every ``every`` seconds."""

    def behave(handler: _Handler, form: dict[str, str]) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        for byte in body:
            if handler.server.receiver.release.wait(every):
                return
            handler.wfile.write(bytes([byte]))

    return behave


def dripping_everything(body: bytes, every: float) -> Behaviour:
    """Send the whole answer, status line and headers included, one byte at a time."""

    def behave(handler: _Handler, form: dict[str, str]) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        handler.close_connection = True
        for byte in head.encode() + body:
            if handler.server.receiver.release.wait(every):
                return
            handler.wfile.write(bytes([byte]))

    return behave


ReceiverFactory = Callable[..., Receiver]


@pytest.fixture
def make_receiver() -> Iterator[ReceiverFactory]:
    running: list[tuple[Receiver, threading.Thread]] = []

    def start(behaviour: Behaviour = NO_CONTENT, *, port: int = 0) -> Receiver:
        server = _Server(("127.0.0.1", port), _Handler)
        receiver = Receiver(server, behaviour)
        server.receiver = receiver
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        running.append((receiver, thread))
        return receiver

    yield start
    for receiver, thread in running:
        receiver.release.set()
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join(timeout=5)


def free_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- the sandbox ------------------------------------------------------------------------------

SandboxFactory = Callable[..., Sandbox]


@pytest.fixture
def make_sandbox() -> Iterator[SandboxFactory]:
    started: list[Sandbox] = []

    def start(
        *,
        assignment_timeout: float = 1.0,
        event_timeout: float = 1.0,
        event_retry_delay: float = 0.0,
    ) -> Sandbox:
        sandbox = Sandbox(
            clock=ManualClock(), seed=0, auth_token=TOKEN, assignment_timeout=assignment_timeout
        )
        sandbox.callbacks.event_timeout = event_timeout
        sandbox.callbacks.event_retry_delay = event_retry_delay
        started.append(sandbox.start())
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


@dataclass
class Setup:
    """A workspace provisioned over REST, with one workflow per assignment URL."""

    client: TaskRouterClient
    workspace_sid: str
    workflows: list[str]

    def create_task(self, workflow: int = 0) -> str:
        task = self.client.tasks.create(
            workflow_sid=self.workflows[workflow], attributes={"type": "ticket"}
        )
        return task.sid

    def status(self, task_sid: str) -> str | None:
        return self.client.tasks.fetch(task_sid).assignment_status


def provision(
    sandbox: Sandbox,
    *,
    event_url: str | None = None,
    assignment: Sequence[tuple[str, str | None]] = (),
    workers: int = 1,
) -> Setup:
    """A workspace, a queue for everyone, ``workers`` available workers, and workflows.

    ``assignment`` lists each workflow's (assignment URL, fallback URL).
    """
    root = sandbox.client()
    options = {"event_callback_url": event_url} if event_url else {}
    workspace = root.workspaces.create(friendly_name="Support", **options)
    client = root.for_workspace(workspace.sid)
    if not assignment and not workers:
        return Setup(client, workspace.sid, [])
    activities = {a.friendly_name or "": a.sid for a in client.activities.list()}
    queue = client.task_queues.create(friendly_name="Everyone", target_workers="1==1")
    workflows = []
    for main, fallback in assignment:
        options = {"assignment_callback_url": main}
        if fallback:
            options["fallback_assignment_callback_url"] = fallback
        workflow = client.workflows.create(
            friendly_name="Tickets",
            configuration=WorkflowConfiguration(default_filter=Target(queue=queue.sid)),
            **options,
        )
        workflows.append(workflow.sid)
    for number in range(workers):
        client.workers.create(friendly_name=f"agent{number}", activity_sid=activities["Available"])
    return Setup(client, workspace.sid, workflows)


def now() -> float:
    return time.monotonic()


def deliveries(sandbox: Sandbox, kind: str) -> list[Delivery]:
    return [d for d in list(sandbox.callbacks.deliveries) if d.kind == kind]


def wait_for(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll ``condition`` until it is truthy; return its value, or fail after ``timeout``."""
    end = now() + timeout
    while now() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"not true within {timeout} s")


def event_sids(sandbox: Sandbox, workspace_sid: str) -> list[str]:
    """The SIDs of a workspace's events, in the order the engine logged them."""
    events = sandbox.locked(lambda: list(sandbox.engine.events))
    return [event.sid for event in events if event.workspace_sid == workspace_sid]


def applied(sandbox: Sandbox, url: str) -> Delivery | None:
    found = [d for d in deliveries(sandbox, "assignment") if d.url == url]
    return next((d for d in found if d.outcome.startswith("applied")), None)


# -- 1. a deadline is for the whole answer ----------------------------------------------------


@pytest.mark.parametrize(
    "drip",
    [dripping_body(ACCEPT, every=0.1), dripping_everything(ACCEPT, every=0.1)],
    ids=["body", "status-line-and-headers"],
)
def test_an_answer_dripped_byte_by_byte_fails_at_the_deadline_and_the_fallback_is_asked(
    make_sandbox: SandboxFactory, make_receiver: ReceiverFactory, drip: Behaviour
) -> None:
    # Every byte comes well within any per-read timeout, but the whole answer would
    # take 2.3 s (body) or 8 s (everything): longer than the 1 s deadline.
    sandbox = make_sandbox(assignment_timeout=1.0)
    dripper, fallback = make_receiver(drip), make_receiver(answering(200, ACCEPT))
    setup = provision(sandbox, assignment=[(dripper.url(), fallback.url())])

    started = now()
    task_sid = setup.create_task()
    done = wait_for(lambda: applied(sandbox, fallback.url()))
    asked_fallback = fallback.seen()[0].at - started

    assert 1.0 <= asked_fallback < 1.0 + SLACK, asked_fallback
    first, second = deliveries(sandbox, "assignment")
    assert first.url == dripper.url() and first.outcome.startswith("failed: TimeoutError")
    assert "timed out" in first.outcome
    assert second is done and done.outcome == "applied accept"
    assert setup.status(task_sid) == "assigned"
    assert len(dripper.seen()) == 1


def test_an_answer_holding_nan_is_not_json_and_the_fallback_is_asked(
    make_sandbox: SandboxFactory, make_receiver: ReceiverFactory
) -> None:
    """Python's json writes ``NaN`` by default; Twilio reads no such JSON, nor does the sandbox."""
    sandbox = make_sandbox()
    nan = make_receiver(answering(200, b'{"instruction": "accept", "x": NaN}'))
    fallback = make_receiver(answering(200, ACCEPT))
    setup = provision(sandbox, assignment=[(nan.url(), fallback.url())])

    task_sid = setup.create_task()
    wait_for(lambda: applied(sandbox, fallback.url()))

    first, second = deliveries(sandbox, "assignment")
    assert (first.url, first.status, first.outcome) == (nan.url(), 200, "not JSON")
    assert (second.url, second.outcome) == (fallback.url(), "applied accept")
    assert setup.status(task_sid) == "assigned"


@pytest.mark.parametrize("with_length", [True, False], ids=["content-length", "until-close"])
def test_an_answer_over_the_size_cap_is_a_failed_answer(
    make_sandbox: SandboxFactory, make_receiver: ReceiverFactory, with_length: bool
) -> None:
    padding = "x" * MAX_ANSWER_BYTES
    huge = json.dumps({"instruction": "accept", "padding": padding}).encode()

    def too_big(handler: _Handler, form: dict[str, str]) -> None:
        handler.answer(200, huge, length=with_length)

    sandbox = make_sandbox()
    big, fallback = make_receiver(too_big), make_receiver(answering(200, ACCEPT))
    setup = provision(sandbox, assignment=[(big.url(), fallback.url())])

    task_sid = setup.create_task()
    wait_for(lambda: applied(sandbox, fallback.url()))

    first, second = deliveries(sandbox, "assignment")
    assert (first.url, first.status) == (big.url(), 200)
    assert first.outcome == f"failed: answer larger than {MAX_ANSWER_BYTES} bytes"
    assert (second.url, second.outcome) == (fallback.url(), "applied accept")
    assert setup.status(task_sid) == "assigned"


def test_an_event_answer_dripped_byte_by_byte_fails_at_the_event_deadline_once(
    make_sandbox: SandboxFactory, make_receiver: ReceiverFactory
) -> None:
    sandbox = make_sandbox(event_timeout=1.0)
    dripper = make_receiver(dripping_everything(b"{}", every=0.2))

    started = now()
    setup = provision(sandbox, event_url=dripper.url(), workers=0)
    first = wait_for(lambda: deliveries(sandbox, "event"))[0]
    took = now() - started

    assert took < 1.0 + SLACK, took
    logged = event_sids(sandbox, setup.workspace_sid)
    assert first.params["Sid"] == logged[0]
    assert first.outcome.startswith("failed: TimeoutError") and "timed out" in first.outcome
    # Not retried: the receiver got the request and may have acted on it.
    wait_for(lambda: len(dripper.seen()) >= 2)
    assert [r.form["Sid"] for r in dripper.seen()[:2]] == logged[:2]


# -- 2. slow assignment receivers delay only their own callbacks ------------------------------


def test_hanging_assignment_receivers_do_not_delay_another_workflows_assignment(
    make_sandbox: SandboxFactory, make_receiver: ReceiverFactory
) -> None:
    sandbox = make_sandbox(assignment_timeout=8.0)
    hanging_receivers = [make_receiver(hanging) for _ in range(5)]
    healthy = make_receiver(answering(200, ACCEPT))
    routes: list[tuple[str, str | None]] = [(r.url(), None) for r in hanging_receivers]
    setup = provision(sandbox, assignment=[*routes, (healthy.url(), None)], workers=11)

    # Two reservations for each hanging receiver: ten callbacks stuck in flight.
    for workflow in range(5):
        setup.create_task(workflow)
        setup.create_task(workflow)
    wait_for(lambda: sum(len(r.seen()) for r in hanging_receivers) == 10)

    started = now()
    task_sid = setup.create_task(5)
    wait_for(lambda: applied(sandbox, healthy.url()), timeout=5.0)
    took = now() - started

    assert took < 1.0, took
    assert setup.status(task_sid) == "assigned"
    assert all(r.in_flight == 2 for r in hanging_receivers)
    assert not sandbox.drain(0.05)  # the hanging ones are still pending


def test_a_fallback_on_a_healthy_receiver_is_not_held_behind_the_failed_one(
    make_sandbox: SandboxFactory, make_receiver: ReceiverFactory
) -> None:
    """A reservation whose main URL fails goes to the fallback's receiver at once."""
    sandbox = make_sandbox(assignment_timeout=1.0)
    stuck = make_receiver(hanging)
    fallback = make_receiver(answering(200, ACCEPT))
    setup = provision(sandbox, assignment=[(stuck.url(), fallback.url())], workers=12)

    started = now()
    tasks = [setup.create_task() for _ in range(12)]  # more than one receiver's share
    wait_for(lambda: all(setup.status(t) == "assigned" for t in tasks), timeout=8.0)
    took = now() - started

    # At most PER_RECEIVER (8) are asked at once, so twelve take two rounds of 1 s each,
    # and each fallback is asked as soon as its own main request failed.
    assert took < 2 * 1.0 + 2 * SLACK, took
    arrivals = sorted(request.at for request in stuck.seen())
    assert len(arrivals) == 12 and len(fallback.seen()) == 12
    assert arrivals[7] - arrivals[0] < 0.5 and arrivals[8] - arrivals[0] >= 0.9
    first_fallback = min(request.at for request in fallback.seen())
    assert first_fallback - arrivals[0] < 1.0 + SLACK


# -- 3. workspaces' events are independent, and ordered within a workspace --------------------


def test_a_hanging_event_receiver_does_not_delay_another_workspaces_events(
    make_sandbox: SandboxFactory, make_receiver: ReceiverFactory
) -> None:
    sandbox = make_sandbox(event_timeout=3.0)
    stuck, healthy = make_receiver(hanging), make_receiver()

    provision(sandbox, event_url=stuck.url(), workers=2)  # about ten events, 3 s each
    wait_for(lambda: stuck.seen())

    started = now()
    setup = provision(sandbox, event_url=healthy.url(), workers=0)
    logged = event_sids(sandbox, setup.workspace_sid)
    wait_for(lambda: len(healthy.seen()) == len(logged), timeout=5.0)
    took = now() - started

    assert took < 1.0, took
    assert [r.form["Sid"] for r in healthy.seen()] == logged
    # The stuck workspace still sends one at a time: its first event, nothing more yet.
    assert len(stuck.seen()) == 1 and stuck.most_in_flight == 1


def test_each_workspace_gets_its_events_one_at_a_time_in_the_engines_order(
    make_sandbox: SandboxFactory, make_receiver: ReceiverFactory
) -> None:
    sandbox = make_sandbox(event_timeout=5.0)
    receivers = [make_receiver(slow(0.05)) for _ in range(3)]
    workspaces = [provision(sandbox, event_url=r.url(), workers=2) for r in receivers]

    assert sandbox.drain(10.0)

    for receiver, setup in zip(receivers, workspaces, strict=True):
        logged = event_sids(sandbox, setup.workspace_sid)
        assert [r.form["Sid"] for r in receiver.seen()] == logged
        assert receiver.most_in_flight == 1
        for request in receiver.seen():
            signed = compute_signature(receiver.url(), request.form, TOKEN)
            assert request.signature == signed
    # The workspaces' lines ran side by side: the whole took less than one after another.
    first = min(r.seen()[0].at for r in receivers)
    last = max(r.seen()[-1].at for r in receivers)
    one_after_another = sum(len(r.seen()) for r in receivers) * 0.05
    assert last - first < one_after_another


def test_a_deleted_workspace_leaves_no_line_behind(
    make_sandbox: SandboxFactory, make_receiver: ReceiverFactory
) -> None:
    sandbox = make_sandbox()
    receiver = make_receiver()
    setups = [provision(sandbox, event_url=receiver.url(), workers=0) for _ in range(5)]
    for setup in setups:
        sandbox.client().workspaces.delete(setup.workspace_sid)

    assert sandbox.drain(5.0)

    assert receiver.event_types().count("workspace.deleted") == 5
    sender = sandbox.callbacks
    assert not sender._targets
    wait_for(lambda: not sender._events._running and not sender._assignments._running, 2.0)
    assert not sender._events._waiting and not sender._assignments._waiting


# -- 4. retries of event callbacks ------------------------------------------------------------


def test_an_event_callback_that_cannot_connect_is_retried_once(
    make_sandbox: SandboxFactory,
) -> None:
    sandbox = make_sandbox(event_timeout=2.0)
    dead = f"http://127.0.0.1:{free_port()}/events"

    setup = provision(sandbox, event_url=dead, workers=0)
    assert sandbox.drain(5.0)

    events = deliveries(sandbox, "event")
    # Every event, in the engine's order: two attempts, the same form both times.
    logged = event_sids(sandbox, setup.workspace_sid)
    assert [d.params["Sid"] for d in events] == [sid for sid in logged for _ in range(2)]
    for first, second in zip(events[::2], events[1::2], strict=True):
        assert first.params == second.params
        assert first.outcome.startswith("failed: ConnectionRefusedError")
        assert first.outcome.endswith("; retrying")
        assert second.outcome.startswith("failed: ConnectionRefusedError")
        assert not second.outcome.endswith("; retrying")


def test_a_receiver_back_before_the_retry_gets_the_event(
    make_sandbox: SandboxFactory, make_receiver: ReceiverFactory
) -> None:
    sandbox = make_sandbox(event_timeout=5.0, event_retry_delay=1.0)
    port = free_port()

    setup = provision(sandbox, event_url=f"http://127.0.0.1:{port}/events", workers=0)
    wait_for(lambda: deliveries(sandbox, "event"))
    receiver = make_receiver(port=port)  # up again within the retry delay
    assert sandbox.drain(5.0)

    logged = event_sids(sandbox, setup.workspace_sid)
    outcomes = [(d.params["Sid"], d.status, d.outcome) for d in deliveries(sandbox, "event")]
    assert outcomes[0][:2] == (logged[0], None) and outcomes[0][2].endswith("; retrying")
    assert outcomes[1:] == [(sid, 204, "delivered") for sid in logged]
    assert [r.form["Sid"] for r in receiver.seen()] == logged


@pytest.mark.parametrize("status", [500, 503, 404])
def test_an_event_callback_answered_with_an_error_status_is_not_retried(
    make_sandbox: SandboxFactory, make_receiver: ReceiverFactory, status: int
) -> None:
    sandbox = make_sandbox()
    failing = make_receiver(answering(status))

    provision(sandbox, event_url=failing.url(), workers=0)
    assert sandbox.drain(5.0)

    events = deliveries(sandbox, "event")
    assert events and all((d.status, d.outcome) == (status, "refused") for d in events)
    assert len(failing.seen()) == len(events)  # one request per event


def test_an_assignment_callback_that_cannot_connect_goes_to_the_fallback_without_retry(
    make_sandbox: SandboxFactory, make_receiver: ReceiverFactory
) -> None:
    sandbox = make_sandbox()
    dead = f"http://127.0.0.1:{free_port()}/assign"
    fallback = make_receiver(answering(200, ACCEPT))
    setup = provision(sandbox, assignment=[(dead, fallback.url())])

    task_sid = setup.create_task()
    assert sandbox.drain(5.0)

    tried = [(d.url, d.outcome.split(":")[0]) for d in deliveries(sandbox, "assignment")]
    assert tried == [(dead, "failed"), (fallback.url(), "applied accept")]
    assert setup.status(task_sid) == "assigned"


# -- 5. drain and close ------------------------------------------------------------------------


def test_drain_waits_for_a_slow_answer_and_reports_a_timeout(
    make_sandbox: SandboxFactory, make_receiver: ReceiverFactory
) -> None:
    sandbox = make_sandbox(assignment_timeout=3.0)
    receiver = make_receiver(slow(0.5, status=200))
    setup = provision(sandbox, assignment=[(receiver.url(), None)])

    task_sid = setup.create_task()
    assert not sandbox.drain(0.1)
    assert sandbox.drain(5.0)

    assert [d.outcome for d in deliveries(sandbox, "assignment")] == ["pending"]
    assert setup.status(task_sid) == "reserved"


def test_close_cuts_hanging_callbacks_short_and_drops_what_is_queued(
    make_sandbox: SandboxFactory, make_receiver: ReceiverFactory
) -> None:
    sandbox = make_sandbox(assignment_timeout=10.0, event_timeout=10.0)
    stuck = make_receiver(hanging)
    setup = provision(sandbox, event_url=stuck.url(), assignment=[(stuck.url(), None)])
    setup.create_task()
    wait_for(lambda: len(stuck.seen()) == 2)  # the first event and the assignment

    started = now()
    sandbox.stop()
    took = now() - started

    assert took < 1.0, took
    assert sandbox.drain(0)  # nothing is pending any more
    cut = {d.kind: d.outcome for d in sandbox.callbacks.deliveries}
    assert cut.keys() == {"event", "assignment"}
    assert all(outcome.startswith("failed") for outcome in cut.values())
    # Nothing queued went out after the stop.
    time.sleep(0.2)
    assert len(stuck.seen()) == 2
