"""The routing engine: TaskRouter's state, lifecycles and routing, in pure Python.

No HTTP, no threads, no wall clock: time comes from the injected clock.
:class:`Engine` is a small façade over parts with one job each (see
``docs/architecture.md``):

* :class:`~.store.Store` — the records, their indexes, SIDs and counters, transactions;
* :class:`~.scheduler.Scheduler` — typed timers (reservation and step timeouts, task TTLs);
* :class:`~.eventlog.EventLog` — the events, indexed and kept for a bounded time;
* :class:`~.resources.Resources` — create/update/delete of every resource, validated;
* :class:`~.routing.Routing` — workflow filters and targets, queue order, candidates;
* :class:`~.lifecycle.Lifecycle` — reservations and task statuses;
* :class:`~.facts.Facts` — what an event records about each resource, typed.

Every command is atomic. It runs in a :meth:`Engine.transaction`: if it
raises, every record, timer, counter and event goes back to what it was and
nobody hears of it; if it returns, its changes are handed to the
``committers`` (the journal writes them to disk) and only then are its
events told to the ``listeners`` (the callback sender). A refused command
therefore leaves no trace, and nothing leaves the process before it is
saved.

Readings of TaskRouter where its documentation leaves a gap:

* A new workspace gets the activities ``Offline`` (default and timeout
  activity), ``Available`` and ``Unavailable``, and the task channels
  ``default``, ``voice``, ``chat``, ``sms``, ``video`` and ``email``. The
  ``FIFO`` template also adds the queue ``Sample Queue`` (``1==1``) and the
  workflow ``Default Fifo Workflow`` routing every task to it.
* Tasks are offered highest priority first, then by virtual start time, oldest
  first (a ``LIFO`` queue takes the newest first, whatever its priority); a
  worker is chosen by the target's ``order_by`` (missing attributes last), then
  longest idle (the time it last became free for work), then creation order.
* A worker who rejects a task may be offered it again at once, unless the
  rejection moved them to an unavailable activity (which is why Twilio
  recommends doing so); after 1,000 moves from pending to reserved
  (Twilio's max assignment count: rejections, timeouts and rescinds alike) the task is
  canceled.
* A single-tasking worker holds one task at a time, from reservation to
  completion (wrapping included). In a multitasking workspace a worker holds
  up to each task channel's configured capacity and their activity does not
  change on reservation or assignment.
* ``skip_if`` is evaluated when a task enters a step and no reservation is
  made at once, over ``workers.available`` (free eligible workers),
  ``workers.unavailable`` and ``workers.total``.
* Event order for one change: the resource's own event first (``task.*``),
  then its reservations' (``reservation.*``), then workers' activity updates.
* The TTL cancels a task that is not yet assigned; an assigned task is left
  to be completed.
* ``dequeue``, ``call``, ``conference`` and ``redirect`` are recorded on the
  reservation; ``dequeue`` and ``conference`` accept it at once (the sandbox
  places no calls, so every step "succeeds"), ``call`` and ``redirect`` only
  with ``accept: true``, as Twilio documents. A ``post_work_activity_sid``
  moves the worker when the task completes.
* When a step times out, or a task is re-routed, its pending reservations
  are canceled and their workers offered other waiting work. A changed
  workflow configuration re-routes the tasks whose step no longer exists
  (all pending tasks with ``ReEvaluateTasks``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

from .clock import Clock, ManualClock
from .codec import encode_event
from .errors import InvalidArgument, NotFound
from .eventlog import DEFAULT_RETENTION, EventLog, StoredEvent
from .facts import Facts
from .lifecycle import MAX_REJECTIONS, Lifecycle
from .resources import Resources
from .routing import Routing
from .scheduler import Action, ReservationTimeout, Scheduler, StepTimeout, TaskTTL, Timer
from .state import (
    ActivityRecord,
    EventRecord,
    Record,
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
from .store import Counters, Store

__all__ = ["MAX_REJECTIONS", "Commit", "Engine"]

Listener = Callable[[EventRecord], None]

_P = ParamSpec("_P")
_R = TypeVar("_R")


@dataclass(frozen=True, slots=True)
class Commit:
    """Everything one committed command changed, for a journal to write."""

    #: Records to write (new or changed), each in its final state.
    written: Sequence[Record]
    #: Records to delete: (kind, SID).
    deleted: Sequence[tuple[str, str]]
    #: New events, oldest first.
    events: Sequence[EventRecord]
    #: How many of the oldest events retention dropped.
    expired: int
    timers_added: Sequence[Timer]
    timers_removed: Sequence[Timer]
    counters: Counters
    now: datetime
    #: Whether the counters moved (a SID was handed out, say) since the last commit.
    counted: bool = True

    @property
    def empty(self) -> bool:
        """Whether there is nothing to write."""
        return not (
            self.written
            or self.deleted
            or self.events
            or self.expired
            or self.timers_added
            or self.timers_removed
            or self.counted
        )


Committer = Callable[[Commit], None]


def _command(
    part: str, method: Callable[Concatenate[Any, _P], _R]
) -> Callable[Concatenate[Engine, _P], _R]:
    """An engine method that runs ``part``'s ``method`` as one atomic command."""
    name = method.__name__

    def command(self: Engine, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        run: Callable[_P, _R] = getattr(getattr(self, part), name)
        if self._depth:  # part of an enclosing transaction
            return run(*args, **kwargs)
        self._begin()
        try:
            result = run(*args, **kwargs)
        except BaseException:
            self._abort()
            raise
        self._finish()
        return result

    command.__name__ = command.__qualname__ = name
    command.__doc__ = method.__doc__
    return command


class Engine:
    """All of TaskRouter's state and decisions, driven by method calls and a clock.

    :param clock: where "now" comes from (a :class:`ManualClock` in tests).
    :param account_sid: the account every resource belongs to.
    :param seed: makes SIDs repeat from run to run (``None``: a random key).
    :param retention: how long events are kept (Twilio's 30 days by default);
        ``None`` keeps them all.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        account_sid: str = "AC" + "0" * 32,
        seed: int | None = 0,
        retention: timedelta | None = DEFAULT_RETENTION,
    ) -> None:
        self.clock: Clock = clock or ManualClock()
        self.account_sid = account_sid
        self.store = Store(seed)
        self.scheduler = Scheduler()
        self.log = EventLog(retention)
        #: Told of each committed event, in order, after the committers.
        self.listeners: list[Listener] = []
        #: Given each commit before its events reach the listeners; one that raises
        #: undoes the command.
        self.committers: list[Committer] = []
        self.resources = Resources(self)
        self.routing = Routing(self)
        self.lifecycle = Lifecycle(self)
        self.facts = Facts(self)
        for part in (self.resources, self.routing, self.lifecycle, self.facts):
            part.resources, part.routing = self.resources, self.routing
            part.lifecycle, part.facts = self.lifecycle, self.facts
        self._depth = 0

    # -- the tables, for reading --------------------------------------------------------------

    @property
    def workspaces(self) -> dict[str, WorkspaceRecord]:
        return self.store.workspaces

    @property
    def activities(self) -> dict[str, ActivityRecord]:
        return self.store.activities

    @property
    def workers(self) -> dict[str, WorkerRecord]:
        return self.store.workers

    @property
    def task_queues(self) -> dict[str, TaskQueueRecord]:
        return self.store.task_queues

    @property
    def workflows(self) -> dict[str, WorkflowRecord]:
        return self.store.workflows

    @property
    def task_channels(self) -> dict[str, TaskChannelRecord]:
        return self.store.task_channels

    @property
    def worker_channels(self) -> dict[str, WorkerChannelRecord]:
        return self.store.worker_channels

    @property
    def tasks(self) -> dict[str, TaskRecord]:
        return self.store.tasks

    @property
    def reservations(self) -> dict[str, ReservationRecord]:
        return self.store.reservations

    @property
    def events(self) -> EventLog:
        """Every retained event, oldest first."""
        return self.log

    # -- identity and time -----------------------------------------------------------------

    def now(self) -> datetime:
        """The engine's current time."""
        return self.clock.now()

    def schedule(self, delay: float, action: Action) -> None:
        """Run ``action`` in ``delay`` seconds (part of the current command)."""
        self.scheduler.schedule(self.now(), delay, action, self.store.next_seq())

    def next_timer(self) -> datetime | None:
        """When the next scheduled action is due, if any."""
        return self.scheduler.next_due()

    def advance(self, to: datetime | None = None, *, seconds: float | None = None) -> None:
        """Move time forward, running everything scheduled up to then, in order.

        Each timer that runs is a command of its own. With a :class:`ManualClock`,
        give ``to`` or ``seconds``; with a real clock, call it without arguments to
        run what is due.
        """
        if seconds is not None:
            to = self.now() + timedelta(seconds=seconds)
        manual = self.clock if isinstance(self.clock, ManualClock) else None
        if to is not None and manual is None:
            raise InvalidArgument("advance(to=...) needs a ManualClock; call advance() instead")
        limit = to or self.now()
        while True:
            with self.transaction():
                timer = self.scheduler.pop_due(limit)
                if timer is not None:
                    if manual is not None and timer.due > manual.now():
                        manual.set(timer.due)
                    self._run(timer.action)
            if timer is None:
                break
        if manual is not None and to is not None and to > manual.now():
            manual.set(to)

    def _run(self, action: Action) -> None:
        if isinstance(action, ReservationTimeout):
            reservation = self.store.reservations.get(action.reservation_sid)
            if reservation is not None and reservation.status is ReservationStatus.PENDING:
                self.lifecycle.time_out(reservation)
        elif isinstance(action, StepTimeout):
            task = self.store.tasks.get(action.task_sid)
            if task is not None and task.step == action.step and self.routing.routable(task):
                self.routing.step_timeout(task)
        elif isinstance(action, TaskTTL):
            task = self.store.tasks.get(action.task_sid)
            if task is not None and task.status in (TaskStatus.PENDING, TaskStatus.RESERVED):
                self.lifecycle.cancel_task(
                    task, "Task TTL Exceeded", description="Task TTL Exceeded"
                )

    # -- transactions -----------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the enclosed changes as one command: all of them, or none.

        Nested transactions belong to the outermost one: a REST request that makes
        several changes commits them together.
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._begin()
        try:
            yield
        except BaseException:
            self._abort()
            raise
        self._finish()

    def _begin(self) -> None:
        self._depth = 1
        self.store.begin()

    def _abort(self) -> None:
        self._depth = 0
        self._rollback()

    def _finish(self) -> None:
        """Commit: hand the changes to the committers, then the events to the listeners."""
        now = self.now()
        events = self.log.staged() if self.committers or self.listeners else []
        if self.committers:
            commit = self._prepare(now, events)
            if not commit.empty:
                try:
                    for committer in self.committers:
                        committer(commit)
                except BaseException:
                    self._abort()
                    raise
        self._depth = 0
        self.store.commit()
        self.scheduler.commit()
        self.log.commit()
        self.log.trim(now)
        for event in events:
            for listener in self.listeners:
                listener(event)

    def _prepare(self, now: datetime, events: list[EventRecord]) -> Commit:
        changes = self.store.changes()
        return Commit(
            written=changes.written,
            deleted=changes.deleted,
            events=events,
            expired=self.log.expired(now),
            timers_added=self.scheduler.added(),
            timers_removed=self.scheduler.removed(),
            counters=self.store.counters,
            now=now,
            counted=self.store.counted(),
        )

    def _rollback(self) -> None:
        touched = self.store.touched() or self.log.has_staged() or self.scheduler.changed()
        self.store.rollback()
        self.scheduler.rollback()
        self.log.rollback()
        if touched:
            self.routing.rebuild()

    # -- events -----------------------------------------------------------------------------

    def emit(
        self,
        workspace_sid: str,
        event_type: str,
        description: str,
        resource_type: str,
        resource_sid: str,
        **facts: Any,
    ) -> EventRecord:
        """Record an event of the current command.

        :param facts: the typed facts of :class:`~.state.EventRecord` (``task=``,
            ``worker=``, ``reservation_sid=``, ...).
        """
        workspace = self.store.workspaces.get(workspace_sid)
        event = EventRecord(
            sid=self.store.new_sid("EV"),
            workspace_sid=workspace_sid,
            type=event_type,
            description=description,
            resource_type=resource_type,
            resource_sid=resource_sid,
            timestamp=self.now(),
            account_sid=self.account_sid,
            workspace_name=workspace.friendly_name if workspace else "",
            **facts,
        )
        self.log.append(event)
        return event

    def events_for(
        self, workspace_sid: str, start: datetime | None = None, end: datetime | None = None
    ) -> Sequence[EventRecord]:
        """The workspace's retained events, oldest first, within ``[start, end]`` if given."""
        return self.log.of_workspace(workspace_sid, start, end)

    def task_age(self, task: TaskRecord) -> int:
        """Seconds since the task was created: Twilio's ``age``, which step timeouts count."""
        return max(0, int((self.now() - task.date_created).total_seconds()))

    def task_wait(self, task: TaskRecord) -> int:
        """Seconds since the task's virtual start time: how long it has waited, by the clock
        that orders its queue (the statistics' longest waiting task, an event's ``TaskAge``).
        """
        start = task.virtual_start_time or task.date_created
        return max(0, int((self.now() - start).total_seconds()))

    # -- lookups ----------------------------------------------------------------------------

    def workspace(self, sid: str) -> WorkspaceRecord:
        return self.store.workspace(sid)

    def activity(self, workspace_sid: str, sid: str) -> ActivityRecord:
        return self.store.get(self.store.activities, "activity", workspace_sid, sid)

    def worker(self, workspace_sid: str, sid: str) -> WorkerRecord:
        return self.store.get(self.store.workers, "worker", workspace_sid, sid)

    def task_queue(self, workspace_sid: str, sid: str) -> TaskQueueRecord:
        return self.store.get(self.store.task_queues, "task queue", workspace_sid, sid)

    def workflow(self, workspace_sid: str, sid: str) -> WorkflowRecord:
        return self.store.get(self.store.workflows, "workflow", workspace_sid, sid)

    def task(self, workspace_sid: str, sid: str) -> TaskRecord:
        return self.store.get(self.store.tasks, "task", workspace_sid, sid)

    def reservation(self, workspace_sid: str, sid: str) -> ReservationRecord:
        return self.store.get(self.store.reservations, "reservation", workspace_sid, sid)

    def task_channel(self, workspace_sid: str, sid_or_name: str) -> TaskChannelRecord:
        for channel in self.store.task_channels.values():
            if channel.workspace_sid == workspace_sid and sid_or_name in (
                channel.sid,
                channel.unique_name,
            ):
                return channel
        raise NotFound(f"task channel {sid_or_name} was not found in workspace {workspace_sid}")

    def worker_channel(self, workspace_sid: str, worker_sid: str, sid: str) -> WorkerChannelRecord:
        record = self.store.get(self.store.worker_channels, "worker channel", workspace_sid, sid)
        if record.worker_sid != worker_sid:
            raise NotFound(f"worker channel {sid} was not found for worker {worker_sid}")
        return record

    def reservations_of_task(self, task_sid: str) -> list[ReservationRecord]:
        reservations = self.store.reservations
        return [reservations[sid] for sid in self.store.task_reservations.get(task_sid, [])]

    def reservations_of_worker(self, worker_sid: str) -> list[ReservationRecord]:
        reservations = self.store.reservations
        return [reservations[sid] for sid in self.store.worker_reservations.get(worker_sid, [])]

    def worker_channels_of(self, worker_sid: str) -> list[WorkerChannelRecord]:
        worker = self.store.workers.get(worker_sid)
        if worker is None:
            return []
        return [self.store.worker_channels[sid] for sid in worker.channels.values()]

    def worker_available(self, worker: WorkerRecord) -> bool:
        """Whether the worker's activity is an available one."""
        return self.store.activities[worker.activity_sid].available

    def has_capacity(self, worker: WorkerRecord, task: TaskRecord | None = None) -> bool:
        """Whether the worker can take (this) task now: available activity and free capacity."""
        return self.routing.has_capacity(worker, task)

    # -- commands -------------------------------------------------------------------------------

    create_workspace = _command("resources", Resources.create_workspace)
    update_workspace = _command("resources", Resources.update_workspace)
    delete_workspace = _command("resources", Resources.delete_workspace)
    create_activity = _command("resources", Resources.create_activity)
    update_activity = _command("resources", Resources.update_activity)
    delete_activity = _command("resources", Resources.delete_activity)
    create_task_channel = _command("resources", Resources.create_task_channel)
    update_task_channel = _command("resources", Resources.update_task_channel)
    delete_task_channel = _command("resources", Resources.delete_task_channel)
    update_worker_channel = _command("resources", Resources.update_worker_channel)
    create_worker = _command("resources", Resources.create_worker)
    update_worker = _command("resources", Resources.update_worker)
    delete_worker = _command("resources", Resources.delete_worker)
    create_task_queue = _command("resources", Resources.create_task_queue)
    update_task_queue = _command("resources", Resources.update_task_queue)
    delete_task_queue = _command("resources", Resources.delete_task_queue)
    create_workflow = _command("resources", Resources.create_workflow)
    update_workflow = _command("resources", Resources.update_workflow)
    delete_workflow = _command("resources", Resources.delete_workflow)
    create_task = _command("resources", Resources.create_task)
    update_task = _command("resources", Resources.update_task)
    delete_task = _command("resources", Resources.delete_task)
    update_reservation = _command("lifecycle", Lifecycle.update_reservation)
    apply_instruction = _command("lifecycle", Lifecycle.apply_instruction)

    # -- persistence ------------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """The engine's whole committed state as JSON values: what a journal keeps.

        Two engines with equal exports answer every request the same way from here on.
        """
        if self._depth:
            raise RuntimeError("export() inside a transaction")
        return {
            **self.store.export(),
            "events": [encode_event(event) for event in self.log.export()],
            "timers": [timer.to_row() for timer in self.scheduler.export()],
        }

    def restore(
        self,
        counters: Counters,
        records: list[tuple[str, int, Record]],
        events: Sequence[EventRecord | StoredEvent],
        timers: list[Timer],
    ) -> None:
        """Replace the whole state (from a journal), then rebuild every index."""
        if self._depth:
            raise RuntimeError("restore() inside a transaction")
        self.store.restore(counters, records)
        self.log.restore(events)
        self.scheduler.restore(timers)
        self.routing.rebuild()
