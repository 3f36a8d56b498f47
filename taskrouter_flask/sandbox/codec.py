"""Records and events as plain JSON values, and back.

Why: the journal stores each record as one JSON row, and tests compare two
engines' exported states; both need the same lossless encoding of exactly
the fields that are facts. Fields the engine derives from other state (a
worker's matching queues, a queue's eligible workers and waiting order, a
compiled expression, a parsed workflow configuration) are not encoded; the
engine rebuilds them after a restore.

Pure: standard library and the package's own models only.
"""

from __future__ import annotations

import dataclasses
import json
import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..workflow import WorkflowConfiguration
from .state import (
    ActivityChange,
    ActivityFacts,
    ActivityRecord,
    CapacityFacts,
    ChannelFacts,
    EventRecord,
    QueueFacts,
    Record,
    ReservationRecord,
    ReservationStatus,
    TaskChannelRecord,
    TaskFacts,
    TaskQueueRecord,
    TaskRecord,
    TaskStatus,
    WorkerChannelRecord,
    WorkerFacts,
    WorkerRecord,
    WorkflowFacts,
    WorkflowRecord,
    WorkspaceRecord,
    queue_target,
)

__all__ = [
    "KINDS",
    "STORED_FIELDS",
    "decode_event",
    "decode_record",
    "derive",
    "dump",
    "encode_event",
    "encode_record",
    "kind_of",
]

#: Record kinds, by the name of the table that holds them, in the order a restore adds them.
KINDS: dict[str, type[Record]] = {
    "workspaces": WorkspaceRecord,
    "activities": ActivityRecord,
    "task_channels": TaskChannelRecord,
    "workers": WorkerRecord,
    "worker_channels": WorkerChannelRecord,
    "task_queues": TaskQueueRecord,
    "workflows": WorkflowRecord,
    "tasks": TaskRecord,
    "reservations": ReservationRecord,
}
_KIND_OF = {record: kind for kind, record in KINDS.items()}

#: Fields the engine derives from other state; never stored.
DERIVED: dict[type[Record], frozenset[str]] = {
    WorkerRecord: frozenset({"queues", "view", "channels"}),
    TaskQueueRecord: frozenset({"target", "eligible", "waiting"}),
    WorkflowRecord: frozenset({"configuration"}),
}


def kind_of(record: Record) -> str:
    """The table a record belongs in."""
    return _KIND_OF[type(record)]


def dump(value: Any) -> str:
    """Compact JSON; a value JSON cannot hold is an error, never a silent change."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _identity(value: Any) -> Any:
    return value


def _optional(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def optional(value: Any) -> Any:
        return None if value is None else convert(value)

    return optional


def _key(value: Any) -> tuple[int, int, str]:
    a, b, c = value
    return (int(a), int(b), str(c))


# (encode, decode) by the field annotations of .state (strings, under `from __future__`).
_CONVERTERS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "str": (_identity, _identity),
    "str | None": (_identity, _identity),
    "int": (_identity, _identity),
    "int | None": (_identity, _identity),
    "bool": (_identity, bool),
    "datetime": (datetime.isoformat, datetime.fromisoformat),
    "datetime | None": (
        _optional(datetime.isoformat),
        _optional(datetime.fromisoformat),
    ),
    "dict[str, Any]": (_identity, _identity),
    "dict[str, Any] | None": (_identity, _identity),
    "tuple[int, int, str] | None": (_optional(list), _optional(_key)),
    "TaskStatus": (str, TaskStatus),
    "ReservationStatus": (str, ReservationStatus),
}

_Fields = tuple[tuple[str, Callable[[Any], Any], Callable[[Any], Any]], ...]


def record_fields(record: type[Record]) -> _Fields:
    """The stored fields of a record type, each with its encoder and decoder."""
    derived = DERIVED.get(record, frozenset())
    found = []
    for item in dataclasses.fields(record):  # type: ignore[arg-type]
        if item.name in derived:
            continue
        converters = _CONVERTERS.get(item.type) if isinstance(item.type, str) else None
        if converters is None:
            raise TypeError(
                f"codec: no converter for {record.__name__}.{item.name} ({item.type!r});"
                " teach taskrouter_flask/sandbox/codec.py how to keep it"
            )
        found.append((item.name, *converters))
    return tuple(found)


_FIELDS: dict[type[Record], _Fields] = {record: record_fields(record) for record in KINDS.values()}
#: Per record type: the names of its stored fields (those not derived), in order.
STORED_FIELDS: dict[type[Record], tuple[str, ...]] = {
    record: tuple(name for name, _, _ in fields) for record, fields in _FIELDS.items()
}


def encode_record(record: Record) -> dict[str, Any]:
    """The record's stored fields as JSON values."""
    return {name: encode(getattr(record, name)) for name, encode, _ in _FIELDS[type(record)]}


#: Per record type: (field, decoder or None when the JSON value is the value itself).
_DECODERS = {
    record: tuple((name, None if decode is _identity else decode) for name, _, decode in fields)
    for record, fields in _FIELDS.items()
}
#: Per record type: its derived fields that start empty (the engine fills them after a restore).
_EMPTY = {
    record: tuple(
        (f.name, f.default_factory)
        for f in dataclasses.fields(record)  # type: ignore[arg-type]
        if f.name in DERIVED.get(record, ()) and f.default_factory is not dataclasses.MISSING
    )
    for record in KINDS.values()
}


def decode_record(kind: str, data: Mapping[str, Any]) -> Record:
    """A record of ``kind`` from :func:`encode_record`'s output; derived fields are rebuilt.

    Built field by field rather than through ``__init__``: a restart decodes every record,
    and the record's change reporting has nothing to report yet.
    """
    record_type = KINDS[kind]
    record = record_type.__new__(record_type)
    place = object.__setattr__
    for name, decode in _DECODERS[record_type]:
        value = data[name]
        place(record, name, value if decode is None else decode(value))
    for name, factory in _EMPTY[record_type]:
        place(record, name, factory())
    derive(record)
    return record


def derive(record: Record) -> None:
    """Recompute the fields a record derives from its stored ones (a compiled queue
    expression, a parsed workflow configuration): after a decode, and after a rollback
    put the stored ones back."""
    if isinstance(record, TaskQueueRecord):
        object.__setattr__(record, "target", queue_target(record.target_workers))
    elif isinstance(record, WorkflowRecord):
        configuration = WorkflowConfiguration.from_json(record.document)
        object.__setattr__(record, "configuration", configuration)


#: The facts an event may carry, by the name of its field.
_FACTS: dict[str, type[Any]] = {
    "task": TaskFacts,
    "worker": WorkerFacts,
    "activity": ActivityFacts,
    "channel": ChannelFacts,
    "queue": QueueFacts,
    "workflow": WorkflowFacts,
    "capacity": CapacityFacts,
    "change": ActivityChange,
}
_EVENT_FIELDS = tuple(f.name for f in dataclasses.fields(EventRecord))
_TIMESTAMP = _EVENT_FIELDS.index("timestamp")
#: Per event field: how to write it (a getter of a facts' fields in order, or None: as is).
_WRITERS = tuple(
    operator.attrgetter(*(f.name for f in dataclasses.fields(_FACTS[name])))
    if name in _FACTS
    else None
    for name in _EVENT_FIELDS
)
#: Per event field: how to read it back (the facts' type, or None: as is).
_READERS = tuple(_FACTS.get(name) for name in _EVENT_FIELDS)


def encode_event(event: EventRecord) -> list[Any]:
    """An event as one JSON array: its fields in order, each facts an array or null.

    Arrays, not objects: an event log holds hundreds of thousands of them, and a restart
    reads them all, so the names are not repeated in each.
    """
    row: list[Any] = []
    for name, writer in zip(_EVENT_FIELDS, _WRITERS, strict=True):
        value = getattr(event, name)
        if writer is not None and value is not None:
            value = list(writer(value))
        row.append(value)
    row[_TIMESTAMP] = event.timestamp.isoformat()
    return row


def decode_event(row: Sequence[Any]) -> EventRecord:
    """An event from :func:`encode_event`'s output."""
    values = [
        value if reader is None or value is None else reader(*value)
        for reader, value in zip(_READERS, row, strict=True)
    ]
    values[_TIMESTAMP] = datetime.fromisoformat(values[_TIMESTAMP])
    return EventRecord(*values)
