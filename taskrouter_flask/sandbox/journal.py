"""Keep the sandbox's state in SQLite, one committed command at a time.

Why: a sandbox started with ``--data`` must never lose what it acknowledged,
and never hand out a SID, an event SID or a version twice, whatever moment
the process dies. The engine hands every committed command to
:meth:`Journal.write` *before* the REST answer is sent and before any
callback for it leaves; the journal writes exactly what the command changed
(the records it touched, its new events, its timers, the counters) in one
SQLite transaction in WAL mode. Nothing is rewritten as a whole, so a write
costs the same with 1,000 tasks as with 100,000.

Layout (format version 4):

* ``meta``: format name and version, account SID, the counters (SIDs handed
  out, the ordering counter, record positions, the SID key) and the clock's
  time at the last commit;
* ``records``: one row per record: kind, SID, position, and its stored
  fields as JSON (see :mod:`.codec`);
* ``events``: one row per retained event, oldest first: the columns the event log
  indexes by, and the whole event as a JSON array (see :mod:`.codec`), which a restart
  decodes only when the event is read;
* ``timers``: one row per scheduled timer.

Restarting reads those rows and rebuilds every index, so its cost is that of
the live state and the retained events; retention deletes expired event
rows as it drops them, and SQLite's automatic checkpoints keep the write-ahead
log bounded. Files live beside ``path`` only as SQLite's own ``-wal`` and
``-shm`` companions, removed when the journal is closed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .clock import Clock, ManualClock
from .codec import decode_event, decode_record, dump, encode_event, encode_record, kind_of
from .engine import Commit, Engine
from .eventlog import DEFAULT_RETENTION, StoredEvent, event_keys
from .scheduler import Timer
from .state import EventRecord, Record
from .store import Counters

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "Journal"]

log = logging.getLogger(__name__)

#: What ``meta.format`` says in every journal file.
FORMAT_NAME = "taskrouter-sandbox-journal"
#: Bumped whenever the layout changes; other versions are refused, never guessed at.
FORMAT_VERSION = 4

_WRITE_RECORD = "INSERT OR REPLACE INTO records (kind, sid, position, body) VALUES (?, ?, ?, ?)"
_INSERT_EVENT = (
    "INSERT INTO events (sid, workspace_sid, type, timestamp, resource_sid, task_sid,"
    " worker_sid, activity_sid, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_TIMER = "INSERT INTO timers (seq, due, priority, kind, argument) VALUES (?, ?, ?, ?, ?)"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS records (kind TEXT NOT NULL, sid TEXT NOT NULL,"
    " position INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (kind, sid)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS events (position INTEGER PRIMARY KEY, sid TEXT NOT NULL,"
    " workspace_sid TEXT NOT NULL, type TEXT NOT NULL, timestamp TEXT NOT NULL,"
    " resource_sid TEXT NOT NULL, task_sid TEXT, worker_sid TEXT, activity_sid TEXT,"
    " body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS timers (seq INTEGER PRIMARY KEY, due TEXT NOT NULL,"
    " priority INTEGER NOT NULL, kind TEXT NOT NULL, argument TEXT NOT NULL)",
)


class Journal:
    """One SQLite file holding one engine's committed state.

    :param path: the file; created (with its schema) if it does not exist.
    :param durable: sync every commit to disk (``synchronous=FULL``), so that an
        acknowledged change survives a power loss too; without it, a commit survives
        the process being killed but may be lost if the machine stops.
    :raises ValueError: if the file exists and is not a journal of this format.
    """

    def __init__(self, path: str | os.PathLike[str], *, durable: bool = True) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._connection = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise ValueError(f"{self.path} cannot be opened as a sandbox journal: {exc}") from exc
        try:
            self._connection.execute("PRAGMA journal_mode = WAL")
            self._connection.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
            self._check_format()
        except sqlite3.DatabaseError as exc:
            self._connection.close()
            raise ValueError(f"{self.path} is not a readable sandbox journal: {exc}") from exc
        except BaseException:
            self._connection.close()
            raise

    def _check_format(self) -> None:
        tables = {
            name
            for (name,) in self._connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        }
        if not tables:
            return
        if "meta" not in tables:
            raise ValueError(f"{self.path} is not a sandbox journal (it has no meta table)")
        meta = self._meta()
        if meta.get("format") not in (FORMAT_NAME, None):
            raise ValueError(
                f"{self.path} is not a sandbox journal (format {meta.get('format')!r},"
                f" expected {FORMAT_NAME!r})"
            )
        if meta.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"{self.path} is a sandbox journal of format version {meta.get('version')!r};"
                f" this version of taskrouter_flask reads only version {FORMAT_VERSION}"
            )

    def _meta(self) -> dict[str, Any]:
        return {
            key: json.loads(value)
            for key, value in self._connection.execute("SELECT key, value FROM meta")
        }

    @property
    def empty(self) -> bool:
        """Whether the file holds no engine yet."""
        row = self._connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        return row is None or "format" not in self._meta()

    # -- writing ----------------------------------------------------------------------------

    def initialize(self, engine: Engine) -> None:
        """Write ``engine``'s whole committed state into this (empty) journal."""
        if not self.empty:
            raise ValueError(f"{self.path} already holds a sandbox journal")
        with self._lock, self._transaction() as cursor:
            for statement in _SCHEMA:
                cursor.execute(statement)
            self._write_meta(cursor, engine.account_sid, engine.store.counters, engine.now())
            cursor.executemany(_WRITE_RECORD, map(_record_row, engine.store.records()))
            cursor.executemany(_INSERT_EVENT, (_event_row(e) for e in engine.log.export()))
            cursor.executemany(_INSERT_TIMER, (t.to_row() for t in engine.scheduler.export()))

    def write(self, commit: Commit) -> None:
        """Write one committed command; when this returns, it is on disk."""
        with self._lock, self._transaction() as cursor:
            if commit.written:
                cursor.executemany(_WRITE_RECORD, [_record_row(r) for r in commit.written])
            if commit.deleted:
                cursor.executemany(
                    "DELETE FROM records WHERE kind = ? AND sid = ?", list(commit.deleted)
                )
            if commit.events:
                cursor.executemany(_INSERT_EVENT, [_event_row(event) for event in commit.events])
            if commit.expired:
                cursor.execute(
                    "DELETE FROM events WHERE position IN"
                    " (SELECT position FROM events ORDER BY position LIMIT ?)",
                    (commit.expired,),
                )
            if commit.timers_added:
                cursor.executemany(_INSERT_TIMER, [timer.to_row() for timer in commit.timers_added])
            if commit.timers_removed:
                cursor.executemany(
                    "DELETE FROM timers WHERE seq = ?",
                    [(timer.seq,) for timer in commit.timers_removed],
                )
            cursor.execute(
                "UPDATE meta SET value = ? WHERE key = 'counters'", (_counters(commit.counters),)
            )
            cursor.execute(
                "UPDATE meta SET value = ? WHERE key = 'now'", (dump(commit.now.isoformat()),)
            )

    @contextlib.contextmanager
    def _transaction(self) -> Any:
        cursor = self._connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield cursor
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")

    def _write_meta(
        self, cursor: sqlite3.Cursor, account_sid: str, counters: Counters, now: datetime
    ) -> None:
        meta = {
            "format": dump(FORMAT_NAME),
            "version": dump(FORMAT_VERSION),
            "account_sid": dump(account_sid),
            "counters": _counters(counters),
            "now": dump(now.isoformat()),
        }
        cursor.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", meta.items())

    # -- reading ----------------------------------------------------------------------------

    def load(
        self, *, clock: Clock | None = None, retention: timedelta | None = DEFAULT_RETENTION
    ) -> Engine:
        """The engine this journal holds.

        :param clock: the engine's clock; by default a :class:`ManualClock` at the time of
            the last commit. Timers that fell due meanwhile run at the next ``advance()``.
        :raises ValueError: if the journal is empty.
        """
        if self.empty:
            raise ValueError(f"{self.path} holds no sandbox state yet")
        with _collector_paused():
            engine = self._read(clock, retention)
        log.debug("loaded the sandbox engine from %s", self.path)
        return engine

    def _read(self, clock: Clock | None, retention: timedelta | None) -> Engine:
        with self._lock:
            meta = self._meta()
            counters = Counters(**meta["counters"])
            saved_now = datetime.fromisoformat(meta["now"])
            rows = self._connection.execute("SELECT kind, position, body FROM records").fetchall()
            bodies = _json_rows(body for _, _, body in rows)
            records = [
                (kind, position, decode_record(kind, body))
                for (kind, position, _), body in zip(rows, bodies, strict=True)
            ]
            events = [
                StoredEvent(
                    (sid, ws, kind, datetime.fromisoformat(at), resource, task, worker, activity),
                    body,
                    _decode_event,
                )
                for sid, ws, kind, at, resource, task, worker, activity, body in (
                    self._connection.execute(
                        "SELECT sid, workspace_sid, type, timestamp, resource_sid, task_sid,"
                        " worker_sid, activity_sid, body FROM events ORDER BY position"
                    )
                )
            ]
            timers = [
                Timer.from_row(row)
                for row in self._connection.execute(
                    "SELECT seq, due, priority, kind, argument FROM timers"
                )
            ]
        engine = Engine(
            clock if clock is not None else ManualClock(saved_now),
            account_sid=meta["account_sid"],
            retention=retention,
        )
        engine.restore(counters, records, events, timers)
        return engine

    def close(self) -> None:
        """Close the file (SQLite folds its write-ahead log back in and removes it)."""
        with self._lock:
            self._connection.close()


def _event_row(event: EventRecord) -> tuple[Any, ...]:
    sid, workspace_sid, kind, at, resource, task, worker, activity = event_keys(event)
    return (
        sid,
        workspace_sid,
        kind,
        at.isoformat(),
        resource,
        task,
        worker,
        activity,
        dump(encode_event(event)),
    )


def _decode_event(text: str) -> EventRecord:
    return decode_event(json.loads(text))


def _json_rows(bodies: Iterable[str]) -> list[Any]:
    """Many JSON texts parsed in one call (one array), which is much faster than one by one."""
    return list(json.loads("[" + ",".join(bodies) + "]"))


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many long-lived objects at once.

    A restart makes hundreds of thousands of objects that all live on; without the
    pause, the collector would walk the growing heap again and again (most of the
    time of a restart). Nothing built here is garbage, so nothing is lost by waiting.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _record_row(record: Record) -> tuple[str, str, int, str]:
    sid: str = getattr(record, "sid")  # noqa: B009
    return (kind_of(record), sid, record.position, dump(encode_record(record)))


def _counters(counters: Counters) -> str:
    return dump(dataclasses.asdict(counters))
