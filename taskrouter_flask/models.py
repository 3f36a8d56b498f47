"""Typed, immutable values for what TaskRouter tells an application.

Handlers receive these instead of a form of strings: attribute JSON is already
a ``dict``, ages and priorities are ``int``, timestamps are aware
``datetime``. They are frozen dataclasses, so a handler cannot mutate what
another handler of the same event will see, and two payloads compare equal by
value in tests. ``raw`` keeps every field exactly as received, including the
ones Twilio adds after this library was written.

Pure module: no Flask, no marshmallow; :mod:`taskrouter_flask.schemas` builds
these from the wire.
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
    "Task",
    "Worker",
    "WorkerChannel",
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


@dataclass(frozen=True, slots=True)
class Task:
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


@dataclass(frozen=True, slots=True)
class Worker:
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


@dataclass(frozen=True, slots=True)
class Activity:
    """An activity (a worker state such as *Available* or *Offline*)."""

    sid: str
    friendly_name: str | None = None
    available: bool | None = None


@dataclass(frozen=True, slots=True)
class WorkerChannel:
    """A worker's capacity on one task channel (multitasking workspaces)."""

    task_channel_sid: str | None = None
    task_channel_unique_name: str | None = None
    available: bool | None = None
    available_capacity: int | None = None
    previous_capacity: int | None = None
    task_count: int | None = None


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
    raw: Mapping[str, Any] = field(default_factory=_empty_raw, compare=False, repr=False)
