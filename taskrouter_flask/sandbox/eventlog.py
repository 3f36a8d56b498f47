"""The events the engine emitted, indexed the ways they are read, kept for a bounded time.

Why a part of its own: events are written on every change and read by the
Events resource (one workspace, a time window, one SID), by statistics
(a window, a task's queue entries) and by the callback sender (each new one,
once the change that caused it is committed). An index per reading keeps
those reads from scanning the whole log; retention (Twilio keeps events for
:data:`DEFAULT_RETENTION`) keeps the log from growing for ever; and events
of a command that is rolled back disappear before anyone saw them.

Pure: no clock of its own, no I/O.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import overload

from .bounds import EVENT_RETENTION_DAYS
from .state import EventRecord

__all__ = ["DEFAULT_RETENTION", "EventLog"]

#: How long events stay readable: Twilio keeps a workspace's events for 30 days.
DEFAULT_RETENTION = timedelta(days=EVENT_RETENTION_DAYS)

_QUEUE_ENTRY = ("task-queue.entered", "task-queue.moved")
_ACTIVITY_CHANGE = ("worker.created", "worker.activity.update")


def _timestamp(event: EventRecord) -> datetime:
    return event.timestamp


class EventLog(Sequence[EventRecord]):
    """Every retained event, oldest first; a sequence, so ``log[-1]`` is the newest.

    :param retention: events older than this (by the engine's clock) are dropped by
        :meth:`trim`; ``None`` keeps them all.
    """

    def __init__(self, retention: timedelta | None = DEFAULT_RETENTION) -> None:
        self.retention = retention
        self._events: list[EventRecord] = []
        self._by_sid: dict[str, EventRecord] = {}
        self._by_workspace: defaultdict[str, list[EventRecord]] = defaultdict(list)
        #: Per task: its queue entries (timestamp, queue SID), oldest first.
        self._entries: defaultdict[str, list[tuple[datetime, str]]] = defaultdict(list)
        #: Per worker: the activity they were put in (timestamp, activity SID), oldest first.
        self._activities: defaultdict[str, list[tuple[datetime, str]]] = defaultdict(list)
        self._staged = 0

    # -- the sequence ----------------------------------------------------------------------

    @overload
    def __getitem__(self, index: int) -> EventRecord: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[EventRecord]: ...

    def __getitem__(self, index: int | slice) -> EventRecord | Sequence[EventRecord]:
        return self._events[index]

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[EventRecord]:
        return iter(self._events)

    # -- writing ----------------------------------------------------------------------------

    def append(self, event: EventRecord) -> None:
        """Add an event; it is part of the current change until :meth:`commit`."""
        self._events.append(event)
        self._index(event)
        self._staged += 1

    def _index(self, event: EventRecord) -> None:
        self._by_sid[event.sid] = event
        self._by_workspace[event.workspace_sid].append(event)
        if event.type in _QUEUE_ENTRY and event.task is not None:
            self._entries[event.task.sid].append((event.timestamp, event.resource_sid))
        elif event.type in _ACTIVITY_CHANGE and event.worker is not None:
            self._activities[event.worker.sid].append((event.timestamp, event.worker.activity_sid))

    def staged(self) -> list[EventRecord]:
        """The events added since the last commit, oldest first."""
        return self._events[len(self._events) - self._staged :] if self._staged else []

    def has_staged(self) -> bool:
        """Whether events were added since the last commit."""
        return self._staged > 0

    def expired(self, now: datetime) -> list[EventRecord]:
        """The committed events that :meth:`trim` at ``now`` would drop."""
        return self._events[: self._expired_count(now)]

    def _expired_count(self, now: datetime) -> int:
        if self.retention is None or not self._events:
            return 0
        if self._events[0].timestamp >= now - self.retention:
            return 0
        committed = len(self._events) - self._staged
        return bisect.bisect_left(self._events, now - self.retention, hi=committed, key=_timestamp)

    def commit(self) -> list[EventRecord]:
        """The events added since the last commit, now part of the log for good."""
        staged = self._events[len(self._events) - self._staged :] if self._staged else []
        self._staged = 0
        return staged

    def rollback(self) -> None:
        """Forget the events added since the last commit."""
        for _ in range(self._staged):
            event = self._events.pop()
            del self._by_sid[event.sid]
            self._by_workspace[event.workspace_sid].pop()
            if event.type in _QUEUE_ENTRY and event.task is not None:
                self._entries[event.task.sid].pop()
            elif event.type in _ACTIVITY_CHANGE and event.worker is not None:
                self._activities[event.worker.sid].pop()
        self._staged = 0

    def trim(self, now: datetime) -> list[EventRecord]:
        """Drop the committed events older than the retention; return them."""
        count = self._expired_count(now)
        if count == 0:
            return []
        assert self.retention is not None
        cutoff = now - self.retention
        dropped = self._events[:count]
        del self._events[:count]
        for event in dropped:
            del self._by_sid[event.sid]
        for workspace_sid in {event.workspace_sid for event in dropped}:
            events = self._by_workspace[workspace_sid]
            del events[: bisect.bisect_left(events, cutoff, key=_timestamp)]
            if not events:
                del self._by_workspace[workspace_sid]
        for index, keys in (
            (self._entries, {e.task.sid for e in dropped if e.type in _QUEUE_ENTRY and e.task}),
            (
                self._activities,
                {e.worker.sid for e in dropped if e.type in _ACTIVITY_CHANGE and e.worker},
            ),
        ):
            for key in keys:
                entries = index.get(key)
                if entries is not None:
                    del entries[: bisect.bisect_left(entries, (cutoff, ""))]
                    if not entries:
                        del index[key]
        return dropped

    # -- reading ----------------------------------------------------------------------------

    def get(self, sid: str) -> EventRecord | None:
        """The event with this SID, if it is retained."""
        return self._by_sid.get(sid)

    def of_workspace(
        self, workspace_sid: str, start: datetime | None = None, end: datetime | None = None
    ) -> Sequence[EventRecord]:
        """The workspace's events, oldest first, within ``[start, end]`` when given."""
        events = self._by_workspace.get(workspace_sid)
        if not events:
            return ()
        low = 0 if start is None else bisect.bisect_left(events, start, key=_timestamp)
        high = len(events) if end is None else bisect.bisect_right(events, end, key=_timestamp)
        return events[low:high] if (low, high) != (0, len(events)) else events

    def queue_entry_before(self, task_sid: str, moment: datetime) -> tuple[datetime, str] | None:
        """The task's last entry into a queue at or before ``moment``: (when, queue SID)."""
        return _last_before(self._entries.get(task_sid), moment)

    def activity_before(self, worker_sid: str, moment: datetime) -> tuple[datetime, str] | None:
        """The worker's last activity change at or before ``moment``: (when, activity SID)."""
        return _last_before(self._activities.get(worker_sid), moment)

    # -- persistence ------------------------------------------------------------------------

    def export(self) -> list[EventRecord]:
        """The committed events, oldest first."""
        return self._events[: len(self._events) - self._staged]

    def restore(self, events: Sequence[EventRecord]) -> None:
        """Replace the log with ``events`` (oldest first), all committed."""
        self._events = []
        self._by_sid = {}
        self._by_workspace = defaultdict(list)
        self._entries = defaultdict(list)
        self._activities = defaultdict(list)
        self._staged = 0
        for event in events:
            self._events.append(event)
            self._index(event)


def _first(entry: tuple[datetime, str]) -> datetime:
    return entry[0]


def _last_before(
    entries: list[tuple[datetime, str]] | None, moment: datetime
) -> tuple[datetime, str] | None:
    if not entries:
        return None
    index = bisect.bisect_right(entries, moment, key=_first)
    return entries[index - 1] if index else None
