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

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

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


def epoch(moment: datetime | None) -> int | None:
    """Whole seconds since the epoch, as the SDK multiplies by 1,000 to make a ``Date``."""
    return None if moment is None else int(moment.timestamp())


#: The REST JSON's names that the SDK spells its own way.
_RENAMED = {
    "task_queue_sid": "queue_sid",
    "task_queue_friendly_name": "queue_name",
    "workflow_friendly_name": "workflow_name",
}
#: What the REST JSON has and the SDK's payloads do not (links lead to the REST API).
_DROPPED = frozenset({"url", "links", "task_queue_entered_date"})


def _sdk_shape(rest: dict[str, Any], record: Any) -> dict[str, Any]:
    """A REST resource as the SDK reads it: its names, epoch dates, the revision as version.

    The dates come from the record itself (the REST JSON has them as text).
    """
    shaped: dict[str, Any] = {}
    for key, value in rest.items():
        if key in _DROPPED:
            continue
        if key.startswith("date_"):
            value = epoch(getattr(record, key))
        shaped[_RENAMED.get(key, key)] = value
    if hasattr(record, "revision"):
        shaped["version"] = str(record.revision)
    return shaped


class SdkPayloads:
    """The SDK's payloads for one engine (read under the engine's lock).

    Each starts from :class:`.render.Renderer`'s JSON, so both APIs derive a value (an
    activity's name, a task's age, a channel's load) the same way, and differs only where
    the SDK reads differently.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._rest = Renderer(engine, "")

    def worker(self, record: WorkerRecord) -> dict[str, Any]:
        return _sdk_shape(self._rest.worker(record), record)

    def activity(self, record: ActivityRecord) -> dict[str, Any]:
        return _sdk_shape(self._rest.activity(record), record)

    def worker_channel(self, record: WorkerChannelRecord) -> dict[str, Any]:
        reserved = [
            reservation.date_created
            for reservation in self.engine.reservations_of_worker(record.worker_sid)
            if self.engine.tasks[reservation.task_sid].task_channel_sid == record.task_channel_sid
        ]
        return {
            **_sdk_shape(self._rest.worker_channel(record), record),
            # The SDK makes this one a Date without multiplying: milliseconds.
            "last_reserved_time": int(max(reserved).timestamp() * 1000) if reserved else None,
        }

    def task(self, record: TaskRecord) -> dict[str, Any]:
        return {
            **_sdk_shape(self._rest.task(record), record),
            "virtual_start_time": epoch(record.virtual_start_time or record.date_created),
        }

    def reservation(self, record: ReservationRecord) -> dict[str, Any]:
        """A reservation with its task inside, as ``reservation.*`` events and reads carry it."""
        task = self.engine.tasks[record.task_sid]
        workflow = self.engine.workflows.get(task.workflow_sid or "")
        return {
            **_sdk_shape(self._rest.reservation(record), record),
            "reservation_timeout": workflow.task_reservation_timeout if workflow else None,
            "task": self.task(task),
        }


class _Record(Protocol):
    @property
    def sid(self) -> str: ...


_R = TypeVar("_R", bound=_Record)


def page(
    items: Sequence[_R],
    render: Callable[[_R], dict[str, Any]],
    *,
    size: int,
    after_sid: str | None,
) -> dict[str, Any]:
    """One page of a list as the SDK pages: the items after ``after_sid``, and the next key.

    Only the page's items are rendered; the list itself is not copied.
    """
    start = 0
    if after_sid is not None:
        start = next((i + 1 for i, item in enumerate(items) if item.sid == after_sid), len(items))
    end = min(len(items), start + size)
    contents = [render(items[i]) for i in range(start, end)]
    more = end < len(items)
    return {
        "contents": contents,
        "after_sid": items[end - 1].sid if more and end > start else None,
    }
