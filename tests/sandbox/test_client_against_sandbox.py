"""Our REST client against the sandbox: every public method, real SIDs, real HTTP.

``tests/client/test_operations.py`` holds each method against a scripted
fake; here the same methods talk to a running sandbox, on a world the client
built itself, so a request the server would refuse, or an answer the models
cannot parse, fails here. The table of calls is keyed by operation name and
must cover every name in :data:`~taskrouter_flask.client.OPERATIONS`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from taskrouter_flask.client import (
    OPERATIONS,
    ApiError,
    AuthenticationError,
    InvalidRequest,
    NotFound,
    Page,
    PreconditionFailed,
    TaskRouterClient,
)
from taskrouter_flask.models import Reservation, Statistics, Task, Worker
from taskrouter_flask.sandbox.server import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, Sandbox

from .world import MISSING, NOWHERE, World, build_world, running_sandbox
from .world import workflow_configuration as _configuration


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox for the module (each test builds its own workspace in it)."""
    yield from running_sandbox()


class ClientMaker:
    """Builds the world through our client's methods."""

    _COLLECTIONS = {
        "Activities": "activities",
        "TaskChannels": "task_channels",
        "TaskQueues": "task_queues",
        "Workflows": "workflows",
        "Workers": "workers",
        "Tasks": "tasks",
    }

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.client: TaskRouterClient | None = None

    def workspace(self, friendly_name: str) -> str:
        with self.sandbox.client(backoff_factor=0.01) as root:
            sid: str = root.workspaces.create(friendly_name=friendly_name).sid
        self.client = self.sandbox.client(sid, backoff_factor=0.01)
        return sid

    @property
    def c(self) -> TaskRouterClient:
        assert self.client is not None, "workspace() first"
        return self.client

    def create(self, collection: str, **fields: Any) -> str:
        sid: str = getattr(self.c, self._COLLECTIONS[collection]).create(**fields).sid
        return sid

    def activities(self) -> Mapping[str, str]:
        return {a.friendly_name: a.sid for a in self.c.activities.list()}

    def reservation(self, task: str) -> tuple[str, str, str]:
        (reservation,) = self.c.tasks.reservations(task).list()
        return reservation.sid, reservation.reservation_status, reservation.worker_sid

    def default_channel(self, worker: str) -> str:
        channels = self.c.workers.channels(worker).list()
        (channel,) = [ch for ch in channels if ch.task_channel_unique_name == "default"]
        assert channel.sid is not None
        return channel.sid

    def first_event(self, event_type: str) -> str:
        event = next(iter(self.c.events.list(event_type=event_type)))
        assert event.sid is not None
        return event.sid


@pytest.fixture
def world(sandbox: Sandbox) -> Iterator[World]:
    maker = ClientMaker(sandbox)
    try:
        yield build_world(maker, "Client contract")
    finally:
        if maker.client is not None:
            maker.client.close()


@pytest.fixture
def client(sandbox: Sandbox, world: World) -> Iterator[TaskRouterClient]:
    with sandbox.client(world.workspace, backoff_factor=0.01, timeout=10) as c:
        yield c


# -- every public method of every operation -------------------------------------------------

Call = Callable[[TaskRouterClient, World], Any]


def _revision(c: TaskRouterClient, w: World, kind: str, sid: str) -> str:
    """The current ETag of a resource, read with a plain request (the models do not keep it)."""
    url = f"{c.base_url}/v1/Workspaces/{w.workspace}/{kind}/{sid}"
    response = requests.get(url, auth=(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN), timeout=10)
    return response.headers["ETag"]


CALLS: dict[str, tuple[Call, ...]] = {
    # workspaces
    "ListWorkspace": (
        lambda c, w: list(c.workspaces.list(friendly_name="Client contract")),
        lambda c, w: c.workspaces.page(friendly_name="Client contract", page_size=5),
    ),
    "CreateWorkspace": (
        lambda c, w: c.workspaces.create(
            friendly_name="Created", template="FIFO", multi_task_enabled=True
        ),
    ),
    "FetchWorkspace": (lambda c, w: c.workspaces.fetch(w.workspace),),
    "UpdateWorkspace": (
        lambda c, w: c.workspaces.update(
            w.workspace, friendly_name="Renamed", default_activity_sid=w.available
        ),
    ),
    "DeleteWorkspace": (lambda c, w: c.workspaces.delete(w.workspace),),
    "FetchWorkspaceStatistics": (
        lambda c, w: c.workspace_statistics(minutes=60),
        lambda c, w: c.workspaces.statistics(w.workspace, split_by_wait_time="5,30"),
    ),
    "FetchWorkspaceRealTimeStatistics": (
        lambda c, w: c.workspace_real_time_statistics(task_channel="default"),
        lambda c, w: c.workspaces.real_time_statistics(w.workspace),
    ),
    "FetchWorkspaceCumulativeStatistics": (
        lambda c, w: c.workspace_cumulative_statistics(
            start_date=datetime(2025, 12, 31, 23, tzinfo=UTC),
            end_date=datetime(2026, 1, 1, tzinfo=UTC),
        ),
        lambda c, w: c.workspaces.cumulative_statistics(w.workspace, minutes=5),
    ),
    # activities
    "ListActivity": (
        lambda c, w: list(c.activities.list(available=True)),
        lambda c, w: c.activities.page(friendly_name="Break"),
    ),
    "CreateActivity": (lambda c, w: c.activities.create(friendly_name="Idle", available=True),),
    "FetchActivity": (lambda c, w: c.activities.fetch(w.spare_activity),),
    "UpdateActivity": (lambda c, w: c.activities.update(w.spare_activity, friendly_name="Away"),),
    "DeleteActivity": (lambda c, w: c.activities.delete(w.spare_activity),),
    # events
    "ListEvent": (
        lambda c, w: list(c.events.list(event_type="reservation.created", minutes=60)),
        lambda c, w: c.events.page(task_sid=w.task),
    ),
    "FetchEvent": (lambda c, w: c.events.fetch(w.event),),
    # task channels
    "ListTaskChannel": (
        lambda c, w: list(c.task_channels.list()),
        lambda c, w: c.task_channels.page(page_size=2),
    ),
    "CreateTaskChannel": (
        lambda c, w: c.task_channels.create(
            friendly_name="Fax", unique_name="fax", channel_optimized_routing=True
        ),
    ),
    "FetchTaskChannel": (
        lambda c, w: c.task_channels.fetch(w.channel),
        lambda c, w: c.task_channels.fetch("support-chat"),
    ),
    "UpdateTaskChannel": (
        lambda c, w: c.task_channels.update(w.channel, channel_optimized_routing=False),
    ),
    "DeleteTaskChannel": (lambda c, w: c.task_channels.delete(w.channel),),
    # task queues
    "ListTaskQueue": (
        lambda c, w: list(c.task_queues.list(friendly_name="Support")),
        lambda c, w: c.task_queues.page(worker_sid=w.worker),
    ),
    "CreateTaskQueue": (
        lambda c, w: c.task_queues.create(
            friendly_name="Gold",
            target_workers="tier == 'gold'",
            max_reserved_workers=2,
            reservation_activity_sid=w.unavailable,
        ),
    ),
    "FetchTaskQueue": (lambda c, w: c.task_queues.fetch(w.queue),),
    "UpdateTaskQueue": (lambda c, w: c.task_queues.update(w.spare_queue, task_order="LIFO"),),
    "DeleteTaskQueue": (lambda c, w: c.task_queues.delete(w.spare_queue),),
    "FetchTaskQueueStatistics": (lambda c, w: c.task_queues.statistics(w.queue, minutes=60),),
    "FetchTaskQueueRealTimeStatistics": (
        lambda c, w: c.task_queues.real_time_statistics(w.queue, task_channel="default"),
    ),
    "FetchTaskQueueCumulativeStatistics": (
        lambda c, w: c.task_queues.cumulative_statistics(w.queue, minutes=5),
    ),
    "ListTaskQueuesStatistics": (
        lambda c, w: list(c.task_queues.statistics_of_all()),
        lambda c, w: list(c.task_queues.statistics_of_all(friendly_name="Support", limit=1)),
    ),
    "CreateTaskQueueBulkRealTimeStatistics": (
        lambda c, w: c.task_queues.real_time_statistics_of_many(
            task_queue_sids=[w.queue, w.spare_queue]
        ),
    ),
    # workflows
    "ListWorkflow": (
        lambda c, w: list(c.workflows.list()),
        lambda c, w: c.workflows.page(friendly_name="Routing"),
    ),
    "CreateWorkflow": (
        lambda c, w: c.workflows.create(
            friendly_name="Tickets",
            configuration={"task_routing": {"filters": [], "default_filter": {"queue": w.queue}}},
            assignment_callback_url=NOWHERE,
            task_reservation_timeout=120,
        ),
    ),
    "FetchWorkflow": (lambda c, w: c.workflows.fetch(w.workflow),),
    "UpdateWorkflow": (
        lambda c, w: c.workflows.update(
            w.spare_workflow,
            configuration=_configuration(w.queue, "priority > 1"),
            re_evaluate_tasks="true",
        ),
    ),
    "DeleteWorkflow": (lambda c, w: c.workflows.delete(w.spare_workflow),),
    "FetchWorkflowStatistics": (lambda c, w: c.workflows.statistics(w.workflow),),
    "FetchWorkflowRealTimeStatistics": (lambda c, w: c.workflows.real_time_statistics(w.workflow),),
    "FetchWorkflowCumulativeStatistics": (
        lambda c, w: c.workflows.cumulative_statistics(w.workflow, minutes=60),
    ),
    # tasks and their reservations
    "ListTask": (
        lambda c, w: list(c.tasks.list(assignment_status="reserved")),
        lambda c, w: c.tasks.page(workflow_sid=w.workflow, ordering="Priority:desc"),
    ),
    "CreateTask": (
        lambda c, w: c.tasks.create(
            workflow_sid=w.workflow, attributes={"type": "ticket"}, priority=5, timeout=3600
        ),
    ),
    "FetchTask": (lambda c, w: c.tasks.fetch(w.task),),
    "UpdateTask": (
        lambda c, w: c.tasks.update(
            w.task,
            assignment_status="canceled",
            reason="duplicate",
            if_match=_revision(c, w, "Tasks", w.task),
        ),
    ),
    "DeleteTask": (lambda c, w: c.tasks.delete(w.task),),
    "ListTaskReservation": (
        lambda c, w: list(c.tasks.reservations(w.task).list(reservation_status="pending")),
        lambda c, w: c.tasks.reservations(w.task).page(worker_sid=w.worker),
    ),
    "FetchTaskReservation": (lambda c, w: c.tasks.reservations(w.task).fetch(w.reservation),),
    "UpdateTaskReservation": (
        lambda c, w: c.tasks.reservations(w.task).update(
            w.reservation, reservation_status="accepted"
        ),
    ),
    # workers, their channels, reservations and statistics
    "ListWorker": (
        lambda c, w: list(c.workers.list(target_workers_expression="tier == 'gold'")),
        lambda c, w: c.workers.page(activity_name="Offline"),
    ),
    "CreateWorker": (
        lambda c, w: c.workers.create(friendly_name="Carol", attributes={"tier": "gold"}),
    ),
    "FetchWorker": (lambda c, w: c.workers.fetch(w.worker),),
    "UpdateWorker": (
        lambda c, w: c.workers.update(
            w.spare_worker, activity_sid=w.available, reject_pending_reservations=True
        ),
        lambda c, w: c.workers.update(
            w.spare_worker,
            attributes={"tier": "silver"},
            if_match=_revision(c, w, "Workers", w.spare_worker),
        ),
    ),
    "DeleteWorker": (
        lambda c, w: c.workers.delete(
            w.spare_worker, if_match=_revision(c, w, "Workers", w.spare_worker)
        ),
    ),
    "ListWorkerChannel": (
        lambda c, w: list(c.workers.channels(w.worker).list()),
        lambda c, w: c.workers.channels(w.worker).page(page_size=3),
    ),
    "FetchWorkerChannel": (
        lambda c, w: c.workers.channels(w.worker).fetch(w.worker_channel),
        lambda c, w: c.workers.channels(w.worker).fetch("voice"),
    ),
    "UpdateWorkerChannel": (
        lambda c, w: c.workers.channels(w.worker).update(
            w.worker_channel, capacity=3, available=True
        ),
    ),
    "ListWorkerReservation": (
        lambda c, w: list(c.workers.reservations(w.worker).list()),
        lambda c, w: c.workers.reservations(w.worker).page(reservation_status="pending"),
    ),
    "FetchWorkerReservation": (lambda c, w: c.workers.reservations(w.worker).fetch(w.reservation),),
    "UpdateWorkerReservation": (
        lambda c, w: c.workers.reservations(w.worker).update(
            w.reservation, instruction="dequeue", dequeue_from="+15005550006"
        ),
    ),
    "FetchWorkerStatistics": (lambda c, w: c.workers.statistics_of_all(minutes=10),),
    "FetchWorkersRealTimeStatistics": (lambda c, w: c.workers.real_time_statistics_of_all(),),
    "FetchWorkersCumulativeStatistics": (lambda c, w: c.workers.cumulative_statistics_of_all(),),
    "FetchWorkerInstanceStatistics": (lambda c, w: c.workers.statistics(w.worker, minutes=60),),
}

CALL_IDS = [(name, index) for name in sorted(CALLS) for index in range(len(CALLS[name]))]


def test_the_table_covers_every_operation() -> None:
    assert set(CALLS) == set(OPERATIONS)
    assert len(CALLS) == 61
    for name, operation in OPERATIONS.items():
        if operation.paged and name != "ListTaskQueuesStatistics":
            assert len(CALLS[name]) >= 2, f"{name}: call both list() and page()"


def _check_model(name: str, item: Any) -> None:
    model = OPERATIONS[name].model
    assert model is not None
    assert isinstance(item, model), (name, type(item))
    assert getattr(item, "raw", None), name
    for f in dataclasses.fields(model):
        value = getattr(item, f.name)
        if isinstance(value, datetime):
            assert value.tzinfo is not None, (name, f.name)
        if f.name == "url" and value is not None:
            assert value.startswith("http://127.0.0.1:"), (name, value)


@pytest.mark.parametrize(("name", "index"), CALL_IDS, ids=[f"{n}-{i}" for n, i in CALL_IDS])
def test_every_method_returns_its_model(
    client: TaskRouterClient, world: World, name: str, index: int
) -> None:
    result = CALLS[name][index](client, world)
    operation = OPERATIONS[name]
    if operation.model is None:
        assert result is None
        return
    if operation.paged:
        items = result.items if isinstance(result, Page) else result
        assert isinstance(items, list) and items, f"{name}: nothing listed, nothing checked"
    else:
        items = [result]
    for item in items:
        _check_model(name, item)


def test_answers_reflect_the_world(client: TaskRouterClient, world: World) -> None:
    task = client.tasks.fetch(world.task)
    assert isinstance(task, Task)
    assert task.attributes == {"type": "ticket"}
    assert task.assignment_status == "reserved"
    assert task.workflow_sid == world.workflow and task.task_queue_sid == world.queue
    worker = client.workers.fetch(world.worker)
    assert isinstance(worker, Worker)
    assert worker.attributes == {"skills": ["support"], "tier": "gold"}
    assert worker.activity_name == "Available" and worker.available is True
    reservation = client.workers.reservations(world.worker).fetch(world.reservation)
    assert isinstance(reservation, Reservation)
    assert (reservation.task_sid, reservation.worker_sid) == (world.task, world.worker)
    accepted = client.tasks.reservations(world.task).update(
        world.reservation, reservation_status="accepted"
    )
    assert accepted.reservation_status == "accepted"
    assert client.tasks.fetch(world.task).assignment_status == "assigned"
    stats = client.task_queues.real_time_statistics(world.queue)
    assert isinstance(stats, Statistics)
    assert stats.tasks_by_status is not None and stats.tasks_by_status["assigned"] == 1
    bulk = client.task_queues.real_time_statistics_of_many(task_queue_sids=[world.queue])
    assert bulk.task_queue_response_count == 1


def test_deleted_resources_are_gone(client: TaskRouterClient, world: World) -> None:
    client.workers.delete(world.spare_worker)
    with pytest.raises(NotFound):
        client.workers.fetch(world.spare_worker)
    client.tasks.delete(world.task)
    with pytest.raises(NotFound):
        client.tasks.reservations(world.task).fetch(world.reservation)


# -- pagination -----------------------------------------------------------------------------


class CountingSession(requests.Session):
    """A session that records the method and URL of every request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        self.sent.append(f"{method!s} {url!s}")
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def five_workers(
    sandbox: Sandbox,
) -> Iterator[tuple[TaskRouterClient, CountingSession, list[str]]]:
    """A client (with a counting session) on a workspace of exactly five workers."""
    with sandbox.client() as root:
        workspace = root.workspaces.create(friendly_name="Five").sid
    session = CountingSession()
    with sandbox.client(workspace, session=session, timeout=10) as client:
        sids = [client.workers.create(friendly_name=f"W{i}").sid for i in range(5)]
        session.sent.clear()
        yield client, session, sids


def test_list_follows_pages_lazily(
    five_workers: tuple[TaskRouterClient, CountingSession, list[str]],
) -> None:
    client, session, sids = five_workers
    iterator = client.workers.list(page_size=2)
    assert session.sent == [], "list() must not send anything before iteration"
    listed = [worker.sid for worker in iterator]
    assert sorted(listed) == sorted(sids) and len(set(listed)) == 5
    assert len(session.sent) == 3  # pages of 2, 2, 1
    assert all(line.startswith("GET ") for line in session.sent)


@pytest.mark.parametrize(("limit", "pages"), [(0, 0), (1, 1), (2, 1), (3, 2), (5, 3), (9, 3)])
def test_limit_stops_early(
    five_workers: tuple[TaskRouterClient, CountingSession, list[str]], limit: int, pages: int
) -> None:
    client, session, sids = five_workers
    listed = list(client.workers.list(page_size=2, limit=limit))
    assert len(listed) == min(limit, 5)
    assert len({w.sid for w in listed}) == len(listed)
    assert len(session.sent) == pages


def test_page_and_next_page(
    five_workers: tuple[TaskRouterClient, CountingSession, list[str]],
) -> None:
    client, _, sids = five_workers
    page: Page[Worker] | None = client.workers.page(page_size=2)
    seen: list[str] = []
    sizes = []
    while page is not None:
        sizes.append(len(page.items))
        seen.extend(worker.sid for worker in page)
        page = page.next_page()
    assert sizes == [2, 2, 1]
    assert sorted(seen) == sorted(sids)


def test_filters_survive_pagination(
    five_workers: tuple[TaskRouterClient, CountingSession, list[str]],
) -> None:
    client, _, sids = five_workers
    for sid in sids[:3]:
        client.workers.update(sid, attributes={"team": "red"})
    red = [w.sid for w in client.workers.list(page_size=1, target_workers_expression="team=='red'")]
    assert sorted(red) == sorted(sids[:3])


# -- errors -----------------------------------------------------------------------------------


def _assert_api_error(error: ApiError, status: int, code: int | None) -> None:
    assert error.status == status
    assert error.code == code
    assert error.message
    assert error.more_info == f"https://www.twilio.com/docs/errors/{code}"
    assert error.url is not None and error.url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize(
    "call",
    [
        lambda c, w: c.workers.fetch("WK" + MISSING),
        lambda c, w: c.tasks.update("WT" + MISSING, priority=1),
        lambda c, w: c.activities.delete("WA" + MISSING),
        lambda c, w: c.tasks.reservations(w.task).fetch("WR" + MISSING),
        lambda c, w: c.task_queues.statistics("WQ" + MISSING),
        lambda c, w: c.for_workspace("WS" + MISSING).workers.fetch(w.worker),
        lambda c, w: list(c.for_workspace("WS" + MISSING).workers.list()),
        lambda c, w: c.workers.update(w.worker, activity_sid="WA" + MISSING),
    ],
    ids=[
        "fetch",
        "update",
        "delete",
        "nested",
        "statistics",
        "other-workspace",
        "list",
        "referenced-sid",
    ],
)
def test_an_unknown_sid_is_not_found(client: TaskRouterClient, world: World, call: Call) -> None:
    with pytest.raises(NotFound) as caught:
        call(client, world)
    _assert_api_error(caught.value, 404, 20404)


@pytest.mark.parametrize(
    "call",
    [
        lambda c, w: c.tasks.create(workflow_sid=w.workflow, priority=-1),
        lambda c, w: c.task_queues.create(friendly_name="x", target_workers="skills HAS"),
        lambda c, w: list(c.workers.list(target_workers_expression="tier ==")),
        lambda c, w: c.workers.channels(w.worker).update(w.worker_channel, capacity=51),
        lambda c, w: c.workers.create(friendly_name="Alice"),
        lambda c, w: c.workflows.create(friendly_name="x", configuration="{"),
        lambda c, w: c.workers.page(page_size=0),
        lambda c, w: c.tasks.update(w.task, assignment_status="completed"),
    ],
    ids=[
        "negative-priority",
        "bad-target-workers",
        "bad-list-expression",
        "capacity",
        "duplicate-name",
        "bad-configuration",
        "page-size",
        "transition",
    ],
)
def test_a_bad_parameter_is_invalid_request(
    client: TaskRouterClient, world: World, call: Call
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        call(client, world)
    _assert_api_error(caught.value, 400, 20001)


def test_an_invalid_instruction_is_invalid_request_40001(
    client: TaskRouterClient, world: World
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        client.tasks.reservations(world.task).update(world.reservation, instruction="call")
    _assert_api_error(caught.value, 400, 40001)


Act = Callable[[TaskRouterClient, World, str], Any]


@pytest.mark.parametrize(
    ("kind", "target", "act"),
    [
        (
            "Workers",
            "worker",
            lambda c, w, tag: c.workers.update(w.worker, friendly_name="A", if_match=tag),
        ),
        (
            "Workers",
            "spare_worker",
            lambda c, w, tag: c.workers.delete(w.spare_worker, if_match=tag),
        ),
        ("Tasks", "task", lambda c, w, tag: c.tasks.update(w.task, priority=3, if_match=tag)),
        ("Tasks", "task", lambda c, w, tag: c.tasks.delete(w.task, if_match=tag)),
    ],
    ids=["update-worker", "delete-worker", "update-task", "delete-task"],
)
def test_a_stale_if_match_is_precondition_failed(
    client: TaskRouterClient, world: World, kind: str, target: str, act: Act
) -> None:
    sid = getattr(world, target)
    stale = _revision(client, world, kind, sid)
    resource = client.workers if kind == "Workers" else client.tasks
    resource.update(sid, attributes={"type": "ticket", "changed": True})
    assert _revision(client, world, kind, sid) != stale
    with pytest.raises(PreconditionFailed) as caught:
        act(client, world, stale)
    assert caught.value.status == 412
    # The current revision is accepted.
    act(client, world, _revision(client, world, kind, sid))


def test_a_wrong_token_is_an_authentication_error(sandbox: Sandbox, world: World) -> None:
    with TaskRouterClient(
        sandbox.account_sid,
        sandbox.auth_token + "-wrong",
        world.workspace,
        base_url=sandbox.base_url,
        backoff_factor=0.01,
    ) as wrong:
        with pytest.raises(AuthenticationError) as caught:
            wrong.workers.fetch(world.worker)
        _assert_api_error(caught.value, 401, 20003)
        with pytest.raises(AuthenticationError):
            wrong.tasks.create(workflow_sid=world.workflow)
        with pytest.raises(AuthenticationError):
            list(wrong.workers.list())


def test_a_wrong_account_is_an_authentication_error(sandbox: Sandbox, world: World) -> None:
    with TaskRouterClient(
        "AC" + MISSING, sandbox.auth_token, world.workspace, base_url=sandbox.base_url
    ) as wrong:
        with pytest.raises(AuthenticationError):
            wrong.workspaces.fetch(world.workspace)


# -- bugs found ---------------------------------------------------------------------------------


def test_the_client_sends_early_dates_in_iso_8601(client: TaskRouterClient, world: World) -> None:
    """The sandbox refuses a virtual start time before 1900, as Twilio documents; its error
    quotes the date it read, which shows the client sent the year-999 date whole."""
    early = datetime(999, 6, 1, tzinfo=UTC)
    with pytest.raises(InvalidRequest, match=r"VirtualStartTime: .*0999-06-01T00:00:00"):
        client.tasks.create(workflow_sid=world.workflow, virtual_start_time=early)
