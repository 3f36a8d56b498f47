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
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import overload

from .bounds import EVENT_RETENTION_DAYS
from .state import EventRecord

__all__ = ["DEFAULT_RETENTION", "EventLog", "StoredEvent", "event_keys"]

#: How long events stay readable: Twilio keeps a workspace's events for 30 days.
DEFAULT_RETENTION = timedelta(days=EVENT_RETENTION_DAYS)

_QUEUE_ENTRY = ("task-queue.entered", "task-queue.moved")
_ACTIVITY_CHANGE = ("worker.created", "worker.activity.update")


class StoredEvent:
    """An event read back from storage: what the indexes need now, the rest when first read.

    Why: a restart may bring back hundreds of thousands of events, of which a REST
    request or a statistic reads only a window. Decoding every event's facts up
    front was most of the time of a restart; a stored event keeps its text until
    someone reads it.
    """

    __slots__ = (
        "sid",
        "workspace_sid",
        "type",
        "timestamp",
        "resource_sid",
        "task_sid",
        "worker_sid",
        "activity_sid",
        "_text",
        "_decode",
        "_event",
    )

    def __init__(
        self,
        keys: tuple[str, str, str, datetime, str, str | None, str | None, str | None],
        text: str,
        decode: Callable[[str], EventRecord],
    ) -> None:
        (
            self.sid,
            self.workspace_sid,
            self.type,
            self.timestamp,
            self.resource_sid,
            self.task_sid,
            self.worker_sid,
            self.activity_sid,
        ) = keys
        self._text = text
        self._decode = decode
        self._event: EventRecord | None = None

    def load(self) -> EventRecord:
        """The whole event (decoded once)."""
        if self._event is None:
            self._event = self._decode(self._text)
            self._text = ""
        return self._event


_Item = EventRecord | StoredEvent


def event_keys(
    event: EventRecord,
) -> tuple[str, str, str, datetime, str, str | None, str | None, str | None]:
    """What the log indexes an event by: SIDs, type, time, its task, worker and activity."""
    task, worker = event.task, event.worker
    return (
        event.sid,
        event.workspace_sid,
        event.type,
        event.timestamp,
        event.resource_sid,
        task.sid if task is not None else None,
        worker.sid if worker is not None else None,
        worker.activity_sid if worker is not None else None,
    )


def _real(item: _Item) -> EventRecord:
    return item.load() if isinstance(item, StoredEvent) else item


def _task_sid(item: _Item) -> str | None:
    if isinstance(item, StoredEvent):
        return item.task_sid
    return item.task.sid if item.task is not None else None


def _worker(item: _Item) -> tuple[str, str] | None:
    """(worker SID, activity SID) the item names, if any."""
    if isinstance(item, StoredEvent):
        if item.worker_sid is None or item.activity_sid is None:
            return None
        return (item.worker_sid, item.activity_sid)
    worker = item.worker
    return (worker.sid, worker.activity_sid) if worker is not None else None


def _timestamp(event: _Item) -> datetime:
    return event.timestamp


class _SidIndex:
    """Event SIDs to their events, spread over 64 dicts.

    Why: a dict grows by rehashing every entry at once. One dict of all retained events
    (350,000 at 100,000 tasks) stalled the request that made it grow for 15 to 20 ms,
    the longest stall left once garbage collection was tamed; each of 64 grows a
    sixty-fourth at a time.
    """

    __slots__ = ("_shards",)

    def __init__(self) -> None:
        self._shards: list[dict[str, _Item]] = [{} for _ in range(64)]

    def __setitem__(self, sid: str, item: _Item) -> None:
        self._shards[hash(sid) & 63][sid] = item

    def __delitem__(self, sid: str) -> None:
        del self._shards[hash(sid) & 63][sid]

    def get(self, sid: str) -> _Item | None:
        return self._shards[hash(sid) & 63].get(sid)


class EventLog(Sequence[EventRecord]):
    """Every retained event, oldest first; a sequence, so ``log[-1]`` is the newest.

    :param retention: events older than this (by the engine's clock) are dropped by
        :meth:`trim`; ``None`` keeps them all.
    """

    def __init__(self, retention: timedelta | None = DEFAULT_RETENTION) -> None:
        self.retention = retention
        self._events: list[_Item] = []
        self._by_sid = _SidIndex()
        self._by_workspace: defaultdict[str, list[_Item]] = defaultdict(list)
        #: Per task: its queue entries (timestamp, queue SID), oldest first.
        self._entries: defaultdict[str, list[tuple[datetime, str]]] = defaultdict(list)
        #: Per worker: the activity they were put in (timestamp, activity SID), oldest first.
        self._activities: defaultdict[str, list[tuple[datetime, str]]] = defaultdict(list)
        self._staged = 0
        # The oldest event's time, and when it expires: most commits need no subtraction.
        self._checked_first: datetime | None = None
        self._checked_until = datetime.min.replace(tzinfo=UTC)

    # -- the sequence ----------------------------------------------------------------------

    @overload
    def __getitem__(self, index: int) -> EventRecord: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[EventRecord]: ...

    def __getitem__(self, index: int | slice) -> EventRecord | Sequence[EventRecord]:
        if isinstance(index, slice):
            return [_real(item) for item in self._events[index]]
        return _real(self._events[index])

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[EventRecord]:
        return map(_real, self._events)

    # -- writing ----------------------------------------------------------------------------

    def append(self, event: EventRecord) -> None:
        """Add an event; it is part of the current change until :meth:`commit`."""
        self._events.append(event)
        self._index(event)
        self._staged += 1

    def _index(self, event: _Item) -> None:
        self._by_sid[event.sid] = event
        self._by_workspace[event.workspace_sid].append(event)
        if event.type in _QUEUE_ENTRY:
            task_sid = _task_sid(event)
            if task_sid is not None:
                self._entries[task_sid].append((event.timestamp, event.resource_sid))
        elif event.type in _ACTIVITY_CHANGE:
            worker = _worker(event)
            if worker is not None:
                self._activities[worker[0]].append((event.timestamp, worker[1]))

    def staged(self) -> list[EventRecord]:
        """The events added since the last commit, oldest first."""
        if not self._staged:
            return []
        return [_real(item) for item in self._events[len(self._events) - self._staged :]]

    def has_staged(self) -> bool:
        """Whether events were added since the last commit."""
        return self._staged > 0

    def expired(self, now: datetime) -> int:
        """How many of the oldest committed events :meth:`trim` at ``now`` would drop."""
        return self._expired_count(now)

    def _expired_count(self, now: datetime) -> int:
        if self.retention is None or not self._events:
            return 0
        first = self._events[0].timestamp
        if first is self._checked_first and now < self._checked_until:
            return 0  # the oldest event has not reached the retention yet (known cheaply)
        if first >= now - self.retention:
            self._checked_first, self._checked_until = first, first + self.retention
            return 0
        committed = len(self._events) - self._staged
        return bisect.bisect_left(self._events, now - self.retention, hi=committed, key=_timestamp)

    def commit(self) -> None:
        """Make the events added since the last commit part of the log for good."""
        self._staged = 0

    def rollback(self) -> None:
        """Forget the events added since the last commit."""
        for _ in range(self._staged):
            event = self._events.pop()
            del self._by_sid[event.sid]
            self._by_workspace[event.workspace_sid].pop()
            if event.type in _QUEUE_ENTRY and _task_sid(event) is not None:
                self._entries[_task_sid(event) or ""].pop()
            elif event.type in _ACTIVITY_CHANGE and (worker := _worker(event)) is not None:
                self._activities[worker[0]].pop()
        self._staged = 0

    def trim(self, now: datetime) -> int:
        """Drop the committed events older than the retention; tell how many."""
        count = self._expired_count(now)
        if count == 0:
            return 0
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
            (self._entries, {_task_sid(e) for e in dropped if e.type in _QUEUE_ENTRY}),
            (
                self._activities,
                {w[0] for e in dropped if e.type in _ACTIVITY_CHANGE and (w := _worker(e))},
            ),
        ):
            for key in keys:
                entries = index.get(key or "")
                if entries is not None:
                    del entries[: bisect.bisect_left(entries, (cutoff, ""))]
                    if not entries:
                        del index[key or ""]
        return count

    # -- reading ----------------------------------------------------------------------------

    def get(self, sid: str) -> EventRecord | None:
        """The event with this SID, if it is retained."""
        item = self._by_sid.get(sid)
        return _real(item) if item is not None else None

    def of_workspace(
        self, workspace_sid: str, start: datetime | None = None, end: datetime | None = None
    ) -> Sequence[EventRecord]:
        """The workspace's events, oldest first, within ``[start, end]`` when given."""
        events = self._by_workspace.get(workspace_sid)
        if not events:
            return ()
        low = 0 if start is None else bisect.bisect_left(events, start, key=_timestamp)
        high = len(events) if end is None else bisect.bisect_right(events, end, key=_timestamp)
        return [_real(item) for item in events[low:high]]

    def queue_entry_before(self, task_sid: str, moment: datetime) -> tuple[datetime, str] | None:
        """The task's last entry into a queue at or before ``moment``: (when, queue SID)."""
        return _last_before(self._entries.get(task_sid), moment)

    def activity_before(self, worker_sid: str, moment: datetime) -> tuple[datetime, str] | None:
        """The worker's last activity change at or before ``moment``: (when, activity SID)."""
        return _last_before(self._activities.get(worker_sid), moment)

    # -- persistence ------------------------------------------------------------------------

    def export(self) -> list[EventRecord]:
        """The committed events, oldest first."""
        return [_real(item) for item in self._events[: len(self._events) - self._staged]]

    def restore(self, events: Sequence[EventRecord | StoredEvent]) -> None:
        """Replace the log with ``events`` (oldest first), all committed."""
        self._events = []
        self._by_sid = _SidIndex()
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
