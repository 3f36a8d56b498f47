"""The routing engine: TaskRouter's state, lifecycles and routing, in pure Python.

No HTTP, no threads, no wall clock: time comes from the injected clock, and
everything scheduled (reservation timeouts, workflow step timeouts, task
TTLs) sits in a heap of ``(time, priority, seq, action)`` that
:meth:`Engine.advance` runs in order. Every status change goes through the
transition tables of :mod:`.state` and appends the events real TaskRouter
emits to :attr:`Engine.events`; listeners (the callback sender) are told of
each event as it is recorded.

Readings of TaskRouter where its documentation leaves a gap:

* A new workspace gets the activities ``Offline`` (default and timeout
  activity), ``Available`` and ``Unavailable``, and the task channels
  ``default``, ``voice``, ``chat``, ``sms``, ``video`` and ``email``. The
  ``FIFO`` template also adds the queue ``Sample Queue`` (``1==1``) and the
  workflow ``Default Fifo Workflow`` routing every task to it.
* Tasks are offered highest priority first, then oldest first (newest first
  in a ``LIFO`` queue); a worker is chosen by the target's ``order_by``
  (missing attributes last), then longest idle (the time it last became free
  for work), then creation order.
* A worker who rejects a task may be offered it again at once, unless the
  rejection moved them to an unavailable activity (which is why Twilio
  recommends doing so); after 1,000 rejections the task is canceled.
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

import bisect
import heapq
import json
import random
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from ..errors import InstructionError
from ..expressions import ExpressionError, compile_expression
from ..instructions import instruction_from_dict
from ..workflow import Target, WorkflowConfiguration, WorkflowConfigurationError
from .clock import Clock, ManualClock
from .errors import InvalidArgument, InvalidTransition, NotFound, PreconditionFailed
from .state import (
    ACTIVE_RESERVATION,
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
    check_transition,
)

__all__ = ["MAX_REJECTIONS", "Engine"]

MAX_REJECTIONS = 1000
DEFAULT_TASK_TIMEOUT = 86_400
MAX_TASK_TIMEOUT = 1_209_600
DEFAULT_RESERVATION_TIMEOUT = 120
MAX_RESERVATION_TIMEOUT = 86_400
DEFAULT_CHANNELS = ("default", "voice", "chat", "sms", "video", "email")

# Timer priorities: at the same instant, reservations time out before steps and TTLs.
_RESERVATION_TIMEOUT, _STEP_TIMEOUT, _TTL = 0, 1, 2

Listener = Callable[[EventRecord], None]


class Engine:
    """All of TaskRouter's state and decisions, driven by method calls and a clock.

    :param clock: where "now" comes from (a :class:`ManualClock` in tests).
    :param account_sid: the account every resource belongs to.
    :param seed: makes SIDs repeat from run to run.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        account_sid: str = "AC" + "0" * 32,
        seed: int | None = 0,
    ) -> None:
        self.clock: Clock = clock or ManualClock()
        self.account_sid = account_sid
        self._random = random.Random(seed)
        self.workspaces: dict[str, WorkspaceRecord] = {}
        self.activities: dict[str, ActivityRecord] = {}
        self.workers: dict[str, WorkerRecord] = {}
        self.task_queues: dict[str, TaskQueueRecord] = {}
        self.workflows: dict[str, WorkflowRecord] = {}
        self.task_channels: dict[str, TaskChannelRecord] = {}
        self.worker_channels: dict[str, WorkerChannelRecord] = {}
        self.tasks: dict[str, TaskRecord] = {}
        self.reservations: dict[str, ReservationRecord] = {}
        self.events: list[EventRecord] = []
        self.listeners: list[Listener] = []
        self._timers: list[tuple[datetime, int, int, tuple[Any, ...]]] = []
        self._seq = 0
        #: Per worker: their reservations still occupying them.
        self._active: dict[str, set[str]] = {}
        #: Per task: its reservations (any status), in creation order.
        self._task_reservations: dict[str, list[str]] = {}
        #: Workers who could take a task now (available activity, free capacity).
        self._ready: set[str] = set()

    # -- identity and time -----------------------------------------------------------------

    def now(self) -> datetime:
        """The engine's current time."""
        return self.clock.now()

    def new_sid(self, prefix: str) -> str:
        """A fresh SID: ``prefix`` and 32 hex digits."""
        return f"{prefix}{self._random.getrandbits(128):032x}"

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def advance(self, to: datetime | None = None, *, seconds: float | None = None) -> None:
        """Move time forward, running everything scheduled up to then, in order.

        With a :class:`ManualClock`, give ``to`` or ``seconds``; with a real
        clock, call it without arguments to run what is due.
        """
        if seconds is not None:
            to = self.now() + timedelta(seconds=seconds)
        manual = self.clock if isinstance(self.clock, ManualClock) else None
        if to is not None and manual is None:
            raise InvalidArgument("advance(to=...) needs a ManualClock; call advance() instead")
        limit = to or self.now()
        while self._timers and self._timers[0][0] <= limit:
            when, _, _, action = heapq.heappop(self._timers)
            if manual is not None and when > manual.now():
                manual.set(when)
            self._run_timer(action)
        if manual is not None and to is not None and to > manual.now():
            manual.set(to)

    def next_timer(self) -> datetime | None:
        """When the next scheduled action is due, if any."""
        return self._timers[0][0] if self._timers else None

    def _schedule(self, delay: float, priority: int, action: tuple[Any, ...]) -> None:
        when = self.now() + timedelta(seconds=delay)
        heapq.heappush(self._timers, (when, priority, self._next_seq(), action))

    def _run_timer(self, action: tuple[Any, ...]) -> None:
        kind = action[0]
        if kind == "reservation":
            reservation = self.reservations.get(action[1])
            if reservation is not None and reservation.status is ReservationStatus.PENDING:
                self._end_reservation(reservation, ReservationStatus.TIMEOUT)
        elif kind == "step":
            task = self.tasks.get(action[1])
            if task is not None and task.step == action[2] and self._routable(task):
                self._step_timeout(task)
        elif kind == "ttl":
            task = self.tasks.get(action[1])
            if task is not None and task.status in (TaskStatus.PENDING, TaskStatus.RESERVED):
                self._cancel_task(task, "Task TTL Exceeded", description="Task TTL Exceeded")

    # -- events -----------------------------------------------------------------------------

    def _emit(
        self,
        workspace_sid: str,
        event_type: str,
        description: str,
        resource_type: str,
        resource_sid: str,
        fields: Mapping[str, str],
    ) -> EventRecord:
        workspace = self.workspaces.get(workspace_sid)
        event = EventRecord(
            sid=self.new_sid("EV"),
            workspace_sid=workspace_sid,
            type=event_type,
            description=description,
            resource_type=resource_type,
            resource_sid=resource_sid,
            timestamp=self.now(),
            fields={
                "AccountSid": self.account_sid,
                "WorkspaceSid": workspace_sid,
                "WorkspaceName": workspace.friendly_name if workspace else "",
                **fields,
            },
        )
        self.events.append(event)
        for listener in self.listeners:
            listener(event)
        return event

    def _task_fields(self, task: TaskRecord) -> dict[str, str]:
        fields = {
            "TaskSid": task.sid,
            "TaskAttributes": json.dumps(task.attributes),
            "TaskAge": str(self.task_age(task)),
            "TaskPriority": str(task.priority),
            "TaskAssignmentStatus": task.status.value,
            "TaskChannelSid": task.task_channel_sid,
            "TaskChannelUniqueName": self.task_channels[task.task_channel_sid].unique_name,
        }
        workflow = self.workflows.get(task.workflow_sid or "")
        if task.workflow_sid:
            fields["WorkflowSid"] = task.workflow_sid
            if workflow is not None:
                fields["WorkflowName"] = workflow.friendly_name
        queue = self.task_queues.get(task.task_queue_sid or "")
        if task.task_queue_sid:
            fields["TaskQueueSid"] = task.task_queue_sid
            if queue is not None:
                fields["TaskQueueName"] = queue.friendly_name
        if task.status is TaskStatus.CANCELED and task.reason:
            fields["TaskCanceledReason"] = task.reason
        if task.status is TaskStatus.COMPLETED and task.reason:
            fields["TaskCompletedReason"] = task.reason
        return fields

    def _worker_fields(self, worker: WorkerRecord) -> dict[str, str]:
        activity = self.activities[worker.activity_sid]
        return {
            "WorkerSid": worker.sid,
            "WorkerName": worker.friendly_name,
            "WorkerAttributes": json.dumps(worker.attributes),
            "WorkerActivitySid": activity.sid,
            "WorkerActivityName": activity.friendly_name,
            "WorkerVersion": str(worker.revision),
        }

    def _reservation_event(
        self, reservation: ReservationRecord, event_type: str, text: str
    ) -> None:
        task = self.tasks[reservation.task_sid]
        worker = self.workers.get(reservation.worker_sid)
        fields = self._task_fields(task)
        fields["TaskQueueSid"] = reservation.task_queue_sid
        fields["TaskQueueName"] = self.task_queues[reservation.task_queue_sid].friendly_name
        fields["ReservationSid"] = reservation.sid
        if worker is not None:
            fields.update(self._worker_fields(worker))
        name = worker.friendly_name if worker else reservation.worker_sid
        self._emit(
            reservation.workspace_sid,
            event_type,
            f"Reservation {reservation.sid} {text} by worker {name}",
            "Reservation",
            reservation.sid,
            fields,
        )

    def task_age(self, task: TaskRecord) -> int:
        """Seconds since the task was created (or its virtual start time)."""
        start = task.virtual_start_time or task.date_created
        return max(0, int((self.now() - start).total_seconds()))

    def events_for(self, workspace_sid: str) -> Iterator[EventRecord]:
        """The workspace's events, oldest first."""
        return (event for event in self.events if event.workspace_sid == workspace_sid)

    # -- lookups ----------------------------------------------------------------------------

    def _get(self, table: Mapping[str, Any], kind: str, workspace_sid: str, sid: str) -> Any:
        record = table.get(sid)
        if record is None or getattr(record, "workspace_sid", workspace_sid) != workspace_sid:
            raise NotFound(f"{kind} {sid} was not found in workspace {workspace_sid}")
        return record

    def workspace(self, sid: str) -> WorkspaceRecord:
        record = self.workspaces.get(sid)
        if record is None:
            raise NotFound(f"workspace {sid} was not found")
        return record

    def activity(self, workspace_sid: str, sid: str) -> ActivityRecord:
        record: ActivityRecord = self._get(self.activities, "activity", workspace_sid, sid)
        return record

    def worker(self, workspace_sid: str, sid: str) -> WorkerRecord:
        record: WorkerRecord = self._get(self.workers, "worker", workspace_sid, sid)
        return record

    def task_queue(self, workspace_sid: str, sid: str) -> TaskQueueRecord:
        record: TaskQueueRecord = self._get(self.task_queues, "task queue", workspace_sid, sid)
        return record

    def workflow(self, workspace_sid: str, sid: str) -> WorkflowRecord:
        record: WorkflowRecord = self._get(self.workflows, "workflow", workspace_sid, sid)
        return record

    def task(self, workspace_sid: str, sid: str) -> TaskRecord:
        record: TaskRecord = self._get(self.tasks, "task", workspace_sid, sid)
        return record

    def reservation(self, workspace_sid: str, sid: str) -> ReservationRecord:
        record: ReservationRecord = self._get(self.reservations, "reservation", workspace_sid, sid)
        return record

    def task_channel(self, workspace_sid: str, sid_or_name: str) -> TaskChannelRecord:
        for channel in self.task_channels.values():
            if channel.workspace_sid == workspace_sid and sid_or_name in (
                channel.sid,
                channel.unique_name,
            ):
                return channel
        raise NotFound(f"task channel {sid_or_name} was not found in workspace {workspace_sid}")

    def worker_channel(self, workspace_sid: str, worker_sid: str, sid: str) -> WorkerChannelRecord:
        record: WorkerChannelRecord = self._get(
            self.worker_channels, "worker channel", workspace_sid, sid
        )
        if record.worker_sid != worker_sid:
            raise NotFound(f"worker channel {sid} was not found for worker {worker_sid}")
        return record

    def reservations_of_task(self, task_sid: str) -> list[ReservationRecord]:
        return [self.reservations[sid] for sid in self._task_reservations.get(task_sid, [])]

    def reservations_of_worker(self, worker_sid: str) -> list[ReservationRecord]:
        return [r for r in self.reservations.values() if r.worker_sid == worker_sid]

    # -- workspaces ----------------------------------------------------------------------

    def create_workspace(
        self,
        *,
        friendly_name: str,
        event_callback_url: str | None = None,
        events_filter: str | None = None,
        multi_task_enabled: bool = False,
        template: str | None = None,
        prioritize_queue_order: str = "FIFO",
    ) -> WorkspaceRecord:
        """Create a workspace with its default activities and task channels."""
        _require_text("FriendlyName", friendly_name)
        _choice("PrioritizeQueueOrder", prioritize_queue_order, ("FIFO", "LIFO"))
        if template not in (None, "FIFO"):
            raise InvalidArgument(f"Template: expected FIFO, got {template!r}")
        now = self.now()
        workspace = WorkspaceRecord(
            sid=self.new_sid("WS"),
            friendly_name=friendly_name,
            date_created=now,
            date_updated=now,
            event_callback_url=event_callback_url,
            events_filter=events_filter,
            multi_task_enabled=multi_task_enabled,
            prioritize_queue_order=prioritize_queue_order,
        )
        self.workspaces[workspace.sid] = workspace
        offline = self.create_activity(workspace.sid, friendly_name="Offline", available=False)
        self.create_activity(workspace.sid, friendly_name="Available", available=True)
        self.create_activity(workspace.sid, friendly_name="Unavailable", available=False)
        workspace.default_activity_sid = offline.sid
        workspace.timeout_activity_sid = offline.sid
        for name in DEFAULT_CHANNELS:
            self.create_task_channel(
                workspace.sid, friendly_name=name.capitalize(), unique_name=name
            )
        self._emit(
            workspace.sid,
            "workspace.created",
            f"Workspace {workspace.friendly_name} created",
            "Workspace",
            workspace.sid,
            {},
        )
        if template == "FIFO":
            queue = self.create_task_queue(
                workspace.sid, friendly_name="Sample Queue", target_workers="1==1"
            )
            self.create_workflow(
                workspace.sid,
                friendly_name="Default Fifo Workflow",
                configuration=WorkflowConfiguration(default_filter=Target(queue=queue.sid)),
            )
        return workspace

    def update_workspace(self, sid: str, **changes: Any) -> WorkspaceRecord:
        """Change a workspace's settings."""
        workspace = self.workspace(sid)
        for activity_key in ("default_activity_sid", "timeout_activity_sid"):
            if changes.get(activity_key) is not None:
                self.activity(sid, changes[activity_key])
        if changes.get("prioritize_queue_order") is not None:
            _choice("PrioritizeQueueOrder", changes["prioritize_queue_order"], ("FIFO", "LIFO"))
        if changes.get("friendly_name") is not None:
            _require_text("FriendlyName", changes["friendly_name"])
        for key, value in changes.items():
            if value is not None:
                setattr(workspace, key, value)
        workspace.date_updated = self.now()
        self._emit(
            sid,
            "workspace.updated",
            f"Workspace {workspace.friendly_name} updated",
            "Workspace",
            sid,
            {},
        )
        return workspace

    def delete_workspace(self, sid: str) -> None:
        """Delete a workspace and everything in it."""
        workspace = self.workspace(sid)
        self._emit(
            sid,
            "workspace.deleted",
            f"Workspace {workspace.friendly_name} deleted",
            "Workspace",
            sid,
            {},
        )
        for table in (
            self.activities,
            self.workers,
            self.task_queues,
            self.workflows,
            self.task_channels,
            self.worker_channels,
            self.tasks,
            self.reservations,
        ):
            for key in [k for k, v in table.items() if v.workspace_sid == sid]:
                del table[key]
        for index in (self._active, self._task_reservations):
            for key in [k for k in index if k not in self.workers and k not in self.tasks]:
                del index[key]
        self._ready &= set(self.workers)
        del self.workspaces[sid]

    # -- activities -----------------------------------------------------------------------

    def create_activity(
        self, workspace_sid: str, *, friendly_name: str, available: bool = False
    ) -> ActivityRecord:
        """Create an activity (a worker state, available for work or not)."""
        self.workspace(workspace_sid)
        _require_text("FriendlyName", friendly_name)
        now = self.now()
        activity = ActivityRecord(
            self.new_sid("WA"), workspace_sid, friendly_name, bool(available), now, now
        )
        self.activities[activity.sid] = activity
        self._emit(
            workspace_sid,
            "activity.created",
            f"Activity {friendly_name} created",
            "Activity",
            activity.sid,
            self._activity_fields(activity),
        )
        return activity

    def _activity_fields(self, activity: ActivityRecord) -> dict[str, str]:
        return {
            "ActivitySid": activity.sid,
            "ActivityName": activity.friendly_name,
            "ActivityAvailable": "true" if activity.available else "false",
        }

    def update_activity(
        self, workspace_sid: str, sid: str, *, friendly_name: str | None = None
    ) -> ActivityRecord:
        """Rename an activity (its availability cannot change)."""
        activity = self.activity(workspace_sid, sid)
        if friendly_name is not None:
            _require_text("FriendlyName", friendly_name)
            activity.friendly_name = friendly_name
            for worker in self.workers.values():
                if worker.activity_sid == sid:
                    self._refresh_view(worker)
        activity.date_updated = self.now()
        self._emit(
            workspace_sid,
            "activity.updated",
            f"Activity {activity.friendly_name} updated",
            "Activity",
            sid,
            self._activity_fields(activity),
        )
        return activity

    def delete_activity(self, workspace_sid: str, sid: str) -> None:
        """Delete an activity no worker is in and the workspace does not use."""
        activity = self.activity(workspace_sid, sid)
        workspace = self.workspace(workspace_sid)
        if sid in (workspace.default_activity_sid, workspace.timeout_activity_sid):
            raise InvalidArgument(f"activity {sid} is the workspace's default or timeout activity")
        if any(w.activity_sid == sid for w in self.workers.values()):
            raise InvalidArgument(f"activity {sid} still has workers in it")
        del self.activities[sid]
        self._emit(
            workspace_sid,
            "activity.deleted",
            f"Activity {activity.friendly_name} deleted",
            "Activity",
            sid,
            self._activity_fields(activity),
        )

    # -- task channels ------------------------------------------------------------------------

    def create_task_channel(
        self,
        workspace_sid: str,
        *,
        friendly_name: str,
        unique_name: str,
        channel_optimized_routing: bool = False,
    ) -> TaskChannelRecord:
        """Create a task channel, and a worker channel for it on every worker."""
        self.workspace(workspace_sid)
        _require_text("FriendlyName", friendly_name)
        _require_text("UniqueName", unique_name)
        if any(
            c.workspace_sid == workspace_sid and c.unique_name == unique_name
            for c in self.task_channels.values()
        ):
            raise InvalidArgument(f"UniqueName: a task channel named {unique_name!r} exists")
        now = self.now()
        channel = TaskChannelRecord(
            self.new_sid("TC"),
            workspace_sid,
            friendly_name,
            unique_name,
            bool(channel_optimized_routing),
            now,
            now,
        )
        self.task_channels[channel.sid] = channel
        for worker in self.workers.values():
            if worker.workspace_sid == workspace_sid:
                self._add_worker_channel(worker, channel)
        self._emit(
            workspace_sid,
            "task-channel.created",
            f"TaskChannel {unique_name} created",
            "TaskChannel",
            channel.sid,
            self._channel_fields(channel),
        )
        return channel

    def _channel_fields(self, channel: TaskChannelRecord) -> dict[str, str]:
        return {
            "TaskChannelSid": channel.sid,
            "TaskChannelName": channel.friendly_name,
            "TaskChannelUniqueName": channel.unique_name,
            "TaskChannelOptimizedRouting": "true" if channel.channel_optimized_routing else "false",
        }

    def update_task_channel(
        self, workspace_sid: str, sid: str, **changes: Any
    ) -> TaskChannelRecord:
        """Rename a task channel or change its routing option."""
        channel = self.task_channel(workspace_sid, sid)
        if changes.get("friendly_name") is not None:
            _require_text("FriendlyName", changes["friendly_name"])
            channel.friendly_name = changes["friendly_name"]
        if changes.get("channel_optimized_routing") is not None:
            channel.channel_optimized_routing = bool(changes["channel_optimized_routing"])
        channel.date_updated = self.now()
        self._emit(
            workspace_sid,
            "task-channel.updated",
            f"TaskChannel {channel.unique_name} updated",
            "TaskChannel",
            channel.sid,
            self._channel_fields(channel),
        )
        return channel

    def delete_task_channel(self, workspace_sid: str, sid: str) -> None:
        """Delete a task channel no open task uses."""
        channel = self.task_channel(workspace_sid, sid)
        if any(
            t.task_channel_sid == channel.sid and t.status not in _FINAL_TASK
            for t in self.tasks.values()
        ):
            raise InvalidArgument(f"task channel {sid} has open tasks")
        del self.task_channels[channel.sid]
        for key in [
            k for k, v in self.worker_channels.items() if v.task_channel_sid == channel.sid
        ]:
            record = self.worker_channels.pop(key)
            worker = self.workers.get(record.worker_sid)
            if worker is not None:
                worker.channels.pop(channel.sid, None)
                self._refresh_ready(worker)
        self._emit(
            workspace_sid,
            "task-channel.deleted",
            f"TaskChannel {channel.unique_name} deleted",
            "TaskChannel",
            channel.sid,
            self._channel_fields(channel),
        )

    def _add_worker_channel(self, worker: WorkerRecord, channel: TaskChannelRecord) -> None:
        now = self.now()
        record = WorkerChannelRecord(
            self.new_sid("WC"), worker.workspace_sid, worker.sid, channel.sid, 1, True, now, now
        )
        self.worker_channels[record.sid] = record
        worker.channels[channel.sid] = record.sid

    def worker_channels_of(self, worker_sid: str) -> list[WorkerChannelRecord]:
        worker = self.workers.get(worker_sid)
        if worker is None:
            return []
        return [self.worker_channels[sid] for sid in worker.channels.values()]

    def update_worker_channel(
        self,
        workspace_sid: str,
        worker_sid: str,
        sid: str,
        *,
        capacity: int | None = None,
        available: bool | None = None,
    ) -> WorkerChannelRecord:
        """Change a worker's capacity on one channel (multitasking workspaces)."""
        record = self.worker_channel(workspace_sid, worker_sid, sid)
        worker = self.worker(workspace_sid, worker_sid)
        fields = self._worker_fields(worker)
        channel = self.task_channels[record.task_channel_sid]
        fields.update({"TaskChannelSid": channel.sid, "TaskChannelUniqueName": channel.unique_name})
        if capacity is not None:
            if (
                isinstance(capacity, bool)
                or not isinstance(capacity, int)
                or not 0 <= capacity <= 50
            ):
                raise InvalidArgument(f"Capacity: expected 0 to 50, got {capacity!r}")
            previous = record.configured_capacity
            record.configured_capacity = capacity
            self._emit(
                workspace_sid,
                "worker.capacity.update",
                f"Worker {worker.friendly_name} capacity updated",
                "Worker",
                worker.sid,
                {
                    **fields,
                    **self._capacity_fields(record),
                    "WorkerChannelPreviousCapacity": str(previous),
                },
            )
        if available is not None:
            record.available = bool(available)
            self._emit(
                workspace_sid,
                "worker.channel.availability.update",
                f"Worker {worker.friendly_name} channel availability updated",
                "Worker",
                worker.sid,
                {**fields, **self._capacity_fields(record)},
            )
        record.date_updated = self.now()
        self._refresh_ready(worker)
        self._worker_changed(worker)
        return record

    def _capacity_fields(self, record: WorkerChannelRecord) -> dict[str, str]:
        used = self._used_capacity(record.worker_sid, record.task_channel_sid)
        return {
            "WorkerChannelAvailable": "true" if record.available else "false",
            "WorkerChannelAvailableCapacity": str(max(0, record.configured_capacity - used)),
            "WorkerChannelTaskCount": str(used),
        }

    def _used_capacity(self, worker_sid: str, channel_sid: str) -> int:
        return sum(
            1
            for sid in self._active.get(worker_sid, ())
            if self.tasks[self.reservations[sid].task_sid].task_channel_sid == channel_sid
        )

    # -- workers ---------------------------------------------------------------------------

    def create_worker(
        self,
        workspace_sid: str,
        *,
        friendly_name: str,
        activity_sid: str | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> WorkerRecord:
        """Create a worker, in the workspace's default activity unless told otherwise."""
        workspace = self.workspace(workspace_sid)
        _require_text("FriendlyName", friendly_name)
        if any(
            w.workspace_sid == workspace_sid and w.friendly_name == friendly_name
            for w in self.workers.values()
        ):
            raise InvalidArgument(f"FriendlyName: a worker named {friendly_name!r} exists")
        activity_sid = activity_sid or workspace.default_activity_sid
        assert activity_sid is not None
        self.activity(workspace_sid, activity_sid)
        now = self.now()
        worker = WorkerRecord(
            sid=self.new_sid("WK"),
            workspace_sid=workspace_sid,
            friendly_name=friendly_name,
            attributes=_attributes(attributes),
            activity_sid=activity_sid,
            date_created=now,
            date_updated=now,
            date_status_changed=now,
            idle_since=now,
            seq=self._next_seq(),
        )
        self.workers[worker.sid] = worker
        self._active[worker.sid] = set()
        for channel in self.task_channels.values():
            if channel.workspace_sid == workspace_sid:
                self._add_worker_channel(worker, channel)
        self._refresh_view(worker)
        self._refresh_eligibility(worker)
        self._refresh_ready(worker)
        self._emit(
            workspace_sid,
            "worker.created",
            f"Worker {friendly_name} created",
            "Worker",
            worker.sid,
            self._worker_fields(worker),
        )
        self._worker_changed(worker)
        return worker

    def update_worker(
        self,
        workspace_sid: str,
        sid: str,
        *,
        activity_sid: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        friendly_name: str | None = None,
        reject_pending_reservations: bool = False,
        if_match: str | None = None,
    ) -> WorkerRecord:
        """Change a worker's activity, attributes or name."""
        worker = self.worker(workspace_sid, sid)
        _check_revision("worker", worker.sid, worker.revision, if_match)
        if friendly_name is not None:
            _require_text("FriendlyName", friendly_name)
            worker.friendly_name = friendly_name
        if attributes is not None:
            worker.attributes = _attributes(attributes)
            worker.revision += 1
            worker.date_updated = self.now()
            self._refresh_view(worker)
            self._refresh_eligibility(worker)
            self._emit(
                workspace_sid,
                "worker.attributes.update",
                f"Worker {worker.friendly_name} attributes updated",
                "Worker",
                sid,
                self._worker_fields(worker),
            )
        if activity_sid is not None:
            activity = self.activity(workspace_sid, activity_sid)
            # The new activity first, so a rejected task is not offered straight back.
            self._set_activity(worker, activity_sid)
            if reject_pending_reservations and not activity.available:
                for reservation in self.reservations_of_worker(sid):
                    if reservation.status is ReservationStatus.PENDING:
                        self._end_reservation(reservation, ReservationStatus.REJECTED)
        worker.date_updated = self.now()
        self._worker_changed(worker)
        return worker

    def delete_worker(self, workspace_sid: str, sid: str, *, if_match: str | None = None) -> None:
        """Delete a worker who holds no task."""
        worker = self.worker(workspace_sid, sid)
        _check_revision("worker", worker.sid, worker.revision, if_match)
        if self._active[sid]:
            raise InvalidArgument(f"worker {sid} still has reservations or tasks")
        fields = self._worker_fields(worker)
        for queue_sid in worker.queues:
            self.task_queues[queue_sid].eligible.discard(sid)
        for key in [k for k, v in self.worker_channels.items() if v.worker_sid == sid]:
            del self.worker_channels[key]
        del self.workers[sid]
        del self._active[sid]
        self._ready.discard(sid)
        self._emit(
            workspace_sid,
            "worker.deleted",
            f"Worker {worker.friendly_name} deleted",
            "Worker",
            sid,
            fields,
        )

    def _set_activity(self, worker: WorkerRecord, activity_sid: str) -> None:
        if worker.activity_sid == activity_sid:
            return
        previous = self.activities[worker.activity_sid]
        now = self.now()
        elapsed = now - worker.date_status_changed
        worker.activity_sid = activity_sid
        worker.date_status_changed = now
        worker.revision += 1
        activity = self.activities[activity_sid]
        if activity.available and not previous.available:
            worker.idle_since = now
        self._refresh_view(worker)
        self._refresh_ready(worker)
        self._emit(
            worker.workspace_sid,
            "worker.activity.update",
            f"Worker {worker.friendly_name} updated to {activity.friendly_name} Activity",
            "Worker",
            worker.sid,
            {
                **self._worker_fields(worker),
                "WorkerPreviousActivitySid": previous.sid,
                "WorkerTimeInPreviousActivity": str(int(elapsed.total_seconds())),
                "WorkerTimeInPreviousActivityMs": str(int(elapsed.total_seconds() * 1000)),
            },
        )

    def _refresh_view(self, worker: WorkerRecord) -> None:
        activity = self.activities[worker.activity_sid]
        worker.view = {
            **worker.attributes,
            "sid": worker.sid,
            "friendly_name": worker.friendly_name,
            "activity_sid": activity.sid,
            "activity_name": activity.friendly_name,
        }

    def _refresh_eligibility(self, worker: WorkerRecord) -> None:
        for queue in self.task_queues.values():
            if queue.workspace_sid == worker.workspace_sid:
                self._set_eligible(queue, worker)

    def _set_eligible(self, queue: TaskQueueRecord, worker: WorkerRecord) -> None:
        if queue.target.evaluate(worker.attributes):
            queue.eligible.add(worker.sid)
            worker.queues.add(queue.sid)
        else:
            queue.eligible.discard(worker.sid)
            worker.queues.discard(queue.sid)

    def worker_available(self, worker: WorkerRecord) -> bool:
        """Whether the worker's activity is an available one."""
        return self.activities[worker.activity_sid].available

    def has_capacity(self, worker: WorkerRecord, task: TaskRecord | None = None) -> bool:
        """Whether the worker can take (this) task now: available activity and free capacity."""
        if not self.activities[worker.activity_sid].available:
            return False
        active = self._active[worker.sid]
        if not self.workspaces[worker.workspace_sid].multi_task_enabled:
            return not active
        if task is None:
            return any(
                self._channel_free(worker, channel_sid, ignore_capacity=False)
                for channel_sid in worker.channels
            )
        return self._channel_free(
            worker, task.task_channel_sid, ignore_capacity=task.ignore_capacity
        )

    def _channel_free(
        self, worker: WorkerRecord, channel_sid: str, *, ignore_capacity: bool
    ) -> bool:
        record = self.worker_channels.get(worker.channels.get(channel_sid, ""))
        if record is None or not record.available:
            return False
        if ignore_capacity:
            return True
        return self._used_capacity(worker.sid, channel_sid) < record.configured_capacity

    def _refresh_ready(self, worker: WorkerRecord) -> None:
        """Keep the index of workers who could take a task now up to date."""
        if worker.sid in self.workers and self.has_capacity(worker):
            self._ready.add(worker.sid)
        else:
            self._ready.discard(worker.sid)

    # -- task queues ----------------------------------------------------------------------

    def create_task_queue(
        self,
        workspace_sid: str,
        *,
        friendly_name: str,
        target_workers: str = "1==1",
        max_reserved_workers: int = 1,
        task_order: str = "FIFO",
        reservation_activity_sid: str | None = None,
        assignment_activity_sid: str | None = None,
    ) -> TaskQueueRecord:
        """Create a task queue; its workers are those matching ``target_workers``."""
        self.workspace(workspace_sid)
        _require_text("FriendlyName", friendly_name)
        target = _compile("TargetWorkers", target_workers)
        _check_max_reserved(max_reserved_workers)
        _choice("TaskOrder", task_order, ("FIFO", "LIFO"))
        for sid in (reservation_activity_sid, assignment_activity_sid):
            if sid is not None:
                self.activity(workspace_sid, sid)
        now = self.now()
        queue = TaskQueueRecord(
            sid=self.new_sid("WQ"),
            workspace_sid=workspace_sid,
            friendly_name=friendly_name,
            target_workers=target_workers,
            target=target,
            max_reserved_workers=max_reserved_workers,
            task_order=task_order,
            reservation_activity_sid=reservation_activity_sid,
            assignment_activity_sid=assignment_activity_sid,
            date_created=now,
            date_updated=now,
        )
        self.task_queues[queue.sid] = queue
        for worker in self.workers.values():
            if worker.workspace_sid == workspace_sid:
                self._set_eligible(queue, worker)
        self._emit(
            workspace_sid,
            "task-queue.created",
            f"TaskQueue {friendly_name} created",
            "TaskQueue",
            queue.sid,
            self._queue_fields(queue),
        )
        return queue

    def _queue_fields(self, queue: TaskQueueRecord) -> dict[str, str]:
        return {
            "TaskQueueSid": queue.sid,
            "TaskQueueName": queue.friendly_name,
            "TaskQueueTargetExpression": queue.target_workers,
        }

    def update_task_queue(self, workspace_sid: str, sid: str, **changes: Any) -> TaskQueueRecord:
        """Change a queue; a new ``target_workers`` re-evaluates every worker."""
        queue = self.task_queue(workspace_sid, sid)
        if changes.get("friendly_name") is not None:
            _require_text("FriendlyName", changes["friendly_name"])
            queue.friendly_name = changes["friendly_name"]
        if changes.get("max_reserved_workers") is not None:
            _check_max_reserved(changes["max_reserved_workers"])
            queue.max_reserved_workers = changes["max_reserved_workers"]
        if changes.get("task_order") is not None:
            _choice("TaskOrder", changes["task_order"], ("FIFO", "LIFO"))
            queue.task_order = changes["task_order"]
            self._resort(queue)
        for key in ("reservation_activity_sid", "assignment_activity_sid"):
            if changes.get(key) is not None:
                self.activity(workspace_sid, changes[key])
                setattr(queue, key, changes[key])
        if changes.get("target_workers") is not None:
            queue.target = _compile("TargetWorkers", changes["target_workers"])
            queue.target_workers = changes["target_workers"]
            for worker in self.workers.values():
                if worker.workspace_sid == workspace_sid:
                    self._set_eligible(queue, worker)
            self._emit(
                workspace_sid,
                "task-queue.expression.updated",
                f"TaskQueue {queue.friendly_name} expression updated",
                "TaskQueue",
                sid,
                self._queue_fields(queue),
            )
        queue.date_updated = self.now()
        self._match_queue(queue)
        return queue

    def delete_task_queue(self, workspace_sid: str, sid: str) -> None:
        """Delete a queue that no open task is in and no workflow routes to."""
        queue = self.task_queue(workspace_sid, sid)
        if any(
            t.task_queue_sid == sid and t.status not in _FINAL_TASK for t in self.tasks.values()
        ):
            raise InvalidArgument(f"task queue {sid} has open tasks")
        for workflow in self.workflows.values():
            if sid in _queues_of(workflow.configuration):
                raise InvalidArgument(f"task queue {sid} is used by workflow {workflow.sid}")
        for worker_sid in queue.eligible:
            self.workers[worker_sid].queues.discard(sid)
        del self.task_queues[sid]
        self._emit(
            workspace_sid,
            "task-queue.deleted",
            f"TaskQueue {queue.friendly_name} deleted",
            "TaskQueue",
            sid,
            self._queue_fields(queue),
        )

    # -- workflows ---------------------------------------------------------------------------

    def create_workflow(
        self,
        workspace_sid: str,
        *,
        friendly_name: str,
        configuration: str | Mapping[str, Any] | WorkflowConfiguration,
        assignment_callback_url: str | None = None,
        fallback_assignment_callback_url: str | None = None,
        task_reservation_timeout: int = DEFAULT_RESERVATION_TIMEOUT,
    ) -> WorkflowRecord:
        """Create a workflow after checking its configuration and that its queues exist."""
        self.workspace(workspace_sid)
        _require_text("FriendlyName", friendly_name)
        config = self._configuration(workspace_sid, configuration)
        _check_reservation_timeout(task_reservation_timeout)
        now = self.now()
        workflow = WorkflowRecord(
            sid=self.new_sid("WW"),
            workspace_sid=workspace_sid,
            friendly_name=friendly_name,
            configuration=config,
            document=config.to_json(),
            assignment_callback_url=assignment_callback_url,
            fallback_assignment_callback_url=fallback_assignment_callback_url,
            task_reservation_timeout=task_reservation_timeout,
            date_created=now,
            date_updated=now,
        )
        self.workflows[workflow.sid] = workflow
        self._emit(
            workspace_sid,
            "workflow.created",
            f"Workflow {friendly_name} created",
            "Workflow",
            workflow.sid,
            {"WorkflowSid": workflow.sid, "WorkflowName": friendly_name},
        )
        return workflow

    def _configuration(
        self, workspace_sid: str, configuration: str | Mapping[str, Any] | WorkflowConfiguration
    ) -> WorkflowConfiguration:
        try:
            if isinstance(configuration, WorkflowConfiguration):
                config = configuration
            elif isinstance(configuration, str):
                config = WorkflowConfiguration.from_json(configuration)
            else:
                config = WorkflowConfiguration.from_dict(configuration)
            config.check()
        except WorkflowConfigurationError as exc:
            raise InvalidArgument(f"Configuration: {exc}") from exc
        for queue_sid in _queues_of(config):
            self.task_queue(workspace_sid, queue_sid)
        return config

    def update_workflow(self, workspace_sid: str, sid: str, **changes: Any) -> WorkflowRecord:
        """Change a workflow; ``re_evaluate_tasks`` re-routes its pending tasks."""
        workflow = self.workflow(workspace_sid, sid)
        if changes.get("friendly_name") is not None:
            _require_text("FriendlyName", changes["friendly_name"])
            workflow.friendly_name = changes["friendly_name"]
        if changes.get("configuration") is not None:
            workflow.configuration = self._configuration(workspace_sid, changes["configuration"])
            workflow.document = workflow.configuration.to_json()
        for key in ("assignment_callback_url", "fallback_assignment_callback_url"):
            if changes.get(key) is not None:
                setattr(workflow, key, changes[key])
        if changes.get("task_reservation_timeout") is not None:
            _check_reservation_timeout(changes["task_reservation_timeout"])
            workflow.task_reservation_timeout = changes["task_reservation_timeout"]
        workflow.date_updated = self.now()
        self._emit(
            workspace_sid,
            "workflow.updated",
            f"Workflow {workflow.friendly_name} updated",
            "Workflow",
            sid,
            {"WorkflowSid": sid, "WorkflowName": workflow.friendly_name},
        )
        everything = str(changes.get("re_evaluate_tasks", "")).lower() == "true"
        for task in sorted(self.tasks.values(), key=lambda t: t.seq):
            if task.workflow_sid != sid or not self._routable(task):
                continue
            # A task whose step no longer exists must re-enter; with ReEvaluateTasks, all pending.
            if (everything and task.status is TaskStatus.PENDING) or not self._step_exists(task):
                freed = self._cancel_pending(task)
                self._enter_workflow(task)
                for worker in freed:
                    self._worker_changed(worker)
        return workflow

    def _step_exists(self, task: TaskRecord) -> bool:
        assert task.workflow_sid is not None
        config = self.workflows[task.workflow_sid].configuration
        if task.filter_index is None:
            return config.default_filter is not None and task.target_index == 0
        return task.filter_index < len(config.filters) and task.target_index < len(
            config.filters[task.filter_index].targets
        )

    def delete_workflow(self, workspace_sid: str, sid: str) -> None:
        """Delete a workflow that has no open task."""
        workflow = self.workflow(workspace_sid, sid)
        if any(t.workflow_sid == sid and t.status not in _FINAL_TASK for t in self.tasks.values()):
            raise InvalidArgument(f"workflow {sid} has open tasks")
        del self.workflows[sid]
        self._emit(
            workspace_sid,
            "workflow.deleted",
            f"Workflow {workflow.friendly_name} deleted",
            "Workflow",
            sid,
            {"WorkflowSid": sid, "WorkflowName": workflow.friendly_name},
        )

    # -- tasks ------------------------------------------------------------------------------

    def create_task(
        self,
        workspace_sid: str,
        *,
        workflow_sid: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        priority: int | None = None,
        timeout: int | None = None,
        task_channel: str | None = None,
        task_queue_sid: str | None = None,
        virtual_start_time: datetime | None = None,
        routing_target: str | None = None,
        ignore_capacity: bool = False,
    ) -> TaskRecord:
        """Create a task and route it: through its workflow, or straight to a queue."""
        self.workspace(workspace_sid)
        if workflow_sid is None and task_queue_sid is None:
            workflows = [w for w in self.workflows.values() if w.workspace_sid == workspace_sid]
            if len(workflows) != 1:
                raise InvalidArgument(
                    "WorkflowSid: required when the workspace does not have exactly one workflow"
                )
            workflow_sid = workflows[0].sid
        if workflow_sid is not None:
            self.workflow(workspace_sid, workflow_sid)
        if task_queue_sid is not None:
            self.task_queue(workspace_sid, task_queue_sid)
        timeout = DEFAULT_TASK_TIMEOUT if timeout is None else timeout
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int)
            or not 1 <= timeout <= MAX_TASK_TIMEOUT
        ):
            raise InvalidArgument(
                f"Timeout: expected 1 to {MAX_TASK_TIMEOUT} seconds, got {timeout!r}"
            )
        priority = 0 if priority is None else priority
        _check_priority(priority)
        channel = self.task_channel(workspace_sid, task_channel or "default")
        now = self.now()
        task = TaskRecord(
            sid=self.new_sid("WT"),
            workspace_sid=workspace_sid,
            workflow_sid=workflow_sid,
            attributes=_attributes(attributes),
            priority=priority,
            base_priority=priority,
            timeout=timeout,
            task_channel_sid=channel.sid,
            status=TaskStatus.PENDING,
            date_created=now,
            date_updated=now,
            seq=self._next_seq(),
            virtual_start_time=virtual_start_time,
            routing_target=routing_target,
            ignore_capacity=bool(ignore_capacity),
        )
        self.tasks[task.sid] = task
        self._task_reservations[task.sid] = []
        self._emit(
            workspace_sid,
            "task.created",
            f"Task {task.sid} created",
            "Task",
            task.sid,
            self._task_fields(task),
        )
        self._schedule(timeout, _TTL, ("ttl", task.sid))
        if task_queue_sid is not None and workflow_sid is None:
            self._enter_queue(task, task_queue_sid, None)
        else:
            self._enter_workflow(task)
        return task

    def update_task(
        self,
        workspace_sid: str,
        sid: str,
        *,
        attributes: Mapping[str, Any] | None = None,
        assignment_status: str | None = None,
        reason: str | None = None,
        priority: int | None = None,
        task_channel: str | None = None,
        virtual_start_time: datetime | None = None,
        if_match: str | None = None,
    ) -> TaskRecord:
        """Change a task: attributes and priority re-route it; a status moves its lifecycle."""
        task = self.task(workspace_sid, sid)
        _check_revision("task", task.sid, task.revision, if_match)
        if virtual_start_time is not None:
            task.virtual_start_time = virtual_start_time
        if task_channel is not None:
            task.task_channel_sid = self.task_channel(workspace_sid, task_channel).sid
        if priority is not None:
            _check_priority(priority)
        new_attributes = _attributes(attributes) if attributes is not None else None
        reroute = priority is not None or new_attributes is not None
        if reroute:
            # Out of the queue under the old key before the key (the priority) changes.
            self._leave_queue(task)
            if priority is not None:
                task.base_priority = priority
                task.priority = priority
            if new_attributes is not None:
                task.attributes = new_attributes
            task.revision += 1
            task.date_updated = self.now()
            self._emit(
                workspace_sid,
                "task.updated",
                f"Task {sid} updated",
                "Task",
                sid,
                self._task_fields(task),
            )
            if task.status in (TaskStatus.PENDING, TaskStatus.RESERVED):
                freed = self._cancel_pending(task)
                if task.workflow_sid is not None:
                    self._enter_workflow(task)
                else:
                    self._wait(task)
                    self._match_task(task)
                for worker in freed:
                    self._worker_changed(worker)
        if assignment_status is not None:
            self._set_task_status(task, assignment_status, reason)
        return task

    def delete_task(self, workspace_sid: str, sid: str, *, if_match: str | None = None) -> None:
        """Delete a task; its pending reservations are canceled."""
        task = self.task(workspace_sid, sid)
        _check_revision("task", task.sid, task.revision, if_match)
        freed: list[WorkerRecord] = []
        self._leave_queue(task)
        for reservation in self.reservations_of_task(sid):
            if reservation.status in ACTIVE_RESERVATION:
                self._active[reservation.worker_sid].discard(reservation.sid)
                worker = self.workers.get(reservation.worker_sid)
                if worker is not None:
                    worker.idle_since = self.now()
                    self._refresh_ready(worker)
                    freed.append(worker)
            if reservation.status is ReservationStatus.PENDING:
                self._reservation_transition(reservation, ReservationStatus.CANCELED)
        self._emit(
            workspace_sid,
            "task.deleted",
            f"Task {sid} deleted",
            "Task",
            sid,
            self._task_fields(task),
        )
        del self.tasks[sid]
        for reservation_sid in self._task_reservations.pop(sid, []):
            del self.reservations[reservation_sid]
        for worker in freed:
            self._worker_changed(worker)

    def _set_task_status(self, task: TaskRecord, status: str, reason: str | None) -> None:
        try:
            new = TaskStatus(status)
        except ValueError:
            raise InvalidArgument(
                f"AssignmentStatus: expected canceled, wrapping or completed, got {status!r}"
            ) from None
        if new is TaskStatus.CANCELED:
            check_transition("task", task.sid, task.status, new)
            self._cancel_task(task, reason or "canceled", description=f"Task {task.sid} canceled")
        elif new is TaskStatus.WRAPPING:
            check_transition("task", task.sid, task.status, new)
            self._task_transition(task, new, "task.wrapup", f"Task {task.sid} wrapping")
            for reservation in self.reservations_of_task(task.sid):
                if reservation.status is ReservationStatus.ACCEPTED:
                    self._reservation_transition(reservation, ReservationStatus.WRAPPING)
        elif new is TaskStatus.COMPLETED:
            check_transition("task", task.sid, task.status, new)
            task.reason = reason
            self._task_transition(task, new, "task.completed", f"Task {task.sid} completed")
            for reservation in self.reservations_of_task(task.sid):
                if reservation.status in (ReservationStatus.ACCEPTED, ReservationStatus.WRAPPING):
                    self._end_reservation(reservation, ReservationStatus.COMPLETED)
        else:
            raise InvalidArgument(
                f"AssignmentStatus: expected canceled, wrapping or completed, got {status!r}"
            )

    def _task_transition(
        self, task: TaskRecord, new: TaskStatus, event_type: str | None, description: str = ""
    ) -> None:
        check_transition("task", task.sid, task.status, new)
        task.status = new
        task.revision += 1
        task.date_updated = self.now()
        if event_type is not None:
            self._emit(
                task.workspace_sid,
                event_type,
                description,
                "Task",
                task.sid,
                self._task_fields(task),
            )

    def _cancel_task(self, task: TaskRecord, reason: str, *, description: str) -> None:
        task.reason = reason
        self._leave_queue(task)
        self._task_transition(task, TaskStatus.CANCELED, "task.canceled", description)
        for reservation in self.reservations_of_task(task.sid):
            if reservation.status is ReservationStatus.PENDING:
                self._end_reservation(reservation, ReservationStatus.CANCELED)

    # -- routing ------------------------------------------------------------------------------

    def _routable(self, task: TaskRecord) -> bool:
        return task.status in (TaskStatus.PENDING, TaskStatus.RESERVED)

    def _enter_workflow(self, task: TaskRecord) -> None:
        assert task.workflow_sid is not None
        workflow = self.workflows[task.workflow_sid]
        config = workflow.configuration
        self._emit(
            task.workspace_sid,
            "workflow.entered",
            f"Task {task.sid} entered workflow",
            "Workflow",
            workflow.sid,
            self._task_fields(task),
        )
        task.filter_index = None
        for index, item in enumerate(config.filters):
            if compile_expression(item.expression).evaluate(task.attributes):
                task.filter_index = index
                break
        task.target_index = 0
        self._enter_target(task)

    def _targets(self, task: TaskRecord) -> list[Target]:
        assert task.workflow_sid is not None
        config = self.workflows[task.workflow_sid].configuration
        if task.filter_index is None:
            assert config.default_filter is not None
            return [config.default_filter]
        return list(config.filters[task.filter_index].targets)

    def _enter_target(self, task: TaskRecord) -> None:
        targets = self._targets(task)
        target = targets[task.target_index]
        queue_sid = target.queue or task.task_queue_sid
        assert queue_sid is not None
        task.priority = int(target.priority) if target.priority is not None else task.base_priority
        task.step += 1
        fields = self._task_fields(task)
        fields["WorkflowFilterName"] = self._filter_name(task)
        self._emit(
            task.workspace_sid,
            "workflow.target-matched",
            f"Task {task.sid} matched a workflow target",
            "Workflow",
            task.workflow_sid or "",
            fields,
        )
        if target.timeout is not None:
            self._schedule(target.timeout, _STEP_TIMEOUT, ("step", task.sid, task.step))
        self._enter_queue(task, queue_sid, target)

    def _filter_name(self, task: TaskRecord) -> str:
        if task.filter_index is None:
            return "Default Filter"
        assert task.workflow_sid is not None
        item = self.workflows[task.workflow_sid].configuration.filters[task.filter_index]
        return item.friendly_name or f"Filter {task.filter_index}"

    def _enter_queue(self, task: TaskRecord, queue_sid: str, target: Target | None) -> None:
        previous = task.task_queue_sid
        self._leave_queue(task)
        queue = self.task_queues[queue_sid]
        task.task_queue_sid = queue_sid
        task.task_queue_entered_date = self.now()
        event_type = (
            "task-queue.moved" if previous and previous != queue_sid else "task-queue.entered"
        )
        self._emit(
            task.workspace_sid,
            event_type,
            f"Task {task.sid} entered queue {queue.friendly_name}",
            "TaskQueue",
            queue_sid,
            self._task_fields(task),
        )
        self._wait(task)
        reserved = self._match_task(task)
        if not reserved and target is not None and target.skip_if is not None:
            if compile_expression(target.skip_if).evaluate({"workers": self._worker_counts(queue)}):
                self._next_target(task, skipped=True)

    def _queue_key(self, task: TaskRecord, queue: TaskQueueRecord) -> tuple[int, int, str]:
        order = -task.seq if queue.task_order == "LIFO" else task.seq
        return (-task.priority, order, task.sid)

    def _leave_queue(self, task: TaskRecord) -> None:
        key = task.waiting_key
        if key is None:
            return
        task.waiting_key = None
        queue = self.task_queues.get(task.task_queue_sid or "")
        if queue is None:
            return
        index = bisect.bisect_left(queue.waiting, key)
        if index < len(queue.waiting) and queue.waiting[index] == key:
            del queue.waiting[index]

    def _wait(self, task: TaskRecord) -> None:
        """Put the task in its queue's waiting order, unless it is there already."""
        if task.waiting_key is not None:
            return
        queue = self.task_queues[task.task_queue_sid or ""]
        key = self._queue_key(task, queue)
        bisect.insort(queue.waiting, key)
        task.waiting_key = key

    def _resort(self, queue: TaskQueueRecord) -> None:
        tasks = [self.tasks[key[2]] for key in queue.waiting if key[2] in self.tasks]
        for task in tasks:
            task.waiting_key = self._queue_key(task, queue)
        queue.waiting = sorted(t.waiting_key for t in tasks if t.waiting_key is not None)

    def _worker_counts(self, queue: TaskQueueRecord) -> dict[str, int]:
        counts = {"available": 0, "unavailable": 0, "total": len(queue.eligible)}
        for worker_sid in queue.eligible:
            worker = self.workers[worker_sid]
            if self.has_capacity(worker):
                counts["available"] += 1
            else:
                counts["unavailable"] += 1
            counts[worker.activity_sid] = counts.get(worker.activity_sid, 0) + 1
        return counts

    def _step_timeout(self, task: TaskRecord) -> None:
        assert task.task_queue_sid is not None
        queue = self.task_queues[task.task_queue_sid]
        self._emit(
            task.workspace_sid,
            "task-queue.timeout",
            f"Task {task.sid} timed out of queue {queue.friendly_name}",
            "TaskQueue",
            queue.sid,
            self._task_fields(task),
        )
        freed = self._cancel_pending(task)
        self._next_target(task, skipped=False)
        for worker in freed:
            self._worker_changed(worker)

    def _cancel_pending(self, task: TaskRecord) -> list[WorkerRecord]:
        """Cancel the task's pending reservations before it moves; return the freed workers."""
        freed = []
        for reservation in self.reservations_of_task(task.sid):
            if reservation.status is ReservationStatus.PENDING:
                self._end_reservation(reservation, ReservationStatus.CANCELED, match=False)
                freed.append(self.workers[reservation.worker_sid])
        return freed

    def _next_target(self, task: TaskRecord, *, skipped: bool) -> None:
        targets = self._targets(task)
        if task.target_index + 1 < len(targets):
            task.target_index += 1
            self._enter_target(task)
            return
        event_type = "workflow.skipped" if skipped else "workflow.timeout"
        self._emit(
            task.workspace_sid,
            event_type,
            f"Task {task.sid} left its workflow",
            "Workflow",
            task.workflow_sid or "",
            self._task_fields(task),
        )
        self._cancel_task(
            task, "Workflow Timeout", description=f"Task {task.sid} canceled: workflow timeout"
        )

    def _target(self, task: TaskRecord) -> Target | None:
        if task.workflow_sid is None:
            return None
        return self._targets(task)[task.target_index]

    def _wants_reservations(self, task: TaskRecord) -> int:
        """How many more reservations the task may get now."""
        if not self._routable(task) or task.task_queue_sid is None:
            return 0
        queue = self.task_queues[task.task_queue_sid]
        pending = sum(
            1 for r in self.reservations_of_task(task.sid) if r.status is ReservationStatus.PENDING
        )
        return max(0, queue.max_reserved_workers - pending)

    def _candidates(
        self, task: TaskRecord, queue: TaskQueueRecord, only: WorkerRecord | None = None
    ) -> list[WorkerRecord]:
        """The workers who may take ``task`` now, best first (or whether ``only`` may)."""
        target = self._target(task)
        expression = compile_expression(target.expression) if target and target.expression else None
        known_sid = known_name = None
        if target and target.known_worker_sid:
            known_sid = _task_ref(task, target.known_worker_sid)
        if target and target.known_worker_friendly_name:
            known_name = _task_ref(task, target.known_worker_friendly_name)
        holding = {
            self.reservations[r].worker_sid
            for r in self._task_reservations[task.sid]
            if self.reservations[r].status in ACTIVE_RESERVATION
        }
        if only is not None:
            pool: set[str] = {only.sid} & queue.eligible
        elif task.ignore_capacity:
            pool = queue.eligible
        else:
            pool = queue.eligible & self._ready
        found = []
        for worker_sid in pool:
            if worker_sid in holding:
                continue
            worker = self.workers[worker_sid]
            if known_sid is not None and worker.sid != known_sid:
                continue
            if known_name is not None and worker.friendly_name != known_name:
                continue
            if not self.has_capacity(worker, task):
                continue
            if expression is not None and not expression.evaluate(
                {}, task=task.attributes, worker=worker.view
            ):
                continue
            found.append(worker)
        return _order_workers(found, target.order_by if target else None)

    def _match_task(self, task: TaskRecord) -> bool:
        """Offer ``task`` to the best free workers; tell whether any reservation was made."""
        wanted = self._wants_reservations(task)
        if not wanted:
            return False
        queue = self.task_queues[task.task_queue_sid or ""]
        made = False
        for worker in self._candidates(task, queue)[:wanted]:
            self._reserve(task, worker, queue)
            made = True
        return made

    def _match_queue(self, queue: TaskQueueRecord) -> None:
        for key in list(queue.waiting):
            task = self.tasks.get(key[2])
            if task is not None:
                self._match_task(task)

    def _worker_changed(self, worker: WorkerRecord) -> None:
        """A worker may have become free: offer them the best waiting task of their queues."""
        while worker.sid in self.workers and self.has_capacity(worker):
            best: tuple[tuple[int, int, str], TaskRecord] | None = None
            for queue_sid in worker.queues:
                queue = self.task_queues[queue_sid]
                for key in queue.waiting:
                    if best is not None and key >= best[0]:
                        break
                    task = self.tasks[key[2]]
                    if not self._wants_reservations(task) or not self.has_capacity(worker, task):
                        continue
                    if self._candidates(task, queue, only=worker):
                        best = (key, task)
                        break
            if best is None:
                return
            self._reserve(best[1], worker, self.task_queues[best[1].task_queue_sid or ""])

    def _reserve(self, task: TaskRecord, worker: WorkerRecord, queue: TaskQueueRecord) -> None:
        now = self.now()
        reservation = ReservationRecord(
            sid=self.new_sid("WR"),
            workspace_sid=task.workspace_sid,
            task_sid=task.sid,
            worker_sid=worker.sid,
            task_queue_sid=queue.sid,
            status=ReservationStatus.PENDING,
            date_created=now,
            date_updated=now,
        )
        self.reservations[reservation.sid] = reservation
        self._task_reservations[task.sid].append(reservation.sid)
        self._active[worker.sid].add(reservation.sid)
        self._refresh_ready(worker)
        if task.status is TaskStatus.PENDING:
            self._task_transition(task, TaskStatus.RESERVED, None)
        if self._wants_reservations(task) == 0:
            self._leave_queue(task)
        self._reservation_event(reservation, "reservation.created", "created")
        workspace = self.workspaces[worker.workspace_sid]
        if queue.reservation_activity_sid and not workspace.multi_task_enabled:
            self._set_activity(worker, queue.reservation_activity_sid)
        timeout = (
            self.workflows[task.workflow_sid].task_reservation_timeout
            if task.workflow_sid
            else DEFAULT_RESERVATION_TIMEOUT
        )
        self._schedule(timeout, _RESERVATION_TIMEOUT, ("reservation", reservation.sid))

    # -- reservations ------------------------------------------------------------------------

    def update_reservation(
        self,
        workspace_sid: str,
        sid: str,
        *,
        task_sid: str | None = None,
        worker_sid: str | None = None,
        reservation_status: str | None = None,
        worker_activity_sid: str | None = None,
        instruction: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        if_match: str | None = None,
    ) -> ReservationRecord:
        """Accept, reject, wrap up or complete a reservation, or apply an instruction.

        :param parameters: the instruction's parameters (snake_case, as in a callback answer).
        """
        reservation = self.reservation(workspace_sid, sid)
        if task_sid is not None and reservation.task_sid != task_sid:
            raise NotFound(f"reservation {sid} was not found for task {task_sid}")
        if worker_sid is not None and reservation.worker_sid != worker_sid:
            raise NotFound(f"reservation {sid} was not found for worker {worker_sid}")
        _check_revision("reservation", sid, reservation.revision, if_match)
        if worker_activity_sid is not None:
            self.activity(workspace_sid, worker_activity_sid)
        if instruction is not None:
            self.apply_instruction(reservation, {"instruction": instruction, **(parameters or {})})
        elif reservation_status is not None:
            self._set_reservation_status(reservation, reservation_status, worker_activity_sid)
        elif worker_activity_sid is not None:
            worker = self.workers[reservation.worker_sid]
            self._set_activity(worker, worker_activity_sid)
            self._worker_changed(worker)
        return reservation

    def apply_instruction(self, reservation: ReservationRecord, data: Mapping[str, Any]) -> None:
        """Carry out an assignment instruction (from a callback answer or the REST API).

        :raises InvalidArgument: if the instruction is not valid.
        :raises InvalidTransition: if the reservation is no longer pending.
        """
        try:
            built = instruction_from_dict(data)
        except InstructionError as exc:
            raise InvalidArgument(f"Instruction: {exc}", code=40001) from exc
        if built is None:
            return
        payload = built.to_dict()
        name = str(payload["instruction"])
        if reservation.status is not ReservationStatus.PENDING:
            raise InvalidTransition(
                f"reservation {reservation.sid} is {reservation.status.value}, not pending:"
                f" the {name} instruction cannot apply",
                code={"dequeue": 40135, "call": 40114, "redirect": 40123}.get(name, 20001),
            )
        if name == "reject":
            activity = payload.get("activity_sid")
            self._set_reservation_status(
                reservation, "rejected", activity if isinstance(activity, str) else None
            )
            return
        if name != "accept":
            reservation.instruction = payload
        if name in ("call", "redirect") and not payload.get("accept"):
            return  # recorded; the worker accepts later, as after a real call
        self._set_reservation_status(reservation, "accepted", None)

    def _set_reservation_status(
        self, reservation: ReservationRecord, status: str, activity_sid: str | None
    ) -> None:
        try:
            new = ReservationStatus(status)
        except ValueError:
            raise InvalidArgument(f"ReservationStatus: unknown status {status!r}") from None
        task = self.tasks[reservation.task_sid]
        if new is ReservationStatus.ACCEPTED:
            check_transition("reservation", reservation.sid, reservation.status, new)
            self._accept(reservation)
        elif new is ReservationStatus.REJECTED:
            check_transition("reservation", reservation.sid, reservation.status, new)
            if activity_sid is not None:
                self.activity(reservation.workspace_sid, activity_sid)
            self._end_reservation(reservation, new, activity_sid=activity_sid)
        elif new in (ReservationStatus.WRAPPING, ReservationStatus.COMPLETED):
            # Only the reservation that holds the task can wrap it up or complete it.
            check_transition("reservation", reservation.sid, reservation.status, new)
            self._set_task_status(task, new.value, None)
        elif new is ReservationStatus.CANCELED:
            check_transition("reservation", reservation.sid, reservation.status, new)
            self._end_reservation(reservation, new)
        else:
            raise InvalidArgument(
                "ReservationStatus: expected accepted, rejected, wrapping or completed,"
                f" got {status!r}"
            )

    def _accept(self, reservation: ReservationRecord) -> None:
        task = self.tasks[reservation.task_sid]
        self._reservation_transition(reservation, ReservationStatus.ACCEPTED, emit=False)
        self._leave_queue(task)
        self._task_transition(task, TaskStatus.ASSIGNED, None)
        self._reservation_emit(reservation)
        freed = []
        for other in self.reservations_of_task(task.sid):
            if other.sid != reservation.sid and other.status is ReservationStatus.PENDING:
                self._end_reservation(other, ReservationStatus.RESCINDED, match=False)
                freed.append(self.workers[other.worker_sid])
        queue = self.task_queues[reservation.task_queue_sid]
        worker = self.workers[reservation.worker_sid]
        if (
            queue.assignment_activity_sid
            and not self.workspaces[worker.workspace_sid].multi_task_enabled
        ):
            self._set_activity(worker, queue.assignment_activity_sid)
        for other_worker in freed:
            self._worker_changed(other_worker)

    def _reservation_transition(
        self, reservation: ReservationRecord, new: ReservationStatus, *, emit: bool = True
    ) -> None:
        """Change a reservation's status through its lifecycle table.

        :param emit: record its event now; callers that first bring the task up to
            date pass ``False`` and call :meth:`_reservation_emit` after.
        """
        check_transition("reservation", reservation.sid, reservation.status, new)
        reservation.status = new
        reservation.revision += 1
        reservation.date_updated = self.now()
        if emit:
            self._reservation_emit(reservation)

    def _reservation_emit(self, reservation: ReservationRecord) -> None:
        event_type, text = _RESERVATION_EVENTS[reservation.status]
        self._reservation_event(reservation, event_type, text)

    def _end_reservation(
        self,
        reservation: ReservationRecord,
        new: ReservationStatus,
        *,
        activity_sid: str | None = None,
        match: bool = True,
    ) -> None:
        """Finish a reservation: free the worker, return the task to its queue if needed."""
        self._reservation_transition(reservation, new, emit=False)
        worker = self.workers[reservation.worker_sid]
        self._active[worker.sid].discard(reservation.sid)
        worker.idle_since = self.now()
        self._refresh_ready(worker)
        task = self.tasks[reservation.task_sid]
        unaccepted = new in (
            ReservationStatus.REJECTED,
            ReservationStatus.TIMEOUT,
            ReservationStatus.CANCELED,
            ReservationStatus.RESCINDED,
        )
        if unaccepted and self._routable(task):
            if new is ReservationStatus.REJECTED:
                task.rejections += 1
            if task.status is TaskStatus.RESERVED and not any(
                r.status is ReservationStatus.PENDING for r in self.reservations_of_task(task.sid)
            ):
                self._task_transition(task, TaskStatus.PENDING, None)
        # The event shows the task as it now is; the worker's activity change follows it.
        self._reservation_emit(reservation)
        if new is ReservationStatus.TIMEOUT:
            timeout_activity = self.workspaces[worker.workspace_sid].timeout_activity_sid
            if timeout_activity:
                self._set_activity(worker, timeout_activity)
        if new is ReservationStatus.COMPLETED and reservation.instruction:
            post_work = reservation.instruction.get("post_work_activity_sid")
            if post_work and post_work in self.activities:
                self._set_activity(worker, post_work)
        if activity_sid is not None:
            self._set_activity(worker, activity_sid)
        if unaccepted and self._routable(task):
            if task.rejections >= MAX_REJECTIONS:
                self._cancel_task(
                    task,
                    "Task rejected too many times",
                    description=f"Task {task.sid} canceled after {MAX_REJECTIONS} rejections",
                )
            elif task.task_queue_sid is not None:
                self._wait(task)
                if match:
                    self._match_task(task)
        if match:
            self._worker_changed(worker)


_FINAL_TASK = frozenset({TaskStatus.COMPLETED, TaskStatus.CANCELED})

_RESERVATION_EVENTS = {
    ReservationStatus.ACCEPTED: ("reservation.accepted", "accepted"),
    ReservationStatus.REJECTED: ("reservation.rejected", "rejected"),
    ReservationStatus.TIMEOUT: ("reservation.timeout", "timed out"),
    ReservationStatus.CANCELED: ("reservation.canceled", "canceled"),
    ReservationStatus.RESCINDED: ("reservation.rescinded", "rescinded"),
    ReservationStatus.WRAPPING: ("reservation.wrapup", "wrapping"),
    ReservationStatus.COMPLETED: ("reservation.completed", "completed"),
}

_ORDER_PART = re.compile(r"\s*worker\.([A-Za-z_][A-Za-z0-9_.]*)\s+(ASC|DESC)\s*", re.IGNORECASE)


def _order_workers(workers: list[WorkerRecord], order_by: str | None) -> list[WorkerRecord]:
    workers.sort(key=lambda w: (w.idle_since, w.seq))
    if order_by:
        # Stable sorts, last key first: each earlier key dominates the later ones.
        for part in reversed(order_by.split(",")):
            match = _ORDER_PART.fullmatch(part)
            if match is None:
                continue
            path, direction = match.group(1).split("."), match.group(2).upper()
            present = [w for w in workers if _sortable(_lookup(w.view, path))]
            missing = [w for w in workers if not _sortable(_lookup(w.view, path))]
            # Numbers and strings do not compare: numbers sort before strings.
            present.sort(
                key=lambda w: (isinstance(_lookup(w.view, path), str), _lookup(w.view, path)),
                reverse=direction == "DESC",
            )
            workers = present + missing
    return workers


def _sortable(value: Any) -> bool:
    return isinstance(value, int | float | str) and not isinstance(value, bool)


def _lookup(data: Mapping[str, Any], path: list[str]) -> Any:
    value: Any = data
    for step in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


def _task_ref(task: TaskRecord, reference: str) -> Any:
    return _lookup(task.attributes, reference.split(".")[1:])


def _queues_of(config: WorkflowConfiguration) -> set[str]:
    queues = {t.queue for f in config.filters for t in f.targets if t.queue}
    if config.default_filter is not None and config.default_filter.queue:
        queues.add(config.default_filter.queue)
    return queues


def _attributes(value: Mapping[str, Any] | str | None) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value, parse_constant=_no_constant)
        except RecursionError as exc:
            raise InvalidArgument("Attributes: expected a JSON object, nested too deeply") from exc
        except ValueError as exc:
            raise InvalidArgument(
                f"Attributes: expected a JSON object, got invalid JSON ({exc})"
            ) from exc
    if not isinstance(value, Mapping):
        raise InvalidArgument("Attributes: expected a JSON object")
    return dict(value)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _compile(parameter: str, text: str) -> Any:
    try:
        return compile_expression(text)
    except (ExpressionError, TypeError) as exc:
        raise InvalidArgument(f"{parameter}: {exc}") from exc


def _require_text(parameter: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(f"{parameter}: required, a non-empty string")


def _choice(parameter: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InvalidArgument(f"{parameter}: expected one of {', '.join(choices)}, got {value!r}")


def _check_priority(priority: Any) -> None:
    if (
        isinstance(priority, bool)
        or not isinstance(priority, int)
        or not 0 <= priority <= 2**31 - 1
    ):
        raise InvalidArgument(f"Priority: expected a whole number from 0, got {priority!r}")


def _check_max_reserved(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 50:
        raise InvalidArgument(f"MaxReservedWorkers: expected 1 to 50, got {value!r}")


def _check_reservation_timeout(value: Any) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= MAX_RESERVATION_TIMEOUT
    ):
        raise InvalidArgument(
            f"TaskReservationTimeout: expected 1 to {MAX_RESERVATION_TIMEOUT} seconds,"
            f" got {value!r}"
        )


def _check_revision(kind: str, sid: str, revision: int, if_match: str | None) -> None:
    if if_match is not None and if_match.strip('"') != str(revision):
        raise PreconditionFailed(
            f"{kind} {sid} is at revision {revision}, not {if_match} (If-Match)"
        )
