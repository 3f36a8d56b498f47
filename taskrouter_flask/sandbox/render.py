"""Engine records as the REST API's JSON resources.

Field names, types and ``url``/``links`` follow the API description, with
every URL on the sandbox's own base URL, so that any client that follows
links stays on the sandbox.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from ..wire import format_timestamp, to_snake
from .bounds import EVENT_REDACTION_MINUTES
from .engine import Engine
from .state import (
    ACTIVE_RESERVATION,
    ActivityRecord,
    EventRecord,
    ReservationRecord,
    TaskChannelRecord,
    TaskQueueRecord,
    TaskRecord,
    WorkerChannelRecord,
    WorkerRecord,
    WorkflowRecord,
    WorkspaceRecord,
)
from .wire import event_fields

#: A string as ``json.dumps`` writes it (quoted, non-ASCII escaped): the C function it uses.
_quote = json.encoder.encode_basestring_ascii

__all__ = ["REDACTED_TASK_ATTRIBUTES", "Renderer", "iso"]

#: What an old event's ``event_data.task_attributes`` reads once redacted (see
#: :meth:`Renderer.event`): an empty JSON object, as text like every other value there.
REDACTED_TASK_ATTRIBUTES = "{}"
#: How old an event must be, more than this, for its task attributes to be redacted.
REDACT_AFTER = timedelta(minutes=EVENT_REDACTION_MINUTES)


#: ``00`` to ``59``: the hours, minutes and seconds of a date.
_TWO_DIGITS = tuple(f"{n:02d}" for n in range(60))
#: ``2014-05-14T`` by the day's ordinal: dates fall on few distinct days, and writing the
#: day is most of the cost of writing a date.
_DAYS: dict[int, str] = {}
#: When :data:`_DAYS` holds this many days it is emptied.
_DAYS_LIMIT = 8_192


def iso(moment: datetime | None) -> str | None:
    """``2014-05-14T10:50:02Z``, as the API writes dates (``None`` stays ``None``).

    The same text as :func:`~taskrouter_flask.wire.format_timestamp`, in a third of the
    time for the dates the engine makes, which are in UTC already (its clocks make them
    so); a date in another zone goes through ``format_timestamp``.
    """
    if moment is None:
        return None
    zone = moment.tzinfo
    if zone is not UTC and zone is not None:
        return format_timestamp(moment)
    ordinal = moment.toordinal()
    day = _DAYS.get(ordinal)
    if day is None:
        if len(_DAYS) >= _DAYS_LIMIT:
            _DAYS.clear()
        day = _DAYS[ordinal] = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
    two = _TWO_DIGITS
    return f"{day}{two[moment.hour]}:{two[moment.minute]}:{two[moment.second]}Z"


def _string(value: str | None) -> str:
    """A string or ``None`` as ``json.dumps`` writes it."""
    return "null" if value is None else _quote(value)


def _date(moment: datetime | None) -> str:
    """A date as ``json.dumps`` writes what :func:`iso` makes of it (it needs no escaping)."""
    return "null" if moment is None else f'"{iso(moment)}"'


def _flag(value: bool) -> str:
    return "true" if value else "false"


class Renderer:
    """Renders records for one base URL (``http://127.0.0.1:8099``).

    A list renders many records of one workspace, so what is the same for all of them
    (the workspace's URL, an activity's, a queue's) is made once per renderer and kept:
    only URLs, which depend on SIDs alone and so never go stale. Names and statuses are
    read from the records every time.
    """

    def __init__(self, engine: Engine, base_url: str) -> None:
        self.engine = engine
        self.base = base_url.rstrip("/") + "/v1"
        self._workspace_urls: dict[str, str] = {}
        #: (workspace SID, collection, SID) -> the URL of that resource.
        self._member_urls: dict[tuple[str, str, str], str] = {}
        #: The same URLs as JSON text, quotes included: the lists written as text use them.
        self._quoted: dict[tuple[str, str, str], str] = {}
        self._account = _quote(engine.account_sid)

    def _ws(self, workspace_sid: str) -> str:
        url = self._workspace_urls.get(workspace_sid)
        if url is None:
            url = self._workspace_urls[workspace_sid] = f"{self.base}/Workspaces/{workspace_sid}"
        return url

    def _member(self, workspace_sid: str, collection: str, sid: str) -> str:
        """``.../Workspaces/WS.../<collection>/<sid>``, made once per renderer."""
        key = (workspace_sid, collection, sid)
        url = self._member_urls.get(key)
        if url is None:
            url = self._member_urls[key] = f"{self._ws(workspace_sid)}/{collection}/{sid}"
        return url

    def _quoted_member(self, workspace_sid: str, collection: str, sid: str) -> str:
        """:meth:`_member` as JSON text; ``collection`` empty: the workspace's own URL."""
        key = (workspace_sid, collection, sid)
        text = self._quoted.get(key)
        if text is None:
            url = self._member(*key) if collection else self._ws(workspace_sid)
            text = self._quoted[key] = _quote(url)
        return text

    def workspace(self, record: WorkspaceRecord) -> dict[str, Any]:
        url = self._ws(record.sid)
        activities = self.engine.activities
        default = activities.get(record.default_activity_sid or "")
        timeout = activities.get(record.timeout_activity_sid or "")
        return {
            "account_sid": self.engine.account_sid,
            "date_created": iso(record.date_created),
            "date_updated": iso(record.date_updated),
            "default_activity_name": default.friendly_name if default else None,
            "default_activity_sid": record.default_activity_sid,
            "event_callback_url": record.event_callback_url,
            "events_filter": record.events_filter,
            "friendly_name": record.friendly_name,
            "multi_task_enabled": record.multi_task_enabled,
            "sid": record.sid,
            "timeout_activity_name": timeout.friendly_name if timeout else None,
            "timeout_activity_sid": record.timeout_activity_sid,
            "prioritize_queue_order": record.prioritize_queue_order,
            "url": url,
            "links": {
                name: f"{url}/{path}"
                for name, path in (
                    ("activities", "Activities"),
                    ("events", "Events"),
                    ("task_channels", "TaskChannels"),
                    ("task_queues", "TaskQueues"),
                    ("tasks", "Tasks"),
                    ("workers", "Workers"),
                    ("workflows", "Workflows"),
                    ("statistics", "Statistics"),
                    ("real_time_statistics", "RealTimeStatistics"),
                    ("cumulative_statistics", "CumulativeStatistics"),
                )
            },
        }

    def activity(self, record: ActivityRecord) -> dict[str, Any]:
        url = f"{self._ws(record.workspace_sid)}/Activities/{record.sid}"
        return {
            "account_sid": self.engine.account_sid,
            "available": record.available,
            "date_created": iso(record.date_created),
            "date_updated": iso(record.date_updated),
            "friendly_name": record.friendly_name,
            "sid": record.sid,
            "workspace_sid": record.workspace_sid,
            "url": url,
            "links": {"workspace": self._ws(record.workspace_sid)},
        }

    def listed_worker(self, record: WorkerRecord) -> dict[str, Any]:
        """A worker as a list shows it: Twilio gives attributes only when one is fetched."""
        return self._worker(record, None)

    def worker(self, record: WorkerRecord) -> dict[str, Any]:
        return self._worker(record, json.dumps(record.attributes))

    def listed_worker_json(self, record: WorkerRecord) -> str:
        """``json.dumps(self.listed_worker(record))``, written directly: a list's hot path.

        Every field is written as the JSON encoder would write it, in the same order; the
        tests compare the two on generated records.
        """
        ws_sid = record.workspace_sid
        ws = self._quoted_member(ws_sid, "", "")
        url = f"{ws[:-1]}/Workers/{_quote(record.sid)[1:-1]}"
        activity = self.engine.activities[record.activity_sid]
        return (
            f'{{"account_sid": {self._account}, '
            f'"activity_name": {_quote(activity.friendly_name)}, '
            f'"activity_sid": {_quote(activity.sid)}, "attributes": null, '
            f'"available": {_flag(activity.available)}, '
            f'"date_created": {_date(record.date_created)}, '
            f'"date_status_changed": {_date(record.date_status_changed)}, '
            f'"date_updated": {_date(record.date_updated)}, '
            f'"friendly_name": {_quote(record.friendly_name)}, "sid": {_quote(record.sid)}, '
            f'"workspace_sid": {_quote(ws_sid)}, "url": {url}", '
            f'"links": {{"activity": {self._quoted_member(ws_sid, "Activities", activity.sid)}, '
            f'"channels": {url}/Channels", "reservations": {url}/Reservations", '
            f'"statistics": {url}/Statistics", "workspace": {ws}}}}}'
        )

    def _worker(self, record: WorkerRecord, attributes: str | None) -> dict[str, Any]:
        ws_sid = record.workspace_sid
        ws = self._ws(ws_sid)
        url = f"{ws}/Workers/{record.sid}"
        activity = self.engine.activities[record.activity_sid]
        return {
            "account_sid": self.engine.account_sid,
            "activity_name": activity.friendly_name,
            "activity_sid": activity.sid,
            "attributes": attributes,
            "available": activity.available,
            "date_created": iso(record.date_created),
            "date_status_changed": iso(record.date_status_changed),
            "date_updated": iso(record.date_updated),
            "friendly_name": record.friendly_name,
            "sid": record.sid,
            "workspace_sid": ws_sid,
            "url": url,
            "links": {
                "activity": self._member(ws_sid, "Activities", activity.sid),
                "channels": url + "/Channels",
                "reservations": url + "/Reservations",
                "statistics": url + "/Statistics",
                "workspace": ws,
            },
        }

    def worker_channel(self, record: WorkerChannelRecord) -> dict[str, Any]:
        channel = self.engine.task_channels[record.task_channel_sid]
        used = sum(
            1
            for reservation in self.engine.reservations_of_worker(record.worker_sid)
            if reservation.status in ACTIVE_RESERVATION
            and self.engine.tasks[reservation.task_sid].task_channel_sid == channel.sid
        )
        capacity = record.configured_capacity
        return {
            "account_sid": self.engine.account_sid,
            "assigned_tasks": used,
            "available": record.available,
            "available_capacity_percentage": (
                max(0, (capacity - used) * 100 // capacity) if capacity else 0
            ),
            "configured_capacity": capacity,
            "date_created": iso(record.date_created),
            "date_updated": iso(record.date_updated),
            "sid": record.sid,
            "task_channel_sid": channel.sid,
            "task_channel_unique_name": channel.unique_name,
            "worker_sid": record.worker_sid,
            "workspace_sid": record.workspace_sid,
            "url": f"{self._ws(record.workspace_sid)}/Workers/{record.worker_sid}/Channels/"
            f"{record.sid}",
        }

    def task_queue(self, record: TaskQueueRecord) -> dict[str, Any]:
        url = f"{self._ws(record.workspace_sid)}/TaskQueues/{record.sid}"
        activities = self.engine.activities
        reservation = activities.get(record.reservation_activity_sid or "")
        assignment = activities.get(record.assignment_activity_sid or "")
        return {
            "account_sid": self.engine.account_sid,
            "assignment_activity_sid": record.assignment_activity_sid,
            "assignment_activity_name": assignment.friendly_name if assignment else None,
            "date_created": iso(record.date_created),
            "date_updated": iso(record.date_updated),
            "friendly_name": record.friendly_name,
            "max_reserved_workers": record.max_reserved_workers,
            "reservation_activity_sid": record.reservation_activity_sid,
            "reservation_activity_name": reservation.friendly_name if reservation else None,
            "sid": record.sid,
            "target_workers": record.target_workers,
            "task_order": record.task_order,
            "url": url,
            "workspace_sid": record.workspace_sid,
            "links": {
                "assignment_activity": None
                if assignment is None
                else f"{self._ws(record.workspace_sid)}/Activities/{assignment.sid}",
                "reservation_activity": None
                if reservation is None
                else f"{self._ws(record.workspace_sid)}/Activities/{reservation.sid}",
                "workspace": self._ws(record.workspace_sid),
                "statistics": f"{url}/Statistics",
                "real_time_statistics": f"{url}/RealTimeStatistics",
                "cumulative_statistics": f"{url}/CumulativeStatistics",
            },
        }

    def workflow(self, record: WorkflowRecord) -> dict[str, Any]:
        url = f"{self._ws(record.workspace_sid)}/Workflows/{record.sid}"
        return {
            "account_sid": self.engine.account_sid,
            "assignment_callback_url": record.assignment_callback_url,
            "configuration": record.document,
            "date_created": iso(record.date_created),
            "date_updated": iso(record.date_updated),
            "document_content_type": "application/json",
            "fallback_assignment_callback_url": record.fallback_assignment_callback_url,
            "friendly_name": record.friendly_name,
            "sid": record.sid,
            "task_reservation_timeout": record.task_reservation_timeout,
            "workspace_sid": record.workspace_sid,
            "url": url,
            "links": {
                "statistics": f"{url}/Statistics",
                "real_time_statistics": f"{url}/RealTimeStatistics",
                "cumulative_statistics": f"{url}/CumulativeStatistics",
                "workspace": self._ws(record.workspace_sid),
            },
        }

    def task_channel(self, record: TaskChannelRecord) -> dict[str, Any]:
        return {
            "account_sid": self.engine.account_sid,
            "date_created": iso(record.date_created),
            "date_updated": iso(record.date_updated),
            "friendly_name": record.friendly_name,
            "sid": record.sid,
            "unique_name": record.unique_name,
            "workspace_sid": record.workspace_sid,
            "channel_optimized_routing": record.channel_optimized_routing,
            "url": f"{self._ws(record.workspace_sid)}/TaskChannels/{record.sid}",
            "links": {"workspace": self._ws(record.workspace_sid)},
        }

    def listed_task(self, record: TaskRecord) -> dict[str, Any]:
        """A task as a list shows it: Twilio gives attributes only when one task is fetched."""
        return self._task(record, None)

    def task(self, record: TaskRecord) -> dict[str, Any]:
        return self._task(record, json.dumps(record.attributes))

    def listed_task_json(self, record: TaskRecord) -> str:
        """``json.dumps(self.listed_task(record))``, written directly: a list's hot path.

        Every field is written as the JSON encoder would write it, in the same order; the
        tests compare the two on generated records.
        """
        ws_sid = record.workspace_sid
        ws = self._quoted_member(ws_sid, "", "")
        url = f"{ws[:-1]}/Tasks/{_quote(record.sid)[1:-1]}"
        engine = self.engine
        queue_sid = record.task_queue_sid
        workflow_sid = record.workflow_sid
        queue = engine.task_queues.get(queue_sid) if queue_sid else None
        workflow = engine.workflows.get(workflow_sid) if workflow_sid else None
        channel = engine.task_channels.get(record.task_channel_sid)
        created = _date(record.date_created)
        start = record.virtual_start_time
        queue_link = (
            "null" if queue is None else self._quoted_member(ws_sid, "TaskQueues", queue.sid)
        )
        workflow_link = (
            "null" if workflow is None else self._quoted_member(ws_sid, "Workflows", workflow.sid)
        )
        return (
            f'{{"account_sid": {self._account}, "age": {engine.task_age(record)!r}, '
            f'"assignment_status": {_quote(record.status.value)}, "attributes": null, '
            f'"addons": "{{}}", "date_created": {created}, '
            f'"date_updated": {_date(record.date_updated)}, '
            f'"task_queue_entered_date": {_date(record.task_queue_entered_date)}, '
            f'"priority": {int.__repr__(record.priority)}, "reason": {_string(record.reason)}, '
            f'"sid": {_quote(record.sid)}, "task_queue_sid": {_string(queue_sid)}, '
            f'"task_queue_friendly_name": {_string(queue.friendly_name if queue else None)}, '
            f'"task_channel_sid": {_quote(record.task_channel_sid)}, '
            f'"task_channel_unique_name": {_string(channel.unique_name if channel else None)}, '
            f'"timeout": {int.__repr__(record.timeout)}, '
            f'"workflow_sid": {_string(workflow_sid)}, '
            f'"workflow_friendly_name": {_string(workflow.friendly_name if workflow else None)}, '
            f'"workspace_sid": {_quote(ws_sid)}, "url": {url}", '
            f'"links": {{"task_queue": {queue_link}, "workflow": {workflow_link}, '
            f'"workspace": {ws}, "reservations": {url}/Reservations"}}, '
            f'"virtual_start_time": {created if start is None else _date(start)}, '
            f'"ignore_capacity": {_flag(record.ignore_capacity)}, '
            f'"routing_target": {_string(record.routing_target)}}}'
        )

    def _task(self, record: TaskRecord, attributes: str | None) -> dict[str, Any]:
        ws_sid = record.workspace_sid
        ws = self._ws(ws_sid)
        url = f"{ws}/Tasks/{record.sid}"
        engine = self.engine
        queue_sid = record.task_queue_sid
        workflow_sid = record.workflow_sid
        queue = engine.task_queues.get(queue_sid) if queue_sid else None
        workflow = engine.workflows.get(workflow_sid) if workflow_sid else None
        channel = engine.task_channels.get(record.task_channel_sid)
        created = iso(record.date_created)
        start = record.virtual_start_time
        return {
            "account_sid": engine.account_sid,
            "age": engine.task_age(record),
            "assignment_status": record.status.value,
            "attributes": attributes,
            "addons": "{}",
            "date_created": created,
            "date_updated": iso(record.date_updated),
            "task_queue_entered_date": iso(record.task_queue_entered_date),
            "priority": record.priority,
            "reason": record.reason,
            "sid": record.sid,
            "task_queue_sid": queue_sid,
            "task_queue_friendly_name": queue.friendly_name if queue else None,
            "task_channel_sid": record.task_channel_sid,
            "task_channel_unique_name": channel.unique_name if channel else None,
            "timeout": record.timeout,
            "workflow_sid": workflow_sid,
            "workflow_friendly_name": workflow.friendly_name if workflow else None,
            "workspace_sid": ws_sid,
            "url": url,
            "links": {
                "task_queue": None
                if queue is None
                else self._member(ws_sid, "TaskQueues", queue.sid),
                "workflow": None
                if workflow is None
                else self._member(ws_sid, "Workflows", workflow.sid),
                "workspace": ws,
                "reservations": url + "/Reservations",
            },
            "virtual_start_time": created if start is None else iso(start),
            "ignore_capacity": record.ignore_capacity,
            "routing_target": record.routing_target,
        }

    def reservation(self, record: ReservationRecord, *, via_worker: bool = False) -> dict[str, Any]:
        ws = self._ws(record.workspace_sid)
        worker = self.engine.workers.get(record.worker_sid)
        task_url = f"{ws}/Tasks/{record.task_sid}"
        worker_url = f"{ws}/Workers/{record.worker_sid}"
        url = f"{worker_url if via_worker else task_url}/Reservations/{record.sid}"
        return {
            "account_sid": self.engine.account_sid,
            "date_created": iso(record.date_created),
            "date_updated": iso(record.date_updated),
            "reservation_status": record.status.value,
            "sid": record.sid,
            "task_sid": record.task_sid,
            "worker_name": worker.friendly_name if worker else None,
            "worker_sid": record.worker_sid,
            "workspace_sid": record.workspace_sid,
            "url": url,
            "links": {"task": task_url, "worker": worker_url, "workspace": ws},
        }

    def event(self, record: EventRecord) -> dict[str, Any]:
        """The Events resource's JSON for ``record`` (both the list and the fetch).

        Redaction: Twilio's Event resource page
        (https://www.twilio.com/docs/taskrouter/api/event) says "Task Attributes for Events
        occuring more 43,200 minutes ago will be redacted" (``Minutes``) and "Task Attributes for
        Events older than 30 days will be redacted" (``StartDate``), without showing what a
        redacted value looks like. Our reading: an event whose time is *more than* 43,200
        minutes (:data:`~.bounds.EVENT_REDACTION_MINUTES`) before now, however it was asked for
        (list, filters, or fetch by SID), has ``event_data.task_attributes`` replaced by
        :data:`REDACTED_TASK_ATTRIBUTES`, an empty JSON object, so a reader that parses the
        attributes still gets an object, with nothing of the task's data in it. The field is
        kept; every other field (the task SID, its status, the worker's attributes) is not
        touched, since the page names task attributes only. Exactly 43,200 minutes old is not
        yet redacted. The stored event is unchanged: callbacks were sent when it happened, and
        the redaction is only how the REST API shows it. It can be seen only when the sandbox
        keeps events longer than Twilio's 30 days (``Sandbox(retention=...)``).
        """
        ws = self._ws(record.workspace_sid)
        collections = {
            "Task": "Tasks",
            "Reservation": "Tasks",
            "Worker": "Workers",
            "Activity": "Activities",
            "TaskQueue": "TaskQueues",
            "Workflow": "Workflows",
            "TaskChannel": "TaskChannels",
        }
        collection = collections.get(record.resource_type)
        if record.resource_type == "Reservation":
            resource_url = (
                f"{ws}/Tasks/{record.task.sid if record.task else None}/Reservations/"
                + (record.resource_sid)
            )
        elif collection:
            resource_url = f"{ws}/{collection}/{record.resource_sid}"
        else:
            resource_url = ws
        stamp = record.timestamp
        fields = event_fields(record)
        if "TaskAttributes" in fields and self.engine.now() - stamp > REDACT_AFTER:
            fields["TaskAttributes"] = REDACTED_TASK_ATTRIBUTES
        return {
            "account_sid": self.engine.account_sid,
            "actor_sid": record.workspace_sid,
            "actor_type": "workspace",
            "actor_url": ws,
            "description": record.description,
            "event_data": _event_data(fields),
            "event_date": iso(stamp),
            "event_date_ms": int(stamp.timestamp() * 1000),
            "event_type": record.type,
            "resource_sid": record.resource_sid,
            "resource_type": record.resource_type,
            "resource_url": resource_url,
            "sid": record.sid,
            "source": "sandbox",
            "source_ip_address": "127.0.0.1",
            "url": f"{ws}/Events/{record.sid}",
            "workspace_sid": record.workspace_sid,
        }


def _event_data(fields: dict[str, str]) -> dict[str, Any]:
    """The callback fields in snake_case, as the Events resource's ``event_data``."""
    return {_snake(name): value for name, value in fields.items()}


#: ``TaskQueueSid`` -> ``task_queue_sid``, as the client names parameters; the callback
#: fields are a fixed few, so each is converted once.
_snake = functools.cache(to_snake)
