"""Engine records as Twilio's worker SDK reads them, which is not the REST API's JSON.

The SDK (``twilio-taskrouter`` 2.x) builds its objects from the event bridge's payloads
and refuses one that lacks a field it lists (a reservation's event without ``task``, a
task without ``addons``): such a payload throws inside its socket handler, which in node
ends the process. So every payload here carries every field the SDK's descriptors list,
dates are seconds since the epoch, ``attributes`` and ``addons`` are JSON text, a task
names its queue as ``queue_sid`` / ``queue_name``, a record's revision is its ``version``,
and a list is ``{"contents": [...], "after_sid": ...}``. The values that the REST API
derives (a task's age, a channel's assigned tasks) are taken from :class:`.render.Renderer`,
so both answers say the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from .engine import Engine
from .render import Renderer
from .state import (
    ActivityRecord,
    ReservationRecord,
    TaskRecord,
    WorkerChannelRecord,
    WorkerRecord,
)

__all__ = ["SdkPayloads", "epoch"]

_R = TypeVar("_R")


def epoch(moment: datetime | None) -> int | None:
    """Whole seconds since the epoch, as the SDK multiplies by 1,000 to make a ``Date``."""
    return None if moment is None else int(moment.timestamp())


class SdkPayloads:
    """The SDK's payloads for one engine (read under the engine's lock)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._rest = Renderer(engine, "")

    def worker(self, record: WorkerRecord) -> dict[str, Any]:
        activity = self.engine.activities[record.activity_sid]
        return {
            "account_sid": self.engine.account_sid,
            "activity_name": activity.friendly_name,
            "activity_sid": activity.sid,
            "attributes": json.dumps(record.attributes),
            "available": activity.available,
            "date_created": epoch(record.date_created),
            "date_status_changed": epoch(record.date_status_changed),
            "date_updated": epoch(record.date_updated),
            "friendly_name": record.friendly_name,
            "sid": record.sid,
            "workspace_sid": record.workspace_sid,
            "version": str(record.revision),
        }

    def activity(self, record: ActivityRecord) -> dict[str, Any]:
        return {
            "account_sid": self.engine.account_sid,
            "available": record.available,
            "date_created": epoch(record.date_created),
            "date_updated": epoch(record.date_updated),
            "friendly_name": record.friendly_name,
            "sid": record.sid,
            "workspace_sid": record.workspace_sid,
        }

    def worker_channel(self, record: WorkerChannelRecord) -> dict[str, Any]:
        rest = self._rest.worker_channel(record)
        reserved = [
            reservation.date_created
            for reservation in self.engine.reservations_of_worker(record.worker_sid)
            if self.engine.tasks[reservation.task_sid].task_channel_sid == record.task_channel_sid
        ]
        return {
            **{key: value for key, value in rest.items() if key != "url"},
            "date_created": epoch(record.date_created),
            "date_updated": epoch(record.date_updated),
            # The SDK makes this one a Date without multiplying: milliseconds.
            "last_reserved_time": int(max(reserved).timestamp() * 1000) if reserved else None,
        }

    def task(self, record: TaskRecord) -> dict[str, Any]:
        engine = self.engine
        queue = engine.task_queues.get(record.task_queue_sid or "")
        workflow = engine.workflows.get(record.workflow_sid or "")
        channel = engine.task_channels.get(record.task_channel_sid)
        return {
            "account_sid": engine.account_sid,
            "workspace_sid": record.workspace_sid,
            "sid": record.sid,
            "addons": "{}",
            "age": engine.task_age(record),
            "assignment_status": record.status.value,
            "attributes": json.dumps(record.attributes),
            "date_created": epoch(record.date_created),
            "date_updated": epoch(record.date_updated),
            "priority": record.priority,
            "queue_name": queue.friendly_name if queue else None,
            "queue_sid": record.task_queue_sid,
            "reason": record.reason,
            "routing_target": record.routing_target,
            "task_channel_sid": record.task_channel_sid,
            "task_channel_unique_name": channel.unique_name if channel else None,
            "timeout": record.timeout,
            "workflow_name": workflow.friendly_name if workflow else None,
            "workflow_sid": record.workflow_sid,
            "version": str(record.revision),
            "virtual_start_time": epoch(record.virtual_start_time or record.date_created),
        }

    def reservation(self, record: ReservationRecord) -> dict[str, Any]:
        """A reservation with its task inside, as ``reservation.*`` events and reads carry it."""
        engine = self.engine
        task = engine.tasks[record.task_sid]
        workflow = engine.workflows.get(task.workflow_sid or "")
        worker = engine.workers.get(record.worker_sid)
        return {
            "account_sid": engine.account_sid,
            "workspace_sid": record.workspace_sid,
            "sid": record.sid,
            "date_created": epoch(record.date_created),
            "date_updated": epoch(record.date_updated),
            "reservation_status": record.status.value,
            "reservation_timeout": workflow.task_reservation_timeout if workflow else None,
            "task_sid": record.task_sid,
            "worker_sid": record.worker_sid,
            "worker_name": worker.friendly_name if worker else None,
            "version": str(record.revision),
            "task": self.task(task),
        }


def page(
    items: Sequence[_R],
    render: Callable[[_R], dict[str, Any]],
    sid_of: Callable[[_R], str],
    *,
    size: int,
    after_sid: str | None,
) -> dict[str, Any]:
    """One page of a list as the SDK pages: the items after ``after_sid``, and the next key.

    Only the page's items are rendered; the list itself is not copied.
    """
    start = 0
    if after_sid is not None:
        start = next(
            (i + 1 for i, item in enumerate(items) if sid_of(item) == after_sid), len(items)
        )
    end = min(len(items), start + size)
    contents = [render(items[i]) for i in range(start, end)]
    more = end < len(items)
    return {
        "contents": contents,
        "after_sid": sid_of(items[end - 1]) if more and end > start else None,
    }
