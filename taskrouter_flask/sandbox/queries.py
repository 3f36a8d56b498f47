"""The list resources' filters and orderings, one table per list.

Why a module of its own: what a List operation's filter parameter means
(``ActivityName`` compares the name of the worker's activity,
``TargetWorkersExpression`` is evaluated against each worker, a status list
may be comma-separated) is a question about the records, not about HTTP, and
it is the part of each list that is read against Twilio's reference. Written
once per parameter, in a table, it can be compared with the API description
and tested without a server; the REST layer only parses the parameters,
runs the query, pages and renders.

A :class:`Query` is where a list's records come from and a table from each
filter parameter to a :data:`Select`: given the parameter's value it returns
the test a record must pass, refusing a value it cannot read before any
record is looked at. Filters narrow one after the other, in table order; the
``Ordering`` parameter sorts what is left. This is part of the pure engine:
it reads records through the engine's public lookups and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import compress
from operator import attrgetter
from typing import Any, Generic, Protocol, TypeVar

from ..expressions import Expression, ExpressionError, compile_expression
from .bounds import MAX_WORKER_ATTRIBUTES, parse_json_object
from .engine import Engine
from .errors import InvalidArgument
from .state import (
    ActivityRecord,
    EventRecord,
    ReservationRecord,
    ReservationStatus,
    TaskChannelRecord,
    TaskQueueRecord,
    TaskRecord,
    TaskStatus,
    WorkerRecord,
    WorkflowRecord,
    WorkspaceRecord,
)

__all__ = [
    "ACTIVITIES",
    "DEFAULT_EVENT_MINUTES",
    "EVENTS",
    "RESERVATIONS",
    "TASKS",
    "TASK_CHANNELS",
    "TASK_QUEUES",
    "WORKERS",
    "WORKFLOWS",
    "WORKSPACES",
    "Query",
    "Scope",
    "Select",
    "any_of",
    "equals",
    "holds",
    "matches",
    "order",
    "related",
]

R = TypeVar("R")
#: Whether a record stays in the list.
Keep = Callable[[R], bool]


class _InWorkspace(Protocol):
    @property
    def workspace_sid(self) -> str: ...


W = TypeVar("W", bound=_InWorkspace)


@dataclass(frozen=True)
class Scope:
    """Where a list is read: filters look up the workspace's other records (a queue by SID)."""

    engine: Engine
    #: Empty when the list is of the workspaces themselves.
    workspace_sid: str = ""


#: A filter: the scope, the parameter's name (for refusals) and its value -> the test.
Select = Callable[[Scope, str, Any], Keep[R]]
#: Where a list's records come from, before any filter (it may read parameters too).
Source = Callable[[Scope, Mapping[str, Any]], Iterable[R]]


@dataclass(frozen=True)
class Query(Generic[R]):
    """One list resource: its records, its filter table and what ``Ordering`` may sort by."""

    source: Source[R]
    filters: Mapping[str, Select[R]]
    orders: Mapping[str, Callable[[R], Any]] = field(default_factory=dict)
    #: Two ``Ordering`` keys that may not be given together.
    apart: tuple[str, str] | None = None
    #: Parameters the source reads (a time window), beside the filters.
    reads: tuple[str, ...] = ()

    @property
    def parameters(self) -> frozenset[str]:
        """Every parameter the query takes: what the REST operation may pass besides paging."""
        ordering = ("Ordering",) if self.orders else ()
        return frozenset((*self.filters, *self.reads, *ordering))

    def select(
        self,
        engine: Engine,
        workspace_sid: str,
        params: Mapping[str, Any],
        records: Iterable[R] | None = None,
    ) -> Iterable[R]:
        """The records the parameters select, in their order, found as they are read.

        Without ``Ordering`` nothing is copied: the records come straight from the engine's
        table through the filters, so a page of 50 reads about 50 records (and those before
        it), not the whole table. The engine must not change while they are read (the REST
        app reads them under its lock, in the request's transaction). Refusals (an unknown
        workspace, a filter value or an ``Ordering`` that cannot be read) are raised here,
        before any record is read, as :meth:`run` raises them.

        :param records: instead of the source's, when the caller has them at hand
            (the reservations of one task, found through the engine's index).
        """
        scope = Scope(engine, workspace_sid)
        items: Iterable[R] = self.source(scope, params) if records is None else records
        keeps = [
            select(scope, name, params[name])
            for name, select in self.filters.items()
            if name in params
        ]
        for keep in keeps:
            items = filter(keep, items)
        ordering = params.get("Ordering")
        if ordering:
            ordered = list(items)
            order(ordered, ordering, self.orders, apart=self.apart)
            return ordered
        return items

    def run(
        self,
        engine: Engine,
        workspace_sid: str,
        params: Mapping[str, Any],
        records: Iterable[R] | None = None,
    ) -> list[R]:
        """The records the parameters select, in their order, as a list (see :meth:`select`)."""
        return list(self.select(engine, workspace_sid, params, records))


# -- sources --------------------------------------------------------------------------------


def in_workspace(table: Callable[[Engine], Mapping[str, W]]) -> Source[W]:
    """The records of one table that belong to the workspace, which must exist."""

    def source(scope: Scope, params: Mapping[str, Any]) -> Iterator[W]:
        scope.engine.workspace(scope.workspace_sid)
        records = table(scope.engine).values()
        # The records whose workspace is this one, in table order, found without a Python
        # call per record (a table of 100,000 tasks is read at C speed up to the page).
        ours = map(scope.workspace_sid.__eq__, map(_WORKSPACE_SID, records))
        return compress(records, ours)

    return source


_WORKSPACE_SID = attrgetter("workspace_sid")


def _workspaces(scope: Scope, params: Mapping[str, Any]) -> Iterable[WorkspaceRecord]:
    return scope.engine.workspaces.values()


#: The Events list's window when no ``StartDate`` is given: this many minutes to ``EndDate``.
DEFAULT_EVENT_MINUTES = 15


def _event_window(scope: Scope, params: Mapping[str, Any]) -> Iterable[EventRecord]:
    """The events from ``StartDate`` (or ``Minutes`` earlier) to ``EndDate`` (or now),
    newest first, as the API lists them; the event log finds them by bisection."""
    engine = scope.engine
    engine.workspace(scope.workspace_sid)
    end: datetime = params.get("EndDate") or engine.now()
    if "StartDate" in params:
        start: datetime = params["StartDate"]
    else:
        start = _minutes_before(end, params.get("Minutes", DEFAULT_EVENT_MINUTES))
    return reversed(engine.events_for(scope.workspace_sid, start, end))


def _minutes_before(end: datetime, minutes: int) -> datetime:
    if minutes < 1:
        raise InvalidArgument(f"Minutes: expected 1 or more, got {minutes}")
    try:
        return end - timedelta(minutes=minutes)
    except OverflowError:
        raise InvalidArgument(f"Minutes: {minutes} reaches before the year 1") from None


# -- kinds of filter -------------------------------------------------------------------------


def _reader(how: str | Callable[[Any], Any]) -> Callable[[Any], Any]:
    return attrgetter(how) if isinstance(how, str) else how


def equals(how: str | Callable[[Any], Any]) -> Select[Any]:
    """The record's field (a name, or a function of the record) is the value."""
    read = _reader(how)

    def select(scope: Scope, name: str, value: Any) -> Keep[Any]:
        return lambda record: bool(read(record) == value)

    return select


def holds(how: str | Callable[[Any], Any]) -> Select[Any]:
    """The value is one of the record's (a queue's eligible workers, an event's channels)."""
    read = _reader(how)

    def select(scope: Scope, name: str, value: Any) -> Keep[Any]:
        return lambda record: value in read(record)

    return select


def related(table: Callable[[Engine], Mapping[str, Any]], link: str, field: str) -> Select[Any]:
    """The record that ``link`` names in ``table`` has the value as its ``field``.

    A record that names none, or one deleted since (a finished task's queue), does not match.
    """
    read_link, read = attrgetter(link), attrgetter(field)

    def select(scope: Scope, name: str, value: Any) -> Keep[Any]:
        records = table(scope.engine)

        def keep(record: Any) -> bool:
            other = records.get(read_link(record) or "")
            return other is not None and bool(read(other) == value)

        return keep

    return select


def any_of(how: str | Callable[[Any], Any], *, known: frozenset[str] | None = None) -> Select[Any]:
    """The record's field is one of a comma-separated list (or of a repeated parameter).

    :param known: the statuses there are; a list naming any other is refused.
    """
    read = _reader(how)

    def select(scope: Scope, name: str, value: Any) -> Keep[Any]:
        wanted = set(value if isinstance(value, list) else str(value).split(","))
        unknown = wanted - known if known is not None else set()
        if unknown:
            raise InvalidArgument(f"{name}: unknown status(es) {', '.join(sorted(unknown))}")
        return lambda record: read(record) in wanted

    return select


def matches(view: Callable[[R], Mapping[str, Any]]) -> Select[R]:
    """The value is an expression, true of the record's ``view`` (its attributes)."""

    def select(scope: Scope, name: str, value: Any) -> Keep[R]:
        expression = _compile(name, value)
        return lambda record: bool(expression.evaluate(view(record)))

    return select


def _compile(name: str, text: str) -> Expression:
    try:
        return compile_expression(text)
    except ExpressionError as exc:
        raise InvalidArgument(f"{name}: {exc}") from exc


def _targets_worker(scope: Scope, name: str, value: Any) -> Keep[TaskQueueRecord]:
    """The queue's ``TargetWorkers`` is true of the worker attributes given as JSON."""
    attributes = parse_json_object(name, value, max_chars=MAX_WORKER_ATTRIBUTES)
    return lambda queue: bool(queue.target.evaluate(attributes))


def _eligible_for(scope: Scope, name: str, value: Any) -> Keep[WorkerRecord]:
    """The worker is eligible for the queue with this SID, which must exist."""
    queue = scope.engine.task_queue(scope.workspace_sid, value)
    return lambda worker: worker.sid in queue.eligible


def _eligible_for_named(scope: Scope, name: str, value: Any) -> Keep[WorkerRecord]:
    """The worker is eligible for a queue of this name (names need not be unique)."""
    named = {
        queue.sid
        for queue in scope.engine.task_queues.values()
        if queue.workspace_sid == scope.workspace_sid and queue.friendly_name == value
    }
    return lambda worker: bool(worker.queues & named)


def _reservation_status(scope: Scope, name: str, value: Any) -> Keep[ReservationRecord]:
    """One status, not a list (unlike the tasks' ``AssignmentStatus``)."""
    if value not in _RESERVATION_STATUSES:
        raise InvalidArgument(f"{name}: unknown status {value!r}")
    return lambda reservation: reservation.status.value == value


def _not_applied(scope: Scope, name: str, value: Any) -> Keep[Any]:
    return lambda record: True


def _channels_of(event: EventRecord) -> tuple[str | None, ...]:
    """The task channel an event is about, by SID and by unique name."""
    if event.task is not None:
        return (event.task.channel_sid, event.task.channel_unique_name)
    if event.channel is not None:
        return (event.channel.sid, event.channel.unique_name)
    if event.capacity is not None:
        return (event.capacity.channel_sid, event.capacity.channel_unique_name)
    return ()


def _mentions(refs: Callable[[EventRecord], tuple[str | None, ...]]) -> Select[EventRecord]:
    """The event is about the SID (its resource) or names it among ``refs``."""

    def select(scope: Scope, name: str, value: Any) -> Keep[EventRecord]:
        return lambda event: value == event.resource_sid or value in refs(event)

    return select


_TASK_STATUSES = frozenset(status.value for status in TaskStatus)
_RESERVATION_STATUSES = frozenset(status.value for status in ReservationStatus)

# -- ordering ---------------------------------------------------------------------------------


def order(
    items: list[Any],
    ordering: str | None,
    keys: Mapping[str, Callable[[Any], Any]],
    *,
    apart: tuple[str, str] | None = None,
) -> None:
    """Sort ``items`` in place by an ``Ordering`` such as ``DateCreated:asc,Priority:desc``:
    each attribute sorts within the ones before it."""
    if not ordering:
        return
    sorts = []
    for part in str(ordering).split(","):
        name, _, direction = part.strip().partition(":")
        if name not in keys or direction.lower() not in ("asc", "desc"):
            raise InvalidArgument(
                f"Ordering: expected {' or '.join(keys)}, then :asc or :desc, got {part!r}"
            )
        sorts.append((name, direction.lower() == "desc"))
    if apart is not None and set(apart) <= {name for name, _ in sorts}:
        raise InvalidArgument(f"Ordering: {apart[0]} and {apart[1]} cannot be combined")
    for name, descending in reversed(sorts):  # stable sorts, last key first
        items.sort(key=keys[name], reverse=descending)


# -- the lists -------------------------------------------------------------------------------


def _activities(engine: Engine) -> Mapping[str, ActivityRecord]:
    return engine.activities


def _task_queues(engine: Engine) -> Mapping[str, TaskQueueRecord]:
    return engine.task_queues


def _workflows(engine: Engine) -> Mapping[str, WorkflowRecord]:
    return engine.workflows


_NAMED = equals("friendly_name")

WORKSPACES: Query[WorkspaceRecord] = Query(_workspaces, {"FriendlyName": _NAMED})

ACTIVITIES: Query[ActivityRecord] = Query(
    in_workspace(_activities), {"FriendlyName": _NAMED, "Available": equals("available")}
)

TASK_CHANNELS: Query[TaskChannelRecord] = Query(
    in_workspace(lambda engine: engine.task_channels), {}
)

WORKFLOWS: Query[WorkflowRecord] = Query(in_workspace(_workflows), {"FriendlyName": _NAMED})

TASK_QUEUES: Query[TaskQueueRecord] = Query(
    in_workspace(_task_queues),
    {
        "FriendlyName": _NAMED,
        "WorkerSid": holds("eligible"),
        "EvaluateWorkerAttributes": _targets_worker,
    },
    # Twilio says only "Sorting parameter" for task queues and workers: these keys are
    # our reading. The tasks' are documented.
    orders={
        "DateCreated": attrgetter("position"),
        "DateUpdated": attrgetter("date_updated"),
        "FriendlyName": attrgetter("friendly_name"),
    },
)

WORKERS: Query[WorkerRecord] = Query(
    in_workspace(lambda engine: engine.workers),
    {
        "ActivitySid": equals("activity_sid"),
        "ActivityName": related(_activities, "activity_sid", "friendly_name"),
        "Available": related(_activities, "activity_sid", "available"),
        "FriendlyName": _NAMED,
        "TaskQueueSid": _eligible_for,
        "TaskQueueName": _eligible_for_named,
        "TargetWorkersExpression": matches(attrgetter("view")),
    },
    orders={
        "DateCreated": attrgetter("seq"),
        "DateUpdated": attrgetter("date_updated"),
        "DateStatusChanged": attrgetter("date_status_changed"),
        "FriendlyName": attrgetter("friendly_name"),
    },
)

TASKS: Query[TaskRecord] = Query(
    in_workspace(lambda engine: engine.tasks),
    {
        "Priority": equals("priority"),
        "AssignmentStatus": any_of(lambda task: task.status.value, known=_TASK_STATUSES),
        "WorkflowSid": equals("workflow_sid"),
        "TaskQueueSid": equals("task_queue_sid"),
        "WorkflowName": related(_workflows, "workflow_sid", "friendly_name"),
        "TaskQueueName": related(_task_queues, "task_queue_sid", "friendly_name"),
        "EvaluateTaskAttributes": matches(attrgetter("attributes")),
        "RoutingTarget": equals("routing_target"),
        # Accepted and not applied. Twilio lists only tasks with add-ons for true, only
        # those without for false; no task here has add-ons.
        "HasAddons": _not_applied,
    },
    orders={
        "DateCreated": attrgetter("seq"),
        "Priority": attrgetter("priority"),
        "VirtualStartTime": lambda task: (task.virtual_start_time or task.date_created, task.seq),
    },
    apart=("DateCreated", "VirtualStartTime"),
)

#: A task's or a worker's reservations are passed to :meth:`Query.run` from the engine's
#: indexes; the source, every reservation of the workspace, is for other callers.
RESERVATIONS: Query[ReservationRecord] = Query(
    in_workspace(lambda engine: engine.reservations),
    {"ReservationStatus": _reservation_status, "WorkerSid": equals("worker_sid")},
)

EVENTS: Query[EventRecord] = Query(
    _event_window,
    {
        "EventType": any_of("type"),
        "Sid": equals("sid"),
        "TaskChannel": holds(_channels_of),
        "TaskSid": _mentions(lambda e: (e.task.sid if e.task else None,)),
        "WorkerSid": _mentions(lambda e: (e.worker.sid if e.worker else None,)),
        "ReservationSid": _mentions(lambda e: (e.reservation_sid,)),
        "TaskQueueSid": _mentions(
            lambda e: (e.task.queue_sid if e.task else None, e.queue.sid if e.queue else None)
        ),
        "WorkflowSid": _mentions(
            lambda e: (
                e.task.workflow_sid if e.task else None,
                e.workflow.sid if e.workflow else None,
            )
        ),
    },
    reads=("StartDate", "EndDate", "Minutes"),
)
