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
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ..expressions import compile_expression
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
)

__all__ = [
    "KINDS",
    "decode_event",
    "decode_record",
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


def encode_record(record: Record) -> dict[str, Any]:
    """The record's stored fields as JSON values."""
    return {name: encode(getattr(record, name)) for name, encode, _ in _FIELDS[type(record)]}


def decode_record(kind: str, data: Mapping[str, Any]) -> Record:
    """A record of ``kind`` from :func:`encode_record`'s output; derived fields are rebuilt."""
    record_type = KINDS[kind]
    values = {name: decode(data[name]) for name, _, decode in _FIELDS[record_type]}
    if record_type is TaskQueueRecord:
        values["target"] = compile_expression(values["target_workers"])
    elif record_type is WorkflowRecord:
        values["configuration"] = WorkflowConfiguration.from_json(values["document"])
    return record_type(**values)


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
_FACT_FIELDS = {
    name: tuple(f.name for f in dataclasses.fields(kind)) for name, kind in _FACTS.items()
}
_EVENT_TEXT = (
    "sid",
    "workspace_sid",
    "type",
    "description",
    "resource_type",
    "resource_sid",
    "account_sid",
    "workspace_name",
    "reservation_sid",
    "filter_name",
)


def encode_event(event: EventRecord) -> dict[str, Any]:
    """An event as JSON values; facts it does not carry are left out."""
    data: dict[str, Any] = {name: getattr(event, name) for name in _EVENT_TEXT}
    data["timestamp"] = event.timestamp.isoformat()
    for name, fields in _FACT_FIELDS.items():
        facts = getattr(event, name)
        if facts is not None:
            data[name] = {field: getattr(facts, field) for field in fields}
    return data


def decode_event(data: Mapping[str, Any]) -> EventRecord:
    """An event from :func:`encode_event`'s output."""
    values: dict[str, Any] = {name: data.get(name) for name in _EVENT_TEXT}
    values["timestamp"] = datetime.fromisoformat(data["timestamp"])
    for name, kind in _FACTS.items():
        facts = data.get(name)
        if facts is not None:
            values[name] = kind(**facts)
    return EventRecord(**values)
