"""What the dashboard shows, kept up to date by TaskRouter's event callbacks.

:class:`DashboardState` is fed every event the application receives (see
:mod:`.handlers`) and answers :meth:`~DashboardState.snapshot` with plain
JSON-ready data: queue depths and longest waits, each agent's activity and
task, reservation outcomes, wait times bucketed for the chart, an event log,
and running totals. It learns everything from events (so it shows what
TaskRouter said happened, nothing the application assumed) and is
thread-safe: callbacks, page requests and event streams read and write it
from different threads. :func:`event_stream` turns its changes into
server-sent events.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from taskrouter_flask import Event

__all__ = ["DashboardState", "Totals", "event_stream", "task_label"]

#: Task statuses in which a task is waiting in its queue.
_WAITING = frozenset({"pending", "reserved"})
_FINISHED = frozenset({"completed", "canceled"})
_OUTCOMES = {
    "reservation.accepted": "accepted",
    "reservation.rejected": "rejected",
    "reservation.timeout": "timed_out",
    "reservation.rescinded": "rescinded",
    "reservation.canceled": "canceled",
}
_ENDS_RESERVATION = frozenset(
    {
        "reservation.completed",
        "reservation.rejected",
        "reservation.timeout",
        "reservation.rescinded",
        "reservation.canceled",
    }
)
#: The event log's line for each kind of event (others show the event's own description):
#: ``label`` is the task, ``worker`` the worker's name, ``queue`` the queue's, ``age`` the
#: task's age in seconds, ``reason`` a cancel's reason after a colon, ``activity`` the
#: worker's activity and ``handled`` their ``handled_today`` attribute.
_DESCRIPTIONS = {
    "task.created": "{label} created",
    "task-queue.entered": "{label} entered {queue}",
    "task-queue.moved": "{label} escalated to {queue}",
    "task-queue.timeout": "{label} timed out in {queue}",
    "reservation.created": "{label} reserved for {worker}",
    "reservation.accepted": "{worker} accepted {label} after {age} s",
    "reservation.rejected": "{worker} rejected {label}",
    "reservation.timeout": "{worker} did not answer {label} in time",
    "reservation.rescinded": "{label} rescinded from {worker}: someone else took it",
    "reservation.canceled": "{label} no longer offered to {worker}",
    "reservation.wrapup": "{worker} wrapping up {label}",
    "task.wrapup": "{label} in wrap-up",
    "reservation.completed": "{worker} finished {label}",
    "task.completed": "{label} completed",
    "task.canceled": "{label} canceled{reason}",
    "worker.activity.update": "{worker} is now {activity}",
    "worker.attributes.update": "{worker} has handled {handled} today",
}
#: Lines that read the worker's own fields: without the worker, the event's description.
_ABOUT_WORKER = frozenset({"worker.activity.update", "worker.attributes.update"})
_GOOD = frozenset({"reservation.accepted", "task.completed"})
_BAD = frozenset(
    {
        "reservation.rejected",
        "reservation.timeout",
        "reservation.rescinded",
        "reservation.canceled",
        "task.canceled",
        "task-queue.timeout",
        "workflow.timeout",
    }
)


def task_label(attributes: Mapping[str, Any]) -> str:
    """A short human name for a task: ``"Gold ticket #0042"``."""
    kind = str(attributes.get("type") or "task")
    value = attributes.get("customer_value")
    ref = attributes.get("ref")
    words = [str(value), kind] if value else [kind.capitalize()]
    if attributes.get("selected_language") not in (None, "en"):
        words.append(f"({attributes['selected_language']})")
    if ref:
        words.append(f"#{ref}")
    return " ".join(words)


@dataclass(frozen=True, slots=True)
class Totals:
    """Running totals since the state was created, as the events told them."""

    created: int
    assigned: int
    completed: int
    canceled: int
    waits: int
    wait_total: int

    @property
    def mean_wait(self) -> float:
        """Mean seconds from a task's creation to its acceptance (0 when none)."""
        return self.wait_total / self.waits if self.waits else 0.0


@dataclass(slots=True)
class _Task:
    sid: str
    label: str
    created_at: float
    status: str = "pending"
    queue_sid: str | None = None


@dataclass(slots=True)
class _Worker:
    sid: str
    name: str
    activity: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    task_sid: str | None = None
    task_label: str | None = None
    task_status: str | None = None


@dataclass(slots=True)
class _Watched:
    sid: str
    label: str
    status: str
    worker: str | None = None
    history: list[str] = field(default_factory=list)


class DashboardState:
    """The live picture of the desk, built from TaskRouter events.

    :param clock: seconds since the epoch; injectable so tests control "now".
    :param log_size: how many event-log entries to keep.
    :param chart_window: seconds of wait times the chart covers.
    :param chart_bucket: seconds per point of the chart.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        log_size: int = 200,
        chart_window: int = 300,
        chart_bucket: int = 10,
        watch_size: int = 8,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._version = 0
        self._closed = False
        self._queues: dict[str, dict[str, str]] = {}
        self._activities: list[str] = []
        self._workers: dict[str, _Worker] = {}
        self._tasks: dict[str, _Task] = {}
        self._watched: OrderedDict[str, _Watched] = OrderedDict()
        self._watch_size = watch_size
        self._outcomes: Counter[str] = Counter()
        self._assigned_tasks: set[str] = set()
        self._created = self._completed = self._canceled = 0
        self._waits: deque[tuple[float, int, str | None]] = deque()
        self._wait_count = self._wait_total = 0
        self._log: deque[dict[str, Any]] = deque(maxlen=log_size)
        self._log_total = 0
        self._seen: set[str] = set()
        self._seen_order: deque[str] = deque()
        self._chart_window = chart_window
        self._chart_bucket = chart_bucket
        self._started = clock()

    # -- set-up -----------------------------------------------------------------------------

    def configure(
        self,
        *,
        queues: Iterable[tuple[str, str, str]],
        activities: Iterable[str],
        workers: Iterable[tuple[str, str, str | None, Mapping[str, Any]]],
    ) -> None:
        """Say which queues, activities and workers the desk has (after provisioning).

        :param queues: ``(sid, name, target_workers)`` in display order.
        :param activities: activity names, in display order.
        :param workers: ``(sid, name, activity name, attributes)``; an event
            already received about a worker wins over this.
        """
        with self._changed:
            self._queues = {
                sid: {"name": name, "target_workers": target} for sid, name, target in queues
            }
            self._activities = list(activities)
            for sid, name, activity, attributes in workers:
                worker = self._workers.get(sid)
                if worker is None:
                    self._workers[sid] = _Worker(sid, name, activity, dict(attributes))
            self._touch()

    # -- events -----------------------------------------------------------------------------

    def apply(self, event: Event) -> bool:
        """Take one event into account; return False for an event already seen (same SID)."""
        with self._changed:
            if event.sid is not None:
                if event.sid in self._seen:
                    return False
                self._remember(event.sid)
            task = self._apply_task(event)
            self._apply_worker(event, task)
            self._log_event(event, task)
            self._touch()
            return True

    def _remember(self, sid: str) -> None:
        self._seen.add(sid)
        self._seen_order.append(sid)
        if len(self._seen_order) > 10_000:
            self._seen.discard(self._seen_order.popleft())

    def _apply_task(self, event: Event) -> _Task | None:
        if event.task is None:
            return None
        info = event.task
        at = event.timestamp.timestamp()
        task = self._task_of(event, at)
        if event.type == "task.created" and info.attributes.get("source") == "dashboard":
            self._watch(task)
        if event.task_queue_sid and event.type != "task-queue.timeout":
            task.queue_sid = event.task_queue_sid
        if event.type == "reservation.accepted":
            # Accepting a reservation assigns the task; say so whatever the event carries
            # (the local sandbox sends the status from just before the acceptance).
            task.status = "assigned"
        elif info.assignment_status:
            task.status = info.assignment_status
        self._count(event, at)
        self._follow_watched(event, task)
        if task.status in _FINISHED or event.type == "task.deleted":
            self._tasks.pop(info.sid, None)
            self._assigned_tasks.discard(info.sid)
        return task

    def _task_of(self, event: Event, at: float) -> _Task:
        """The task the event is about, known from now on unless the event deletes it."""
        assert event.task is not None
        info = event.task
        task = self._tasks.get(info.sid)
        if task is None:
            task = _Task(info.sid, task_label(info.attributes), at - (info.age or 0))
            if event.type != "task.deleted":
                self._tasks[info.sid] = task
        return task

    def _count(self, event: Event, at: float) -> None:
        """The totals and outcomes; a task's wait is counted at its first acceptance only."""
        assert event.task is not None
        info = event.task
        if event.type == "task.created":
            self._created += 1
        elif event.type == "reservation.accepted" and info.sid not in self._assigned_tasks:
            self._assigned_tasks.add(info.sid)
            wait = info.age or 0
            self._wait_count += 1
            self._wait_total += wait
            self._waits.append((at, wait, event.task_queue_sid))
        elif event.type == "task.completed":
            self._completed += 1
        elif event.type == "task.canceled":
            self._canceled += 1
        if event.type in _OUTCOMES:
            self._outcomes[_OUTCOMES[event.type]] += 1

    def _follow_watched(self, event: Event, task: _Task) -> None:
        watched = self._watched.get(task.sid)
        if watched is None:
            return
        if event.worker is not None and event.type.startswith("reservation."):
            watched.worker = event.worker.friendly_name
        if task.status != watched.status:
            watched.status = task.status
            watched.history.append(task.status)

    def _watch(self, task: _Task) -> None:
        self._watched[task.sid] = _Watched(task.sid, task.label, "pending", history=["created"])
        while len(self._watched) > self._watch_size:
            self._watched.popitem(last=False)

    def _apply_worker(self, event: Event, task: _Task | None) -> None:
        info = event.worker
        if info is None:
            return
        worker = self._workers.get(info.sid)
        if worker is None:
            worker = self._workers[info.sid] = _Worker(info.sid, info.friendly_name or info.sid)
        if info.friendly_name:
            worker.name = info.friendly_name
        if info.activity_name:
            worker.activity = info.activity_name
        if info.attributes:
            worker.attributes = dict(info.attributes)
        if event.type == "worker.deleted":
            del self._workers[info.sid]
            return
        if task is None or not event.type.startswith("reservation."):
            return
        if event.type in _ENDS_RESERVATION:
            if worker.task_sid == task.sid:
                worker.task_sid = worker.task_label = worker.task_status = None
            return
        worker.task_sid = task.sid
        worker.task_label = task.label
        worker.task_status = {
            "reservation.created": "reserved",
            "reservation.accepted": "assigned",
            "reservation.wrapup": "wrapping",
        }.get(event.type, worker.task_status)

    def _log_event(self, event: Event, task: _Task | None) -> None:
        self._log_total += 1
        level = "good" if event.type in _GOOD else "bad" if event.type in _BAD else "info"
        self._log.append(
            {
                "n": self._log_total,
                "t": event.timestamp.timestamp(),
                "type": event.type,
                "text": self._describe(event, task),
                "level": level,
            }
        )

    def _describe(self, event: Event, task: _Task | None) -> str:
        template = _DESCRIPTIONS.get(event.type)
        if template is None or (event.type in _ABOUT_WORKER and not event.worker):
            return event.description or event.type
        worker = event.worker
        reason = event.task.canceled_reason if event.task else None
        return template.format(
            label=task.label if task else "",
            worker=worker.friendly_name if worker and worker.friendly_name else "",
            queue=event.task_queue_name
            or self._queues.get(event.task_queue_sid or "", {}).get("name")
            or "its queue",
            age=event.task.age if event.task else 0,
            reason=f": {reason}" if reason else "",
            activity=worker.activity_name if worker else None,
            handled=worker.attributes.get("handled_today") if worker else None,
        )

    def _touch(self) -> None:
        self._version += 1
        self._changed.notify_all()

    # -- reading ----------------------------------------------------------------------------

    @property
    def version(self) -> int:
        """A number that grows with every change."""
        with self._lock:
            return self._version

    def totals(self) -> Totals:
        """Tasks created, assigned, completed and canceled, and the waits until acceptance."""
        with self._lock:
            return Totals(
                created=self._created,
                assigned=self._wait_count,
                completed=self._completed,
                canceled=self._canceled,
                waits=self._wait_count,
                wait_total=self._wait_total,
            )

    def snapshot(self, *, log_limit: int = 60) -> dict[str, Any]:
        """Everything the page shows, as JSON-ready data."""
        with self._lock:
            now = self._clock()
            return {
                "now": now,
                "version": self._version,
                "totals": self._totals_view(),
                "outcomes": {
                    key: self._outcomes[key]
                    for key in ("accepted", "rejected", "timed_out", "rescinded", "canceled")
                },
                "queues": self._queues_view(now),
                "activities": list(self._activities),
                "workers": [self._worker_view(w) for w in self._workers.values()],
                "chart": self._chart_view(now),
                "log": list(self._log)[-log_limit:][::-1],
                "log_total": self._log_total,
                "watched": [
                    {
                        "sid": w.sid,
                        "label": w.label,
                        "status": w.status,
                        "worker": w.worker,
                        "history": list(w.history),
                    }
                    for w in reversed(self._watched.values())
                ],
            }

    def _totals_view(self) -> dict[str, Any]:
        mean = self._wait_total / self._wait_count if self._wait_count else 0.0
        return {
            "created": self._created,
            "assigned": self._wait_count,
            "completed": self._completed,
            "canceled": self._canceled,
            "mean_wait": round(mean, 1),
        }

    def _queues_view(self, now: float) -> list[dict[str, Any]]:
        waiting: dict[str, list[float]] = {sid: [] for sid in self._queues}
        for task in self._tasks.values():
            if task.status in _WAITING and task.queue_sid in waiting:
                waiting[task.queue_sid].append(task.created_at)
        return [
            {
                "sid": sid,
                "name": info["name"],
                "target_workers": info["target_workers"],
                "depth": len(waiting[sid]),
                "longest_wait": int(max(0.0, now - min(waiting[sid]))) if waiting[sid] else 0,
            }
            for sid, info in self._queues.items()
        ]

    def _worker_view(self, worker: _Worker) -> dict[str, Any]:
        attributes = worker.attributes
        return {
            "sid": worker.sid,
            "name": worker.name,
            "activity": worker.activity,
            "task": None
            if worker.task_sid is None
            else {
                "sid": worker.task_sid,
                "label": worker.task_label,
                "status": worker.task_status,
            },
            "skills": list(attributes.get("skills") or []),
            "languages": list(attributes.get("languages") or []),
            "level": attributes.get("level"),
            "handled_today": attributes.get("handled_today"),
        }

    def _chart_view(self, now: float) -> dict[str, Any]:
        """Mean wait per queue and time bucket, over the window (shorter while the desk is new).

        The chart spans the last ``chart_window`` seconds, or the time since the
        state was created when that is shorter (at least a minute), with finer
        buckets for a short span, so a young desk does not show a mostly empty chart.
        """
        while self._waits and self._waits[0][0] < now - self._chart_window:
            self._waits.popleft()
        span = min(float(self._chart_window), max(60.0, now - self._started))
        bucket = min(self._chart_bucket, 2 if span <= 60 else 5 if span <= 150 else 10)
        sums: dict[str, dict[int, list[int]]] = {sid: {} for sid in self._queues}
        for at, wait, queue_sid in self._waits:
            if queue_sid in sums and at >= now - span:
                slot = sums[queue_sid].setdefault(int(at // bucket), [0, 0])
                slot[0] += wait
                slot[1] += 1
        return {
            "window": span,
            "max_window": self._chart_window,
            "bucket": bucket,
            "series": [
                {
                    "queue": self._queues[sid]["name"],
                    "points": [
                        [(index + 0.5) * bucket, round(total / count, 1)]
                        for index, (total, count) in sorted(slots.items())
                    ],
                }
                for sid, slots in sums.items()
            ],
        }

    # -- waiting for changes ----------------------------------------------------------------

    def wait_for_change(self, version: int, timeout: float) -> int:
        """Block until the version differs from ``version`` (or ``timeout``); return it."""
        with self._changed:
            self._changed.wait_for(lambda: self._version != version or self._closed, timeout)
            return self._version

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called: event streams end."""
        with self._lock:
            return self._closed

    def close(self) -> None:
        """End every event stream."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()


def event_stream(
    state: DashboardState,
    *,
    extra: Callable[[], Mapping[str, Any]] | None = None,
    min_interval: float = 0.25,
    max_interval: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[str]:
    """Server-sent events: a ``snapshot`` at once, then on each change (and at least each second).

    Changes are coalesced to at most one message per ``min_interval``; a
    snapshot is sent every ``max_interval`` even without changes, since waits
    grow with time. Ends when the state is closed.

    :param extra: more top-level fields to merge into each snapshot.
    """
    yield "retry: 2000\n\n"
    version = -1
    while not state.closed:
        data = state.snapshot()
        if extra is not None:
            data.update(extra())
        version = data["version"]
        yield f"event: snapshot\nid: {version}\ndata: {json.dumps(data)}\n\n"
        sleep(min_interval)
        state.wait_for_change(version, max(0.0, max_interval - min_interval))
