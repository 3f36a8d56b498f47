"""The dashboard page, its event stream, and the controls' JSON API.

Routes:

* ``GET /?key=<sign-in key>`` — signs the operator in (see :mod:`.access`) and redirects to
  ``/``; the URL ``python -m example_app`` prints.
* ``GET /`` — the dashboard (plain HTML, CSS and JavaScript served from this package);
  without the operator's session, a page saying how to sign in (401).
* ``GET /api/state`` — the dashboard's data, once.
* ``GET /api/stream`` — the same, live, as server-sent events (``event: snapshot``).
* ``POST /api/tasks`` — create a task: ``{"type", "customer_value", "selected_language",
  "priority", "subject"}``.
* ``POST /api/workers/<sid>/activity`` — ``{"activity": "Offline"}``.
* ``POST /api/traffic`` — ``{"paused": true}``.

Everything under ``/api/`` needs the operator's session: the data names customers and
carries each agent's console link, and the controls change what TaskRouter does.
Without it the answer is a 401 JSON error, ``sign_in_required``.

Every control takes a JSON object (``Content-Type: application/json``, which
also keeps other sites' forms from posting here) and checks it with a
marshmallow schema; bad input is a 4xx answer with a JSON body,
``{"error": {"code", "message", "field"?}}``, the same shape the extension
uses for refused callbacks.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from flask import (
    Blueprint,
    Response,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from werkzeug.exceptions import HTTPException

from taskrouter_flask.errors import TaskRouterError

from .access import console_token, is_operator, json_error, operator_required, sign_in
from .dashboard import event_stream
from .desk import Desk, NotProvisioned, current_desk
from .provisioning import ACTIVITIES
from .traffic import CUSTOMER_VALUES, KINDS, LANGUAGES

__all__ = ["MAX_CONTROL_BODY", "blueprint", "json_error"]

log = logging.getLogger(__name__)

blueprint = Blueprint("dashboard", __name__)

#: The largest control request body accepted, in bytes.
MAX_CONTROL_BODY = 4096
_WORKER_SID = re.compile(r"WK[0-9a-f]{32}")


# -- request bodies --------------------------------------------------------------------------


class _Integer(fields.Integer):
    """A JSON number that is a whole number, and not ``true`` or ``false``."""

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._validated(value)


class NewTaskSchema(Schema):
    """``POST /api/tasks``: a task as a customer would raise it."""

    class Meta:
        unknown = RAISE

    type = fields.String(required=True, validate=validate.OneOf(KINDS))
    customer_value = fields.String(load_default="Silver", validate=validate.OneOf(CUSTOMER_VALUES))
    selected_language = fields.String(load_default="en", validate=validate.OneOf(LANGUAGES))
    priority = _Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(0, 100)
    )
    subject = fields.String(load_default="", validate=validate.Length(max=120))


class ActivitySchema(Schema):
    """``POST /api/workers/<sid>/activity``."""

    class Meta:
        unknown = RAISE

    activity = fields.String(
        required=True, validate=validate.OneOf([name for name, _ in ACTIVITIES])
    )


class TrafficSchema(Schema):
    """``POST /api/traffic``."""

    class Meta:
        unknown = RAISE

    paused = fields.Boolean(required=True, truthy={True}, falsy={False})


def _load(schema: Schema) -> dict[str, Any] | Response:
    """The request's JSON body checked by ``schema``, or the 4xx answer saying what is wrong."""
    if request.mimetype != "application/json":
        return json_error(
            415, "unsupported_media_type", "send a JSON object with Content-Type: application/json"
        )
    if request.content_length is not None and request.content_length > MAX_CONTROL_BODY:
        return json_error(
            413, "payload_too_large", f"expected a body of at most {MAX_CONTROL_BODY} bytes"
        )
    body = request.stream.read(MAX_CONTROL_BODY + 1)
    if len(body) > MAX_CONTROL_BODY:
        return json_error(
            413, "payload_too_large", f"expected a body of at most {MAX_CONTROL_BODY} bytes"
        )
    try:
        data = json.loads(body)
    except ValueError:
        return json_error(400, "invalid_json", "the body is not valid JSON")
    if not isinstance(data, Mapping):
        return json_error(400, "invalid_request", "expected a JSON object")
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as exc:
        return _validation_error(exc)
    return loaded


def _validation_error(exc: ValidationError) -> Response:
    messages = exc.messages if isinstance(exc.messages, Mapping) else {"_schema": exc.messages}
    name, problems = sorted(messages.items())[0]
    problem = problems[0] if isinstance(problems, list) and problems else problems
    if problem == "Unknown field.":
        problem = "unknown field"
    field = None if name == "_schema" else str(name)
    where = f"{field}: " if field else ""
    return json_error(400, "invalid_request", f"{where}{problem}", field)


def _unavailable(exc: Exception) -> Response:
    if isinstance(exc, NotProvisioned):
        return json_error(503, "not_provisioned", "the desk has no TaskRouter workspace yet")
    log.warning("TaskRouter refused a dashboard control: %s", exc)
    return json_error(502, "taskrouter_error", f"TaskRouter refused: {exc}")


# -- pages and data -------------------------------------------------------------------------


@blueprint.get("/")
def index() -> ResponseReturnValue:
    """The dashboard; ``?key=`` signs the operator in first."""
    key = request.args.get("key")
    if key is not None:
        if not sign_in(key):
            return _sign_in_page(
                403,
                "This sign-in link is not valid: the desk makes a new key each time it"
                " starts. Use the link it printed this time.",
            )
        # Off the address bar and out of the history: the page's own URL has no key.
        return redirect(url_for("dashboard.index"), code=303)
    if not is_operator():
        return _sign_in_page(
            401,
            "The dashboard needs the desk's session. Open the sign-in link the desk printed"
            " when it started (it ends in /?key=…).",
        )
    response = make_response(render_template("dashboard.html"))
    response.headers["Cache-Control"] = "no-store"
    return response


def _sign_in_page(status: int, message: str) -> Response:
    page = render_template("refused.html", title="Sign in to the support desk", message=message)
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _snapshot_extra(desk: Desk) -> dict[str, Any]:
    rules = desk.handlers.rules
    workers = desk.provisioned.workers.values() if desk.provisioned else ()
    return {
        "traffic": desk.traffic_status(),
        "daily_limit": rules.daily_limit if rules is not None else None,
        # A fresh link per agent in every snapshot, so the one on the page is never stale.
        "consoles": {
            sid: url_for("consoles.console", worker_sid=sid, t=console_token(sid))
            for sid in workers
        },
        "at_console": sorted(desk.at_console()),
    }


@blueprint.get("/api/state")
@operator_required
def state() -> Response:
    """Everything the dashboard shows, once."""
    desk = current_desk()
    data = desk.state.snapshot()
    data.update(_snapshot_extra(desk))
    return jsonify(data)


@blueprint.get("/api/stream")
@operator_required
def stream() -> Response:
    """The dashboard's data as server-sent events: a snapshot now and on every change."""
    desk = current_desk()
    events = event_stream(desk.state, extra=lambda: _snapshot_extra(desk))
    return Response(
        stream_with_context(events),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


# -- controls --------------------------------------------------------------------------------


@blueprint.post("/api/tasks")
@operator_required
def create_task() -> Response:
    """Create a task with the attributes chosen on the page."""
    body = _load(NewTaskSchema())
    if isinstance(body, Response):
        return body
    try:
        sid, spec = current_desk().create_task(
            kind=body["type"],
            customer_value=body["customer_value"],
            language=body["selected_language"],
            priority=body["priority"],
            subject=body["subject"],
        )
    except (NotProvisioned, TaskRouterError) as exc:
        return _unavailable(exc)
    response = jsonify(sid=sid, ref=spec.ref, attributes=spec.attributes, priority=spec.priority)
    response.status_code = 201
    return response


@blueprint.post("/api/workers/<sid>/activity")
@operator_required
def set_activity(sid: str) -> Response:
    """Move one agent to another activity."""
    body = _load(ActivitySchema())
    if isinstance(body, Response):
        return body
    desk = current_desk()
    known = desk.provisioned.workers.values() if desk.provisioned else ()
    if not _WORKER_SID.fullmatch(sid) or sid not in known:
        return json_error(404, "not_found", f"no agent {sid[:40]!r} at this desk")
    try:
        desk.set_activity(sid, body["activity"])
    except (NotProvisioned, TaskRouterError) as exc:
        return _unavailable(exc)
    return jsonify(worker=sid, activity=body["activity"])


@blueprint.post("/api/traffic")
@operator_required
def traffic() -> Response:
    """Pause or resume the simulated customers."""
    body = _load(TrafficSchema())
    if isinstance(body, Response):
        return body
    desk = current_desk()
    simulator = desk.simulator
    if simulator is None or not simulator.running:
        return json_error(409, "no_traffic", "this desk runs no simulated traffic")
    if body["paused"]:
        simulator.pause()
    else:
        simulator.resume()
    return jsonify(desk.traffic_status())


def api_error(exc: HTTPException) -> Response | HTTPException:
    """Errors under ``/api/`` (404, 405, ...) as JSON; the rest of the app keeps its pages."""
    if not request.path.startswith("/api/"):
        return exc
    code = (exc.name or "error").lower().replace(" ", "_")
    response = json_error(exc.code or 500, code, exc.description or exc.name)
    if exc.code == 405 and exc.response is None:
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
    return response
