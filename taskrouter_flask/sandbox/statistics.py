"""TaskRouter's statistics resources, computed from the engine's state and its event log.

Why from those two and nothing else: a real-time figure is a count over the
records as they are now (the same records the REST API renders), and a
cumulative figure is a count over :attr:`Engine.events` (the same events the
callback sender delivers). So a dashboard built on the sandbox's statistics
can never disagree with what the API answered or what the callbacks said, and
a test that moved a :class:`~.clock.ManualClock` knows every figure exactly.
Nothing here keeps counters of its own, does I/O or reads the wall clock:
"now" is :meth:`Engine.now`.

Every function returns a plain dict shaped like the API's JSON response
(snake_case keys, in the OpenAPI description's order) without ``url``,
``account_sid``, ``workspace_sid`` or the resource's own SID, which the REST
layer adds.

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
  it has no queue to report.
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
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .bounds import STATISTICS_START_DAYS
from .engine import Engine
from .errors import STATISTICS_START_DATE_TOO_OLD, InvalidArgument, NotFound
from .state import EventRecord, TaskRecord, TaskStatus, WorkerRecord

__all__ = [
    "DEFAULT_MINUTES",
    "MAX_BULK_QUEUES",
    "task_queue_bulk_real_time",
    "task_queue_cumulative",
    "task_queue_real_time",
    "task_queue_statistics",
    "task_queues_statistics",
    "worker_instance_statistics",
    "workers_cumulative",
    "workers_real_time",
    "workers_statistics",
    "workflow_cumulative",
    "workflow_real_time",
    "workflow_statistics",
    "workspace_cumulative",
    "workspace_real_time",
    "workspace_statistics",
]

#: The cumulative window when neither ``minutes`` nor ``start_date`` is given.
DEFAULT_MINUTES = 15
#: How many queues one bulk real-time request may name.
MAX_BULK_QUEUES = 50

Stats = dict[str, Any]
Minutes = int | str | None
Moment = datetime | str | None

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

_QUEUE_ENTRY = ("task-queue.entered", "task-queue.moved")

_RESERVATION_KEYS = tuple(_RESERVATION_COUNTS.values())

_WORKSPACE_CUMULATIVE = (
    "avg_task_acceptance_time",
    "start_time",
    "end_time",
    *_RESERVATION_KEYS,
    "split_by_wait_time",
    "wait_duration_until_accepted",
    "wait_duration_until_canceled",
    "tasks_canceled",
    "tasks_completed",
    "tasks_created",
    "tasks_deleted",
    "tasks_moved",
    "tasks_timed_out_in_workflow",
)

_WORKFLOW_CUMULATIVE = (
    "avg_task_acceptance_time",
    "start_time",
    "end_time",
    *_RESERVATION_KEYS,
    "split_by_wait_time",
    "wait_duration_until_accepted",
    "wait_duration_until_canceled",
    "tasks_canceled",
    "tasks_completed",
    "tasks_entered",
    "tasks_deleted",
    "tasks_moved",
    "tasks_timed_out_in_workflow",
)

_QUEUE_CUMULATIVE = (
    "avg_task_acceptance_time",
    "start_time",
    "end_time",
    *_RESERVATION_KEYS,
    "split_by_wait_time",
    "wait_duration_until_accepted",
    "wait_duration_until_canceled",
    "wait_duration_in_queue_until_accepted",
    "tasks_canceled",
    "tasks_completed",
    "tasks_deleted",
    "tasks_entered",
    "tasks_moved",
)


# -- parameters ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Window:
    start: datetime
    end: datetime

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment <= self.end

    def render(self) -> Stats:
        return {"start_time": _iso(self.start), "end_time": _iso(self.end)}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def _window(engine: Engine, minutes: Minutes, start_date: Moment, end_date: Moment) -> _Window:
    count = DEFAULT_MINUTES
    if minutes is not None:
        if isinstance(minutes, str) and minutes.strip().isdigit():
            count = int(minutes)
        elif isinstance(minutes, int) and not isinstance(minutes, bool):
            count = minutes
        else:
            raise InvalidArgument(f"Minutes: expected a whole number from 1, got {minutes!r}")
        if count < 1:
            raise InvalidArgument(f"Minutes: expected a whole number from 1, got {minutes!r}")
    now = engine.now()
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
    return _Window(start, end)


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


def _thresholds(split_by_wait_time: str | None) -> list[int] | None:
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
    return found


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


def _split(thresholds: list[int], accepted: list[int], canceled: list[int]) -> Stats:
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


def _tasks(
    engine: Engine,
    workspace_sid: str,
    channel_sid: str | None,
    keep: Callable[[TaskRecord], bool],
) -> list[TaskRecord]:
    tasks = [
        task
        for task in engine.tasks.values()
        if task.workspace_sid == workspace_sid
        and (channel_sid is None or task.task_channel_sid == channel_sid)
        and keep(task)
    ]
    tasks.sort(key=lambda task: task.seq)
    return tasks


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


def _activity_statistics(
    engine: Engine, workspace_sid: str, workers: Iterable[WorkerRecord]
) -> list[Stats]:
    counts = Counter(worker.activity_sid for worker in workers)
    return [
        {"sid": activity.sid, "friendly_name": activity.friendly_name, "workers": counts[sid]}
        for sid, activity in engine.activities.items()
        if activity.workspace_sid == workspace_sid
    ]


def _workers(
    engine: Engine,
    workspace_sid: str,
    *,
    task_queue_sid: str | None = None,
    task_queue_name: str | None = None,
    friendly_name: str | None = None,
) -> list[WorkerRecord] | None:
    """The workers a filter keeps, or ``None`` without a filter (everyone, deleted included)."""
    if task_queue_sid is None and task_queue_name is None and friendly_name is None:
        return None
    eligible: set[str] | None = None
    if task_queue_sid is not None:
        eligible = set(engine.task_queue(workspace_sid, task_queue_sid).eligible)
    if task_queue_name is not None:
        named = [
            queue
            for queue in engine.task_queues.values()
            if queue.workspace_sid == workspace_sid and queue.friendly_name == task_queue_name
        ]
        if not named:
            raise NotFound(
                f"task queue named {task_queue_name!r} was not found in workspace {workspace_sid}"
            )
        in_named: set[str] = set()
        for queue in named:
            in_named |= queue.eligible
        eligible = in_named if eligible is None else eligible & in_named
    return [
        worker
        for worker in engine.workers.values()
        if worker.workspace_sid == workspace_sid
        and (eligible is None or worker.sid in eligible)
        and (friendly_name is None or worker.friendly_name == friendly_name)
    ]


def _all_workers(engine: Engine, workspace_sid: str) -> list[WorkerRecord]:
    return [w for w in engine.workers.values() if w.workspace_sid == workspace_sid]


# -- cumulative figures from the event log -----------------------------------------------------


def _task_cumulative(
    engine: Engine,
    workspace_sid: str,
    *,
    window: _Window,
    channel_sid: str | None,
    thresholds: list[int] | None,
    scope: tuple[str, str] | None,
) -> Stats:
    """Every task and reservation figure, for the events ``scope`` (field, value) keeps."""
    reservations: Counter[str] = Counter()
    tasks: defaultdict[str, set[str]] = defaultdict(set)
    accepted: list[int] = []
    canceled: list[int] = []
    in_queue: list[int] = []
    entry_kind = _QUEUE_ENTRY if scope and scope[0] == "queue" else ("workflow.entered",)
    for event in engine.events_for(workspace_sid, window.start, window.end):
        task = event.task
        if task is None:
            continue
        task_sid = task.sid
        if channel_sid is not None and task.channel_sid != channel_sid:
            continue
        if (
            scope is not None
            and (task.queue_sid if scope[0] == "queue" else task.workflow_sid) != (scope[1])
        ):
            continue
        if event.type in _RESERVATION_COUNTS:
            reservations[_RESERVATION_COUNTS[event.type]] += 1
        if event.type in _TASK_COUNTS:
            tasks[_TASK_COUNTS[event.type]].add(task_sid)
        if event.type in entry_kind:
            tasks["tasks_entered"].add(task_sid)
        if event.type == "reservation.accepted":
            accepted.append(_age(event))
            since, queue_sid = engine.log.queue_entry_before(task_sid, event.timestamp) or (
                event.timestamp,
                "",
            )
            if queue_sid == task.queue_sid:
                in_queue.append(max(0, int((event.timestamp - since).total_seconds())))
        elif event.type == "task.canceled":
            canceled.append(_age(event))
    figures: Stats = {
        "avg_task_acceptance_time": _round(sum(accepted) / len(accepted)) if accepted else 0,
        **window.render(),
        **{key: reservations[key] for key in _RESERVATION_KEYS},
        "split_by_wait_time": None
        if thresholds is None
        else _split(thresholds, accepted, canceled),
        "wait_duration_until_accepted": _durations(accepted),
        "wait_duration_until_canceled": _durations(canceled),
        "wait_duration_in_queue_until_accepted": _durations(in_queue),
        "tasks_entered": len(tasks["tasks_entered"]),
    }
    for key in _TASK_COUNTS.values():
        figures[key] = len(tasks[key])
    return figures


def _age(event: EventRecord) -> int:
    return event.task.age if event.task is not None else 0


def _pick(figures: Stats, keys: Sequence[str]) -> Stats:
    return {key: figures[key] for key in keys}


def _reservation_counts(
    engine: Engine,
    workspace_sid: str,
    *,
    window: _Window,
    channel_sid: str | None,
    worker_sids: set[str] | None,
) -> Stats:
    counts: Counter[str] = Counter()
    for event in engine.events_for(workspace_sid, window.start, window.end):
        key = _RESERVATION_COUNTS.get(event.type)
        if key is None:
            continue
        if channel_sid is not None and (
            event.task is None or event.task.channel_sid != channel_sid
        ):
            continue
        if worker_sids is not None and (
            event.worker is None or event.worker.sid not in worker_sids
        ):
            continue
        counts[key] += 1
    return {key: counts[key] for key in _RESERVATION_KEYS}


def _activity_durations(
    engine: Engine, workspace_sid: str, *, window: _Window, worker_sids: set[str] | None
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


# -- workspace ---------------------------------------------------------------------------------


def workspace_real_time(
    engine: Engine, workspace_sid: str, *, task_channel: str | None = None
) -> Stats:
    """The workspace's tasks by status and priority, its longest waiting task, its workers.

    :param task_channel: a task channel SID or unique name: count only its tasks.
    :raises NotFound: for an unknown workspace or task channel.
    """
    engine.workspace(workspace_sid)
    channel_sid = _channel(engine, workspace_sid, task_channel)
    workers = _all_workers(engine, workspace_sid)
    figures = _task_figures(engine, _tasks(engine, workspace_sid, channel_sid, lambda t: True))
    return {
        "activity_statistics": _activity_statistics(engine, workspace_sid, workers),
        **figures,
        "total_workers": len(workers),
    }


def workspace_cumulative(
    engine: Engine,
    workspace_sid: str,
    *,
    minutes: Minutes = None,
    start_date: Moment = None,
    end_date: Moment = None,
    task_channel: str | None = None,
    split_by_wait_time: str | None = None,
) -> Stats:
    """The workspace's reservation and task figures over a window (default: the last 15 minutes).

    :param split_by_wait_time: comma-separated seconds, e.g. ``"10,60"``.
    :raises InvalidArgument: for a bad window or threshold list.
    :raises NotFound: for an unknown workspace or task channel.
    """
    engine.workspace(workspace_sid)
    figures = _task_cumulative(
        engine,
        workspace_sid,
        window=_window(engine, minutes, start_date, end_date),
        channel_sid=_channel(engine, workspace_sid, task_channel),
        thresholds=_thresholds(split_by_wait_time),
        scope=None,
    )
    return _pick(figures, _WORKSPACE_CUMULATIVE)


def workspace_statistics(
    engine: Engine,
    workspace_sid: str,
    *,
    minutes: Minutes = None,
    start_date: Moment = None,
    end_date: Moment = None,
    task_channel: str | None = None,
    split_by_wait_time: str | None = None,
) -> Stats:
    """``{"cumulative": ..., "realtime": ...}`` for the workspace (see the two functions)."""
    return {
        "cumulative": workspace_cumulative(
            engine,
            workspace_sid,
            minutes=minutes,
            start_date=start_date,
            end_date=end_date,
            task_channel=task_channel,
            split_by_wait_time=split_by_wait_time,
        ),
        "realtime": workspace_real_time(engine, workspace_sid, task_channel=task_channel),
    }


# -- workflows ---------------------------------------------------------------------------------


def workflow_real_time(
    engine: Engine, workspace_sid: str, workflow_sid: str, *, task_channel: str | None = None
) -> Stats:
    """The workflow's tasks by status and priority and its longest waiting task.

    :raises NotFound: for an unknown workspace, workflow or task channel.
    """
    engine.workspace(workspace_sid)
    engine.workflow(workspace_sid, workflow_sid)
    channel_sid = _channel(engine, workspace_sid, task_channel)
    tasks = _tasks(engine, workspace_sid, channel_sid, lambda t: t.workflow_sid == workflow_sid)
    return _task_figures(engine, tasks)


def workflow_cumulative(
    engine: Engine,
    workspace_sid: str,
    workflow_sid: str,
    *,
    minutes: Minutes = None,
    start_date: Moment = None,
    end_date: Moment = None,
    task_channel: str | None = None,
    split_by_wait_time: str | None = None,
) -> Stats:
    """The workflow's reservation and task figures over a window.

    :raises InvalidArgument: for a bad window or threshold list.
    :raises NotFound: for an unknown workspace, workflow or task channel.
    """
    engine.workspace(workspace_sid)
    engine.workflow(workspace_sid, workflow_sid)
    figures = _task_cumulative(
        engine,
        workspace_sid,
        window=_window(engine, minutes, start_date, end_date),
        channel_sid=_channel(engine, workspace_sid, task_channel),
        thresholds=_thresholds(split_by_wait_time),
        scope=("workflow", workflow_sid),
    )
    return _pick(figures, _WORKFLOW_CUMULATIVE)


def workflow_statistics(
    engine: Engine,
    workspace_sid: str,
    workflow_sid: str,
    *,
    minutes: Minutes = None,
    start_date: Moment = None,
    end_date: Moment = None,
    task_channel: str | None = None,
    split_by_wait_time: str | None = None,
) -> Stats:
    """``{"cumulative": ..., "realtime": ...}`` for the workflow."""
    return {
        "cumulative": workflow_cumulative(
            engine,
            workspace_sid,
            workflow_sid,
            minutes=minutes,
            start_date=start_date,
            end_date=end_date,
            task_channel=task_channel,
            split_by_wait_time=split_by_wait_time,
        ),
        "realtime": workflow_real_time(
            engine, workspace_sid, workflow_sid, task_channel=task_channel
        ),
    }


# -- task queues ---------------------------------------------------------------------------------


def _queue_real_time(
    engine: Engine, workspace_sid: str, task_queue_sid: str, channel_sid: str | None
) -> Stats:
    queue = engine.task_queue(workspace_sid, task_queue_sid)
    tasks = _tasks(engine, workspace_sid, channel_sid, lambda t: t.task_queue_sid == queue.sid)
    figures = _task_figures(engine, tasks)
    now = engine.now()
    relative: tuple[int, TaskRecord] | None = None
    for task in tasks:
        if task.status in _WAITING and task.task_queue_entered_date is not None:
            age = max(0, int((now - task.task_queue_entered_date).total_seconds()))
            if relative is None or age > relative[0]:
                relative = (age, task)
    eligible = [engine.workers[sid] for sid in sorted(queue.eligible) if sid in engine.workers]
    return {
        "activity_statistics": _activity_statistics(engine, workspace_sid, eligible),
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


def task_queue_real_time(
    engine: Engine, workspace_sid: str, task_queue_sid: str, *, task_channel: str | None = None
) -> Stats:
    """The queue's tasks, its longest waiting tasks (by age and by time in it), its workers.

    :raises NotFound: for an unknown workspace, task queue or task channel.
    """
    engine.workspace(workspace_sid)
    channel_sid = _channel(engine, workspace_sid, task_channel)
    return _queue_real_time(engine, workspace_sid, task_queue_sid, channel_sid)


def task_queue_cumulative(
    engine: Engine,
    workspace_sid: str,
    task_queue_sid: str,
    *,
    minutes: Minutes = None,
    start_date: Moment = None,
    end_date: Moment = None,
    task_channel: str | None = None,
    split_by_wait_time: str | None = None,
) -> Stats:
    """The queue's reservation and task figures over a window, waits in the queue included.

    :raises InvalidArgument: for a bad window or threshold list.
    :raises NotFound: for an unknown workspace, task queue or task channel.
    """
    engine.workspace(workspace_sid)
    engine.task_queue(workspace_sid, task_queue_sid)
    figures = _task_cumulative(
        engine,
        workspace_sid,
        window=_window(engine, minutes, start_date, end_date),
        channel_sid=_channel(engine, workspace_sid, task_channel),
        thresholds=_thresholds(split_by_wait_time),
        scope=("queue", task_queue_sid),
    )
    return _pick(figures, _QUEUE_CUMULATIVE)


def task_queue_statistics(
    engine: Engine,
    workspace_sid: str,
    task_queue_sid: str,
    *,
    minutes: Minutes = None,
    start_date: Moment = None,
    end_date: Moment = None,
    task_channel: str | None = None,
    split_by_wait_time: str | None = None,
) -> Stats:
    """``{"cumulative": ..., "realtime": ...}`` for the queue."""
    return {
        "cumulative": task_queue_cumulative(
            engine,
            workspace_sid,
            task_queue_sid,
            minutes=minutes,
            start_date=start_date,
            end_date=end_date,
            task_channel=task_channel,
            split_by_wait_time=split_by_wait_time,
        ),
        "realtime": task_queue_real_time(
            engine, workspace_sid, task_queue_sid, task_channel=task_channel
        ),
    }


def task_queues_statistics(
    engine: Engine,
    workspace_sid: str,
    *,
    friendly_name: str | None = None,
    minutes: Minutes = None,
    start_date: Moment = None,
    end_date: Moment = None,
    task_channel: str | None = None,
    split_by_wait_time: str | None = None,
) -> list[Stats]:
    """``{"task_queue_sid", "cumulative", "realtime"}`` for each queue, in creation order.

    :param friendly_name: keep only the queues with exactly this name.
    :raises InvalidArgument: for a bad window, even when no queue is listed.
    """
    engine.workspace(workspace_sid)
    _window(engine, minutes, start_date, end_date)
    return [
        {
            "task_queue_sid": queue.sid,
            **task_queue_statistics(
                engine,
                workspace_sid,
                queue.sid,
                minutes=minutes,
                start_date=start_date,
                end_date=end_date,
                task_channel=task_channel,
                split_by_wait_time=split_by_wait_time,
            ),
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
    *,
    task_channel: str | None = None,
) -> Stats:
    """Real-time figures of several queues at once, in the order asked.

    :raises InvalidArgument: for no queue, or more than :data:`MAX_BULK_QUEUES`.
    :raises NotFound: for an unknown workspace, task queue or task channel.
    """
    engine.workspace(workspace_sid)
    if isinstance(task_queue_sids, str) or not 1 <= len(task_queue_sids) <= MAX_BULK_QUEUES:
        raise InvalidArgument(
            f"TaskQueueSids: expected a list of 1 to {MAX_BULK_QUEUES} task queue SIDs"
        )
    channel_sid = _channel(engine, workspace_sid, task_channel)
    data = []
    for sid in task_queue_sids:
        figures = _queue_real_time(engine, workspace_sid, sid, channel_sid)
        data.append({"task_queue_sid": sid, **_pick(figures, _BULK_KEYS)})
    return {"task_queue_data": data, "task_queue_response_count": len(data)}


# -- workers -----------------------------------------------------------------------------------


def workers_real_time(
    engine: Engine,
    workspace_sid: str,
    *,
    task_channel: str | None = None,
    task_queue_sid: str | None = None,
    task_queue_name: str | None = None,
    friendly_name: str | None = None,
) -> Stats:
    """How many workers are in each activity.

    :param task_queue_sid: count only the queue's eligible workers (also ``task_queue_name``).
    :param friendly_name: count only the worker with this name.
    :raises NotFound: for an unknown workspace, task queue or task channel.
    """
    engine.workspace(workspace_sid)
    _channel(engine, workspace_sid, task_channel)
    workers = _workers(
        engine,
        workspace_sid,
        task_queue_sid=task_queue_sid,
        task_queue_name=task_queue_name,
        friendly_name=friendly_name,
    )
    if workers is None:
        workers = _all_workers(engine, workspace_sid)
    return {
        "activity_statistics": _activity_statistics(engine, workspace_sid, workers),
        "total_workers": len(workers),
    }


def _workers_cumulative(
    engine: Engine,
    workspace_sid: str,
    worker_sids: set[str] | None,
    *,
    minutes: Minutes,
    start_date: Moment,
    end_date: Moment,
    task_channel: str | None,
) -> Stats:
    window = _window(engine, minutes, start_date, end_date)
    channel_sid = _channel(engine, workspace_sid, task_channel)
    return {
        **window.render(),
        "activity_durations": _activity_durations(
            engine, workspace_sid, window=window, worker_sids=worker_sids
        ),
        **_reservation_counts(
            engine,
            workspace_sid,
            window=window,
            channel_sid=channel_sid,
            worker_sids=worker_sids,
        ),
    }


def workers_cumulative(
    engine: Engine,
    workspace_sid: str,
    *,
    minutes: Minutes = None,
    start_date: Moment = None,
    end_date: Moment = None,
    task_channel: str | None = None,
    task_queue_sid: str | None = None,
    task_queue_name: str | None = None,
    friendly_name: str | None = None,
) -> Stats:
    """Workers' reservations and time per activity over a window.

    Without a filter, workers deleted since still count for the time they were there.

    :raises InvalidArgument: for a bad window.
    :raises NotFound: for an unknown workspace, task queue or task channel.
    """
    engine.workspace(workspace_sid)
    workers = _workers(
        engine,
        workspace_sid,
        task_queue_sid=task_queue_sid,
        task_queue_name=task_queue_name,
        friendly_name=friendly_name,
    )
    return _workers_cumulative(
        engine,
        workspace_sid,
        None if workers is None else {worker.sid for worker in workers},
        minutes=minutes,
        start_date=start_date,
        end_date=end_date,
        task_channel=task_channel,
    )


def workers_statistics(
    engine: Engine,
    workspace_sid: str,
    *,
    minutes: Minutes = None,
    start_date: Moment = None,
    end_date: Moment = None,
    task_channel: str | None = None,
    task_queue_sid: str | None = None,
    task_queue_name: str | None = None,
    friendly_name: str | None = None,
) -> Stats:
    """``{"cumulative": ..., "realtime": ...}`` for the workers the filters keep."""
    return {
        "cumulative": workers_cumulative(
            engine,
            workspace_sid,
            minutes=minutes,
            start_date=start_date,
            end_date=end_date,
            task_channel=task_channel,
            task_queue_sid=task_queue_sid,
            task_queue_name=task_queue_name,
            friendly_name=friendly_name,
        ),
        "realtime": workers_real_time(
            engine,
            workspace_sid,
            task_channel=task_channel,
            task_queue_sid=task_queue_sid,
            task_queue_name=task_queue_name,
            friendly_name=friendly_name,
        ),
    }


def worker_instance_statistics(
    engine: Engine,
    workspace_sid: str,
    worker_sid: str,
    *,
    minutes: Minutes = None,
    start_date: Moment = None,
    end_date: Moment = None,
    task_channel: str | None = None,
) -> Stats:
    """``{"cumulative": ...}``: one worker's reservations and time per activity over a window.

    :raises InvalidArgument: for a bad window.
    :raises NotFound: for an unknown workspace, worker or task channel.
    """
    engine.workspace(workspace_sid)
    engine.worker(workspace_sid, worker_sid)
    return {
        "cumulative": _workers_cumulative(
            engine,
            workspace_sid,
            {worker_sid},
            minutes=minutes,
            start_date=start_date,
            end_date=end_date,
            task_channel=task_channel,
        )
    }
