"""Resources: create, update and delete each TaskRouter resource, validated in one place.

Why a part of its own: every REST write lands here as a command. Each
command checks everything it was given before it changes anything, so a
refused command leaves no trace (the engine's transaction also undoes any
change should a later step fail). Parameters arrive as Python values; the
REST layer has already turned form strings into booleans, integers, dates
and lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..expressions import ExpressionError, compile_expression
from ..workflow import Target, WorkflowConfiguration, WorkflowConfigurationError
from .bounds import (
    MAX_CHANNEL_CAPACITY,
    MAX_NAME_CHARS,
    MAX_PRIORITY,
    MAX_RESERVATION_TIMEOUT,
    MAX_RESERVED_WORKERS,
    MAX_TASK_ATTRIBUTES,
    MAX_TASK_TIMEOUT,
    check_int,
    check_json_value,
    parse_json_object,
)
from .errors import InvalidArgument, PreconditionFailed
from .part import Part
from .scheduler import TaskTTL
from .state import (
    ACTIVE_RESERVATION,
    ActivityRecord,
    ReservationStatus,
    TaskChannelRecord,
    TaskQueueRecord,
    TaskRecord,
    TaskStatus,
    WorkerChannelRecord,
    WorkerRecord,
    WorkflowRecord,
    WorkspaceRecord,
    queue_target,
)

__all__ = [
    "DEFAULT_CHANNELS",
    "DEFAULT_RESERVATION_TIMEOUT",
    "DEFAULT_TASK_TIMEOUT",
    "Resources",
    "check_revision",
]

DEFAULT_TASK_TIMEOUT = 86_400
DEFAULT_RESERVATION_TIMEOUT = 120
DEFAULT_CHANNELS = ("default", "voice", "chat", "sms", "video", "email")


class Resources(Part):
    """The create/update/delete commands of every resource."""

    def create_workspace(
        self,
        *,
        friendly_name: str,
        event_callback_url: str | None = None,
        events_filter: str | None = None,
        multi_task_enabled: bool = True,
        template: str | None = None,
        prioritize_queue_order: str = "FIFO",
    ) -> WorkspaceRecord:
        """Create a workspace with its default activities and task channels.

        As Twilio's reference says: multi-tasking unless told otherwise, and the ``NONE``
        template (default activities only) unless ``FIFO`` asks for a queue and a workflow.
        """
        _require_text("FriendlyName", friendly_name, max_chars=MAX_NAME_CHARS)
        _choice("PrioritizeQueueOrder", prioritize_queue_order, ("FIFO", "LIFO"))
        _choice("Template", template or "NONE", ("NONE", "FIFO"))
        now = self.engine.now()
        workspace = WorkspaceRecord(
            sid=self.store.new_sid("WS"),
            friendly_name=friendly_name,
            date_created=now,
            date_updated=now,
            event_callback_url=event_callback_url,
            events_filter=events_filter,
            multi_task_enabled=multi_task_enabled,
            prioritize_queue_order=prioritize_queue_order,
        )
        self.store.add(workspace)
        offline = self.create_activity(workspace.sid, friendly_name="Offline", available=False)
        self.create_activity(workspace.sid, friendly_name="Available", available=True)
        self.create_activity(workspace.sid, friendly_name="Unavailable", available=False)
        workspace.default_activity_sid = offline.sid
        workspace.timeout_activity_sid = offline.sid
        for name in DEFAULT_CHANNELS:
            self.create_task_channel(
                workspace.sid, friendly_name=name.capitalize(), unique_name=name
            )
        self.engine.emit(
            workspace.sid,
            "workspace.created",
            f"Workspace {workspace.friendly_name} created",
            "Workspace",
            workspace.sid,
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

    def update_workspace(self, /, sid: str, **changes: Any) -> WorkspaceRecord:
        """Change a workspace's settings."""
        workspace = self.engine.workspace(sid)
        _known("workspace", changes, _WORKSPACE_CHANGES)
        for activity_key in ("default_activity_sid", "timeout_activity_sid"):
            if changes.get(activity_key) is not None:
                self.engine.activity(sid, changes[activity_key])
        if changes.get("prioritize_queue_order") is not None:
            _choice("PrioritizeQueueOrder", changes["prioritize_queue_order"], ("FIFO", "LIFO"))
        if changes.get("multi_task_enabled") is False and workspace.multi_task_enabled:
            # Twilio: a multi-tasking workspace "can't be updated to single-tasking unless
            # ... another (legacy) single-tasking Workspace exists".
            if not any(not w.multi_task_enabled for w in self.store.workspaces.values()):
                raise InvalidArgument(
                    "MultiTaskEnabled: a multi-tasking workspace can be made single-tasking only"
                    " while another single-tasking workspace exists; create one with"
                    " MultiTaskEnabled=false instead"
                )
        if changes.get("friendly_name") is not None:
            _require_text("FriendlyName", changes["friendly_name"], max_chars=MAX_NAME_CHARS)
        tasking = workspace.multi_task_enabled
        for key, value in changes.items():
            if value is not None:
                setattr(workspace, key, value)
        if workspace.multi_task_enabled != tasking:  # who has room is counted another way
            for worker in self.store.workers.values():
                if worker.workspace_sid == sid:
                    self.routing.refresh_ready(worker)
        workspace.date_updated = self.engine.now()
        self.engine.emit(
            sid,
            "workspace.updated",
            f"Workspace {workspace.friendly_name} updated",
            "Workspace",
            sid,
        )
        return workspace

    def delete_workspace(self, sid: str) -> None:
        """Delete a workspace and everything in it."""
        workspace = self.engine.workspace(sid)
        self.engine.emit(
            sid,
            "workspace.deleted",
            f"Workspace {workspace.friendly_name} deleted",
            "Workspace",
            sid,
        )
        for table in (
            self.store.activities,
            self.store.workers,
            self.store.task_queues,
            self.store.workflows,
            self.store.task_channels,
            self.store.worker_channels,
            self.store.tasks,
            self.store.reservations,
        ):
            for record in [v for v in table.values() if v.workspace_sid == sid]:
                self.store.remove(record)
        for index in (
            self.store.active,
            self.store.task_reservations,
            self.store.worker_reservations,
        ):
            for key in [
                k for k in index if k not in self.store.workers and k not in self.store.tasks
            ]:
                del index[key]
        self.store.ready &= set(self.store.workers)
        self.store.remove(workspace)

    def create_activity(
        self, workspace_sid: str, *, friendly_name: str, available: bool = False
    ) -> ActivityRecord:
        """Create an activity (a worker state, available for work or not)."""
        self.engine.workspace(workspace_sid)
        _require_text("FriendlyName", friendly_name, max_chars=MAX_NAME_CHARS)
        now = self.engine.now()
        activity = ActivityRecord(
            self.store.new_sid("WA"), workspace_sid, friendly_name, bool(available), now, now
        )
        self.store.add(activity)
        self.engine.emit(
            workspace_sid,
            "activity.created",
            f"Activity {friendly_name} created",
            "Activity",
            activity.sid,
            activity=self.facts.activity(activity),
        )
        return activity

    def update_activity(
        self, workspace_sid: str, sid: str, *, friendly_name: str | None = None
    ) -> ActivityRecord:
        """Rename an activity (its availability cannot change)."""
        activity = self.engine.activity(workspace_sid, sid)
        if friendly_name is not None:
            _require_text("FriendlyName", friendly_name, max_chars=MAX_NAME_CHARS)
            activity.friendly_name = friendly_name
            for worker in self.store.workers.values():
                if worker.activity_sid == sid:
                    self.routing.refresh_view(worker)
        activity.date_updated = self.engine.now()
        self.engine.emit(
            workspace_sid,
            "activity.updated",
            f"Activity {activity.friendly_name} updated",
            "Activity",
            sid,
            activity=self.facts.activity(activity),
        )
        return activity

    def delete_activity(self, workspace_sid: str, sid: str) -> None:
        """Delete an activity no worker is in and the workspace does not use."""
        activity = self.engine.activity(workspace_sid, sid)
        workspace = self.engine.workspace(workspace_sid)
        if sid in (workspace.default_activity_sid, workspace.timeout_activity_sid):
            raise InvalidArgument(f"activity {sid} is the workspace's default or timeout activity")
        if any(w.activity_sid == sid for w in self.store.workers.values()):
            raise InvalidArgument(f"activity {sid} still has workers in it")
        self.store.remove(activity)
        self.engine.emit(
            workspace_sid,
            "activity.deleted",
            f"Activity {activity.friendly_name} deleted",
            "Activity",
            sid,
            activity=self.facts.activity(activity),
        )

    def create_task_channel(
        self,
        workspace_sid: str,
        *,
        friendly_name: str,
        unique_name: str,
        channel_optimized_routing: bool = False,
    ) -> TaskChannelRecord:
        """Create a task channel, and a worker channel for it on every worker."""
        self.engine.workspace(workspace_sid)
        _require_text("FriendlyName", friendly_name, max_chars=MAX_NAME_CHARS)
        _require_text("UniqueName", unique_name)
        if any(
            c.workspace_sid == workspace_sid and c.unique_name == unique_name
            for c in self.store.task_channels.values()
        ):
            raise InvalidArgument(f"UniqueName: a task channel named {unique_name!r} exists")
        now = self.engine.now()
        channel = TaskChannelRecord(
            self.store.new_sid("TC"),
            workspace_sid,
            friendly_name,
            unique_name,
            bool(channel_optimized_routing),
            now,
            now,
        )
        self.store.add(channel)
        for worker in self.store.workers.values():
            if worker.workspace_sid == workspace_sid:
                self.add_worker_channel(worker, channel)
        self.engine.emit(
            workspace_sid,
            "task-channel.created",
            f"TaskChannel {unique_name} created",
            "TaskChannel",
            channel.sid,
            channel=self.facts.channel(channel),
        )
        return channel

    def update_task_channel(
        self, /, workspace_sid: str, sid: str, **changes: Any
    ) -> TaskChannelRecord:
        """Rename a task channel or change its routing option."""
        channel = self.engine.task_channel(workspace_sid, sid)
        _known("task channel", changes, _CHANNEL_CHANGES)
        if changes.get("friendly_name") is not None:
            _require_text("FriendlyName", changes["friendly_name"], max_chars=MAX_NAME_CHARS)
            channel.friendly_name = changes["friendly_name"]
        if changes.get("channel_optimized_routing") is not None:
            channel.channel_optimized_routing = bool(changes["channel_optimized_routing"])
        channel.date_updated = self.engine.now()
        self.engine.emit(
            workspace_sid,
            "task-channel.updated",
            f"TaskChannel {channel.unique_name} updated",
            "TaskChannel",
            channel.sid,
            channel=self.facts.channel(channel),
        )
        return channel

    def delete_task_channel(self, workspace_sid: str, sid: str) -> None:
        """Delete a task channel no open task uses."""
        channel = self.engine.task_channel(workspace_sid, sid)
        if any(
            t.task_channel_sid == channel.sid and t.status not in _FINAL_TASK
            for t in self.store.tasks.values()
        ):
            raise InvalidArgument(f"task channel {sid} has open tasks")
        self.store.remove(channel)
        for record in [
            v for v in self.store.worker_channels.values() if v.task_channel_sid == channel.sid
        ]:
            self.store.remove(record)
            worker = self.store.workers.get(record.worker_sid)
            if worker is not None:
                worker.channels.pop(channel.sid, None)
                self.routing.refresh_ready(worker)
        self.engine.emit(
            workspace_sid,
            "task-channel.deleted",
            f"TaskChannel {channel.unique_name} deleted",
            "TaskChannel",
            channel.sid,
            channel=self.facts.channel(channel),
        )

    def add_worker_channel(self, worker: WorkerRecord, channel: TaskChannelRecord) -> None:
        now = self.engine.now()
        record = WorkerChannelRecord(
            self.store.new_sid("WC"),
            worker.workspace_sid,
            worker.sid,
            channel.sid,
            1,
            True,
            now,
            now,
        )
        self.store.add(record)
        worker.channels[channel.sid] = record.sid

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
        record = self.engine.worker_channel(workspace_sid, worker_sid, sid)
        worker = self.engine.worker(workspace_sid, worker_sid)
        if capacity is not None:
            check_int("Capacity", capacity, 0, MAX_CHANNEL_CAPACITY)
        facts = self.facts.worker(worker)
        if capacity is not None:
            check_int("Capacity", capacity, 0, MAX_CHANNEL_CAPACITY)
            previous = record.configured_capacity
            record.configured_capacity = capacity
            worker.revision += 1  # the worker SDK raises its copy on this event
            self.engine.emit(
                workspace_sid,
                "worker.capacity.update",
                f"Worker {worker.friendly_name} capacity updated",
                "Worker",
                worker.sid,
                worker=facts,
                capacity=self.facts.capacity(record, previous=previous),
            )
        if available is not None:
            record.available = bool(available)
            worker.revision += 1  # the worker SDK raises its copy on this event
            self.engine.emit(
                workspace_sid,
                "worker.channel.availability.update",
                f"Worker {worker.friendly_name} channel availability updated",
                "Worker",
                worker.sid,
                worker=facts,
                capacity=self.facts.capacity(record),
            )
        record.date_updated = self.engine.now()
        self.routing.refresh_ready(worker)
        self.routing.worker_changed(worker)
        return record

    def create_worker(
        self,
        workspace_sid: str,
        *,
        friendly_name: str,
        activity_sid: str | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> WorkerRecord:
        """Create a worker, in the workspace's default activity unless told otherwise."""
        workspace = self.engine.workspace(workspace_sid)
        _require_text("FriendlyName", friendly_name, max_chars=MAX_NAME_CHARS)
        self.unique_worker_name(workspace_sid, friendly_name)
        activity_sid = activity_sid or workspace.default_activity_sid
        assert activity_sid is not None
        self.engine.activity(workspace_sid, activity_sid)
        now = self.engine.now()
        worker = WorkerRecord(
            sid=self.store.new_sid("WK"),
            workspace_sid=workspace_sid,
            friendly_name=friendly_name,
            attributes=_attributes(attributes),
            activity_sid=activity_sid,
            date_created=now,
            date_updated=now,
            date_status_changed=now,
            idle_since=now,
            seq=self.store.next_seq(),
        )
        self.store.add(worker)
        self.store.active[worker.sid] = set()
        for channel in self.store.task_channels.values():
            if channel.workspace_sid == workspace_sid:
                self.add_worker_channel(worker, channel)
        self.routing.refresh_view(worker)
        self.routing.refresh_eligibility(worker)
        self.routing.refresh_ready(worker)
        self.engine.emit(
            workspace_sid,
            "worker.created",
            f"Worker {friendly_name} created",
            "Worker",
            worker.sid,
            worker=self.facts.worker(worker),
        )
        self.routing.worker_changed(worker)
        return worker

    def unique_worker_name(self, workspace_sid: str, name: str, *, but: str = "") -> None:
        """Worker names are unique in a workspace (the sandbox's reading: Twilio's reference
        does not say, and its error 20001 answers a duplicate)."""
        for worker in self.store.workers.values():
            if worker.workspace_sid == workspace_sid and worker.friendly_name == name:
                if worker.sid != but:
                    raise InvalidArgument(f"FriendlyName: a worker named {name!r} exists")

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
        worker = self.engine.worker(workspace_sid, sid)
        check_revision("worker", worker.sid, worker.revision, if_match)
        if friendly_name is not None:
            _require_text("FriendlyName", friendly_name, max_chars=MAX_NAME_CHARS)
            self.unique_worker_name(workspace_sid, friendly_name, but=worker.sid)
        new_attributes = _attributes(attributes) if attributes is not None else None
        activity = (
            self.engine.activity(workspace_sid, activity_sid) if activity_sid is not None else None
        )
        if friendly_name is not None:
            worker.friendly_name = friendly_name
            self.routing.refresh_view(worker)  # target expressions see worker.friendly_name
        if new_attributes is not None:
            worker.attributes = new_attributes
            worker.revision += 1
            worker.date_updated = self.engine.now()
            self.routing.refresh_view(worker)
            self.routing.refresh_eligibility(worker)
            self.engine.emit(
                workspace_sid,
                "worker.attributes.update",
                f"Worker {worker.friendly_name} attributes updated",
                "Worker",
                sid,
                worker=self.facts.worker(worker),
            )
        if activity_sid is not None and activity is not None:
            # The new activity first, so a rejected task is not offered straight back.
            self.lifecycle.set_activity(worker, activity_sid)
            if reject_pending_reservations and not activity.available:
                for reservation in self.engine.reservations_of_worker(sid):
                    if reservation.status is ReservationStatus.PENDING:
                        self.lifecycle.end_reservation(reservation, ReservationStatus.REJECTED)
        worker.date_updated = self.engine.now()
        self.routing.worker_changed(worker)
        return worker

    def delete_worker(self, workspace_sid: str, sid: str, *, if_match: str | None = None) -> None:
        """Delete a worker who holds no task."""
        worker = self.engine.worker(workspace_sid, sid)
        check_revision("worker", worker.sid, worker.revision, if_match)
        if self.store.active[sid]:
            raise InvalidArgument(f"worker {sid} still has reservations or tasks")
        facts = self.facts.worker(worker)
        for queue_sid in worker.queues:
            self.store.task_queues[queue_sid].eligible.discard(sid)
        for record in [v for v in self.store.worker_channels.values() if v.worker_sid == sid]:
            self.store.remove(record)
        self.store.remove(worker)
        del self.store.active[sid]
        self.store.worker_reservations.pop(sid, None)
        self.store.ready.discard(sid)
        self.engine.emit(
            workspace_sid,
            "worker.deleted",
            f"Worker {worker.friendly_name} deleted",
            "Worker",
            sid,
            worker=facts,
        )

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
        self.engine.workspace(workspace_sid)
        _require_text("FriendlyName", friendly_name)
        target = _target_workers(target_workers)
        _check_max_reserved(max_reserved_workers)
        _choice("TaskOrder", task_order, ("FIFO", "LIFO"))
        for sid in (reservation_activity_sid, assignment_activity_sid):
            if sid is not None:
                self.engine.activity(workspace_sid, sid)
        now = self.engine.now()
        queue = TaskQueueRecord(
            sid=self.store.new_sid("WQ"),
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
        self.store.add(queue)
        for worker in self.store.workers.values():
            if worker.workspace_sid == workspace_sid:
                self.routing.set_eligible(queue, worker)
        self.engine.emit(
            workspace_sid,
            "task-queue.created",
            f"TaskQueue {friendly_name} created",
            "TaskQueue",
            queue.sid,
            queue=self.facts.queue(queue),
        )
        return queue

    def update_task_queue(self, /, workspace_sid: str, sid: str, **changes: Any) -> TaskQueueRecord:
        """Change a queue; a new ``target_workers`` re-evaluates every worker."""
        queue = self.engine.task_queue(workspace_sid, sid)
        _known("task queue", changes, _QUEUE_CHANGES)
        if changes.get("friendly_name") is not None:
            _require_text("FriendlyName", changes["friendly_name"])
        if changes.get("max_reserved_workers") is not None:
            _check_max_reserved(changes["max_reserved_workers"])
        if changes.get("task_order") is not None:
            _choice("TaskOrder", changes["task_order"], ("FIFO", "LIFO"))
        for key in ("reservation_activity_sid", "assignment_activity_sid"):
            if changes.get(key) is not None:
                self.engine.activity(workspace_sid, changes[key])
        target = None
        if changes.get("target_workers") is not None:
            target = _target_workers(changes["target_workers"])
        # Everything checked: now the changes.
        if changes.get("friendly_name") is not None:
            queue.friendly_name = changes["friendly_name"]
        if changes.get("max_reserved_workers") is not None:
            queue.max_reserved_workers = changes["max_reserved_workers"]
        if changes.get("task_order") is not None:
            queue.task_order = changes["task_order"]
            self.routing.resort(queue)
        for key in ("reservation_activity_sid", "assignment_activity_sid"):
            if changes.get(key) is not None:
                setattr(queue, key, changes[key])
        if target is not None:
            queue.target = target
            queue.target_workers = changes["target_workers"]
            for worker in self.store.workers.values():
                if worker.workspace_sid == workspace_sid:
                    self.routing.set_eligible(queue, worker)
            self.engine.emit(
                workspace_sid,
                "task-queue.expression.updated",
                f"TaskQueue {queue.friendly_name} expression updated",
                "TaskQueue",
                sid,
                queue=self.facts.queue(queue),
            )
        queue.date_updated = self.engine.now()
        self.routing.match_queue(queue)
        return queue

    def delete_task_queue(self, workspace_sid: str, sid: str) -> None:
        """Delete a queue that no open task is in and no workflow routes to."""
        queue = self.engine.task_queue(workspace_sid, sid)
        if any(
            t.task_queue_sid == sid and t.status not in _FINAL_TASK
            for t in self.store.tasks.values()
        ):
            raise InvalidArgument(f"task queue {sid} has open tasks")
        for workflow in self.store.workflows.values():
            if sid in _queues_of(workflow.configuration):
                raise InvalidArgument(f"task queue {sid} is used by workflow {workflow.sid}")
        for worker_sid in queue.eligible:
            self.store.workers[worker_sid].queues.discard(sid)
        self.store.remove(queue)
        self.engine.emit(
            workspace_sid,
            "task-queue.deleted",
            f"TaskQueue {queue.friendly_name} deleted",
            "TaskQueue",
            sid,
            queue=self.facts.queue(queue),
        )

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
        self.engine.workspace(workspace_sid)
        _require_text("FriendlyName", friendly_name)
        config = self.configuration(workspace_sid, configuration)
        _check_reservation_timeout(task_reservation_timeout)
        now = self.engine.now()
        workflow = WorkflowRecord(
            sid=self.store.new_sid("WW"),
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
        self.store.add(workflow)
        self.engine.emit(
            workspace_sid,
            "workflow.created",
            f"Workflow {friendly_name} created",
            "Workflow",
            workflow.sid,
            workflow=self.facts.workflow(workflow),
        )
        return workflow

    def configuration(
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
            self.engine.task_queue(workspace_sid, queue_sid)
        return config

    def update_workflow(self, /, workspace_sid: str, sid: str, **changes: Any) -> WorkflowRecord:
        """Change a workflow; ``re_evaluate_tasks`` re-routes its pending tasks."""
        workflow = self.engine.workflow(workspace_sid, sid)
        _known("workflow", changes, _WORKFLOW_CHANGES)
        if changes.get("friendly_name") is not None:
            _require_text("FriendlyName", changes["friendly_name"])
        configuration = None
        if changes.get("configuration") is not None:
            configuration = self.configuration(workspace_sid, changes["configuration"])
        if changes.get("task_reservation_timeout") is not None:
            _check_reservation_timeout(changes["task_reservation_timeout"])
        if not isinstance(changes.get("re_evaluate_tasks", False), bool):
            raise InvalidArgument(
                f"ReEvaluateTasks: expected true or false, got {changes['re_evaluate_tasks']!r}"
            )
        # Everything checked: now the changes.
        if changes.get("friendly_name") is not None:
            workflow.friendly_name = changes["friendly_name"]
        if configuration is not None:
            workflow.configuration = configuration
            workflow.document = configuration.to_json()
        for key in ("assignment_callback_url", "fallback_assignment_callback_url"):
            if changes.get(key) is not None:
                setattr(workflow, key, changes[key])
        if changes.get("task_reservation_timeout") is not None:
            workflow.task_reservation_timeout = changes["task_reservation_timeout"]
        workflow.date_updated = self.engine.now()
        self.engine.emit(
            workspace_sid,
            "workflow.updated",
            f"Workflow {workflow.friendly_name} updated",
            "Workflow",
            sid,
            workflow=self.facts.workflow(workflow),
        )
        everything = changes.get("re_evaluate_tasks") is True
        for task in sorted(self.store.tasks.values(), key=lambda t: t.seq):
            if task.workflow_sid != sid or not self.routing.routable(task):
                continue
            # A task whose step no longer exists must re-enter; with ReEvaluateTasks, all pending.
            if (everything and task.status is TaskStatus.PENDING) or not self.routing.step_exists(
                task
            ):
                freed = self.lifecycle.cancel_pending(task)
                self.routing.enter_workflow(task)
                for worker in freed:
                    self.routing.worker_changed(worker)
        return workflow

    def delete_workflow(self, workspace_sid: str, sid: str) -> None:
        """Delete a workflow that has no open task."""
        workflow = self.engine.workflow(workspace_sid, sid)
        if any(
            t.workflow_sid == sid and t.status not in _FINAL_TASK for t in self.store.tasks.values()
        ):
            raise InvalidArgument(f"workflow {sid} has open tasks")
        self.store.remove(workflow)
        self.engine.emit(
            workspace_sid,
            "workflow.deleted",
            f"Workflow {workflow.friendly_name} deleted",
            "Workflow",
            sid,
            workflow=self.facts.workflow(workflow),
        )

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
        ignore_capacity: bool | None = None,
    ) -> TaskRecord:
        """Create a task and route it: through its workflow, or straight to a queue.

        ``routing_target`` names where it goes, as Twilio's task resource documents: a
        workflow routes it, a queue takes it directly, a worker is the only one it is
        offered to (through the workflow or queue given, if any; ``ignore_capacity`` then
        defaults to true and may only be given with a worker).
        """
        self.engine.workspace(workspace_sid)
        if virtual_start_time is not None:
            self.check_virtual_start(virtual_start_time)
        workflow_sid, task_queue_sid = self.routing_target(
            workspace_sid, routing_target, workflow_sid, task_queue_sid
        )
        direct = routing_target is not None and routing_target.startswith("WK")
        if ignore_capacity is not None and not direct:
            raise InvalidArgument(
                "IgnoreCapacity: only for a task whose RoutingTarget is a worker SID (WK...)"
            )
        if direct and ignore_capacity is None:
            ignore_capacity = True
        if workflow_sid is None and task_queue_sid is None and not direct:
            workflows = [
                w for w in self.store.workflows.values() if w.workspace_sid == workspace_sid
            ]
            if len(workflows) != 1:
                raise InvalidArgument(
                    "WorkflowSid: required when the workspace does not have exactly one workflow"
                )
            workflow_sid = workflows[0].sid
        if workflow_sid is not None:
            self.engine.workflow(workspace_sid, workflow_sid)
        if task_queue_sid is not None:
            self.engine.task_queue(workspace_sid, task_queue_sid)
        timeout = DEFAULT_TASK_TIMEOUT if timeout is None else timeout
        check_int("Timeout", timeout, 1, MAX_TASK_TIMEOUT)
        priority = 0 if priority is None else priority
        _check_priority(priority)
        channel = self.engine.task_channel(workspace_sid, task_channel or "default")
        now = self.engine.now()
        task = TaskRecord(
            sid=self.store.new_sid("WT"),
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
            seq=self.store.next_seq(),
            virtual_start_time=virtual_start_time,
            routing_target=routing_target,
            ignore_capacity=bool(ignore_capacity),
        )
        self.store.add(task)
        self.store.task_reservations[task.sid] = []
        self.engine.emit(
            workspace_sid,
            "task.created",
            f"Task {task.sid} created",
            "Task",
            task.sid,
            task=self.facts.task(task),
        )
        self.engine.schedule(timeout, TaskTTL(task.sid))
        if workflow_sid is not None:
            self.routing.enter_workflow(task)
        elif task_queue_sid is not None:
            self.routing.enter_queue(task, task_queue_sid, None)
        else:
            self.routing.enter_direct(task)
        return task

    def routing_target(
        self,
        workspace_sid: str,
        routing_target: str | None,
        workflow_sid: str | None,
        task_queue_sid: str | None,
    ) -> tuple[str | None, str | None]:
        """Check a task's ``RoutingTarget``; return the workflow and queue it routes through."""
        if routing_target is None:
            return workflow_sid, task_queue_sid
        targets = {
            "WW": ("workflow", self.engine.workflow),
            "WQ": ("task queue", self.engine.task_queue),
            "WK": ("worker", self.engine.worker),
        }
        if routing_target[:2] not in targets:
            raise InvalidArgument(
                "RoutingTarget: expected the SID of a worker (WK...), a task queue (WQ...) or"
                f" a workflow (WW...), got {routing_target!r}"
            )
        kind, lookup = targets[routing_target[:2]]
        lookup(workspace_sid, routing_target)
        named = {"WW": workflow_sid, "WQ": task_queue_sid}.get(routing_target[:2])
        if named is not None and named != routing_target:
            raise InvalidArgument(
                f"RoutingTarget: names {kind} {routing_target}, but the request also names"
                f" {named}; give one of them"
            )
        if routing_target.startswith("WW"):
            return routing_target, task_queue_sid
        if routing_target.startswith("WQ"):
            if workflow_sid is not None:
                raise InvalidArgument(
                    "RoutingTarget: a task routed straight to a task queue takes no WorkflowSid"
                )
            return None, routing_target
        return workflow_sid, task_queue_sid

    def check_virtual_start(self, moment: datetime) -> None:
        """Twilio: "Value can't be in the future or before the year of 1900"."""
        if moment > self.engine.now():
            raise InvalidArgument(
                f"VirtualStartTime: cannot be in the future, got {moment.isoformat()}"
            )
        if moment.year < 1900:
            raise InvalidArgument(
                f"VirtualStartTime: cannot be before 1900, got {moment.isoformat()}"
            )

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
        task = self.engine.task(workspace_sid, sid)
        check_revision("task", task.sid, task.revision, if_match)
        channel = (
            self.engine.task_channel(workspace_sid, task_channel)
            if task_channel is not None
            else None
        )
        if priority is not None:
            _check_priority(priority)
        if virtual_start_time is not None:
            self.check_virtual_start(virtual_start_time)
        new_attributes = _attributes(attributes) if attributes is not None else None
        if assignment_status is not None:
            self.lifecycle.check_task_status(task, assignment_status)
        # Everything checked: now the changes.
        if virtual_start_time is not None:
            with self.routing.requeued(task):  # its place follows the virtual start time
                task.virtual_start_time = virtual_start_time
        if channel is not None and channel.sid != task.task_channel_sid:
            with self.routing.requeued(task):  # the queue counts its waiting tasks by channel
                task.task_channel_sid = channel.sid
        reroute = priority is not None or new_attributes is not None
        if reroute:
            # Out of the queue under the old key before the key (the priority) changes.
            self.routing.leave_queue(task)
            if priority is not None:
                task.base_priority = priority
                task.priority = priority
            if new_attributes is not None:
                task.attributes = new_attributes
            task.revision += 1
            task.date_updated = self.engine.now()
            self.engine.emit(
                workspace_sid,
                "task.updated",
                f"Task {sid} updated",
                "Task",
                sid,
                task=self.facts.task(task),
            )
            if task.status in (TaskStatus.PENDING, TaskStatus.RESERVED):
                freed = self.lifecycle.cancel_pending(task)
                self.routing.reroute(task)
                for worker in freed:
                    self.routing.worker_changed(worker)
        if assignment_status is not None:
            self.lifecycle.set_task_status(task, assignment_status, reason)
        return task

    def delete_task(self, workspace_sid: str, sid: str, *, if_match: str | None = None) -> None:
        """Delete a task; its pending reservations are canceled."""
        task = self.engine.task(workspace_sid, sid)
        check_revision("task", task.sid, task.revision, if_match)
        freed: list[WorkerRecord] = []
        self.routing.leave_queue(task)
        for reservation in self.engine.reservations_of_task(sid):
            if reservation.status in ACTIVE_RESERVATION:
                self.store.active[reservation.worker_sid].discard(reservation.sid)
                worker = self.store.workers.get(reservation.worker_sid)
                if worker is not None:
                    worker.idle_since = self.engine.now()
                    self.routing.refresh_ready(worker)
                    freed.append(worker)
            if reservation.status is ReservationStatus.PENDING:
                self.lifecycle.reservation_transition(reservation, ReservationStatus.CANCELED)
        self.engine.emit(
            workspace_sid,
            "task.deleted",
            f"Task {sid} deleted",
            "Task",
            sid,
            task=self.facts.task(task),
        )
        self.store.remove(task)
        for reservation_sid in self.store.task_reservations.pop(sid, []):
            reservation = self.store.reservations[reservation_sid]
            held = self.store.worker_reservations.get(reservation.worker_sid)
            if held is not None and reservation_sid in held:
                held.remove(reservation_sid)
                if not held:
                    del self.store.worker_reservations[reservation.worker_sid]
            self.store.remove(reservation)
        for worker in freed:
            self.routing.worker_changed(worker)


_FINAL_TASK = frozenset({TaskStatus.COMPLETED, TaskStatus.CANCELED})


_WORKSPACE_CHANGES = frozenset(
    {
        "friendly_name",
        "event_callback_url",
        "events_filter",
        "default_activity_sid",
        "timeout_activity_sid",
        "multi_task_enabled",
        "prioritize_queue_order",
    }
)
_QUEUE_CHANGES = frozenset(
    {
        "friendly_name",
        "target_workers",
        "max_reserved_workers",
        "task_order",
        "reservation_activity_sid",
        "assignment_activity_sid",
    }
)
_WORKFLOW_CHANGES = frozenset(
    {
        "friendly_name",
        "configuration",
        "assignment_callback_url",
        "fallback_assignment_callback_url",
        "task_reservation_timeout",
        "re_evaluate_tasks",
    }
)
_CHANNEL_CHANGES = frozenset({"friendly_name", "channel_optimized_routing"})


def _known(kind: str, changes: Mapping[str, Any], known: frozenset[str]) -> None:
    unknown = sorted(set(changes) - known)
    if unknown:
        raise InvalidArgument(
            f"cannot change {', '.join(unknown)} of a {kind};"
            f" changeable: {', '.join(sorted(known))}"
        )


def _queues_of(config: WorkflowConfiguration) -> set[str]:
    queues = {t.queue for f in config.filters for t in f.targets if t.queue}
    if config.default_filter is not None and config.default_filter.queue:
        queues.add(config.default_filter.queue)
    return queues


def _attributes(value: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """Attributes as a new dict, checked against the bounds of :mod:`.bounds`."""
    if value is None:
        return {}
    if isinstance(value, str):
        return parse_json_object("Attributes", value, max_chars=MAX_TASK_ATTRIBUTES)
    if not isinstance(value, Mapping):
        raise InvalidArgument("Attributes: expected a JSON object")
    check_json_value("Attributes", value, max_chars=MAX_TASK_ATTRIBUTES)
    return dict(value)


def _target_workers(text: str) -> Any:
    try:
        return queue_target(text)
    except (ExpressionError, TypeError, AttributeError) as exc:
        raise InvalidArgument(f"TargetWorkers: {exc}") from exc


def _compile(parameter: str, text: str) -> Any:
    try:
        return compile_expression(text)
    except (ExpressionError, TypeError) as exc:
        raise InvalidArgument(f"{parameter}: {exc}") from exc


def _require_text(parameter: str, value: Any, *, max_chars: int | None = None) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(f"{parameter}: required, a non-empty string")
    if max_chars is not None and len(value) > max_chars:
        raise InvalidArgument(f"{parameter}: at most {max_chars} characters, got {len(value)}")


def _choice(parameter: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InvalidArgument(f"{parameter}: expected one of {', '.join(choices)}, got {value!r}")


def _check_priority(priority: Any) -> None:
    check_int("Priority", priority, 0, MAX_PRIORITY)


def _check_max_reserved(value: Any) -> None:
    check_int("MaxReservedWorkers", value, 1, MAX_RESERVED_WORKERS)


def _check_reservation_timeout(value: Any) -> None:
    check_int("TaskReservationTimeout", value, 1, MAX_RESERVATION_TIMEOUT)


def check_revision(kind: str, sid: str, revision: int, if_match: str | None) -> None:
    if if_match is not None and if_match.strip('"') != str(revision):
        raise PreconditionFailed(
            f"{kind} {sid} is at revision {revision}, not {if_match} (If-Match)"
        )
