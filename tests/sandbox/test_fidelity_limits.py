"""Three of Twilio's documented limits, held by the sandbox through the engine and over HTTP.

* Statistics refuse a ``StartDate`` more than 30 days back: HTTP 400, error 14241.
* The Events resource redacts the task attributes of events older than 43,200 minutes.
* A task moves from pending to reserved at most 1,000 times, then it is canceled.

Each test names, in its docstring, the page (and the words) it rests on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from taskrouter_flask.client import InvalidRequest, TaskRouterClient
from taskrouter_flask.models import Event
from taskrouter_flask.sandbox import Engine, InvalidArgument, ManualClock, statistics
from taskrouter_flask.sandbox.bounds import (
    EVENT_REDACTION_MINUTES,
    MAX_ASSIGNMENT_COUNT,
    STATISTICS_START_DAYS,
)
from taskrouter_flask.sandbox.errors import STATISTICS_START_DATE_TOO_OLD
from taskrouter_flask.sandbox.lifecycle import MAX_ASSIGNMENT_REASON
from taskrouter_flask.sandbox.render import REDACTED_TASK_ATTRIBUTES, Renderer
from taskrouter_flask.sandbox.server import Sandbox
from taskrouter_flask.sandbox.state import EventRecord, ReservationStatus, TaskRecord, TaskStatus
from taskrouter_flask.workflow import Filter, Target, WorkflowConfiguration

from .conftest import Workspace

ERROR_14241 = "https://www.twilio.com/docs/api/errors/14241"
EVENT_PAGE = "https://www.twilio.com/docs/taskrouter/api/event"
LIMITS_PAGE = "https://www.twilio.com/docs/taskrouter/limits"

PENDING = ReservationStatus.PENDING
THIRTY_DAYS = timedelta(days=STATISTICS_START_DAYS)
REDACTION_AGE = timedelta(minutes=EVENT_REDACTION_MINUTES)


# -- statistics: StartDate at most 30 days back ------------------------------------------------


@dataclass(frozen=True)
class Sids:
    workspace: str
    workflow: str
    queue: str
    worker: str


def _sids(ws: Workspace) -> Sids:
    queue = ws.add_queue("support")
    workflow = ws.add_workflow(default="support")
    worker = ws.add_worker("alice")
    ws.task(attributes={"type": "ticket"})
    return Sids(ws.sid, workflow.sid, queue, worker.sid)


#: Every statistics function that takes a ``start_date``, by the REST operation it serves.
ENGINE_WINDOWS: dict[str, Callable[[Engine, Sids, Any], Any]] = {
    "FetchWorkspaceStatistics": lambda e, s, start: statistics.combined(
        e, statistics.WorkspaceScope(s.workspace), start_date=start
    ),
    "FetchWorkspaceCumulativeStatistics": lambda e, s, start: statistics.cumulative(
        e, statistics.WorkspaceScope(s.workspace), start_date=start
    ),
    "FetchWorkflowStatistics": lambda e, s, start: statistics.combined(
        e, statistics.WorkflowScope(s.workspace, s.workflow), start_date=start
    ),
    "FetchWorkflowCumulativeStatistics": lambda e, s, start: statistics.cumulative(
        e, statistics.WorkflowScope(s.workspace, s.workflow), start_date=start
    ),
    "FetchTaskQueueStatistics": lambda e, s, start: statistics.combined(
        e, statistics.TaskQueueScope(s.workspace, s.queue), start_date=start
    ),
    "FetchTaskQueueCumulativeStatistics": lambda e, s, start: statistics.cumulative(
        e, statistics.TaskQueueScope(s.workspace, s.queue), start_date=start
    ),
    "ListTaskQueuesStatistics": lambda e, s, start: statistics.task_queues_statistics(
        e, s.workspace, start_date=start
    ),
    "FetchWorkerStatistics": lambda e, s, start: statistics.combined(
        e, statistics.WorkersScope(s.workspace), start_date=start
    ),
    "FetchWorkersCumulativeStatistics": lambda e, s, start: statistics.cumulative(
        e, statistics.WorkersScope(s.workspace), start_date=start
    ),
    "FetchWorkerInstanceStatistics": lambda e, s, start: statistics.combined(
        e, statistics.WorkerScope(s.workspace, s.worker), start_date=start
    ),
}


@pytest.mark.parametrize("operation", sorted(ENGINE_WINDOWS))
def test_statistics_refuse_a_start_date_more_than_30_days_back(
    ws: Workspace, clock: ManualClock, operation: str
) -> None:
    """https://www.twilio.com/docs/api/errors/14241: "we will no longer return data older than
    30 days, and instead return a 400-response for requests with <start_date> older than 30
    days"; "Pass a <start_date> that is within 30 days"."""
    sids = _sids(ws)
    clock.advance(3600)
    compute = ENGINE_WINDOWS[operation]
    too_old = clock.now() - THIRTY_DAYS - timedelta(seconds=1)

    with pytest.raises(InvalidArgument) as refused:
        compute(ws.engine, sids, too_old)

    assert refused.value.code == STATISTICS_START_DATE_TOO_OLD == 14241
    assert refused.value.status == 400
    message = refused.value.message
    assert message.startswith("StartDate: ")
    assert "within the last 30 days" in message
    assert "older than 30 days" in message
    assert too_old.strftime("%Y-%m-%dT%H:%M:%SZ") in message
    # As an ISO 8601 string too, and the edge itself (exactly 30 days back) is accepted.
    with pytest.raises(InvalidArgument):
        compute(ws.engine, sids, too_old.isoformat())
    compute(ws.engine, sids, clock.now() - THIRTY_DAYS)


def test_the_queue_statistics_list_refuses_an_old_start_date_even_with_no_queue_to_list(
    ws: Workspace, clock: ManualClock
) -> None:
    """https://www.twilio.com/docs/api/errors/14241 ("a 400-response for requests with
    <start_date> older than 30 days"): the request is refused, whatever it would list."""
    ws.add_queue("support")
    too_old = clock.now() - THIRTY_DAYS - timedelta(minutes=1)

    with pytest.raises(InvalidArgument) as refused:
        statistics.task_queues_statistics(
            ws.engine, ws.sid, friendly_name="no such queue", start_date=too_old
        )

    assert refused.value.code == 14241


def test_a_minutes_window_reaching_past_30_days_is_still_answered(
    ws: Workspace, clock: ManualClock
) -> None:
    """https://www.twilio.com/docs/api/errors/14241 names only "<start_date> is older than 30
    days" as the cause, so ``Minutes`` (which the statistics pages describe only as "Only
    calculate statistics since this many minutes in the past") is not refused for it."""
    sids = _sids(ws)
    forty_days = 40 * 24 * 60

    figures = statistics.cumulative(
        ws.engine, statistics.WorkspaceScope(sids.workspace), minutes=forty_days
    )

    assert figures["tasks_created"] == 1
    expected = clock.now() - timedelta(minutes=forty_days)
    assert figures["start_time"] == expected.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- events: task attributes redacted after 43,200 minutes -------------------------------------


def _long_lived_workspace(engine: Engine) -> tuple[str, str]:
    """A workspace with a queue and a workflow (no worker): its SID and the workflow's."""
    workspace = engine.create_workspace(friendly_name="Archive").sid
    queue = engine.create_task_queue(workspace, friendly_name="support").sid
    configuration = WorkflowConfiguration(default_filter=Target(queue=queue))
    workflow = engine.create_workflow(
        workspace, friendly_name="Routing", configuration=configuration
    ).sid
    return workspace, workflow


def _task_created(engine: Engine, task_sid: str) -> EventRecord:
    (event,) = [
        e for e in engine.events if e.type == "task.created" and e.task and e.task.sid == task_sid
    ]
    return event


def test_events_older_than_43200_minutes_have_their_task_attributes_redacted() -> None:
    """https://www.twilio.com/docs/taskrouter/api/event: "Task Attributes for Events occuring
    more 43,200 minutes ago will be redacted" (``Minutes``) and "Task Attributes for Events
    older than 30 days will be redacted" (``StartDate``); the page also says "it keeps that data
    for 30 days", so only a sandbox that keeps events longer can show an event that old."""
    clock = ManualClock()
    engine = Engine(clock, retention=timedelta(days=60))
    workspace, workflow = _long_lived_workspace(engine)
    old = engine.create_task(workspace, workflow_sid=workflow, attributes={"secret": "old"})
    worker = engine.create_worker(workspace, friendly_name="Alice", attributes={"tier": "gold"})
    render = Renderer(engine, "http://sandbox.test")
    created = _task_created(engine, old.sid)

    clock.set(created.timestamp + REDACTION_AGE)  # exactly 43,200 minutes: not yet "more"
    assert json.loads(render.event(created)["event_data"]["task_attributes"]) == {"secret": "old"}

    clock.advance(1)
    fresh = engine.create_task(workspace, workflow_sid=workflow, attributes={"secret": "new"})
    data = render.event(created)["event_data"]
    assert data["task_attributes"] == REDACTED_TASK_ATTRIBUTES == "{}"
    assert data["task_sid"] == old.sid  # only the attributes go
    fresh_data = render.event(_task_created(engine, fresh.sid))["event_data"]
    assert json.loads(fresh_data["task_attributes"]) == {"secret": "new"}
    # Worker attributes are not task attributes: they stay.
    (worker_created,) = [e for e in engine.events if e.worker and e.worker.sid == worker.sid]
    assert "task_attributes" not in render.event(worker_created)["event_data"]
    # The stored event itself is not changed, only how the API shows it.
    assert created.task is not None and created.task.attributes == {"secret": "old"}


# -- max assignment count ----------------------------------------------------------------------


def test_every_move_from_pending_to_reserved_counts_rejections_and_timeouts_alike(
    ws: Workspace,
) -> None:
    """https://www.twilio.com/docs/taskrouter/limits, "Max Assignment Count": "Number of times a
    Task can move from status pending to reserved before being cancelled", 1,000. A timed-out
    reservation moves the task back to pending as a rejected one does ("Once reserved, a Task
    moves back to pending if the Reservation is rejected or reaches the Reservation Timeout",
    https://www.twilio.com/docs/taskrouter/lifecycle-task-state), so both count."""
    ws.add_queue("support")
    ws.add_workflow(default="support", task_reservation_timeout=5)
    ws.add_worker("alice")
    task = ws.task()
    mark = ws.mark()

    endings = 0
    while task.status is not TaskStatus.CANCELED and endings <= MAX_ASSIGNMENT_COUNT:
        reservation = ws.pending(task)
        if endings % 2:
            ws.engine.update_reservation(ws.sid, reservation.sid, reservation_status="rejected")
        else:
            ws.engine.advance(seconds=5)  # times out; alice goes to the timeout activity
            ws.set_activity("alice", "Available")
        endings += 1

    assert endings == MAX_ASSIGNMENT_COUNT == 1000
    assert task.status is TaskStatus.CANCELED
    assert task.reason == MAX_ASSIGNMENT_REASON
    events = ws.events_since(mark)
    created = [e for e in events if e.type == "reservation.created"]
    assert len(created) == MAX_ASSIGNMENT_COUNT - 1  # the first one came with the task
    timeouts = [e for e in events if e.type == "reservation.timeout"]
    rejections = [e for e in events if e.type == "reservation.rejected"]
    assert (len(timeouts), len(rejections)) == (500, 500)
    (canceled,) = [e for e in events if e.type == "task.canceled"]
    assert canceled.task is not None and canceled.task.canceled_reason == MAX_ASSIGNMENT_REASON
    assert events.index(canceled) > events.index(timeouts[-1])
    assert ws.reservations(task, PENDING) == []
    assert ws.is_free("alice")


def _status(task: TaskRecord) -> TaskStatus:
    """The task's status now (a call, so that type checkers do not keep an earlier one)."""
    return task.status


def test_simultaneous_reservations_are_one_move(ws: Workspace) -> None:
    """https://www.twilio.com/docs/taskrouter/limits, "Max Assignment Count": "In a
    multi-reservation setup, the simultaneous reservation of multiple workers equates to only
    a single Task state change from status pending to reserved"."""
    ws.add_queue("support", max_reserved_workers=2)
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    ws.add_worker("bob")
    task = ws.task()
    assert len(ws.reservations(task, PENDING)) == 2
    assert task.rejections == 1  # the record's counter of moves (see lifecycle's docstring)

    away = ws.activities["Unavailable"]
    first, second = ws.reservations(task, PENDING)
    ws.engine.update_reservation(
        ws.sid, first.sid, reservation_status="rejected", worker_activity_sid=away
    )
    assert task.status is TaskStatus.RESERVED and task.rejections == 1
    ws.engine.update_reservation(
        ws.sid, second.sid, reservation_status="rejected", worker_activity_sid=away
    )
    assert _status(task) is TaskStatus.PENDING and task.rejections == 1

    ws.set_activity("alice", "Available")  # reserved again: a second move
    ws.set_activity("bob", "Available")  # a second reservation while reserved: no move

    assert task.status is TaskStatus.RESERVED
    assert len(ws.reservations(task, PENDING)) == 2
    assert task.rejections == 2


def test_a_task_rerouted_at_the_limit_is_canceled_not_reserved_again(ws: Workspace) -> None:
    """https://www.twilio.com/docs/taskrouter/limits: a task moves from pending to reserved at
    most 1,000 times "before being cancelled". A step timeout cancels the pending reservation
    and moves the task to the next step at once; at the limit, the task is canceled there
    rather than reserved a 1,001st time."""
    first = ws.add_queue("first")
    second = ws.add_queue("second")
    ws.add_workflow(
        default="first",
        filters=[Filter("1==1", (Target(queue=first, timeout=60), Target(queue=second)))],
    )
    ws.add_worker("alice")
    task = ws.task()
    for _ in range(MAX_ASSIGNMENT_COUNT - 1):
        reservation = ws.pending(task)
        ws.engine.update_reservation(ws.sid, reservation.sid, reservation_status="rejected")
    assert task.status is TaskStatus.RESERVED
    assert task.rejections == MAX_ASSIGNMENT_COUNT
    mark = ws.mark()

    ws.engine.advance(seconds=60)

    assert _status(task) is TaskStatus.CANCELED
    assert task.reason == MAX_ASSIGNMENT_REASON
    assert ws.types_since(mark) == [
        "task-queue.timeout",
        "reservation.canceled",
        "workflow.target-matched",
        "task-queue.moved",
        "task.canceled",  # instead of a 1,001st reservation.created
    ]
    assert len(ws.engine.reservations_of_task(task.sid)) == MAX_ASSIGNMENT_COUNT


# -- over HTTP: our client and Twilio's helper library -----------------------------------------


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(clock=ManualClock(), seed=0, retention=timedelta(days=60)) as running:
        yield running


@dataclass(frozen=True)
class World:
    workspace: str
    available: str
    queue: str
    workflow: str
    worker: str


def _world(sandbox: Sandbox) -> World:
    with sandbox.client(backoff_factor=0.01) as root:
        workspace = root.workspaces.create(friendly_name="Limits").sid
    with sandbox.client(workspace, backoff_factor=0.01) as c:
        activities = {a.friendly_name: a.sid for a in c.activities.list()}
        queue = c.task_queues.create(friendly_name="Support", target_workers="1==1").sid
        configuration = WorkflowConfiguration(default_filter=Target(queue=queue))
        workflow = c.workflows.create(
            friendly_name="Routing", configuration=configuration, task_reservation_timeout=30
        ).sid
        worker = c.workers.create(friendly_name="Alice", activity_sid=activities["Offline"]).sid
    return World(workspace, activities["Available"], queue, workflow, worker)


@pytest.fixture
def world(sandbox: Sandbox) -> World:
    return _world(sandbox)


@pytest.fixture
def client(sandbox: Sandbox, world: World) -> Iterator[TaskRouterClient]:
    with sandbox.client(world.workspace, backoff_factor=0.01, timeout=10) as c:
        yield c


#: Every client method whose request takes ``StartDate``, by the REST operation.
CLIENT_WINDOWS: dict[str, Callable[[TaskRouterClient, World, datetime], object]] = {
    "FetchWorkspaceStatistics": lambda c, w, start: c.workspace_statistics(start_date=start),
    "FetchWorkspaceCumulativeStatistics": lambda c, w, start: c.workspace_cumulative_statistics(
        start_date=start
    ),
    "FetchWorkflowStatistics": lambda c, w, start: c.workflows.statistics(
        w.workflow, start_date=start
    ),
    "FetchWorkflowCumulativeStatistics": lambda c, w, start: c.workflows.cumulative_statistics(
        w.workflow, start_date=start
    ),
    "FetchTaskQueueStatistics": lambda c, w, start: c.task_queues.statistics(
        w.queue, start_date=start
    ),
    "FetchTaskQueueCumulativeStatistics": lambda c, w, start: c.task_queues.cumulative_statistics(
        w.queue, start_date=start
    ),
    "ListTaskQueuesStatistics": lambda c, w, start: list(
        c.task_queues.statistics_of_all(start_date=start)
    ),
    "FetchWorkerStatistics": lambda c, w, start: c.workers.statistics_of_all(start_date=start),
    "FetchWorkersCumulativeStatistics": lambda c, w, start: c.workers.cumulative_statistics_of_all(
        start_date=start
    ),
    "FetchWorkerInstanceStatistics": lambda c, w, start: c.workers.statistics(
        w.worker, start_date=start
    ),
}


def test_every_statistics_endpoint_answers_400_and_14241_over_http(
    sandbox: Sandbox, world: World, client: TaskRouterClient
) -> None:
    """https://www.twilio.com/docs/api/errors/14241: "return a 400-response for requests with
    <start_date> older than 30 days", error 14241, on every statistics resource taking
    ``StartDate`` (https://www.twilio.com/docs/taskrouter/api/workspace-statistics and the
    workflow, task queue and worker statistics pages)."""
    assert sorted(CLIENT_WINDOWS) == sorted(ENGINE_WINDOWS)
    sandbox.advance(3600)
    now = sandbox.clock.now()
    for operation, call in CLIENT_WINDOWS.items():
        with pytest.raises(InvalidRequest) as refused:
            call(client, world, now - THIRTY_DAYS - timedelta(seconds=1))
        assert (refused.value.status, refused.value.code) == (400, 14241), operation
        assert "StartDate" in str(refused.value), operation
        assert refused.value.more_info is not None and "14241" in refused.value.more_info
        call(client, world, now - THIRTY_DAYS)  # 30 days back exactly: answered


def test_the_events_api_redacts_old_task_attributes_over_http(
    sandbox: Sandbox, world: World, client: TaskRouterClient
) -> None:
    """https://www.twilio.com/docs/taskrouter/api/event: "Task Attributes for Events occuring
    more 43,200 minutes ago will be redacted"; in the list (by ``Minutes`` or ``StartDate``)
    and in a fetch by SID alike."""
    old = client.tasks.create(workflow_sid=world.workflow, attributes={"secret": "old"}).sid
    sandbox.advance(EVENT_REDACTION_MINUTES * 60 + 60)
    fresh = client.tasks.create(workflow_sid=world.workflow, attributes={"secret": "new"}).sid
    forty_days = 40 * 24 * 60

    events = list(client.events.list(minutes=forty_days, event_type="task.created"))
    by_task = {_data(e)["task_sid"]: e for e in events}
    old_event, fresh_event = by_task[old], by_task[fresh]
    assert _data(old_event)["task_attributes"] == "{}"
    assert json.loads(_data(fresh_event)["task_attributes"]) == {"secret": "new"}
    since = sandbox.clock.now() - timedelta(days=40)
    (listed,) = client.events.list(start_date=since, task_sid=old, event_type="task.created")
    assert _data(listed)["task_attributes"] == "{}"
    assert old_event.sid is not None
    assert _data(client.events.fetch(old_event.sid))["task_attributes"] == "{}"
    # The task itself keeps its attributes: only old events are redacted.
    assert client.tasks.fetch(old).attributes == {"secret": "old"}


def _data(event: Event) -> dict[str, Any]:
    """The ``event_data`` of an Events resource read by our client."""
    data = event.raw["event_data"]
    assert isinstance(data, dict)
    return data


def test_the_thousandth_move_cancels_the_task_over_http(
    sandbox: Sandbox, world: World, client: TaskRouterClient
) -> None:
    """https://www.twilio.com/docs/taskrouter/limits, "Max Assignment Count", 1,000: "Number of
    times a Task can move from status pending to reserved before being cancelled". The first
    move ends in a timeout over the clock, the last in a rejection over HTTP; the ones in
    between are rejected through the engine, under the server's lock, to keep the test quick."""
    client.workers.update(world.worker, activity_sid=world.available)
    task = client.tasks.create(workflow_sid=world.workflow, attributes={"type": "ticket"}).sid
    sandbox.advance(30)  # the first reservation times out; Alice goes to the timeout activity
    client.workers.update(world.worker, activity_sid=world.available)
    engine = sandbox.engine

    def reject_pending() -> None:
        (reservation,) = [
            r for r in engine.reservations_of_task(task) if r.status is ReservationStatus.PENDING
        ]
        engine.update_reservation(world.workspace, reservation.sid, reservation_status="rejected")

    for _ in range(MAX_ASSIGNMENT_COUNT - 2):
        sandbox.locked(reject_pending)
    (last,) = client.tasks.reservations(task).list(reservation_status="pending")
    assert client.tasks.fetch(task).assignment_status == "reserved"

    client.tasks.reservations(task).update(last.sid, reservation_status="rejected")

    fetched = client.tasks.fetch(task)
    assert fetched.assignment_status == "canceled"
    assert fetched.reason == MAX_ASSIGNMENT_REASON
    (canceled,) = client.events.list(task_sid=task, event_type="task.canceled")
    assert _data(canceled)["task_canceled_reason"] == MAX_ASSIGNMENT_REASON
    assert len(list(client.tasks.reservations(task).list(page_size=1000))) == MAX_ASSIGNMENT_COUNT


# -- Twilio's helper library -------------------------------------------------------------------


@pytest.fixture
def twilio(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Twilio's ``Client``, its TaskRouter domain pointed at the sandbox (as in
    ``test_twilio_library.py``)."""
    twilio_rest = pytest.importorskip("twilio.rest")
    for name in ("TWILIO_EDGE", "TWILIO_REGION"):
        monkeypatch.delenv(name, raising=False)
    library = twilio_rest.Client(sandbox.account_sid, sandbox.auth_token)
    library.taskrouter.base_url = sandbox.base_url
    yield library
    session = getattr(library.http_client, "session", None)
    if session is not None:
        session.close()


def test_twilios_library_gets_14241_from_every_statistics_endpoint(
    sandbox: Sandbox, world: World, twilio: Any
) -> None:
    """https://www.twilio.com/docs/api/errors/14241: a 400 with code 14241 "for requests with
    <start_date> older than 30 days", as Twilio's own library sees it."""
    exceptions = pytest.importorskip("twilio.base.exceptions")
    ws = twilio.taskrouter.v1.workspaces(world.workspace)
    calls: list[Callable[[datetime], object]] = [
        lambda start: ws.statistics().fetch(start_date=start),
        lambda start: ws.cumulative_statistics().fetch(start_date=start),
        lambda start: ws.workflows(world.workflow).statistics().fetch(start_date=start),
        lambda start: ws.workflows(world.workflow).cumulative_statistics().fetch(start_date=start),
        lambda start: ws.task_queues(world.queue).statistics().fetch(start_date=start),
        lambda start: ws.task_queues(world.queue).cumulative_statistics().fetch(start_date=start),
        lambda start: ws.workers.statistics().fetch(start_date=start),
        lambda start: ws.workers.cumulative_statistics().fetch(start_date=start),
        lambda start: ws.workers(world.worker).statistics().fetch(start_date=start),
    ]
    now = sandbox.clock.now()
    for index, call in enumerate(calls):
        with pytest.raises(exceptions.TwilioRestException) as refused:
            call(now - THIRTY_DAYS - timedelta(minutes=1))
        assert (refused.value.status, refused.value.code) == (400, 14241), index
        call(now - timedelta(days=1))
    # A list's page error reaches the caller as the library's bare TwilioException, with the
    # HTTP answer beside the message.
    with pytest.raises(exceptions.TwilioException) as page_refused:
        ws.task_queues.statistics.list(start_date=now - THIRTY_DAYS - timedelta(minutes=1))
    answer = page_refused.value.args[1]
    assert answer.status_code == 400
    assert json.loads(answer.text)["code"] == 14241
    ws.task_queues.statistics.list(start_date=now - timedelta(days=1))


def test_twilios_library_reads_redacted_task_attributes_and_the_cancel_reason(
    sandbox: Sandbox, world: World, client: TaskRouterClient, twilio: Any
) -> None:
    """https://www.twilio.com/docs/taskrouter/api/event ("Task Attributes for Events occuring
    more 43,200 minutes ago will be redacted") and https://www.twilio.com/docs/taskrouter/limits
    ("Max Assignment Count" 1,000: a task canceled after its 1,000th move to reserved)."""
    old = client.tasks.create(workflow_sid=world.workflow, attributes={"secret": "old"}).sid
    sandbox.advance(EVENT_REDACTION_MINUTES * 60 + 1)
    ws = twilio.taskrouter.v1.workspaces(world.workspace)

    events = ws.events.list(task_sid=old, event_type="task.created", minutes=50_000)

    (event,) = events
    assert event.event_data["task_attributes"] == "{}"
    assert event.event_data["task_sid"] == old

    client.workers.update(world.worker, activity_sid=world.available)
    task = client.tasks.create(workflow_sid=world.workflow).sid
    engine = sandbox.engine

    def reject_pending() -> None:
        (reservation,) = [
            r for r in engine.reservations_of_task(task) if r.status is ReservationStatus.PENDING
        ]
        engine.update_reservation(world.workspace, reservation.sid, reservation_status="rejected")

    for _ in range(MAX_ASSIGNMENT_COUNT - 1):
        sandbox.locked(reject_pending)
    (pending,) = ws.tasks(task).reservations.list(reservation_status="pending")
    ws.tasks(task).reservations(pending.sid).update(reservation_status="rejected")

    fetched = ws.tasks(task).fetch()
    assert fetched.assignment_status == "canceled"
    assert fetched.reason == MAX_ASSIGNMENT_REASON
