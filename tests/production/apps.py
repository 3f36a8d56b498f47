"""Small WSGI applications the production tests serve under gunicorn.

Gunicorn's workers are separate processes, so a handler cannot append to a
list the test holds: each handler call writes one file into the directory
named by ``FLASK_TR_RECORD_DIR`` (a file per call, created exclusively, so
concurrent workers never overwrite each other), and the test counts them.

Configuration comes from ``FLASK_``-prefixed environment variables through
``app.config.from_prefixed_env()``, as a deployed application would read it
(``FLASK_TASKROUTER_AUTH_TOKEN``, ``FLASK_TASKROUTER_DEDUP``, ...). Every
response carries ``X-Worker-Pid`` so that a test can tell which process
answered. Gunicorn calls the factories: ``tests.production.apps:create_callback_app()``.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from wsgiref.types import WSGIApplication

from flask import Flask, Response
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from taskrouter_flask import Assignment, Event, Instruction, TaskRouter, accept, reject

__all__ = ["MOUNTS", "create_callback_app", "create_dedup_apps", "read_records"]

#: The applications :func:`create_dedup_apps` mounts, and the settings each overrides.
MOUNTS: Mapping[str, Mapping[str, Any]] = {
    "/open": {"TASKROUTER_DEDUP_FAIL_OPEN": True, "TASKROUTER_DEDUP_PREFIX": "open:"},
    "/closed": {
        "TASKROUTER_DEDUP_FAIL_OPEN": False,
        "TASKROUTER_DEDUP_PREFIX": "closed:",
        "TASKROUTER_DEDUP_LEASE": 1,
    },
    "/ttl": {
        "TASKROUTER_DEDUP_TTL": 1,
        "TASKROUTER_DEDUP_LEASE": 0.5,
        "TASKROUTER_DEDUP_PREFIX": "ttl:",
    },
    "/lease": {"TASKROUTER_DEDUP_LEASE": 1, "TASKROUTER_DEDUP_PREFIX": "lease:"},
}


def _record(directory: Path, kind: str, key: str, payload: Mapping[str, Any]) -> None:
    name = f"{kind}-{key}-{os.getpid()}-{uuid.uuid4().hex}.json"
    data = json.dumps({"kind": kind, "key": key, "pid": os.getpid(), "raw": dict(payload)})
    descriptor = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(descriptor, "w") as output:
        output.write(data)


def read_records(directory: Path, kind: str | None = None, key: str | None = None) -> list[Any]:
    """The handler calls recorded in ``directory``, optionally of one kind and key."""
    pattern = f"{kind or '*'}-{key or '*'}-*.json"
    return [json.loads(path.read_text()) for path in sorted(directory.glob(pattern))]


def create_callback_app(mount: str = "", **overrides: Any) -> Flask:
    """A TaskRouter application whose handlers record every call.

    The assignment handler answers ``accept()`` the first time it sees a
    reservation and ``reject()`` after that (counting the records of every
    process), so a repeated callback that reached the handler again would get
    a different answer. ``TR_HANDLER_DELAY`` (seconds) slows it down, to keep a
    first delivery in flight while its repeats arrive.

    A task whose attributes carry ``{"hold": seconds}`` makes either handler
    record that it started (kind ``<label>.started.<endpoint>``) and then sleep
    that long, the first time only: a test kills the worker meanwhile, and the
    redelivery runs without the hold.

    :param mount: a name for the records of this application (``/open`` and so on).
    :param overrides: configuration set after the environment's.
    """
    app = Flask(f"production{mount.replace('/', '_')}")
    app.config.from_prefixed_env()
    app.config.update(overrides)
    directory = Path(app.config["TR_RECORD_DIR"])
    delay = float(app.config.get("TR_HANDLER_DELAY", 0))
    label = mount.strip("/") or "main"
    tr = TaskRouter(app)

    def hold(
        endpoint: str, key: str, attributes: Mapping[str, Any], raw: Mapping[str, Any]
    ) -> None:
        seconds = attributes.get("hold")
        kind = f"{label}.started.{endpoint}"
        if isinstance(seconds, int | float) and not read_records(directory, kind, key):
            _record(directory, kind, key, raw)
            time.sleep(seconds)

    @tr.assignment()
    def on_assignment(assignment: Assignment) -> Instruction:
        hold("assignment", assignment.reservation_sid, assignment.task.attributes, assignment.raw)
        seen = read_records(directory, f"{label}.assignment", assignment.reservation_sid)
        _record(directory, f"{label}.assignment", assignment.reservation_sid, assignment.raw)
        if delay:
            time.sleep(delay)
        return accept() if not seen else reject()

    @tr.event("*")
    def on_event(event: Event) -> None:
        if event.task is not None:
            hold("event", event.sid or "nosid", event.task.attributes, event.raw)
        _record(directory, f"{label}.event", event.sid or "nosid", event.raw)

    @app.after_request
    def tag_worker(response: Response) -> Response:
        response.headers["X-Worker-Pid"] = str(os.getpid())
        return response

    return app


def create_dedup_apps() -> DispatcherMiddleware:
    """Three callback applications sharing one Redis, mounted at :data:`MOUNTS`.

    ``/open`` fails open and ``/closed`` fails closed when Redis is gone;
    ``/ttl`` forgets a delivery after one second. The root answers 404.
    """
    root = Flask("production_root")
    mounted: dict[str, WSGIApplication] = {
        mount: create_callback_app(mount, **config) for mount, config in MOUNTS.items()
    }
    return DispatcherMiddleware(root, mounted)
