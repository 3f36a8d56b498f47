"""TaskRouter's statistics resources, computed from the engine's state and its event log.

Why from those two and nothing else: a real-time figure is a count over the
records as they are now (the same records the REST API renders), and a
cumulative figure is a count over :attr:`Engine.events` (the same events the
callback sender delivers). So a dashboard built on the sandbox's statistics
can never disagree with what the API answered or what the callbacks said, and
a test that moved a :class:`~.clock.ManualClock` knows every figure exactly.
Nothing here keeps counters of its own, does I/O or reads the wall clock:
"now" is :meth:`Engine.now`.

Every resource is one computation over a *scope* and a *window*. The scope
(:class:`WorkspaceScope`, :class:`WorkflowScope`, :class:`TaskQueueScope`,
:class:`WorkersScope`, :class:`WorkerScope`) says only which tasks, events
and workers count and which figures its answer lists; the window
(:class:`Window`) is the five parameters every statistics resource shares,
read and checked once. :func:`real_time`, :func:`cumulative` and
:func:`combined` serve every scope, so a figure means the same wherever it
appears, and a request's cumulative and real-time halves (or the queues of a
list) count over the very same moments and channel.

Each returns a plain dict shaped like the API's JSON response (snake_case
keys, in the OpenAPI description's order) without ``url``, ``account_sid``,
``workspace_sid`` or the resource's own SID, which the REST layer adds.

Readings taken where Twilio's description is vague:

* **Window.** ``end_date`` defaults to now; the window starts at
  ``start_date`` if given (it wins over ``minutes``), else ``minutes``
  (default 15) before the end. Both ends are inclusive. Naive datetimes, and
  ISO 8601 strings without an offset, are UTC. ``minutes`` below 1, an
  unreadable date or an end before the start is :class:`InvalidArgument`.
* **30 days.** A ``start_date`` more than 30 days (:data:`~.bounds.STATISTICS_START_DAYS`)
  before now is refused with :class:`InvalidArgument` and Twilio's code 14241
  (HTTP 400), as https://www.twilio.com/docs/api/errors/14241 says: "return a
  400-response for requests with <start_date> older than 30 days". Exactly 30
  days back is still accepted. The page names ``start_date`` only, so a
  ``minutes`` window reaching further back is not refused (it is bounded by
  :data:`~.bounds.MAX_MINUTES`), nor is an old ``end_date``. Every endpoint
  taking ``StartDate`` checks it, the list of task queue statistics too when
  it has no queue to report (it reads its whole window, channel and
  thresholds included, before it lists anything).
* **Order of refusals.** The workspace, then the resource the path names (or
  the worker filters), then the window, the channel and the thresholds: the
  first thing that is wrong is the one reported, the same for every scope.
* **Attribution.** An event counts for the workflow or queue its
  ``WorkflowSid`` / ``TaskQueueSid`` field names, as a callback consumer would
  count it: a reservation for the queue it was made in, a task's
  ``task.canceled`` / ``task.completed`` / ``task.deleted`` for the queue it
  was in last, and ``task-queue.moved`` for the queue the task moved *to*.
  ``TaskChannel`` (SID or unique name) keeps the events and tasks of that
  channel; worker counts and activity times are not split by channel, since
  every worker has every channel.
* **Counts.** ``reservations_*`` count events (one per reservation and
  status); ``tasks_*`` count distinct tasks with such an event in the window
  (a task re-entering a workflow after an update is entered once).
  ``tasks_entered`` counts ``workflow.entered`` for a workflow and
  ``task-queue.entered`` or ``task-queue.moved`` into the queue for a queue.
  ``tasks_timed_out_in_workflow`` counts ``workflow.timeout`` (not
  ``workflow.skipped``).
* **Waits.** A wait is the ``TaskAge`` the ``reservation.accepted`` or
  ``task.canceled`` event carried: whole seconds since the task was created,
  or since its ``virtual_start_time``. ``avg_task_acceptance_time`` is the
  average wait until accepted. ``wait_duration_in_queue_until_accepted``
  counts from the task's last ``task-queue.entered`` / ``task-queue.moved``
  event before the acceptance. Wait figures are ``avg``, ``min``, ``max``,
  ``median`` and ``total``, whole seconds, averages rounded to the nearest
  (ties to even); all 0 when there is nothing to measure.
* **split_by_wait_time.** ``"10,60"`` gives ``{"10": {"below": {...},
  "above": {...}}, "60": ...}``, each side counting ``reservations_accepted``
  and ``tasks_canceled``; a wait equal to the threshold is *below* it (within
  the service level).
* **Real time.** ``tasks_by_status`` lists all six statuses;
  ``total_tasks`` and ``tasks_by_priority`` count the same tasks (every task
  the engine still holds, finished ones included). A queue's tasks are those
  whose current (or last) queue it is. "Waiting" means pending or reserved;
  with none, the longest age is 0 and its SID ``None``. A queue's
  ``total_available_workers`` counts eligible workers in an available
  activity, busy or not. ``activity_statistics`` lists every activity of the
  workspace, in creation order, 0 included.
* **Activity durations.** Closed stints come from ``worker.activity.update``
  events (``WorkerPreviousActivitySid`` for ``WorkerTimeInPreviousActivity``
  ending at the event); the open stint of a worker is their current activity
  since ``date_status_changed``, and a deleted worker's last stint ends at
  ``worker.deleted``. Each worker's time in an activity is clipped to the
  window; ``min``/``avg``/``max`` are over the workers who spent time in it,
  ``total`` their sum.
* **Bulk real time** takes 1 to 50 queue SIDs, answered in the order given.
"""

from __future__ import annotations

import statistics as _stats
from abc import ABC, abstractmethod
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypedDict, Unpack

from ..wire import format_timestamp as _iso
from .bounds import STATISTICS_START_DAYS
from .engine import Engine
from .errors import STATISTICS_START_DATE_TOO_OLD, InvalidArgument, NotFound
from .state import EventRecord, TaskFacts, TaskRecord, TaskStatus, WorkerRecord

__all__ = [
    "DEFAULT_MINUTES",
    "MAX_BULK_QUEUES",
    "RealTimeOptions",
    "Scope",
    "TaskQueueScope",
    "Window",
    "WindowOptions",
    "WorkerScope",
    "WorkersScope",
    "WorkflowScope",
    "WorkspaceScope",
    "combined",
    "cumulative",
    "real_time",
    "task_queue_bulk_real_time",
    "task_queues_statistics",
]

#: The cumulative window when neither ``minutes`` nor ``start_date`` is given.
DEFAULT_MINUTES = 15
#: How many queues one bulk real-time request may name.
MAX_BULK_QUEUES = 50

Stats = dict[str, Any]
Minutes = int | str | None
Moment = datetime | str | None


class RealTimeOptions(TypedDict, total=False):
    """What a real-time resource takes besides its scope."""

    #: A task channel SID or unique name: count only its tasks and their reservations.
    task_channel: str | None


class WindowOptions(RealTimeOptions, total=False):
    """The window of a cumulative or combined resource, in the API's names (snake_case).

    Declared here once for every scope; :meth:`Window.read` is the one place reading it.
    """

    minutes: Minutes
    start_date: Moment
    end_date: Moment
    #: Comma-separated seconds, e.g. ``"10,60"``; the worker scopes do not take it.
    split_by_wait_time: str | None


_WAITING = (TaskStatus.PENDING, TaskStatus.RESERVED)

_RESERVATION_COUNTS = {
    "reservation.created": "reservations_created",
    "reservation.accepted": "reservations_accepted",
    "reservation.rejected": "reservations_rejected",
    "reservation.timeout": "reservations_timed_out",
    "reservation.canceled": "reservations_canceled",
    "reservation.rescinded": "reservations_rescinded",
}

_TASK_COUNTS = {
    "task.created": "tasks_created",
    "task.canceled": "tasks_canceled",
    "task.completed": "tasks_completed",
    "task.deleted": "tasks_deleted",
    "task-queue.moved": "tasks_moved",
    "workflow.timeout": "tasks_timed_out_in_workflow",
}

_RESERVATION_KEYS = tuple(_RESERVATION_COUNTS.values())

#: What every task scope's cumulative answer begins with, in the API's order.
_CUMULATIVE_HEAD = (
    "avg_task_acceptance_time",
    "start_time",
    "end_time",
    *_RESERVATION_KEYS,
    "split_by_wait_time",
    "wait_duration_until_accepted",
    "wait_duration_until_canceled",
)


# -- the window --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """The moments, channel and wait thresholds one request counts over.

    A value, read once per request, so that a request's halves (and every queue of a list)
    count over the same moments with the same channel, and a bad parameter is refused before
    anything is counted.
    """

    start: datetime
    end: datetime
    channel_sid: str | None = None
    thresholds: tuple[int, ...] | None = None

    @classmethod
    def read(
        cls,
        engine: Engine,
        workspace_sid: str,
        *,
        splits: bool = True,
        **options: Unpack[WindowOptions],
    ) -> Window:
        """Check and read the window parameters, in the order Twilio's pages list them.

        :param splits: whether the scope takes ``split_by_wait_time`` (the worker scopes do not).
        :raises TypeError: for a parameter the scope does not take (a caller's mistake).
        :raises InvalidArgument: for a bad window or threshold list.
        :raises NotFound: for an unknown task channel.
        """
        allowed = WindowOptions.__optional_keys__ - (set() if splits else {"split_by_wait_time"})
        _refuse_unknown(options, allowed)
        count = _minutes(options.get("minutes"))
        now = engine.now()
        end_date, start_date = options.get("end_date"), options.get("start_date")
        end = now if end_date is None else _moment("EndDate", end_date)
        if start_date is not None:
            start = _moment("StartDate", start_date)
            _check_start(start, now)
        else:
            try:
                start = end - timedelta(minutes=count)
            except OverflowError:
                raise InvalidArgument(f"Minutes: {count} reaches before the year 1") from None
        if end < start:
            raise InvalidArgument(f"EndDate: {_iso(end)} is before StartDate {_iso(start)}")
        return cls(
            start,
            end,
            _channel(engine, workspace_sid, options.get("task_channel")),
            _thresholds(options.get("split_by_wait_time")),
        )

    def keeps(self, task: TaskFacts) -> bool:
        """Whether an event about ``task`` is in the window's channel."""
        return self.channel_sid is None or task.channel_sid == self.channel_sid

    def render(self) -> Stats:
        return {"start_time": _iso(self.start), "end_time": _iso(self.end)}


def _refuse_unknown(options: Mapping[str, object], allowed: Iterable[str]) -> None:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"unexpected statistics parameter(s) {', '.join(unknown)}")


def _minutes(minutes: Minutes) -> int:
    if minutes is None:
        return DEFAULT_MINUTES
    if isinstance(minutes, str) and minutes.strip().isdigit():
        count = int(minutes)
    elif isinstance(minutes, int) and not isinstance(minutes, bool):
        count = minutes
    else:
        count = 0
    if count < 1:
        raise InvalidArgument(f"Minutes: expected a whole number from 1, got {minutes!r}")
    return count


def _moment(parameter: str, value: datetime | str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidArgument(
                f"{parameter}: expected an ISO 8601 date and time, got {value!r}"
            ) from None
    if not isinstance(value, datetime):
        raise InvalidArgument(f"{parameter}: expected a date and time, got {value!r}")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _check_start(start: datetime, now: datetime) -> None:
    """Refuse a ``StartDate`` more than :data:`STATISTICS_START_DAYS` days before ``now``.

    :raises InvalidArgument: with code 14241, as Twilio answers (HTTP 400).
    """
    earliest = now - timedelta(days=STATISTICS_START_DAYS)
    if start < earliest:
        raise InvalidArgument(
            f"StartDate: expected a date and time within the last {STATISTICS_START_DAYS} days"
            f" (on or after {_iso(earliest)}), got {_iso(start)}, which is older than"
            f" {STATISTICS_START_DAYS} days",
            code=STATISTICS_START_DATE_TOO_OLD,
        )


def _channel(engine: Engine, workspace_sid: str, task_channel: str | None) -> str | None:
    if task_channel is None:
        return None
    return engine.task_channel(workspace_sid, task_channel).sid


def _thresholds(split_by_wait_time: str | None) -> tuple[int, ...] | None:
    if split_by_wait_time is None:
        return None
    found: list[int] = []
    for part in split_by_wait_time.split(","):
        text = part.strip()
        if not text.isdigit():
            raise InvalidArgument(
                "SplitByWaitTime: expected a comma-separated list of whole seconds,"
                f" got {split_by_wait_time!r}"
            )
        if int(text) not in found:
            found.append(int(text))
    return tuple(found)


# -- the computations, for every scope ---------------------------------------------------------


def real_time(engine: Engine, scope: Scope, **options: Unpack[RealTimeOptions]) -> Stats:
    """The scope's figures now: its tasks by status and priority, its workers by activity.

    :raises NotFound: for an unknown workspace, resource or task channel.
    :raises TypeError: for a scope without real-time figures (one worker).
    """
    _refuse_unknown(options, RealTimeOptions.__optional_keys__)
    scope.check(engine)
    figures = scope.real_time(
        engine, _channel(engine, scope.workspace_sid, options.get("task_channel"))
    )
    if figures is None:
        raise TypeError(f"{type(scope).__name__} has no real-time statistics")
    return figures


def cumulative(engine: Engine, scope: Scope, **options: Unpack[WindowOptions]) -> Stats:
    """The scope's reservation, task and worker figures over a window (default: 15 minutes).

    :raises InvalidArgument: for a bad window or threshold list.
    :raises NotFound: for an unknown workspace, resource or task channel.
    """
    return scope.cumulative(engine, _window(engine, scope, options))


def combined(engine: Engine, scope: Scope, **options: Unpack[WindowOptions]) -> Stats:
    """``{"cumulative": ..., "realtime": ...}`` (one worker's: ``cumulative`` only).

    :raises InvalidArgument: for a bad window or threshold list.
    :raises NotFound: for an unknown workspace, resource or task channel.
    """
    return _combined(engine, scope, _window(engine, scope, options))


def _window(engine: Engine, scope: Scope, options: WindowOptions) -> Window:
    scope.check(engine)
    return Window.read(engine, scope.workspace_sid, splits=scope.splits, **options)


def _combined(engine: Engine, scope: Scope, window: Window) -> Stats:
    figures: Stats = {"cumulative": scope.cumulative(engine, window)}
    now = scope.real_time(engine, window.channel_sid)
    if now is not None:
        figures["realtime"] = now
    return figures


def task_queues_statistics(
    engine: Engine,
    workspace_sid: str,
    *,
    friendly_name: str | None = None,
    **options: Unpack[WindowOptions],
) -> list[Stats]:
    """``{"task_queue_sid", "cumulative", "realtime"}`` for each queue, in creation order.

    The window is read once for the whole list, so every queue counts over the same moments
    and a bad parameter is refused whether or not a queue matches.

    :param friendly_name: keep only the queues with exactly this name.
    :raises InvalidArgument: for a bad window, even when no queue is listed.
    :raises NotFound: for an unknown workspace or task channel, even when no queue is listed.
    """
    engine.workspace(workspace_sid)
    window = Window.read(engine, workspace_sid, **options)
    return [
        {
            "task_queue_sid": queue.sid,
            **_combined(engine, TaskQueueScope(workspace_sid, queue.sid), window),
        }
        for queue in list(engine.task_queues.values())
        if queue.workspace_sid == workspace_sid
        and (friendly_name is None or queue.friendly_name == friendly_name)
    ]


_BULK_KEYS = (
    "longest_task_waiting_age",
    "longest_task_waiting_sid",
    "total_tasks",
    "total_eligible_workers",
    "total_available_workers",
    "tasks_by_status",
    "tasks_by_priority",
    "activity_statistics",
)


def task_queue_bulk_real_time(
    engine: Engine,
    workspace_sid: str,
    task_queue_sids: Sequence[str],
    **options: Unpack[RealTimeOptions],
) -> Stats:
    """Real-time figures of several queues at once, in the order asked.

    :raises InvalidArgument: for no queue, or more than :data:`MAX_BULK_QUEUES`.
    :raises NotFound: for an unknown workspace, task queue or task channel.
    """
    _refuse_unknown(options, RealTimeOptions.__optional_keys__)
    engine.workspace(workspace_sid)
    if isinstance(task_queue_sids, str) or not 1 <= len(task_queue_sids) <= MAX_BULK_QUEUES:
        raise InvalidArgument(
            f"TaskQueueSids: expected a list of 1 to {MAX_BULK_QUEUES} task queue SIDs"
        )
    channel_sid = _channel(engine, workspace_sid, options.get("task_channel"))
    data = []
    for sid in task_queue_sids:
        figures = TaskQueueScope(workspace_sid, sid).real_time(engine, channel_sid)
        data.append({"task_queue_sid": sid, **_pick(figures, _BULK_KEYS)})
    return {"task_queue_data": data, "task_queue_response_count": len(data)}


def _pick(figures: Stats, keys: Sequence[str]) -> Stats:
    return {key: figures[key] for key in keys}


# -- scopes ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope(ABC):
    """What one statistics resource is about: which records count, which figures it lists.

    Scopes hold SIDs and names only; the engine is passed to each computation, so a scope is
    a plain value the REST layer can build from a path before anything is looked up.
    """

    workspace_sid: str
    #: Whether the cumulative figures take ``split_by_wait_time``.
    splits: ClassVar[bool] = True

    def check(self, engine: Engine) -> None:
        """Refuse an unknown workspace, then an unknown resource or filter.

        :raises NotFound: naming the first thing that is not there.
        """
        engine.workspace(self.workspace_sid)
        self._check_member(engine)

    def _check_member(self, engine: Engine) -> None:
        return None

    @abstractmethod
    def real_time(self, engine: Engine, channel_sid: str | None) -> Stats | None:
        """The figures now, or ``None`` where the API has no real-time resource."""

    @abstractmethod
    def cumulative(self, engine: Engine, window: Window) -> Stats:
        """The figures over ``window``."""


@dataclass(frozen=True, slots=True)
class _TaskScope(Scope):
    """A workspace, workflow or queue: the figures count its tasks and their reservations."""

    #: The cumulative figures the resource lists after :data:`_CUMULATIVE_HEAD`, in order.
    counted: ClassVar[tuple[str, ...]]
    #: The events by which a task enters the scope (``tasks_entered``).
    entries: ClassVar[tuple[str, ...]] = ("workflow.entered",)

    def holds(self, task: TaskRecord) -> bool:
        """Whether the task is in the scope now (its current or last workflow or queue)."""
        return True

    def counts(self, task: TaskFacts) -> bool:
        """Whether an event about the task counts here (the workflow or queue it names)."""
        return True

    def tasks(self, engine: Engine, channel_sid: str | None) -> list[TaskRecord]:
        tasks = [
            task
            for task in engine.tasks.values()
            if task.workspace_sid == self.workspace_sid
            and (channel_sid is None or task.task_channel_sid == channel_sid)
            and self.holds(task)
        ]
        tasks.sort(key=lambda task: task.seq)
        return tasks

    def cumulative(self, engine: Engine, window: Window) -> Stats:
        tally = _Tally(engine, self.entries)
        for event in engine.events_for(self.workspace_sid, window.start, window.end):
            task = event.task
            if task is not None and window.keeps(task) and self.counts(task):
                tally.add(event, task)
        return _pick(tally.figures(window), _CUMULATIVE_HEAD + self.counted)


@dataclass(frozen=True, slots=True)
class WorkspaceScope(_TaskScope):
    """The whole workspace: every task, event and worker in it."""

    counted: ClassVar[tuple[str, ...]] = (
        "tasks_canceled",
        "tasks_completed",
        "tasks_created",
        "tasks_deleted",
        "tasks_moved",
        "tasks_timed_out_in_workflow",
    )

    def real_time(self, engine: Engine, channel_sid: str | None) -> Stats:
        # All workers' figures around the tasks', in the API's order.
        workers = WorkersScope(self.workspace_sid).real_time(engine, channel_sid)
        return {
            "activity_statistics": workers["activity_statistics"],
            **_task_figures(engine, self.tasks(engine, channel_sid)),
            "total_workers": workers["total_workers"],
        }


@dataclass(frozen=True, slots=True)
class WorkflowScope(_TaskScope):
    """One workflow: the tasks it routes, and the events that name it."""

    workflow_sid: str
    counted: ClassVar[tuple[str, ...]] = (
        "tasks_canceled",
        "tasks_completed",
        "tasks_entered",
        "tasks_deleted",
        "tasks_moved",
        "tasks_timed_out_in_workflow",
    )

    def _check_member(self, engine: Engine) -> None:
        engine.workflow(self.workspace_sid, self.workflow_sid)

    def holds(self, task: TaskRecord) -> bool:
        return task.workflow_sid == self.workflow_sid

    def counts(self, task: TaskFacts) -> bool:
        return task.workflow_sid == self.workflow_sid

    def real_time(self, engine: Engine, channel_sid: str | None) -> Stats:
        return _task_figures(engine, self.tasks(engine, channel_sid))


@dataclass(frozen=True, slots=True)
class TaskQueueScope(_TaskScope):
    """One queue: the tasks in it (or last in it), its eligible workers, waits in it."""

    task_queue_sid: str
    counted: ClassVar[tuple[str, ...]] = (
        "wait_duration_in_queue_until_accepted",
        "tasks_canceled",
        "tasks_completed",
        "tasks_deleted",
        "tasks_entered",
        "tasks_moved",
    )
    entries: ClassVar[tuple[str, ...]] = ("task-queue.entered", "task-queue.moved")

    def _check_member(self, engine: Engine) -> None:
        engine.task_queue(self.workspace_sid, self.task_queue_sid)

    def holds(self, task: TaskRecord) -> bool:
        return task.task_queue_sid == self.task_queue_sid

    def counts(self, task: TaskFacts) -> bool:
        return task.queue_sid == self.task_queue_sid

    def real_time(self, engine: Engine, channel_sid: str | None) -> Stats:
        queue = engine.task_queue(self.workspace_sid, self.task_queue_sid)
        tasks = self.tasks(engine, channel_sid)
        figures = _task_figures(engine, tasks)
        relative = _longest_in_queue(engine, tasks)
        eligible = [engine.workers[sid] for sid in sorted(queue.eligible) if sid in engine.workers]
        return {
            "activity_statistics": _activity_statistics(engine, self.workspace_sid, eligible),
            "longest_task_waiting_age": figures["longest_task_waiting_age"],
            "longest_task_waiting_sid": figures["longest_task_waiting_sid"],
            "longest_relative_task_age_in_queue": relative[0] if relative else 0,
            "longest_relative_task_sid_in_queue": relative[1].sid if relative else None,
            "tasks_by_priority": figures["tasks_by_priority"],
            "tasks_by_status": figures["tasks_by_status"],
            "total_available_workers": sum(1 for w in eligible if engine.worker_available(w)),
            "total_eligible_workers": len(eligible),
            "total_tasks": figures["total_tasks"],
        }


@dataclass(frozen=True, slots=True)
class _WorkerScope(Scope):
    """Workers: the figures count their activities and reservations, never split by wait."""

    splits: ClassVar[bool] = False

    @abstractmethod
    def worker_sids(self, engine: Engine) -> set[str] | None:
        """The workers counted, or ``None`` for everyone ever in the workspace."""

    def cumulative(self, engine: Engine, window: Window) -> Stats:
        sids = self.worker_sids(engine)
        return {
            **window.render(),
            "activity_durations": _activity_durations(
                engine, self.workspace_sid, window=window, worker_sids=sids
            ),
            **_reservation_counts(engine, self.workspace_sid, window=window, worker_sids=sids),
        }


@dataclass(frozen=True, slots=True)
class WorkersScope(_WorkerScope):
    """The workspace's workers, or those the filters keep.

    :param task_queue_sid: only the queue's eligible workers (also ``task_queue_name``).
    :param friendly_name: only the worker with this name.

    Without a filter, workers deleted since still count for the time they were there.
    """

    task_queue_sid: str | None = None
    task_queue_name: str | None = None
    friendly_name: str | None = None

    def _check_member(self, engine: Engine) -> None:
        self.workers(engine)

    def workers(self, engine: Engine) -> list[WorkerRecord] | None:
        """The workers the filters keep, or ``None`` without a filter (everyone)."""
        if self.task_queue_sid is None and self.task_queue_name is None:
            if self.friendly_name is None:
                return None
        eligible = self._eligible(engine)
        return [
            worker
            for worker in _all_workers(engine, self.workspace_sid)
            if (eligible is None or worker.sid in eligible)
            and (self.friendly_name is None or worker.friendly_name == self.friendly_name)
        ]

    def _eligible(self, engine: Engine) -> set[str] | None:
        """Those eligible for the queue of the SID and for every queue of the name, if given."""
        found: set[str] | None = None
        if self.task_queue_sid is not None:
            found = set(engine.task_queue(self.workspace_sid, self.task_queue_sid).eligible)
        if self.task_queue_name is not None:
            named = [
                queue
                for queue in engine.task_queues.values()
                if queue.workspace_sid == self.workspace_sid
                and queue.friendly_name == self.task_queue_name
            ]
            if not named:
                raise NotFound(
                    f"task queue named {self.task_queue_name!r} was not found in workspace"
                    f" {self.workspace_sid}"
                )
            in_named: set[str] = set()
            for queue in named:
                in_named |= queue.eligible
            found = in_named if found is None else found & in_named
        return found

    def worker_sids(self, engine: Engine) -> set[str] | None:
        workers = self.workers(engine)
        return None if workers is None else {worker.sid for worker in workers}

    def real_time(self, engine: Engine, channel_sid: str | None) -> Stats:
        workers = self.workers(engine)
        if workers is None:
            workers = _all_workers(engine, self.workspace_sid)
        return {
            "activity_statistics": _activity_statistics(engine, self.workspace_sid, workers),
            "total_workers": len(workers),
        }


@dataclass(frozen=True, slots=True)
class WorkerScope(_WorkerScope):
    """One worker; TaskRouter has only its cumulative figures."""

    worker_sid: str

    def _check_member(self, engine: Engine) -> None:
        engine.worker(self.workspace_sid, self.worker_sid)

    def worker_sids(self, engine: Engine) -> set[str]:
        return {self.worker_sid}

    def real_time(self, engine: Engine, channel_sid: str | None) -> None:
        return None


# -- figures -----------------------------------------------------------------------------------


def _round(value: float) -> int:
    return int(round(value))


def _durations(values: Sequence[float]) -> Stats:
    if not values:
        return {"avg": 0, "min": 0, "max": 0, "median": 0, "total": 0}
    return {
        "avg": _round(sum(values) / len(values)),
        "min": _round(min(values)),
        "max": _round(max(values)),
        "median": _round(_stats.median(values)),
        "total": _round(sum(values)),
    }


def _split(thresholds: Iterable[int], accepted: list[int], canceled: list[int]) -> Stats:
    result: Stats = {}
    for threshold in thresholds:
        result[str(threshold)] = {
            "above": {
                "tasks_canceled": sum(1 for wait in canceled if wait > threshold),
                "reservations_accepted": sum(1 for wait in accepted if wait > threshold),
            },
            "below": {
                "tasks_canceled": sum(1 for wait in canceled if wait <= threshold),
                "reservations_accepted": sum(1 for wait in accepted if wait <= threshold),
            },
        }
    return result


def _task_figures(engine: Engine, tasks: list[TaskRecord]) -> Stats:
    by_status = {status.value: 0 for status in TaskStatus}
    by_priority: Counter[int] = Counter()
    longest: tuple[int, TaskRecord] | None = None
    for task in tasks:
        by_status[task.status.value] += 1
        by_priority[task.priority] += 1
        if task.status in _WAITING:
            age = engine.task_wait(task)
            if longest is None or age > longest[0]:
                longest = (age, task)
    return {
        "longest_task_waiting_age": longest[0] if longest else 0,
        "longest_task_waiting_sid": longest[1].sid if longest else None,
        "tasks_by_priority": {str(p): by_priority[p] for p in sorted(by_priority)},
        "tasks_by_status": by_status,
        "total_tasks": len(tasks),
    }


def _longest_in_queue(engine: Engine, tasks: list[TaskRecord]) -> tuple[int, TaskRecord] | None:
    """The waiting task longest in its queue (since it entered it), and how long."""
    now = engine.now()
    longest: tuple[int, TaskRecord] | None = None
    for task in tasks:
        if task.status in _WAITING and task.task_queue_entered_date is not None:
            age = max(0, int((now - task.task_queue_entered_date).total_seconds()))
            if longest is None or age > longest[0]:
                longest = (age, task)
    return longest


def _activity_statistics(
    engine: Engine, workspace_sid: str, workers: Iterable[WorkerRecord]
) -> list[Stats]:
    counts = Counter(worker.activity_sid for worker in workers)
    return [
        {"sid": activity.sid, "friendly_name": activity.friendly_name, "workers": counts[sid]}
        for sid, activity in engine.activities.items()
        if activity.workspace_sid == workspace_sid
    ]


def _all_workers(engine: Engine, workspace_sid: str) -> list[WorkerRecord]:
    return [w for w in engine.workers.values() if w.workspace_sid == workspace_sid]


# -- cumulative figures from the event log -----------------------------------------------------


class _Tally:
    """What a task scope's events in a window add up to: counts, and the waits they carried."""

    def __init__(self, engine: Engine, entries: tuple[str, ...]) -> None:
        self.engine = engine
        self.entries = entries
        self.reservations: Counter[str] = Counter()
        self.tasks: defaultdict[str, set[str]] = defaultdict(set)
        self.accepted: list[int] = []
        self.canceled: list[int] = []
        self.in_queue: list[int] = []

    def add(self, event: EventRecord, task: TaskFacts) -> None:
        kind = event.type
        if kind in _RESERVATION_COUNTS:
            self.reservations[_RESERVATION_COUNTS[kind]] += 1
        if kind in _TASK_COUNTS:
            self.tasks[_TASK_COUNTS[kind]].add(task.sid)
        if kind in self.entries:
            self.tasks["tasks_entered"].add(task.sid)
        if kind == "reservation.accepted":
            self.accepted.append(task.age)
            self._wait_in_queue(event, task)
        elif kind == "task.canceled":
            self.canceled.append(task.age)

    def _wait_in_queue(self, event: EventRecord, task: TaskFacts) -> None:
        entry = self.engine.log.queue_entry_before(task.sid, event.timestamp)
        since, queue_sid = entry or (event.timestamp, "")
        if queue_sid == task.queue_sid:
            self.in_queue.append(max(0, int((event.timestamp - since).total_seconds())))

    def figures(self, window: Window) -> Stats:
        """Every figure a task scope may list; each scope picks its own."""
        accepted, canceled = self.accepted, self.canceled
        figures: Stats = {
            "avg_task_acceptance_time": _round(sum(accepted) / len(accepted)) if accepted else 0,
            **window.render(),
            **{key: self.reservations[key] for key in _RESERVATION_KEYS},
            "split_by_wait_time": None
            if window.thresholds is None
            else _split(window.thresholds, accepted, canceled),
            "wait_duration_until_accepted": _durations(accepted),
            "wait_duration_until_canceled": _durations(canceled),
            "wait_duration_in_queue_until_accepted": _durations(self.in_queue),
            "tasks_entered": len(self.tasks["tasks_entered"]),
        }
        for key in _TASK_COUNTS.values():
            figures[key] = len(self.tasks[key])
        return figures


def _reservation_counts(
    engine: Engine, workspace_sid: str, *, window: Window, worker_sids: set[str] | None
) -> Stats:
    counts: Counter[str] = Counter()
    for event in engine.events_for(workspace_sid, window.start, window.end):
        key = _RESERVATION_COUNTS.get(event.type)
        if key is None:
            continue
        if window.channel_sid is not None and (event.task is None or not window.keeps(event.task)):
            continue
        if worker_sids is not None and (
            event.worker is None or event.worker.sid not in worker_sids
        ):
            continue
        counts[key] += 1
    return {key: counts[key] for key in _RESERVATION_KEYS}


def _activity_durations(
    engine: Engine, workspace_sid: str, *, window: Window, worker_sids: set[str] | None
) -> list[Stats]:
    """Seconds each worker spent in each activity within the window, summarised per activity."""
    now = engine.now()
    spent: defaultdict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))

    def stint(worker_sid: str, activity_sid: str, begin: datetime, end: datetime) -> None:
        if worker_sids is not None and worker_sid not in worker_sids:
            return
        begin, end = max(begin, window.start), min(end, window.end, now)
        if end > begin:
            spent[activity_sid][worker_sid] += (end - begin).total_seconds()

    # Every stint that ends at or after the window's start: closed by a change or a deletion
    # from then on (the log's index says where a deleted worker's last stint began).
    for event in engine.events_for(workspace_sid, window.start):
        if event.worker is None or event.resource_type != "Worker":
            continue
        worker_sid = event.worker.sid
        if event.type == "worker.activity.update" and event.change is not None:
            stint(
                worker_sid,
                event.change.previous_activity_sid,
                event.timestamp - timedelta(milliseconds=event.change.time_in_previous_ms),
                event.timestamp,
            )
        elif event.type == "worker.deleted":
            last = engine.log.activity_before(worker_sid, event.timestamp)
            if last is not None:
                since, activity_sid = last
                stint(worker_sid, activity_sid, since, event.timestamp)
    for worker in _all_workers(engine, workspace_sid):
        stint(worker.sid, worker.activity_sid, worker.date_status_changed, now)
    rows = []
    for sid, activity in engine.activities.items():
        if activity.workspace_sid != workspace_sid:
            continue
        times = [seconds for seconds in spent[sid].values() if seconds > 0]
        figures = _durations(times)
        rows.append(
            {
                "sid": sid,
                "friendly_name": activity.friendly_name,
                "avg": figures["avg"],
                "min": figures["min"],
                "max": figures["max"],
                "total": figures["total"],
            }
        )
    return rows
