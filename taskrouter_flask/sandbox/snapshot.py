"""Save the whole sandbox engine to a SQLite file, and load it back.

Why: a sandbox that restarts should lose nothing it had acknowledged. Every
answer the REST API gave (a SID, a status, an event) is part of the engine's
state, so :func:`save` writes all of it, and :func:`load` rebuilds an engine
that behaves exactly as the saved one would have: the same records, event
log, scheduled timers (in the same heap order), queue orders, eligibility
sets, active reservations, sequence counter and SID generator, so the next
SID handed out and the next event emitted are the ones the old process would
have produced.

The file is written atomically: into a temporary file in the same directory,
flushed to disk, then moved over ``path`` with :func:`os.replace`. A crash
mid-write leaves the previous snapshot (or nothing) in place, never half a
file.

Layout: one table per record kind (its columns are the record's fields),
plus ``events``, ``timers``, the engine's two private indexes
(``active_reservations`` and ``task_reservations``) and ``meta`` (format
version, sequence counter, the random generator's state as JSON, the clock's
time, the account SID). Rows keep the engine's dict and list orders.
Datetimes are ISO 8601 strings with their offset, attributes and workflow
configurations JSON, enums their values, compiled expressions their text.

Not kept: listeners (the callback sender registers itself again on the new
engine) and the clock itself (:func:`load` takes one; by default a
:class:`ManualClock` at the saved time). Attribute values must be JSON values,
as they are when they come through the API; a tuple comes back as a list.

Pure module: standard library only, no Flask.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..expressions import compile_expression
from ..workflow import WorkflowConfiguration
from .clock import Clock, ManualClock
from .engine import Engine
from .state import (
    ActivityRecord,
    EventRecord,
    ReservationRecord,
    ReservationStatus,
    TaskChannelRecord,
    TaskQueueRecord,
    TaskRecord,
    TaskStatus,
    WorkerChannelRecord,
    WorkerRecord,
    WorkflowRecord,
    WorkspaceRecord,
)

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "load", "save"]

logger = logging.getLogger(__name__)

#: What ``meta.format`` says in every snapshot file.
FORMAT_NAME = "taskrouter-sandbox-snapshot"
#: Bumped whenever the layout changes; :func:`load` refuses any other version.
FORMAT_VERSION = 1

#: The engine's instance attributes this module knows how to keep. ``save`` refuses an engine
#: with any other, so that a new index added to the engine cannot be silently dropped.
_ENGINE_ATTRIBUTES = frozenset(
    {
        "clock",
        "account_sid",
        "_random",
        "workspaces",
        "activities",
        "workers",
        "task_queues",
        "workflows",
        "task_channels",
        "worker_channels",
        "tasks",
        "reservations",
        "events",
        "listeners",
        "_timers",
        "_seq",
        "_active",
        "_task_reservations",
        "_ready",  # derived: rebuilt on load
    }
)


# -- value codecs ---------------------------------------------------------------------------


def _identity(value: Any) -> Any:
    return value


def _optional(encode: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def optional(value: Any) -> Any:
        return None if value is None else encode(value)

    return optional


def _dump_json(value: Any) -> str:
    # No ``default=``: a value JSON cannot hold fails the save instead of changing silently.
    return json.dumps(value, separators=(",", ":"))


def _dump_datetime(value: datetime) -> str:
    return value.isoformat()


def _load_bool(value: Any) -> bool:
    return bool(value)


def _dump_waiting(value: list[tuple[int, int, str]]) -> str:
    return _dump_json([list(key) for key in value])


def _load_waiting(text: str) -> list[tuple[int, int, str]]:
    return [(int(a), int(b), str(c)) for a, b, c in json.loads(text)]


def _load_key(text: str) -> tuple[int, int, str]:
    a, b, c = json.loads(text)
    return (int(a), int(b), str(c))


def _dump_set(value: set[str]) -> str:
    # Iteration order, so that a rebuilt set is filled in the order the old one was walked.
    return _dump_json(list(value))


def _load_set(text: str) -> set[str]:
    return set(json.loads(text))


@dataclass(frozen=True, slots=True)
class _Codec:
    """How one field type becomes a SQLite value and back."""

    sql_type: str
    dump: Callable[[Any], Any]
    load: Callable[[Any], Any]


_JSON = _Codec("TEXT NOT NULL", _dump_json, json.loads)
_OPTIONAL_JSON = _Codec("TEXT", _optional(_dump_json), _optional(json.loads))

#: Codecs by the field annotations of :mod:`.state` (strings, under ``from __future__``).
_CODECS: dict[str, _Codec] = {
    "str": _Codec("TEXT NOT NULL", _identity, _identity),
    "str | None": _Codec("TEXT", _identity, _identity),
    "int": _Codec("INTEGER NOT NULL", _identity, _identity),
    "int | None": _Codec("INTEGER", _identity, _identity),
    "bool": _Codec("INTEGER NOT NULL", _load_bool, _load_bool),
    "datetime": _Codec("TEXT NOT NULL", _dump_datetime, datetime.fromisoformat),
    "datetime | None": _Codec("TEXT", _optional(_dump_datetime), _optional(datetime.fromisoformat)),
    "dict[str, Any]": _JSON,
    "dict[str, str]": _JSON,
    "dict[str, Any] | None": _OPTIONAL_JSON,
    "set[str]": _Codec("TEXT NOT NULL", _dump_set, _load_set),
    "list[tuple[int, int, str]]": _Codec("TEXT NOT NULL", _dump_waiting, _load_waiting),
    "tuple[int, int, str] | None": _Codec(
        "TEXT", _optional(lambda k: _dump_json(list(k))), _optional(_load_key)
    ),
    "Expression": _Codec("TEXT NOT NULL", lambda e: e.text, compile_expression),
    "WorkflowConfiguration": _Codec(
        "TEXT NOT NULL", lambda c: c.to_json(), WorkflowConfiguration.from_json
    ),
    "TaskStatus": _Codec("TEXT NOT NULL", lambda s: s.value, TaskStatus),
    "ReservationStatus": _Codec("TEXT NOT NULL", lambda s: s.value, ReservationStatus),
}


@dataclass(frozen=True, slots=True)
class _Table:
    """A record kind: its table, its engine dict, and a codec per field."""

    name: str
    attribute: str
    record: type[Any]
    fields: tuple[tuple[str, _Codec], ...]

    def create_sql(self) -> str:
        columns = ", ".join(f'"{name}" {codec.sql_type}' for name, codec in self.fields)
        return f'CREATE TABLE "{self.name}" (position INTEGER PRIMARY KEY, {columns})'

    def insert_sql(self) -> str:
        names = ", ".join(f'"{name}"' for name, _ in self.fields)
        marks = ", ".join("?" for _ in range(len(self.fields) + 1))
        return f'INSERT INTO "{self.name}" (position, {names}) VALUES ({marks})'

    def select_sql(self) -> str:
        names = ", ".join(f'"{name}"' for name, _ in self.fields)
        return f'SELECT {names} FROM "{self.name}" ORDER BY position'

    def rows(self, records: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
        for position, record in enumerate(records):
            yield (position, *(codec.dump(getattr(record, name)) for name, codec in self.fields))

    def build(self, row: tuple[Any, ...]) -> Any:
        values = {
            name: codec.load(value) for (name, codec), value in zip(self.fields, row, strict=True)
        }
        return self.record(**values)


def _table(name: str, attribute: str, record: type[Any]) -> _Table:
    fields = []
    for item in dataclasses.fields(record):
        codec = _CODECS.get(item.type) if isinstance(item.type, str) else None
        if codec is None:
            raise TypeError(
                f"snapshot: no codec for {record.__name__}.{item.name} ({item.type!r});"
                " teach taskrouter_flask/sandbox/snapshot.py how to keep it"
            )
        fields.append((item.name, codec))
    return _Table(name, attribute, record, tuple(fields))


#: Record tables, in the order they are written and read.
_TABLES = (
    _table("workspaces", "workspaces", WorkspaceRecord),
    _table("activities", "activities", ActivityRecord),
    _table("task_channels", "task_channels", TaskChannelRecord),
    _table("workers", "workers", WorkerRecord),
    _table("worker_channels", "worker_channels", WorkerChannelRecord),
    _table("task_queues", "task_queues", TaskQueueRecord),
    _table("workflows", "workflows", WorkflowRecord),
    _table("tasks", "tasks", TaskRecord),
    _table("reservations", "reservations", ReservationRecord),
)
_EVENTS = _table("events", "events", EventRecord)


# -- save ---------------------------------------------------------------------------------


def save(engine: Engine, path: str | os.PathLike[str]) -> None:
    """Write the engine's whole state to a SQLite file at ``path``, atomically.

    The file is built beside ``path`` under a temporary name, synced, and then
    moved over ``path``; if anything fails, ``path`` is left as it was and the
    temporary file is removed.

    :param engine: the engine to save; it is not changed.
    :param path: the snapshot file; its directory must exist.
    :raises TypeError: if the engine holds state this module does not know how to keep,
        or an attribute that is not a JSON value.
    :raises OSError: if the file cannot be written.
    """
    unknown = set(vars(engine)) - _ENGINE_ATTRIBUTES
    if unknown:
        raise TypeError(
            f"snapshot: the engine has state this module does not keep: {sorted(unknown)};"
            " teach taskrouter_flask/sandbox/snapshot.py about it"
        )
    target = Path(path)
    directory = target.parent
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=directory
    )
    os.close(descriptor)
    try:
        with contextlib.closing(sqlite3.connect(temporary)) as connection:
            # A fresh file that is only renamed into place when complete needs no journal.
            connection.execute("PRAGMA journal_mode = OFF")
            connection.execute("PRAGMA synchronous = OFF")
            with connection:
                _write(connection, engine)
        _fsync_file(temporary)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(directory)
    logger.debug("saved the sandbox engine to %s", target)


def _write(connection: sqlite3.Connection, engine: Engine) -> None:
    _write_meta(connection, engine)
    for table in _TABLES:
        records: Mapping[str, Any] = getattr(engine, table.attribute)
        _write_table(connection, table, records.values())
    _write_table(connection, _EVENTS, engine.events)
    _write_timers(connection, engine)
    _write_indexes(connection, engine)


def _write_meta(connection: sqlite3.Connection, engine: Engine) -> None:
    connection.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    version, internal, gauss_next = engine._random.getstate()
    meta = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "seq": engine._seq,
        "random_state": [version, list(internal), gauss_next],
        "now": _dump_datetime(engine.now()),
        "account_sid": engine.account_sid,
    }
    connection.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?)",
        [(key, _dump_json(value)) for key, value in meta.items()],
    )


def _write_table(connection: sqlite3.Connection, table: _Table, records: Iterable[Any]) -> None:
    connection.execute(table.create_sql())
    connection.executemany(table.insert_sql(), table.rows(records))


def _write_timers(connection: sqlite3.Connection, engine: Engine) -> None:
    connection.execute(
        "CREATE TABLE timers (position INTEGER PRIMARY KEY, due TEXT NOT NULL,"
        " priority INTEGER NOT NULL, seq INTEGER NOT NULL, action TEXT NOT NULL)"
    )
    # The heap's list as it is: the same list is the same heap, so ties pop in the same order.
    connection.executemany(
        "INSERT INTO timers (position, due, priority, seq, action) VALUES (?, ?, ?, ?, ?)",
        (
            (position, _dump_datetime(due), priority, seq, _dump_json(list(action)))
            for position, (due, priority, seq, action) in enumerate(engine._timers)
        ),
    )


def _write_indexes(connection: sqlite3.Connection, engine: Engine) -> None:
    # Kept as they are rather than recomputed: they may hold entries the records no longer
    # explain (a deleted workspace's workers), and the rebuilt engine must match exactly.
    for name, key, index in (
        ("active_reservations", "worker_sid", engine._active),
        ("task_reservations", "task_sid", engine._task_reservations),
    ):
        connection.execute(
            f"CREATE TABLE {name} (position INTEGER PRIMARY KEY, {key} TEXT NOT NULL,"
            " reservation_sids TEXT NOT NULL)"
        )
        connection.executemany(
            f"INSERT INTO {name} (position, {key}, reservation_sids) VALUES (?, ?, ?)",
            (
                (position, sid, _dump_json(list(sids)))
                for position, (sid, sids) in enumerate(index.items())
            ),
        )


def _fsync_file(path: str) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable, where the platform allows syncing a directory."""
    if os.name != "posix":
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# -- load ---------------------------------------------------------------------------------


def load(path: str | os.PathLike[str], *, clock: Clock | None = None) -> Engine:
    """Rebuild the engine saved at ``path``.

    The new engine has no listeners; register them again before driving it.

    :param path: a file written by :func:`save`.
    :param clock: the new engine's clock; by default a :class:`ManualClock` at the saved time.
        Timers that fell due while the sandbox was down run at the next ``advance()``.
    :raises FileNotFoundError: if there is no file at ``path``.
    :raises ValueError: if the file is not a snapshot, or one of another format version.
    """
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"no snapshot at {source}")
    uri = source.resolve().as_uri() + "?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as connection:
            return _read(connection, source, clock)
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"{source} is not a readable sandbox snapshot: {exc}") from exc


def _read(connection: sqlite3.Connection, source: Path, clock: Clock | None) -> Engine:
    meta = _read_meta(connection, source)
    saved_now = datetime.fromisoformat(meta["now"])
    engine = Engine(
        clock if clock is not None else ManualClock(saved_now),
        account_sid=meta["account_sid"],
    )
    version, internal, gauss_next = meta["random_state"]
    engine._random.setstate((version, tuple(internal), gauss_next))
    engine._seq = int(meta["seq"])
    for table in _TABLES:
        records: dict[str, Any] = getattr(engine, table.attribute)
        for row in connection.execute(table.select_sql()):
            record = table.build(row)
            records[record.sid] = record
    engine.events = [_EVENTS.build(row) for row in connection.execute(_EVENTS.select_sql())]
    engine._timers = [
        (datetime.fromisoformat(due), priority, seq, tuple(json.loads(action)))
        for due, priority, seq, action in connection.execute(
            "SELECT due, priority, seq, action FROM timers ORDER BY position"
        )
    ]
    engine._active = {
        sid: set(json.loads(sids))
        for sid, sids in connection.execute(
            "SELECT worker_sid, reservation_sids FROM active_reservations ORDER BY position"
        )
    }
    engine._task_reservations = {
        sid: list(json.loads(sids))
        for sid, sids in connection.execute(
            "SELECT task_sid, reservation_sids FROM task_reservations ORDER BY position"
        )
    }
    for worker in engine.workers.values():
        engine._refresh_ready(worker)
    logger.debug("loaded the sandbox engine from %s", source)
    return engine


def _read_meta(connection: sqlite3.Connection, source: Path) -> dict[str, Any]:
    exists = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if exists is None:
        raise ValueError(f"{source} is not a sandbox snapshot (it has no meta table)")
    meta = {key: json.loads(value) for key, value in connection.execute("SELECT * FROM meta")}
    if meta.get("format") != FORMAT_NAME:
        raise ValueError(
            f"{source} is not a sandbox snapshot (format {meta.get('format')!r},"
            f" expected {FORMAT_NAME!r})"
        )
    if meta.get("version") != FORMAT_VERSION:
        raise ValueError(
            f"{source} is a sandbox snapshot of format version {meta.get('version')!r};"
            f" this version of taskrouter_flask reads only version {FORMAT_VERSION}"
        )
    return meta
