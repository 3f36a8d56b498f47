"""The list resources' filter tables, run directly on an engine: no HTTP, no paging.

The REST tests check each list through the API; these check the tables themselves, so a
row can be read next to the test that pins it, and properties (filters narrow one after
the other; ``Ordering`` is a multi-key sort) are tried on generated workspaces.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from operator import attrgetter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskrouter_flask.client.resources import OPERATIONS
from taskrouter_flask.sandbox import Engine, InvalidArgument, ManualClock, NotFound, queries
from taskrouter_flask.sandbox.queries import Query

from .conftest import Workspace, WorkspaceFactory

PAGING = {"PageSize", "Page", "PageToken"}
#: Each List operation and the query that serves it.
LISTS: dict[str, Query[Any]] = {
    "ListWorkspace": queries.WORKSPACES,
    "ListActivity": queries.ACTIVITIES,
    "ListTaskChannel": queries.TASK_CHANNELS,
    "ListTaskQueue": queries.TASK_QUEUES,
    "ListWorkflow": queries.WORKFLOWS,
    "ListWorker": queries.WORKERS,
    "ListTask": queries.TASKS,
    "ListTaskReservation": queries.RESERVATIONS,
    "ListWorkerReservation": queries.RESERVATIONS,
    "ListEvent": queries.EVENTS,
}


@pytest.mark.parametrize("operation", sorted(LISTS))
def test_a_query_reads_every_parameter_of_its_list(operation: str) -> None:
    """A parameter the API description adds to a list must get a row (or be refused)."""
    taken = set(OPERATIONS[operation].params) - PAGING
    assert taken <= LISTS[operation].parameters
    if operation != "ListWorkerReservation":  # shares the task reservations' table
        assert LISTS[operation].parameters == taken


def test_every_filtered_list_has_a_query() -> None:
    lists = {name for name in OPERATIONS if name.startswith("List")}
    # A worker's channels take no filter; queue statistics are the statistics module's.
    assert lists - set(LISTS) == {"ListWorkerChannel", "ListTaskQueuesStatistics"}


# -- workers, task queues, activities ----------------------------------------------------------


@dataclass
class Desk:
    """A workspace with queues by skill and four workers in different activities."""

    ws: Workspace

    @property
    def engine(self) -> Engine:
        return self.ws.engine

    def names(self, query: Query[Any], params: Mapping[str, Any]) -> list[str]:
        return [record.friendly_name for record in query.run(self.engine, self.ws.sid, params)]


@pytest.fixture
def desk(make_workspace: WorkspaceFactory) -> Desk:
    ws = make_workspace(activities={"Break": False})
    ws.add_queue("sales", "'sales' IN skills")
    ws.add_queue("support", "'support' IN skills")
    ws.add_queue("vip", "tier == 'gold'")
    ws.add_worker("alice", skills=["sales"], tier="gold")
    ws.add_worker("bob", activity="Offline", skills=["support"])
    ws.add_worker("carol", skills=["sales", "support"])
    ws.add_worker("dave", activity="Break")
    return Desk(ws)


Params = Callable[[Workspace], dict[str, Any]]

WORKER_ROWS: list[tuple[Params, list[str]]] = [
    (lambda ws: {}, ["alice", "bob", "carol", "dave"]),
    (lambda ws: {"ActivitySid": ws.activities["Available"]}, ["alice", "carol"]),
    (lambda ws: {"ActivityName": "Offline"}, ["bob"]),
    (lambda ws: {"Available": True}, ["alice", "carol"]),
    (lambda ws: {"Available": False}, ["bob", "dave"]),
    (lambda ws: {"FriendlyName": "carol"}, ["carol"]),
    (lambda ws: {"TaskQueueSid": ws.queues["sales"].sid}, ["alice", "carol"]),
    (lambda ws: {"TaskQueueName": "support"}, ["bob", "carol"]),
    (lambda ws: {"TaskQueueName": "nobody's"}, []),
    (lambda ws: {"TargetWorkersExpression": "tier == 'gold'"}, ["alice"]),
    (lambda ws: {"TargetWorkersExpression": "activity_name == 'Break'"}, ["dave"]),
    (lambda ws: {"Available": True, "TaskQueueName": "support"}, ["carol"]),
    (lambda ws: {"Ordering": "FriendlyName:desc"}, ["dave", "carol", "bob", "alice"]),
    (lambda ws: {"Ordering": "DateCreated:desc", "Available": True}, ["carol", "alice"]),
]


@pytest.mark.parametrize(("params", "expected"), WORKER_ROWS)
def test_worker_filters(desk: Desk, params: Params, expected: list[str]) -> None:
    assert desk.names(queries.WORKERS, params(desk.ws)) == expected


QUEUE_ROWS: list[tuple[Params, list[str]]] = [
    (lambda ws: {"FriendlyName": "vip"}, ["vip"]),
    (lambda ws: {"WorkerSid": ws.workers["alice"].sid}, ["sales", "vip"]),
    (lambda ws: {"WorkerSid": ws.workers["dave"].sid}, []),
    (lambda ws: {"EvaluateWorkerAttributes": '{"skills": ["support"]}'}, ["support"]),
    (lambda ws: {"EvaluateWorkerAttributes": '{"tier": "gold", "skills": []}'}, ["vip"]),
    (lambda ws: {"Ordering": "FriendlyName:desc"}, ["vip", "support", "sales"]),
]


@pytest.mark.parametrize(("params", "expected"), QUEUE_ROWS)
def test_task_queue_filters(desk: Desk, params: Params, expected: list[str]) -> None:
    assert desk.names(queries.TASK_QUEUES, params(desk.ws)) == expected


def test_activity_filters(desk: Desk) -> None:
    assert desk.names(queries.ACTIVITIES, {"Available": True}) == ["Available"]
    assert desk.names(queries.ACTIVITIES, {"FriendlyName": "Break"}) == ["Break"]
    assert desk.names(queries.ACTIVITIES, {"Available": False, "FriendlyName": "Available"}) == []


def test_workspaces_are_listed_without_a_workspace(desk: Desk) -> None:
    desk.engine.create_workspace(friendly_name="Other")
    everyone = queries.WORKSPACES.run(desk.engine, "", {})
    assert [w.friendly_name for w in everyone] == ["Support", "Other"]
    named = queries.WORKSPACES.run(desk.engine, "", {"FriendlyName": "Other"})
    assert [w.friendly_name for w in named] == ["Other"]


REFUSALS: list[tuple[Query[Any], Params, str]] = [
    (
        queries.WORKERS,
        lambda ws: {"TargetWorkersExpression": "tier =="},
        "TargetWorkersExpression: ",
    ),
    (queries.WORKERS, lambda ws: {"Ordering": "Size:asc"}, "Ordering: expected DateCreated or"),
    (queries.WORKERS, lambda ws: {"Ordering": "FriendlyName"}, "Ordering: expected"),
    (
        queries.TASK_QUEUES,
        lambda ws: {"EvaluateWorkerAttributes": "[1]"},
        "EvaluateWorkerAttributes",
    ),
    (
        queries.TASKS,
        lambda ws: {"AssignmentStatus": "pending,lost,gone"},
        "AssignmentStatus: unknown status(es) gone, lost",
    ),
    (queries.TASKS, lambda ws: {"EvaluateTaskAttributes": "("}, "EvaluateTaskAttributes: "),
    (
        queries.TASKS,
        lambda ws: {"Ordering": "DateCreated:asc,VirtualStartTime:desc"},
        "Ordering: DateCreated and VirtualStartTime cannot be combined",
    ),
    (
        queries.RESERVATIONS,
        lambda ws: {"ReservationStatus": "pending,accepted"},
        "ReservationStatus: unknown status 'pending,accepted'",
    ),
    (queries.EVENTS, lambda ws: {"Minutes": 0}, "Minutes: expected 1 or more, got 0"),
    (
        queries.EVENTS,
        lambda ws: {"Minutes": 10**10},
        "Minutes: 10000000000 reaches before the year 1",
    ),
]


@pytest.mark.parametrize(("query", "params", "message"), REFUSALS)
def test_a_value_a_filter_cannot_read_is_refused_naming_it(
    desk: Desk, query: Query[Any], params: Params, message: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        query.run(desk.engine, desk.ws.sid, params(desk.ws))
    assert refused.value.message.startswith(message)


def test_unknown_workspaces_and_queues_are_not_found(desk: Desk) -> None:
    with pytest.raises(NotFound):
        queries.WORKERS.run(desk.engine, "WS" + "0" * 32, {})
    with pytest.raises(NotFound):
        queries.WORKERS.run(desk.engine, desk.ws.sid, {"TaskQueueSid": "WQ" + "0" * 32})


# -- tasks and reservations ---------------------------------------------------------------------


@dataclass
class Tasks:
    """Four tasks in every routing: through a workflow, into a queue, straight to a worker."""

    ws: Workspace
    sids: dict[str, str]

    def run(self, params: Mapping[str, Any]) -> list[str]:
        by_sid = {sid: name for name, sid in self.sids.items()}
        return [by_sid[t.sid] for t in queries.TASKS.run(self.ws.engine, self.ws.sid, params)]


@pytest.fixture
def tasks(make_workspace: WorkspaceFactory) -> Tasks:
    ws = make_workspace()
    ws.add_queue("first", "1 == 0")  # nobody: tasks stay pending
    ws.add_queue("second", "1 == 0")
    ws.add_workflow(default="first")
    agent = ws.add_worker("agent", activity="Offline")
    call = ws.task(attributes={"type": "call"}, priority=5)
    chat = ws.task(attributes={"type": "chat"}, priority=1, task_queue_sid=ws.queues["second"].sid)
    gone = ws.task(attributes={"type": "chat"}, priority=5)
    ws.engine.update_task(ws.sid, gone.sid, assignment_status="canceled", reason="test")
    direct = ws.task(attributes={"type": "call"}, routing_target=agent.sid)
    return Tasks(ws, {"call": call.sid, "chat": chat.sid, "gone": gone.sid, "direct": direct.sid})


TASK_ROWS: list[tuple[Params, list[str]]] = [
    (lambda ws: {}, ["call", "chat", "gone", "direct"]),
    (lambda ws: {"Priority": 5}, ["call", "gone"]),
    (lambda ws: {"AssignmentStatus": "pending"}, ["call", "chat"]),
    (lambda ws: {"AssignmentStatus": "pending,canceled"}, ["call", "chat", "gone"]),
    (lambda ws: {"AssignmentStatus": ["reserved", "canceled"]}, ["gone", "direct"]),
    (lambda ws: {"WorkflowName": "Routing"}, ["call", "gone"]),
    (lambda ws: {"WorkflowName": "Elsewhere"}, []),
    (lambda ws: {"TaskQueueSid": ws.queues["second"].sid}, ["chat"]),
    (lambda ws: {"TaskQueueName": "first"}, ["call", "gone"]),
    (lambda ws: {"EvaluateTaskAttributes": "type == 'chat'"}, ["chat", "gone"]),
    (lambda ws: {"RoutingTarget": ws.workers["agent"].sid}, ["direct"]),
    (lambda ws: {"HasAddons": True}, ["call", "chat", "gone", "direct"]),
    (lambda ws: {"Ordering": "Priority:desc,DateCreated:desc"}, ["gone", "call", "chat", "direct"]),
    (lambda ws: {"Ordering": "VirtualStartTime:desc"}, ["direct", "gone", "chat", "call"]),
]


@pytest.mark.parametrize(("params", "expected"), TASK_ROWS)
def test_task_filters(tasks: Tasks, params: Params, expected: list[str]) -> None:
    assert tasks.run(params(tasks.ws)) == expected


def test_workflow_sid_filter_matches_the_workflows_tasks(tasks: Tasks) -> None:
    (workflow,) = tasks.ws.engine.workflows.values()
    assert tasks.run({"WorkflowSid": workflow.sid}) == ["call", "gone"]


def test_a_finished_task_whose_queue_was_deleted_has_no_queue_name(tasks: Tasks) -> None:
    """It used to fail the whole list (a KeyError, so a 500) as soon as it was compared."""
    ws = tasks.ws
    ws.engine.update_task(ws.sid, tasks.sids["chat"], assignment_status="canceled", reason="x")
    ws.engine.delete_task_queue(ws.sid, ws.queues["second"].sid)
    assert tasks.run({"TaskQueueName": "second"}) == []
    assert tasks.run({"TaskQueueName": "first"}) == ["call", "gone"]


@given(
    statuses=st.sets(st.sampled_from(["pending", "reserved", "assigned", "canceled"]), min_size=1)
)
@settings(max_examples=30, deadline=None)
def test_a_status_list_reads_the_same_joined_or_repeated(statuses: set[str]) -> None:
    # Hypothesis needs a fixture it can share between examples, so the desk is built here.
    engine = Engine(ManualClock())
    ws = engine.create_workspace(friendly_name="W", multi_task_enabled=False)
    queue = engine.create_task_queue(ws.sid, friendly_name="q", target_workers="1 == 0")
    for _ in range(2):
        engine.create_task(ws.sid, task_queue_sid=queue.sid)
    engine.update_task(
        ws.sid,
        engine.create_task(ws.sid, task_queue_sid=queue.sid).sid,
        assignment_status="canceled",
        reason="x",
    )
    joined = queries.TASKS.run(engine, ws.sid, {"AssignmentStatus": ",".join(sorted(statuses))})
    repeated = queries.TASKS.run(engine, ws.sid, {"AssignmentStatus": sorted(statuses)})
    assert joined == repeated == [t for t in engine.tasks.values() if t.status in statuses]


def test_reservation_filters_narrow_the_records_given(tasks: Tasks) -> None:
    ws = tasks.ws
    engine = ws.engine
    direct = engine.tasks[tasks.sids["direct"]]
    given_records = engine.reservations_of_task(direct.sid)
    assert len(given_records) == 1
    agent = ws.workers["agent"].sid

    def run(params: Mapping[str, Any]) -> int:
        return len(queries.RESERVATIONS.run(engine, ws.sid, params, given_records))

    assert run({"ReservationStatus": "pending", "WorkerSid": agent}) == 1
    assert run({"ReservationStatus": "accepted"}) == 0
    assert run({"WorkerSid": "WK" + "0" * 32}) == 0
    # Without records, every reservation of the workspace.
    assert queries.RESERVATIONS.run(engine, ws.sid, {}) == given_records


# -- events ---------------------------------------------------------------------------------


def test_events_window_newest_first_and_filters(make_workspace: WorkspaceFactory) -> None:
    ws = make_workspace()
    engine = ws.engine
    ws.add_queue("support")
    ws.add_workflow(default="support")
    early = ws.task(attributes={"n": 1})
    engine.advance(seconds=20 * 60)
    ws.add_worker("alice")  # reserved the early task at once
    late = ws.task(attributes={"n": 2})

    def types(params: Mapping[str, Any]) -> list[str]:
        return [e.type for e in queries.EVENTS.run(engine, ws.sid, params)]

    recent = queries.EVENTS.run(engine, ws.sid, {})
    assert recent and all(e.timestamp == engine.now() for e in recent)
    everything = queries.EVENTS.run(engine, ws.sid, {"Minutes": 60})
    assert [e.timestamp for e in everything] == sorted(
        (e.timestamp for e in everything), reverse=True
    )
    assert everything[-1].type == "workspace.created" or everything[-1].timestamp < engine.now()
    start = {"StartDate": engine.now() - timedelta(minutes=30)}
    assert len(queries.EVENTS.run(engine, ws.sid, start)) == len(everything)
    before = {"EndDate": engine.now() - timedelta(minutes=1), "Minutes": 60}
    assert "worker.created" not in types(before) and "task.created" in types(before)
    about_early = queries.EVENTS.run(engine, ws.sid, {"Minutes": 60, "TaskSid": early.sid})
    assert {"task.created", "reservation.created"} <= {e.type for e in about_early}
    assert all(e.task is not None and e.task.sid == early.sid for e in about_early)
    assert types({"Minutes": 60, "EventType": "task.created,worker.created"}) == [
        "task.created",
        "worker.created",
        "task.created",
    ]
    first = queries.EVENTS.run(engine, ws.sid, {"Minutes": 60, "TaskSid": late.sid})[-1]
    assert queries.EVENTS.run(engine, ws.sid, {"Sid": first.sid, "Minutes": 60}) == [first]
    assert types({"Minutes": 60, "TaskChannel": "default", "EventType": "task.created"}) == [
        "task.created",
        "task.created",
    ]


# -- properties -----------------------------------------------------------------------------

_SKILLS = ["sales", "support", "billing"]
_worker_specs = st.lists(
    st.tuples(
        st.sampled_from(["Available", "Offline", "Unavailable"]),
        st.sets(st.sampled_from(_SKILLS)),
        st.sampled_from(["gold", "silver"]),
    ),
    max_size=6,
)
#: Which worker filters a case sets, each to one of its three values in ``_VALUES``.
_worker_filters = st.dictionaries(
    st.sampled_from(["ActivityName", "Available", "TaskQueueName", "TargetWorkersExpression"]),
    st.sampled_from([0, 1, 2]),
)
_VALUES: dict[str, list[Any]] = {
    "ActivityName": ["Available", "Offline", "Unavailable"],
    "Available": [True, False, True],
    "TaskQueueName": _SKILLS,
    "TargetWorkersExpression": ["tier == 'gold'", "'sales' IN skills", "tier != 'gold'"],
}


@given(specs=_worker_specs, chosen=_worker_filters)
@settings(max_examples=60, deadline=None)
def test_filters_narrow_one_after_the_other_in_creation_order(
    specs: list[tuple[str, set[str], str]], chosen: dict[str, int]
) -> None:
    """Together, filters keep exactly what each keeps alone, in the unfiltered order."""
    engine = Engine(ManualClock())
    ws = engine.create_workspace(friendly_name="W", multi_task_enabled=False)
    activity = {a.friendly_name: a.sid for a in engine.activities.values()}
    for skill in _SKILLS:
        engine.create_task_queue(ws.sid, friendly_name=skill, target_workers=f"'{skill}' IN skills")
    for n, (name, skills, tier) in enumerate(specs):
        engine.create_worker(
            ws.sid,
            friendly_name=f"w{n}",
            activity_sid=activity[name],
            attributes={"skills": sorted(skills), "tier": tier},
        )
    params = {name: _VALUES[name][index] for name, index in chosen.items()}
    every = queries.WORKERS.run(engine, ws.sid, {})
    alone = [set(map(id, queries.WORKERS.run(engine, ws.sid, {k: v}))) for k, v in params.items()]
    together = queries.WORKERS.run(engine, ws.sid, params)
    assert together == [w for w in every if all(id(w) in kept for kept in alone)]


@dataclass(frozen=True)
class _Row:
    a: int
    b: str
    c: int


_KEYS: dict[str, Callable[[Any], Any]] = {"A": attrgetter("a"), "B": attrgetter("b")}


@given(
    rows=st.lists(st.builds(_Row, st.integers(0, 3), st.sampled_from("xyz"), st.integers())),
    sorts=st.lists(st.tuples(st.sampled_from(["A", "B"]), st.booleans()), min_size=1, max_size=2),
    spelling=st.sampled_from([str.lower, str.upper, str.title]),
)
def test_ordering_is_a_stable_sort_by_each_key_within_the_ones_before(
    rows: list[_Row], sorts: list[tuple[str, bool]], spelling: Callable[[str], str]
) -> None:
    ordering = ",".join(f"{name}:{spelling('desc' if down else 'asc')}" for name, down in sorts)

    def compare(x: _Row, y: _Row) -> int:
        for name, down in sorts:
            left, right = _KEYS[name](x), _KEYS[name](y)
            if left != right:
                return (1 if left > right else -1) * (-1 if down else 1)
        return 0

    items = list(rows)
    queries.order(items, ordering, _KEYS)
    assert items == sorted(rows, key=functools.cmp_to_key(compare))


def test_no_ordering_keeps_the_order_and_apart_keys_are_refused_together() -> None:
    rows = [_Row(2, "x", 0), _Row(1, "y", 1)]
    items = list(rows)
    queries.order(items, None, _KEYS)
    queries.order(items, "", _KEYS)
    assert items == rows
    queries.order(items, "A:asc", _KEYS, apart=("A", "B"))
    assert items == rows[::-1]
    with pytest.raises(InvalidArgument, match="A and B cannot be combined"):
        queries.order(items, "B:asc,A:desc", _KEYS, apart=("A", "B"))
