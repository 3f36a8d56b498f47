"""Helpers for testing TaskRouter applications: signed requests and realistic payloads.

A handler test should be three lines, so this module builds what Twilio
would send: wire payloads for an assignment and for every event type (with
SIDs of the right shape), the same payloads already parsed into models, and
requests signed exactly as Twilio signs them, for Flask's test client or for
real HTTP. Its fixtures (``taskrouter_client``, ``sandbox``) live in
:mod:`taskrouter_flask.pytest_plugin`, registered through the ``pytest11``
entry point, so that this module needs no pytest and the command-line tools
can use it in production installs.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from .models import EVENT_TYPES, Assignment, Event
from .schemas import load_assignment, load_event
from .signature import SIGNATURE_HEADER, body_sha256, compute_signature

__all__ = [
    "TaskRouterTestClient",
    "assignment_payload",
    "event_payload",
    "make_assignment",
    "make_event",
    "make_sid",
    "signed_form",
    "signed_json",
]

_FORM = "application/x-www-form-urlencoded"


def make_sid(prefix: str) -> str:
    """Return a random SID of the real shape: a two-letter prefix and 32 hex digits."""
    if len(prefix) != 2 or not prefix.isalpha() or not prefix.isupper():
        raise ValueError(f"prefix: expected two capital letters such as 'WT', got {prefix!r}")
    return prefix + secrets.token_hex(16)


def assignment_payload(
    *,
    task_attributes: Mapping[str, Any] | None = None,
    worker_attributes: Mapping[str, Any] | None = None,
    task_age: int = 0,
    task_priority: int = 0,
    account_sid: str | None = None,
    workspace_sid: str | None = None,
    workflow_sid: str | None = None,
    task_queue_sid: str | None = None,
    task_sid: str | None = None,
    worker_sid: str | None = None,
    reservation_sid: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """Return the form fields of an assignment callback, as Twilio sends them.

    :param extra: more wire fields (CamelCase names), added or replacing.
    """
    payload = {
        "AccountSid": account_sid or make_sid("AC"),
        "WorkspaceSid": workspace_sid or make_sid("WS"),
        "WorkflowSid": workflow_sid or make_sid("WW"),
        "TaskQueueSid": task_queue_sid or make_sid("WQ"),
        "TaskSid": task_sid or make_sid("WT"),
        "TaskAttributes": json.dumps(dict(task_attributes or {})),
        "TaskAge": str(task_age),
        "TaskPriority": str(task_priority),
        "WorkerSid": worker_sid or make_sid("WK"),
        "WorkerAttributes": json.dumps(dict(worker_attributes or {})),
        "ReservationSid": reservation_sid or make_sid("WR"),
        "Timestamp": _now(),
    }
    payload.update(extra)
    return payload


def event_payload(
    event_type: str,
    *,
    task_attributes: Mapping[str, Any] | None = None,
    worker_attributes: Mapping[str, Any] | None = None,
    account_sid: str | None = None,
    workspace_sid: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """Return the form fields of an event callback of ``event_type``.

    The fields are those the event type carries in TaskRouter's event
    reference (task, worker, reservation, queue, workflow, activity, channel).

    :param event_type: any type in :data:`~taskrouter_flask.models.EVENT_TYPES`.
    :param extra: more wire fields (CamelCase names), added or replacing.
    :raises ValueError: if ``event_type`` is not a documented event type.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"event_type: expected a TaskRouter event type, got {event_type!r}")
    family, _, action = event_type.partition(".")
    payload = {
        "Sid": make_sid("EV"),
        "EventType": event_type,
        "EventDescription": f"{family} {action}",
        "AccountSid": account_sid or make_sid("AC"),
        "WorkspaceSid": workspace_sid or make_sid("WS"),
        "WorkspaceName": "Support",
        "Timestamp": _now(),
    }
    task = {
        "TaskSid": make_sid("WT"),
        "TaskAttributes": json.dumps(dict(task_attributes or {})),
        "TaskAge": "12",
        "TaskPriority": "0",
        "TaskAssignmentStatus": _task_status(event_type),
        "TaskQueueSid": make_sid("WQ"),
        "TaskQueueName": "Everyone",
        "WorkflowSid": make_sid("WW"),
        "WorkflowName": "Support",
    }
    worker = {
        "WorkerSid": make_sid("WK"),
        "WorkerName": "Alice",
        "WorkerAttributes": json.dumps(dict(worker_attributes or {})),
        "WorkerActivitySid": make_sid("WA"),
        "WorkerActivityName": "Available",
        "WorkerVersion": "3",
    }
    resource_sid: str
    if family == "reservation":
        payload.update(task)
        if action != "failed":
            payload.update(worker)
        resource_sid = payload["ReservationSid"] = make_sid("WR")
        resource_type = "Reservation"
    elif family in ("task", "task-queue", "workflow") and event_type not in _NO_TASK:
        payload.update(task)
        resource_type = {"task": "Task", "task-queue": "TaskQueue", "workflow": "Workflow"}[family]
        resource_sid = payload[
            {"task": "TaskSid", "task-queue": "TaskQueueSid", "workflow": "WorkflowSid"}[family]
        ]
        if action == "canceled":
            payload["TaskCanceledReason"] = "Task TTL Exceeded"
        if action == "completed":
            payload["TaskCompletedReason"] = "resolved"
    elif family == "task-queue":
        resource_type = "TaskQueue"
        resource_sid = payload["TaskQueueSid"] = make_sid("WQ")
        payload["TaskQueueName"] = "Everyone"
        payload["TaskQueueTargetExpression"] = "1==1"
    elif family == "workflow":
        resource_type = "Workflow"
        resource_sid = payload["WorkflowSid"] = make_sid("WW")
        payload["WorkflowName"] = "Support"
    elif family == "worker":
        payload.update(worker)
        resource_type = "Worker"
        resource_sid = payload["WorkerSid"]
        if event_type == "worker.activity.update":
            payload["WorkerPreviousActivitySid"] = make_sid("WA")
            payload["WorkerTimeInPreviousActivity"] = "61"
            payload["WorkerTimeInPreviousActivityMs"] = "61250"
        if event_type in ("worker.capacity.update", "worker.channel.availability.update"):
            payload.update(_worker_channel())
    elif family == "activity":
        resource_type = "Activity"
        resource_sid = payload["ActivitySid"] = make_sid("WA")
        payload["ActivityName"] = "Available"
        payload["ActivityAvailable"] = "true"
    elif family == "task-channel":
        resource_type = "TaskChannel"
        resource_sid = payload["TaskChannelSid"] = make_sid("TC")
        payload["TaskChannelName"] = "Voice"
        payload["TaskChannelUniqueName"] = "voice"
        payload["TaskChannelOptimizedRouting"] = "false"
    else:  # workspace
        resource_type = "Workspace"
        resource_sid = payload["WorkspaceSid"]
    payload["ResourceType"] = resource_type
    payload["ResourceSid"] = resource_sid
    payload.update(extra)
    return payload


def make_assignment(**kwargs: Any) -> Assignment:
    """Return a parsed :class:`Assignment`; takes :func:`assignment_payload`'s arguments."""
    return load_assignment(assignment_payload(**kwargs))


def make_event(event_type: str, **kwargs: Any) -> Event:
    """Return a parsed :class:`Event`; takes :func:`event_payload`'s arguments."""
    return load_event(event_payload(event_type, **kwargs))


def signed_form(
    url: str, params: Mapping[str, str], auth_token: str
) -> tuple[bytes, dict[str, str]]:
    """Return the body and headers of a form POST to ``url`` signed as Twilio signs it.

    Use with any HTTP client: ``requests.post(url, data=body, headers=headers)``.
    """
    headers = {
        "Content-Type": _FORM,
        SIGNATURE_HEADER: compute_signature(url, params, auth_token),
    }
    return urlencode(params).encode(), headers


def signed_json(url: str, payload: Any, auth_token: str) -> tuple[str, bytes, dict[str, str]]:
    """Return the URL (with ``bodySHA256``), body and headers of a signed JSON POST."""
    body = json.dumps(payload).encode()
    url += ("&" if "?" in url else "?") + "bodySHA256=" + body_sha256(body)
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: compute_signature(url, body, auth_token),
    }
    return url, body, headers


class TaskRouterTestClient:
    """Post signed TaskRouter callbacks to an application through Flask's test client.

    The signing URL is the one the extension will rebuild: the application's
    ``TASKROUTER_PUBLIC_BASE_URL`` if set, else ``base_url``.

    :param app: an application with a :class:`~taskrouter_flask.TaskRouter`.
    :param base_url: scheme and host the test client requests (Flask's default
        is ``http://localhost``).
    """

    def __init__(self, app: Flask, *, base_url: str = "http://localhost") -> None:
        state = app.extensions.get("taskrouter")
        if state is None:
            raise RuntimeError("the application has no TaskRouter: call TaskRouter(app) first")
        self.app = app
        self.client: FlaskClient = app.test_client()
        self.base_url = base_url.rstrip("/")
        self.auth_token: str = app.config.get("TASKROUTER_AUTH_TOKEN") or "test-token"
        self._prefix: str = state.settings.url_prefix
        self._public: str | None = state.settings.public_base_url

    def post_assignment(
        self, payload: Mapping[str, str] | None = None, **kwargs: Any
    ) -> TestResponse:
        """Post an assignment callback: ``payload``, or one made by :func:`assignment_payload`."""
        return self.post_form(f"{self._prefix}/assignment", payload or assignment_payload(**kwargs))

    def post_event(self, event: str | Mapping[str, str], **kwargs: Any) -> TestResponse:
        """Post an event callback: a payload, or an event type for :func:`event_payload`."""
        payload = event_payload(event, **kwargs) if isinstance(event, str) else event
        return self.post_form(f"{self._prefix}/events", payload)

    def post_form(
        self, path: str, params: Mapping[str, str], *, signature: str | None = None
    ) -> TestResponse:
        """Post form fields to ``path``, signed unless ``signature`` is given."""
        url = self._signing_url(path)
        body, headers = signed_form(url, params, self.auth_token)
        if signature is not None:
            headers[SIGNATURE_HEADER] = signature
        return self.client.post(path, data=body, headers=headers, base_url=self.base_url)

    def post_json(self, path: str, payload: Any) -> TestResponse:
        """Post a JSON body to ``path``, signed with ``bodySHA256`` as Twilio does."""
        url, body, headers = signed_json(self._signing_url(path), payload, self.auth_token)
        query = url.partition("?")[2]
        return self.client.post(
            path, query_string=query, data=body, headers=headers, base_url=self.base_url
        )

    def _signing_url(self, path: str) -> str:
        return (self._public or self.base_url) + path


_NO_TASK = frozenset(
    {
        "task-queue.created",
        "task-queue.deleted",
        "task-queue.expression.updated",
        "workflow.created",
        "workflow.updated",
        "workflow.deleted",
    }
)


def _task_status(event_type: str) -> str:
    return {
        "reservation.created": "reserved",
        "reservation.accepted": "assigned",
        "reservation.wrapup": "wrapping",
        "reservation.completed": "completed",
        "task.wrapup": "wrapping",
        "task.completed": "completed",
        "task.canceled": "canceled",
    }.get(event_type, "pending")


def _worker_channel() -> dict[str, str]:
    return {
        "TaskChannelSid": make_sid("TC"),
        "TaskChannelUniqueName": "default",
        "WorkerChannelAvailable": "true",
        "WorkerChannelAvailableCapacity": "1",
        "WorkerChannelPreviousCapacity": "1",
        "WorkerChannelTaskCount": "0",
    }


def _now() -> str:
    return str(int(datetime.now(tz=UTC).timestamp()))
