"""Typed, immutable values for what TaskRouter tells an application.

Handlers receive these instead of a form of strings, and the REST client
returns the same types: attribute JSON is already a ``dict``, ages and
priorities are ``int``, timestamps are aware ``datetime``. A field that a
callback or a resource does not carry is ``None``. They are frozen
dataclasses, so a handler cannot mutate what another handler of the same
event will see, and two payloads compare equal by value in tests. ``raw``
keeps every field exactly as received, including the ones Twilio adds after
this library was written.

Pure module: no Flask, no marshmallow; :mod:`taskrouter_flask.schemas` builds
these from callback forms and REST JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "EVENT_TYPES",
    "Activity",
    "Assignment",
    "Event",
    "Reservation",
    "Statistics",
    "Task",
    "TaskChannel",
    "TaskQueue",
    "Worker",
    "WorkerChannel",
    "Workflow",
    "Workspace",
]


#: Every event type TaskRouter documents; Twilio may add more, which are
#: delivered like any other.
EVENT_TYPES: frozenset[str] = frozenset(
    {
        "activity.created",
        "activity.updated",
        "activity.deleted",
        "reservation.created",
        "reservation.accepted",
        "reservation.rejected",
        "reservation.timeout",
        "reservation.canceled",
        "reservation.rescinded",
        "reservation.completed",
        "reservation.failed",
        "reservation.wrapup",
        "task.created",
        "task.updated",
        "task.canceled",
        "task.wrapup",
        "task.completed",
        "task.deleted",
        "task.system-deleted",
        "task.transfer-initiated",
        "task.transfer-attempt-failed",
        "task.transfer-failed",
        "task.transfer-canceled",
        "task.transfer-completed",
        "task-channel.created",
        "task-channel.updated",
        "task-channel.deleted",
        "task-queue.created",
        "task-queue.deleted",
        "task-queue.entered",
        "task-queue.timeout",
        "task-queue.moved",
        "task-queue.expression.updated",
        "worker.created",
        "worker.deleted",
        "worker.activity.update",
        "worker.attributes.update",
        "worker.capacity.update",
        "worker.channel.availability.update",
        "workflow.created",
        "workflow.updated",
        "workflow.deleted",
        "workflow.target-matched",
        "workflow.entered",
        "workflow.timeout",
        "workflow.skipped",
        "workspace.created",
        "workspace.updated",
        "workspace.deleted",
    }
)


def _empty_raw() -> Mapping[str, Any]:
    return {}


@dataclass(frozen=True, slots=True, kw_only=True)
class _WorkspaceResource:
    """Fields every resource inside a workspace has; keyword-only, after the resource's own."""

    account_sid: str | None = None
    workspace_sid: str | None = None
    date_created: datetime | None = None
    date_updated: datetime | None = None
    url: str | None = None
    links: dict[str, str] | None = None
    raw: Mapping[str, Any] = field(default_factory=_empty_raw, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Task(_WorkspaceResource):
    """A task as a callback describes it.

    :param sid: the task SID (``WT...``).
    :param attributes: the task's attributes, decoded from JSON.
    :param age: seconds since the task was created, when the callback says.
    :param priority: the task's priority, when the callback says.
    :param assignment_status: ``pending``, ``reserved``, ``assigned``, ``wrapping``,
        ``completed`` or ``canceled``, on events that carry it.
    """

    sid: str
    attributes: dict[str, Any] = field(default_factory=dict)
    age: int | None = None
    priority: int | None = None
    assignment_status: str | None = None
    canceled_reason: str | None = None
    completed_reason: str | None = None
    channel_sid: str | None = None
    channel_unique_name: str | None = None
    reason: str | None = None
    timeout: int | None = None
    task_queue_sid: str | None = None
    task_queue_friendly_name: str | None = None
    task_queue_entered_date: datetime | None = None
    workflow_sid: str | None = None
    workflow_friendly_name: str | None = None
    virtual_start_time: datetime | None = None
    ignore_capacity: bool | None = None
    routing_target: str | None = None
    addons: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Worker(_WorkspaceResource):
    """A worker as a callback describes it.

    :param sid: the worker SID (``WK...``).
    :param attributes: the worker's attributes, decoded from JSON.
    :param friendly_name: the worker's name, on events that carry it.
    :param activity_sid: the worker's current activity, on events that carry it.
    """

    sid: str
    attributes: dict[str, Any] = field(default_factory=dict)
    friendly_name: str | None = None
    activity_sid: str | None = None
    activity_name: str | None = None
    version: int | None = None
    previous_activity_sid: str | None = None
    time_in_previous_activity_ms: int | None = None
    available: bool | None = None
    date_status_changed: datetime | None = None


@dataclass(frozen=True, slots=True)
class Activity(_WorkspaceResource):
    """An activity (a worker state such as *Available* or *Offline*)."""

    sid: str
    friendly_name: str | None = None
    available: bool | None = None


@dataclass(frozen=True, slots=True)
class WorkerChannel:
    """A worker's capacity on one task channel (multitasking workspaces).

    Event callbacks describe a change (``available_capacity``,
    ``previous_capacity``, ``task_count``); the REST resource describes the
    state (``configured_capacity``, ``assigned_tasks``, ...).
    """

    task_channel_sid: str | None = None
    task_channel_unique_name: str | None = None
    available: bool | None = None
    available_capacity: int | None = None
    previous_capacity: int | None = None
    task_count: int | None = None
    sid: str | None = None
    worker_sid: str | None = None
    assigned_tasks: int | None = None
    configured_capacity: int | None = None
    available_capacity_percentage: int | None = None
    account_sid: str | None = None
    workspace_sid: str | None = None
    date_created: datetime | None = None
    date_updated: datetime | None = None
    url: str | None = None
    raw: Mapping[str, Any] = field(default_factory=_empty_raw, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Workspace:
    """A workspace: the container of everything else."""

    sid: str
    friendly_name: str | None = None
    event_callback_url: str | None = None
    events_filter: str | None = None
    default_activity_sid: str | None = None
    default_activity_name: str | None = None
    timeout_activity_sid: str | None = None
    timeout_activity_name: str | None = None
    multi_task_enabled: bool | None = None
    prioritize_queue_order: str | None = None
    account_sid: str | None = None
    date_created: datetime | None = None
    date_updated: datetime | None = None
    url: str | None = None
    links: dict[str, str] | None = None
    raw: Mapping[str, Any] = field(default_factory=_empty_raw, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Workflow(_WorkspaceResource):
    """A workflow: the routing configuration and where to ask for assignment answers.

    :param configuration: the routing configuration, decoded when it is JSON
        (``document_content_type`` ``application/json``, the usual case), else
        the document's text as received.
    """

    sid: str
    friendly_name: str | None = None
    configuration: dict[str, Any] | str | None = None
    assignment_callback_url: str | None = None
    fallback_assignment_callback_url: str | None = None
    task_reservation_timeout: int | None = None
    document_content_type: str | None = None


@dataclass(frozen=True, slots=True)
class TaskQueue(_WorkspaceResource):
    """A task queue and the expression that says which workers serve it."""

    sid: str
    friendly_name: str | None = None
    target_workers: str | None = None
    max_reserved_workers: int | None = None
    task_order: str | None = None
    reservation_activity_sid: str | None = None
    reservation_activity_name: str | None = None
    assignment_activity_sid: str | None = None
    assignment_activity_name: str | None = None


@dataclass(frozen=True, slots=True)
class TaskChannel(_WorkspaceResource):
    """A task channel (voice, chat, ...) for multitasking workspaces."""

    sid: str
    friendly_name: str | None = None
    unique_name: str | None = None
    channel_optimized_routing: bool | None = None


@dataclass(frozen=True, slots=True)
class Reservation(_WorkspaceResource):
    """A reservation: a task offered to one worker."""

    sid: str
    reservation_status: str | None = None
    task_sid: str | None = None
    worker_sid: str | None = None
    worker_name: str | None = None


@dataclass(frozen=True, slots=True)
class Statistics:
    """Statistics of a workspace, workflow, task queue or worker(s).

    One type serves every statistics resource: the plain ones carry
    ``cumulative`` and ``realtime`` objects, the cumulative and real-time ones
    carry their figures as fields. A field the resource does not have is
    ``None``.
    """

    account_sid: str | None = None
    workspace_sid: str | None = None
    workflow_sid: str | None = None
    task_queue_sid: str | None = None
    worker_sid: str | None = None
    url: str | None = None
    cumulative: dict[str, Any] | None = None
    realtime: dict[str, Any] | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    avg_task_acceptance_time: int | None = None
    reservations_created: int | None = None
    reservations_accepted: int | None = None
    reservations_rejected: int | None = None
    reservations_timed_out: int | None = None
    reservations_canceled: int | None = None
    reservations_rescinded: int | None = None
    split_by_wait_time: dict[str, Any] | None = None
    wait_duration_until_accepted: dict[str, Any] | None = None
    wait_duration_until_canceled: dict[str, Any] | None = None
    wait_duration_in_queue_until_accepted: dict[str, Any] | None = None
    tasks_canceled: int | None = None
    tasks_completed: int | None = None
    tasks_deleted: int | None = None
    tasks_entered: int | None = None
    tasks_moved: int | None = None
    tasks_created: int | None = None
    tasks_timed_out_in_workflow: int | None = None
    activity_durations: list[Any] | None = None
    activity_statistics: list[Any] | None = None
    longest_task_waiting_age: int | None = None
    longest_task_waiting_sid: str | None = None
    longest_relative_task_age_in_queue: int | None = None
    longest_relative_task_sid_in_queue: str | None = None
    tasks_by_priority: dict[str, Any] | None = None
    tasks_by_status: dict[str, Any] | None = None
    total_tasks: int | None = None
    total_workers: int | None = None
    total_available_workers: int | None = None
    total_eligible_workers: int | None = None
    task_queue_data: list[Any] | None = None
    task_queue_response_count: int | None = None
    raw: Mapping[str, Any] = field(default_factory=_empty_raw, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Assignment:
    """An assignment callback: TaskRouter reserved ``task`` for ``worker`` and asks what to do.

    :param reservation_sid: the reservation (``WR...``) the answer applies to.
    :param raw: every field received, as received.
    """

    account_sid: str
    workspace_sid: str
    workflow_sid: str
    task_queue_sid: str
    reservation_sid: str
    task: Task
    worker: Worker
    timestamp: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=_empty_raw, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Event:
    """An event callback: something happened in the workspace.

    Fields an event type does not carry are ``None``; ``task``, ``worker``,
    ``activity`` and ``worker_channel`` are present when the event carries
    their SID.

    :param sid: the event SID (``EV...``) when Twilio sends one; the key for
        recognising a redelivered event.
    :param type: the event type, e.g. ``reservation.accepted``.
    :param timestamp: when it happened, timezone-aware (UTC).
    :param raw: every field received, as received.
    """

    type: str
    timestamp: datetime
    account_sid: str
    workspace_sid: str
    sid: str | None = None
    description: str | None = None
    resource_type: str | None = None
    resource_sid: str | None = None
    workspace_name: str | None = None
    task: Task | None = None
    worker: Worker | None = None
    activity: Activity | None = None
    worker_channel: WorkerChannel | None = None
    reservation_sid: str | None = None
    task_queue_sid: str | None = None
    task_queue_name: str | None = None
    task_queue_target_expression: str | None = None
    workflow_sid: str | None = None
    workflow_name: str | None = None
    event_data: dict[str, Any] | None = None
    event_date_ms: int | None = None
    actor_sid: str | None = None
    actor_type: str | None = None
    actor_url: str | None = None
    resource_url: str | None = None
    source: str | None = None
    source_ip_address: str | None = None
    url: str | None = None
    raw: Mapping[str, Any] = field(default_factory=_empty_raw, compare=False, repr=False)
