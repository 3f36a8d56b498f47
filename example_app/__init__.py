"""A small support desk built on taskrouter_flask.

It shows the extension's API end to end: assignment handlers per queue with a
business rule, a fallback, and event handlers that keep a live tally. The full
showcase (embedded sandbox, simulated traffic, dashboard) builds on this.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from typing import Any

from flask import Flask, jsonify

from taskrouter_flask import Assignment, Event, TaskRouter, accept, reject

log = logging.getLogger(__name__)

tr = TaskRouter()

#: Queue SIDs come from provisioning; fixed values keep the demo reproducible.
GOLD_QUEUE = "WQ" + "0" * 31 + "1"
OFFLINE_ACTIVITY = "WA" + "0" * 31 + "1"
DAILY_LIMIT = 40

tally: Counter[str] = Counter()


@tr.assignment(queue=GOLD_QUEUE)
def gold_ticket(assignment: Assignment) -> Any:
    """Gold tickets go to billing-skilled agents who are under their daily limit."""
    worker = assignment.worker.attributes
    if worker.get("handled_today", 0) >= DAILY_LIMIT:
        return reject(activity_sid=OFFLINE_ACTIVITY)
    if "billing" not in worker.get("skills", []):
        return reject()
    return accept()


@tr.assignment()
def everything_else(assignment: Assignment) -> Any:
    """Any other reservation is accepted."""
    return accept()


@tr.event("reservation.*", "task.*")
def count(event: Event) -> None:
    """Keep a tally of what happened, for the status page."""
    tally[event.type] += 1
    log.info("%s %s", event.type, event.resource_sid)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application.

    Settings come from ``FLASK_``-prefixed environment variables (e.g.
    ``FLASK_TASKROUTER_AUTH_TOKEN``), then ``config``. Without an auth token a
    random one is made, which only this process's own replay can sign with.
    """
    app = Flask(__name__)
    app.config.from_prefixed_env()
    app.config.update(config or {})
    if not app.config.get("TASKROUTER_AUTH_TOKEN"):
        app.config["TASKROUTER_AUTH_TOKEN"] = secrets.token_hex(16)
    tr.init_app(app)

    @app.get("/")
    def status() -> Any:
        return jsonify(
            assignment_url=tr.assignment_url(),
            events_url=tr.events_url(),
            events=dict(tally),
        )

    return app
