"""The sandbox's resources as mutable records, and the two lifecycles as explicit tables.

Records hold exactly what the engine decides with; the REST layer renders
them in the API's JSON shape. Task and reservation statuses are enums with a
transition table: :func:`check_transition` is the one gate every status
change goes through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar, dataclass_transform

from ..expressions import Expression, compile_expression
from ..workflow import WorkflowConfiguration
from .errors import InvalidTransition

__all__ = [
    "RESERVATION_TRANSITIONS",
    "TASK_TRANSITIONS",
    "ActivityChange",
    "ActivityFacts",
    "ActivityRecord",
    "CapacityFacts",
    "ChannelFacts",
    "EventRecord",
    "QueueFacts",
    "ReservationRecord",
    "ReservationStatus",
    "TaskChannelRecord",
    "TaskFacts",
    "TaskQueueRecord",
    "TaskRecord",
    "TaskStatus",
    "WorkerChannelRecord",
    "WorkerFacts",
    "WorkflowFacts",
    "WorkerRecord",
    "WorkflowRecord",
    "WorkspaceRecord",
    "Record",
    "Observer",
    "check_transition",
]


class TaskStatus(StrEnum):
    PENDING = "pending"
    RESERVED = "reserved"
    ASSIGNED = "assigned"
    WRAPPING = "wrapping"
    COMPLETED = "completed"
    CANCELED = "canceled"


class ReservationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    TIMEOUT = "timeout"
    CANCELED = "canceled"
    RESCINDED = "rescinded"
    WRAPPING = "wrapping"
    COMPLETED = "completed"


TASK_TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.PENDING: frozenset({TaskStatus.RESERVED, TaskStatus.CANCELED}),
    TaskStatus.RESERVED: frozenset({TaskStatus.PENDING, TaskStatus.ASSIGNED, TaskStatus.CANCELED}),
    TaskStatus.ASSIGNED: frozenset({TaskStatus.WRAPPING, TaskStatus.COMPLETED}),
    TaskStatus.WRAPPING: frozenset({TaskStatus.COMPLETED}),
    TaskStatus.COMPLETED: frozenset(),
    TaskStatus.CANCELED: frozenset(),
}

RESERVATION_TRANSITIONS: dict[ReservationStatus, frozenset[ReservationStatus]] = {
    ReservationStatus.PENDING: frozenset(
        {
            ReservationStatus.ACCEPTED,
            ReservationStatus.REJECTED,
            ReservationStatus.TIMEOUT,
            ReservationStatus.CANCELED,
            ReservationStatus.RESCINDED,
        }
    ),
    ReservationStatus.ACCEPTED: frozenset(
        {ReservationStatus.WRAPPING, ReservationStatus.COMPLETED}
    ),
    ReservationStatus.WRAPPING: frozenset({ReservationStatus.COMPLETED}),
    ReservationStatus.REJECTED: frozenset(),
    ReservationStatus.TIMEOUT: frozenset(),
    ReservationStatus.CANCELED: frozenset(),
    ReservationStatus.RESCINDED: frozenset(),
    ReservationStatus.COMPLETED: frozenset(),
}

#: Reservation statuses that occupy the worker.
ACTIVE_RESERVATION = frozenset(
    {ReservationStatus.PENDING, ReservationStatus.ACCEPTED, ReservationStatus.WRAPPING}
)


def check_transition(kind: str, sid: str, current: StrEnum, new: StrEnum) -> None:
    """Refuse a status change the lifecycle does not have.

    :raises InvalidTransition: naming the resource and both statuses.
    """
    table: dict[Any, frozenset[Any]] = (
        TASK_TRANSITIONS if kind == "task" else RESERVATION_TRANSITIONS
    )
    if new not in table[current]:
        allowed = ", ".join(sorted(s.value for s in table[current])) or "none (it is final)"
        raise InvalidTransition(
            f"{kind} {sid} is {current.value} and cannot become {new.value}; allowed: {allowed}"
        )


class Observer(Protocol):
    """Who a stored record tells of its changes: its store (see :class:`~.store.Store`)."""

    #: Whether a transaction is open: only then are changes reported.
    tracking: bool
    #: The open transaction's number: a record reports its first change in each.
    epoch: int

    def observe(self, record: Record) -> None:
        """Called before ``record``'s field changes, while ``tracking``."""


class Record:
    """A stored record: it tells its store before any of its fields changes.

    Why: a command must be undoable and its changes journaled without each
    mutation site remembering to say so. The store copies a record's fields
    before its first change in a transaction, and knows which records to write.
    ``owner`` is set by the store when it takes the record in, ``None`` before.
    """

    __slots__ = ("owner", "position", "seen")
    #: The store holding this record, or ``None`` (set by the store, never by hand).
    owner: Observer | None
    #: Its place in its table's order (set by the store).
    position: int
    #: The store's transaction in which it last reported a change (set by the store).
    seen: int

    def __new__(cls, *args: Any, **kwargs: Any) -> Record:
        record = object.__new__(cls)
        object.__setattr__(record, "owner", None)
        object.__setattr__(record, "seen", 0)
        return record

    def __setattr__(self, name: str, value: Any) -> None:
        owner = self.owner
        if owner is not None and owner.tracking and self.seen != owner.epoch:
            owner.observe(self)
        object.__setattr__(self, name, value)


_R = TypeVar("_R", bound=Record)


@dataclass_transform()
def record(cls: type[_R]) -> type[_R]:
    """Make ``cls`` a slotted dataclass whose fields report their changes to its store.

    Built as a frozen dataclass and then given :class:`Record`'s ``__setattr__``:
    a frozen dataclass's ``__init__`` sets its fields directly, so building a
    record costs no call per field, while every later change is reported.
    """
    made = dataclass(slots=True, frozen=True)(cls)
    made.__setattr__ = Record.__setattr__  # type: ignore[method-assign]
    made.__delattr__ = object.__delattr__  # type: ignore[method-assign]
    made.__hash__ = None  # type: ignore[assignment]  # mutable: not hashable
    return made


@record
class WorkspaceRecord(Record):
    sid: str
    friendly_name: str
    date_created: datetime
    date_updated: datetime
    event_callback_url: str | None = None
    events_filter: str | None = None
    default_activity_sid: str | None = None
    timeout_activity_sid: str | None = None
    multi_task_enabled: bool = False
    prioritize_queue_order: str = "FIFO"


@record
class ActivityRecord(Record):
    sid: str
    workspace_sid: str
    friendly_name: str
    available: bool
    date_created: datetime
    date_updated: datetime


@record
class WorkerRecord(Record):
    sid: str
    workspace_sid: str
    friendly_name: str
    attributes: dict[str, Any]
    activity_sid: str
    date_created: datetime
    date_updated: datetime
    date_status_changed: datetime
    #: When the worker last became free for work; the longest idle is offered work first.
    idle_since: datetime
    seq: int
    revision: int = 0
    #: Queues whose target_workers match this worker.
    queues: set[str] = field(default_factory=set)
    #: Attributes plus sid, friendly_name, activity_sid, activity_name, for target expressions.
    view: dict[str, Any] = field(default_factory=dict)
    #: Task channel SID -> this worker's worker channel SID.
    channels: dict[str, str] = field(default_factory=dict)


def queue_target(target_workers: str) -> Expression:
    """A queue's ``TargetWorkers`` compiled. Empty matches nobody: Twilio's reference says its
    tasks then wait in the queue until they are deleted or moved."""
    return compile_expression(target_workers if target_workers.strip() else "1 == 0")


@record
class TaskQueueRecord(Record):
    sid: str
    workspace_sid: str
    friendly_name: str
    target_workers: str
    target: Expression
    max_reserved_workers: int
    task_order: str
    reservation_activity_sid: str | None
    assignment_activity_sid: str | None
    date_created: datetime
    date_updated: datetime
    #: Workers whose attributes match target_workers.
    eligible: set[str] = field(default_factory=set)
    #: Sorted keys of the tasks waiting here: (-priority, order, sid).
    waiting: list[tuple[int, int, str]] = field(default_factory=list)


@record
class WorkflowRecord(Record):
    sid: str
    workspace_sid: str
    friendly_name: str
    configuration: WorkflowConfiguration
    document: str
    assignment_callback_url: str | None
    fallback_assignment_callback_url: str | None
    task_reservation_timeout: int
    date_created: datetime
    date_updated: datetime


@record
class TaskChannelRecord(Record):
    sid: str
    workspace_sid: str
    friendly_name: str
    unique_name: str
    channel_optimized_routing: bool
    date_created: datetime
    date_updated: datetime


@record
class WorkerChannelRecord(Record):
    sid: str
    workspace_sid: str
    worker_sid: str
    task_channel_sid: str
    configured_capacity: int
    available: bool
    date_created: datetime
    date_updated: datetime


@record
class TaskRecord(Record):
    sid: str
    workspace_sid: str
    workflow_sid: str | None
    attributes: dict[str, Any]
    priority: int
    timeout: int
    task_channel_sid: str
    status: TaskStatus
    date_created: datetime
    date_updated: datetime
    seq: int
    reason: str | None = None
    task_queue_sid: str | None = None
    task_queue_entered_date: datetime | None = None
    revision: int = 0
    #: Routing position: the filter (None: the default filter) and the target in it.
    filter_index: int | None = None
    target_index: int = 0
    #: Bumped whenever the task moves on, so stale step timers are ignored.
    step: int = 0
    #: Times the task moved from pending to reserved (Twilio's assignment count; the name
    #: is the journal's, kept so that older data files load).
    rejections: int = 0
    #: The priority given at creation or by update; a target's priority overrides it.
    base_priority: int = 0
    virtual_start_time: datetime | None = None
    ignore_capacity: bool = False
    routing_target: str | None = None
    #: The key this task is waiting under in its queue, if it is waiting.
    waiting_key: tuple[int, int, str] | None = None


@record
class ReservationRecord(Record):
    sid: str
    workspace_sid: str
    task_sid: str
    worker_sid: str
    #: ``None`` for a task routed straight to its worker (``RoutingTarget``).
    task_queue_sid: str | None
    status: ReservationStatus
    date_created: datetime
    date_updated: datetime
    revision: int = 0
    instruction: dict[str, Any] | None = None


# -- events -----------------------------------------------------------------------------------
#
# What an event says about each resource it concerns, as it was at the moment it happened, in
# Python's own names and types. Read-only by convention (not frozen: frozen dataclasses are
# several times slower to build, and the engine builds one per event). Twilio's CamelCase
# names for them live only in :mod:`.wire`.


@dataclass(slots=True)
class TaskFacts:
    sid: str
    attributes: dict[str, Any]
    #: Whole seconds since the task was created (or its virtual start time).
    age: int
    priority: int
    status: str
    channel_sid: str
    channel_unique_name: str
    workflow_sid: str | None = None
    workflow_name: str | None = None
    queue_sid: str | None = None
    queue_name: str | None = None
    canceled_reason: str | None = None
    completed_reason: str | None = None


@dataclass(slots=True)
class WorkerFacts:
    sid: str
    name: str
    attributes: dict[str, Any]
    activity_sid: str
    activity_name: str
    version: int


@dataclass(slots=True)
class ActivityFacts:
    sid: str
    name: str
    available: bool


@dataclass(slots=True)
class ChannelFacts:
    sid: str
    name: str
    unique_name: str
    optimized_routing: bool


@dataclass(slots=True)
class QueueFacts:
    sid: str
    name: str
    target_expression: str


@dataclass(slots=True)
class WorkflowFacts:
    sid: str
    name: str


@dataclass(slots=True)
class CapacityFacts:
    """A worker's capacity on one channel, after a change."""

    channel_sid: str
    channel_unique_name: str
    available: bool
    available_capacity: int
    task_count: int
    previous_capacity: int | None = None


@dataclass(slots=True)
class ActivityChange:
    """Where a worker came from when their activity changed."""

    previous_activity_sid: str
    time_in_previous_ms: int


@dataclass(slots=True)
class EventRecord:
    """One event: what happened, when, and the facts of every resource it concerns."""

    sid: str
    workspace_sid: str
    type: str
    description: str
    resource_type: str
    resource_sid: str
    timestamp: datetime
    account_sid: str
    workspace_name: str
    task: TaskFacts | None = None
    worker: WorkerFacts | None = None
    reservation_sid: str | None = None
    activity: ActivityFacts | None = None
    channel: ChannelFacts | None = None
    queue: QueueFacts | None = None
    workflow: WorkflowFacts | None = None
    capacity: CapacityFacts | None = None
    change: ActivityChange | None = None
    #: The workflow filter a task matched (``workflow.target-matched``).
    filter_name: str | None = None

    @property
    def fields(self) -> dict[str, str]:
        """The event as a callback carries it, in Twilio's names (see :mod:`.wire`)."""
        from .wire import event_fields

        return event_fields(self)
