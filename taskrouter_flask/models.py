"""Typed, immutable values for what TaskRouter tells an application.

Handlers receive these instead of a form of strings, and the REST client
returns the same types: attribute JSON is already a mapping, ages and
priorities are ``int``, timestamps are aware ``datetime``. A field that a
callback or a resource does not carry is ``None``. ``raw`` keeps every field
exactly as received, including the ones Twilio adds after this library was
written.

Immutable all the way down. The models are frozen dataclasses, and every
dict or list inside them (attributes, ``raw``, links, configurations,
statistics) is frozen when the model is built: a dict becomes a
:class:`FrozenDict` and a list a :class:`FrozenList`, at every depth. So a
handler cannot change what the next handler of the same event sees. The
frozen types are subclasses of ``dict`` and ``list``: reading them,
``json.dumps(task.attributes)``, ``task.attributes.get("x")`` and comparing
them with plain dicts and lists work as before, while every method that
would change them raises :class:`TypeError`. ``dict(...)`` / ``list(...)``
(or ``.copy()``) give a shallow mutable copy, :func:`thaw` a deep one. The
fields are typed ``Mapping`` and ``Sequence`` so that a type checker flags
an attempt to change them too.

Equality and hashing. Two models are equal when every field but ``raw`` is
equal (``raw`` is how the value arrived, not what it is), and the hash is
taken over exactly those fields, so equal models hash alike and models can
be set members and dict keys (for example to remember which assignments were
seen). Frozen containers hash by content and cache their hash.

Pure module: no Flask, no marshmallow; :mod:`taskrouter_flask.schemas` builds
these from callback forms and REST JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn, TypeVar

__all__ = [
    "EVENT_TYPES",
    "Activity",
    "Assignment",
    "Event",
    "FrozenDict",
    "FrozenList",
    "Reservation",
    "Statistics",
    "Task",
    "TaskChannel",
    "TaskQueue",
    "Worker",
    "WorkerChannel",
    "Workflow",
    "Workspace",
    "freeze",
    "thaw",
]


#: Every event type TaskRouter documents; Twilio may add more, which are
#: delivered like any other.
EVENT_TYPES: frozenset[str] = frozenset(
    {
        "activity.created",
        "activity.updated",
        "activity.deleted",
        "reservation.created",
        "reservation.accepted",
        "reservation.rejected",
        "reservation.timeout",
        "reservation.canceled",
        "reservation.rescinded",
        "reservation.completed",
        "reservation.failed",
        "reservation.wrapup",
        "task.created",
        "task.updated",
        "task.canceled",
        "task.wrapup",
        "task.completed",
        "task.deleted",
        "task.system-deleted",
        "task.transfer-initiated",
        "task.transfer-attempt-failed",
        "task.transfer-failed",
        "task.transfer-canceled",
        "task.transfer-completed",
        "task-channel.created",
        "task-channel.updated",
        "task-channel.deleted",
        "task-queue.created",
        "task-queue.deleted",
        "task-queue.entered",
        "task-queue.timeout",
        "task-queue.moved",
        "task-queue.expression.updated",
        "worker.created",
        "worker.deleted",
        "worker.activity.update",
        "worker.attributes.update",
        "worker.capacity.update",
        "worker.channel.availability.update",
        "workflow.created",
        "workflow.updated",
        "workflow.deleted",
        "workflow.target-matched",
        "workflow.entered",
        "workflow.timeout",
        "workflow.skipped",
        "workspace.created",
        "workspace.updated",
        "workspace.deleted",
    }
)


_K = TypeVar("_K")
_V = TypeVar("_V")
_T = TypeVar("_T")


_UNSET: Any = object()


def _read_only(kind: str) -> NoReturn:
    raise TypeError(
        f"this {kind} is read-only: TaskRouter payloads are immutable so that one handler"
        " cannot change what the next one sees; copy it first (dict(value), list(value), or"
        " taskrouter_flask.models.thaw(value) for a deep copy)"
    )


class FrozenDict(dict[_K, _V]):
    """A read-only ``dict``, frozen all the way down, hashable by content.

    Built from anything ``dict()`` accepts; nested dicts become
    :class:`FrozenDict`, lists :class:`FrozenList`, tuples keep their
    shape with frozen items, sets become ``frozenset``. It is a ``dict``
    subclass, so ``json.dumps``, ``isinstance(x, dict)``, ``.get()`` and
    ``==`` with a plain dict work; every method that would change it raises
    :class:`TypeError`. ``copy()`` returns a plain (shallow) ``dict``.
    """

    __slots__ = ("_hash",)
    _hash: int | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if getattr(self, "_hash", _UNSET) is not _UNSET:  # set once the content is in place
            _read_only("mapping")
        super().__init__(*args, **kwargs)
        self._hash = None
        _freeze_contents(self)

    @classmethod
    def fromkeys(cls, iterable: Iterable[Any], value: Any = None, /) -> FrozenDict[Any, Any]:
        """Return a :class:`FrozenDict` with the keys of ``iterable``, each mapped to ``value``."""
        return cls(dict.fromkeys(iterable, value))

    def thaw(self) -> dict[_K, Any]:
        """Return a deep, mutable copy: plain dicts and lists at every depth."""
        return thaw(self)  # type: ignore[no-any-return]

    def __hash__(self) -> int:  # type: ignore[override]
        if self._hash is None:
            self._hash = hash(frozenset(self.items()))
        return self._hash

    def __reduce__(self) -> tuple[type[FrozenDict[_K, _V]], tuple[dict[_K, _V]]]:
        return (type(self), (dict(self),))

    def __copy__(self) -> FrozenDict[_K, _V]:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict[_K, _V]:
        return self

    def __setitem__(self, key: _K, value: _V) -> NoReturn:
        _read_only("mapping")

    def __delitem__(self, key: _K) -> NoReturn:
        _read_only("mapping")

    def __ior__(self, other: Any) -> NoReturn:  # type: ignore[misc]
        _read_only("mapping")

    def clear(self) -> NoReturn:
        _read_only("mapping")

    def pop(self, *args: Any) -> NoReturn:
        _read_only("mapping")

    def popitem(self) -> NoReturn:
        _read_only("mapping")

    def setdefault(self, *args: Any) -> NoReturn:
        _read_only("mapping")

    def update(self, *args: Any, **kwargs: Any) -> NoReturn:
        _read_only("mapping")


class FrozenList(list[_T]):
    """A read-only ``list``, frozen all the way down, hashable by content.

    Its items are frozen as :class:`FrozenDict` describes. It is a ``list``
    subclass, so ``json.dumps``, ``in``, indexing, iteration and ``==`` with
    a plain list work; every method that would change it raises
    :class:`TypeError`. ``copy()``, ``+`` and ``*`` return plain lists.
    """

    __slots__ = ("_hash",)
    _hash: int | None

    def __init__(self, iterable: Iterable[_T] = (), /) -> None:
        if getattr(self, "_hash", _UNSET) is not _UNSET:  # set once the content is in place
            _read_only("list")
        super().__init__(iterable)
        self._hash = None
        _freeze_contents(self)

    def thaw(self) -> list[Any]:
        """Return a deep, mutable copy: plain lists and dicts at every depth."""
        return thaw(self)  # type: ignore[no-any-return]

    def __hash__(self) -> int:  # type: ignore[override]
        if self._hash is None:
            self._hash = hash(tuple(self))
        return self._hash

    def __reduce__(self) -> tuple[type[FrozenList[_T]], tuple[list[_T]]]:
        return (type(self), (list(self),))

    def __copy__(self) -> FrozenList[_T]:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenList[_T]:
        return self

    def __setitem__(self, index: Any, value: Any) -> NoReturn:
        _read_only("list")

    def __delitem__(self, index: Any) -> NoReturn:
        _read_only("list")

    def __iadd__(self, other: Any) -> NoReturn:  # type: ignore[misc]
        _read_only("list")

    def __imul__(self, other: Any) -> NoReturn:  # type: ignore[misc]
        _read_only("list")

    def append(self, value: _T) -> NoReturn:
        _read_only("list")

    def extend(self, values: Iterable[_T]) -> NoReturn:
        _read_only("list")

    def insert(self, index: Any, value: _T) -> NoReturn:
        _read_only("list")

    def pop(self, *args: Any) -> NoReturn:
        _read_only("list")

    def remove(self, value: _T) -> NoReturn:
        _read_only("list")

    def clear(self) -> NoReturn:
        _read_only("list")

    def sort(self, *args: Any, **kwargs: Any) -> NoReturn:
        _read_only("list")

    def reverse(self) -> NoReturn:
        _read_only("list")


_FROZEN = (FrozenDict, FrozenList, str, int, float, bool, type(None), frozenset, datetime)


def freeze(value: Any) -> Any:
    """Return ``value`` frozen all the way down (itself when there is nothing to freeze).

    Mappings become :class:`FrozenDict`, lists :class:`FrozenList`, sets
    ``frozenset``; tuples keep their type with frozen items; anything else is
    returned as it is. Iterative, so deeply nested JSON cannot exhaust the stack.
    """
    kind = type(value)
    if kind is dict or kind is list:  # what JSON and forms give: straight to a shell
        shell = _shell(value)
        assert shell is not None
        _freeze_contents(shell)
        return shell
    if isinstance(value, _FROZEN):
        return value
    if isinstance(value, Mapping):
        return FrozenDict(value)
    if isinstance(value, list):
        return FrozenList(value)
    if isinstance(value, tuple):
        items = [freeze(item) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return _same_kind_of_tuple(value, items)
    if isinstance(value, set):
        return frozenset(value)
    return value


#: Exact types that never need freezing: checked first, the common case by far.
_ATOMS = frozenset({str, int, float, bool, type(None)})


def _shell(value: Any) -> FrozenDict[Any, Any] | FrozenList[Any] | None:
    """An empty frozen container for a mutable one, to be filled by :func:`_freeze_contents`."""
    shell: FrozenDict[Any, Any] | FrozenList[Any]
    kind = type(value)
    if kind is dict or (kind is not FrozenDict and isinstance(value, Mapping)):
        shell = FrozenDict.__new__(FrozenDict)
        dict.update(shell, value)
    elif kind is list or (kind is not FrozenList and isinstance(value, list)):
        shell = FrozenList.__new__(FrozenList)
        list.extend(shell, value)
    else:
        return None
    shell._hash = None
    return shell


def _frozen_item(item: Any, pending: list[FrozenDict[Any, Any] | FrozenList[Any]]) -> Any:
    """``item`` itself if nothing in it needs freezing, else its frozen replacement."""
    if type(item) in _ATOMS:
        return item
    shell = _shell(item)
    if shell is not None:
        pending.append(shell)
        return shell
    if isinstance(item, tuple | set):
        return freeze(item)
    return item


def _freeze_contents(container: FrozenDict[Any, Any] | FrozenList[Any]) -> None:
    """Freeze, in place and without recursion, what a new frozen container holds.

    Every callback freezes its attributes and its raw fields, so the checks
    run in C where they can: a container of plain values only (the common
    case) is recognised by the set of its items' types, and plain items are
    skipped before any call.
    """
    atoms = _ATOMS
    pending: list[FrozenDict[Any, Any] | FrozenList[Any]] = [container]
    while pending:
        current = pending.pop()
        if isinstance(current, FrozenDict):
            if atoms.issuperset(map(type, dict.values(current))):
                continue
            for key, item in dict.items(current):
                if type(item) not in atoms:
                    frozen = _frozen_item(item, pending)
                    if frozen is not item:
                        dict.__setitem__(current, key, frozen)
        else:
            if atoms.issuperset(map(type, current)):
                continue
            for index, item in enumerate(current):
                if type(item) not in atoms:
                    frozen = _frozen_item(item, pending)
                    if frozen is not item:
                        list.__setitem__(current, index, frozen)


def _same_kind_of_tuple(value: tuple[Any, ...], items: list[Any]) -> tuple[Any, ...]:
    make = getattr(type(value), "_make", None)  # a named tuple
    return make(items) if callable(make) else tuple(items)


def thaw(value: Any) -> Any:
    """Return a deep, mutable copy of ``value``: plain dicts and lists at every depth.

    Tuples stay tuples (with thawed items); anything else is returned as it is.
    """
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, list):
        return [thaw(item) for item in value]
    if isinstance(value, tuple):
        return _same_kind_of_tuple(value, [thaw(item) for item in value])
    return value


#: Per model class, the fields whose annotation allows a container (the others are
#: strings, numbers, booleans, datetimes or other models, which freeze themselves).
_CONTAINER_FIELDS: dict[type, tuple[str, ...]] = {}
_CONTAINER_HINTS = ("Mapping", "Sequence", "dict", "list", "set", "tuple", "Any")


#: Exact types a field can hold as they are: plain values, and containers frozen already.
_SETTLED = _ATOMS | {FrozenDict, FrozenList}


def _freeze_fields(model: Any) -> None:
    """Freeze, in place, every field of a just-built model that holds a dict or a list."""
    kind = type(model)
    names = _CONTAINER_FIELDS.get(kind)
    if names is None:
        names = _CONTAINER_FIELDS[kind] = tuple(
            name
            for name, spec in model.__dataclass_fields__.items()
            if any(hint in str(spec.type) for hint in _CONTAINER_HINTS)
        )
    for name in names:
        value = getattr(model, name)
        if type(value) not in _SETTLED:
            frozen = freeze(value)
            if frozen is not value:
                object.__setattr__(model, name, frozen)


#: Shared by every model without attributes or raw fields: it cannot change.
_EMPTY: FrozenDict[str, Any] = FrozenDict()


def _empty() -> Mapping[str, Any]:
    return _EMPTY


@dataclass(frozen=True, slots=True, kw_only=True)
class _WorkspaceResource:
    """Fields every resource inside a workspace has; keyword-only, after the resource's own."""

    account_sid: str | None = None
    workspace_sid: str | None = None
    date_created: datetime | None = None
    date_updated: datetime | None = None
    url: str | None = None
    links: Mapping[str, str] | None = None
    raw: Mapping[str, Any] = field(default_factory=_empty, compare=False, repr=False)

    def __post_init__(self) -> None:
        _freeze_fields(self)


@dataclass(frozen=True, slots=True)
class Task(_WorkspaceResource):
    """A task as a callback describes it.

    :param sid: the task SID (``WT...``).
    :param attributes: the task's attributes, decoded from JSON.
    :param age: seconds since the task was created, when the callback says.
    :param priority: the task's priority, when the callback says.
    :param assignment_status: ``pending``, ``reserved``, ``assigned``, ``wrapping``,
        ``completed`` or ``canceled``, on events that carry it.
    """

    sid: str
    attributes: Mapping[str, Any] = field(default_factory=_empty)
    age: int | None = None
    priority: int | None = None
    assignment_status: str | None = None
    canceled_reason: str | None = None
    completed_reason: str | None = None
    channel_sid: str | None = None
    channel_unique_name: str | None = None
    reason: str | None = None
    timeout: int | None = None
    task_queue_sid: str | None = None
    task_queue_friendly_name: str | None = None
    task_queue_entered_date: datetime | None = None
    workflow_sid: str | None = None
    workflow_friendly_name: str | None = None
    virtual_start_time: datetime | None = None
    ignore_capacity: bool | None = None
    routing_target: str | None = None
    addons: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Worker(_WorkspaceResource):
    """A worker as a callback describes it.

    :param sid: the worker SID (``WK...``).
    :param attributes: the worker's attributes, decoded from JSON.
    :param friendly_name: the worker's name, on events that carry it.
    :param activity_sid: the worker's current activity, on events that carry it.
    """

    sid: str
    attributes: Mapping[str, Any] = field(default_factory=_empty)
    friendly_name: str | None = None
    activity_sid: str | None = None
    activity_name: str | None = None
    version: int | None = None
    previous_activity_sid: str | None = None
    time_in_previous_activity_ms: int | None = None
    available: bool | None = None
    date_status_changed: datetime | None = None


@dataclass(frozen=True, slots=True)
class Activity(_WorkspaceResource):
    """An activity (a worker state such as *Available* or *Offline*)."""

    sid: str
    friendly_name: str | None = None
    available: bool | None = None


@dataclass(frozen=True, slots=True)
class WorkerChannel:
    """A worker's capacity on one task channel (multitasking workspaces).

    Event callbacks describe a change (``available_capacity``,
    ``previous_capacity``, ``task_count``); the REST resource describes the
    state (``configured_capacity``, ``assigned_tasks``, ...).
    """

    task_channel_sid: str | None = None
    task_channel_unique_name: str | None = None
    available: bool | None = None
    available_capacity: int | None = None
    previous_capacity: int | None = None
    task_count: int | None = None
    sid: str | None = None
    worker_sid: str | None = None
    assigned_tasks: int | None = None
    configured_capacity: int | None = None
    available_capacity_percentage: int | None = None
    account_sid: str | None = None
    workspace_sid: str | None = None
    date_created: datetime | None = None
    date_updated: datetime | None = None
    url: str | None = None
    raw: Mapping[str, Any] = field(default_factory=_empty, compare=False, repr=False)

    def __post_init__(self) -> None:
        _freeze_fields(self)


@dataclass(frozen=True, slots=True)
class Workspace:
    """A workspace: the container of everything else."""

    sid: str
    friendly_name: str | None = None
    event_callback_url: str | None = None
    events_filter: str | None = None
    default_activity_sid: str | None = None
    default_activity_name: str | None = None
    timeout_activity_sid: str | None = None
    timeout_activity_name: str | None = None
    multi_task_enabled: bool | None = None
    prioritize_queue_order: str | None = None
    account_sid: str | None = None
    date_created: datetime | None = None
    date_updated: datetime | None = None
    url: str | None = None
    links: Mapping[str, str] | None = None
    raw: Mapping[str, Any] = field(default_factory=_empty, compare=False, repr=False)

    def __post_init__(self) -> None:
        _freeze_fields(self)


@dataclass(frozen=True, slots=True)
class Workflow(_WorkspaceResource):
    """A workflow: the routing configuration and where to ask for assignment answers.

    :param configuration: the routing configuration, decoded when it is JSON
        (``document_content_type`` ``application/json``, the usual case), else
        the document's text as received.
    """

    sid: str
    friendly_name: str | None = None
    configuration: Mapping[str, Any] | str | None = None
    assignment_callback_url: str | None = None
    fallback_assignment_callback_url: str | None = None
    task_reservation_timeout: int | None = None
    document_content_type: str | None = None


@dataclass(frozen=True, slots=True)
class TaskQueue(_WorkspaceResource):
    """A task queue and the expression that says which workers serve it."""

    sid: str
    friendly_name: str | None = None
    target_workers: str | None = None
    max_reserved_workers: int | None = None
    task_order: str | None = None
    reservation_activity_sid: str | None = None
    reservation_activity_name: str | None = None
    assignment_activity_sid: str | None = None
    assignment_activity_name: str | None = None


@dataclass(frozen=True, slots=True)
class TaskChannel(_WorkspaceResource):
    """A task channel (voice, chat, ...) for multitasking workspaces."""

    sid: str
    friendly_name: str | None = None
    unique_name: str | None = None
    channel_optimized_routing: bool | None = None


@dataclass(frozen=True, slots=True)
class Reservation(_WorkspaceResource):
    """A reservation: a task offered to one worker."""

    sid: str
    reservation_status: str | None = None
    task_sid: str | None = None
    worker_sid: str | None = None
    worker_name: str | None = None


@dataclass(frozen=True, slots=True)
class Statistics:
    """Statistics of a workspace, workflow, task queue or worker(s).

    One type serves every statistics resource: the plain ones carry
    ``cumulative`` and ``realtime`` objects, the cumulative and real-time ones
    carry their figures as fields. A field the resource does not have is
    ``None``.
    """

    account_sid: str | None = None
    workspace_sid: str | None = None
    workflow_sid: str | None = None
    task_queue_sid: str | None = None
    worker_sid: str | None = None
    url: str | None = None
    cumulative: Mapping[str, Any] | None = None
    realtime: Mapping[str, Any] | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    avg_task_acceptance_time: int | None = None
    reservations_created: int | None = None
    reservations_accepted: int | None = None
    reservations_rejected: int | None = None
    reservations_timed_out: int | None = None
    reservations_canceled: int | None = None
    reservations_rescinded: int | None = None
    split_by_wait_time: Mapping[str, Any] | None = None
    wait_duration_until_accepted: Mapping[str, Any] | None = None
    wait_duration_until_canceled: Mapping[str, Any] | None = None
    wait_duration_in_queue_until_accepted: Mapping[str, Any] | None = None
    tasks_canceled: int | None = None
    tasks_completed: int | None = None
    tasks_deleted: int | None = None
    tasks_entered: int | None = None
    tasks_moved: int | None = None
    tasks_created: int | None = None
    tasks_timed_out_in_workflow: int | None = None
    activity_durations: Sequence[Any] | None = None
    activity_statistics: Sequence[Any] | None = None
    longest_task_waiting_age: int | None = None
    longest_task_waiting_sid: str | None = None
    longest_relative_task_age_in_queue: int | None = None
    longest_relative_task_sid_in_queue: str | None = None
    tasks_by_priority: Mapping[str, Any] | None = None
    tasks_by_status: Mapping[str, Any] | None = None
    total_tasks: int | None = None
    total_workers: int | None = None
    total_available_workers: int | None = None
    total_eligible_workers: int | None = None
    task_queue_data: Sequence[Any] | None = None
    task_queue_response_count: int | None = None
    raw: Mapping[str, Any] = field(default_factory=_empty, compare=False, repr=False)

    def __post_init__(self) -> None:
        _freeze_fields(self)


@dataclass(frozen=True, slots=True)
class Assignment:
    """An assignment callback: TaskRouter reserved ``task`` for ``worker`` and asks what to do.

    :param reservation_sid: the reservation (``WR...``) the answer applies to.
    :param raw: every field received, as received.
    """

    account_sid: str
    workspace_sid: str
    workflow_sid: str
    task_queue_sid: str
    reservation_sid: str
    task: Task
    worker: Worker
    timestamp: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=_empty, compare=False, repr=False)

    def __post_init__(self) -> None:
        _freeze_fields(self)


@dataclass(frozen=True, slots=True)
class Event:
    """An event callback: something happened in the workspace.

    Fields an event type does not carry are ``None``; ``task``, ``worker``,
    ``activity`` and ``worker_channel`` are present when the event carries
    their SID.

    :param sid: the event SID (``EV...``) when Twilio sends one; the key for
        recognising a redelivered event.
    :param type: the event type, e.g. ``reservation.accepted``.
    :param timestamp: when it happened, timezone-aware (UTC).
    :param raw: every field received, as received.
    """

    type: str
    timestamp: datetime
    account_sid: str
    workspace_sid: str
    sid: str | None = None
    description: str | None = None
    resource_type: str | None = None
    resource_sid: str | None = None
    workspace_name: str | None = None
    task: Task | None = None
    worker: Worker | None = None
    activity: Activity | None = None
    worker_channel: WorkerChannel | None = None
    reservation_sid: str | None = None
    task_queue_sid: str | None = None
    task_queue_name: str | None = None
    task_queue_target_expression: str | None = None
    workflow_sid: str | None = None
    workflow_name: str | None = None
    event_data: Mapping[str, Any] | None = None
    event_date_ms: int | None = None
    actor_sid: str | None = None
    actor_type: str | None = None
    actor_url: str | None = None
    resource_url: str | None = None
    source: str | None = None
    source_ip_address: str | None = None
    url: str | None = None
    raw: Mapping[str, Any] = field(default_factory=_empty, compare=False, repr=False)

    def __post_init__(self) -> None:
        _freeze_fields(self)
