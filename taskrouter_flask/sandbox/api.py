"""TaskRouter's REST API v1 over the engine, as a Flask application.

Every operation of the API description is served, on the same paths, with
the same parameter names and the same JSON: the routes are generated from
the client's operation table (:data:`taskrouter_flask.client.OPERATIONS`),
so the client and the sandbox cannot drift apart. Requests need HTTP basic
auth with the sandbox's account SID and token, or with one of its API keys.
Every refusal is Twilio's error JSON (``code``, ``message``, ``more_info``,
``status``); unknown parameters are refused (our reading: Twilio does not
document what it does with them, and a typo should not pass silently). The
engine is not thread-safe, so each request holds the service's lock while it
reads or changes state.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from ..client.resources import OPERATIONS, Operation, to_snake
from ..expressions import Expression, ExpressionError, compile_expression
from . import bounds, statistics
from .engine import Engine
from .errors import EngineError, InvalidArgument, NotFound
from .render import Renderer
from .state import EventRecord, ReservationStatus, TaskStatus

__all__ = ["SandboxService", "create_app"]

log = logging.getLogger(__name__)

_MORE_INFO = "https://www.twilio.com/docs/errors/{code}"
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50


@dataclass
class SandboxService:
    """What the REST app serves: the engine, its lock, and the credentials it accepts.

    :param account_sid: the account SID clients authenticate with (HTTP basic username).
    :param auth_token: the token (HTTP basic password).
    :param api_keys: API key SIDs (``SK...``) and their secrets, which authenticate as well,
        as Twilio's recommended credentials do.

    Each request runs under ``lock`` as one engine transaction: all of its changes are
    committed (and journaled) before the answer is sent, or none of them is.
    """

    engine: Engine
    account_sid: str
    auth_token: str
    lock: threading.RLock = field(default_factory=threading.RLock)
    api_keys: dict[str, str] = field(default_factory=dict)

    def authenticates(self, username: str, password: str) -> bool:
        """Whether HTTP basic credentials are the account's or one of its API keys'."""
        if hmac.compare_digest(username.encode(), self.account_sid.encode()):
            expected = self.auth_token
        else:
            expected = self.api_keys.get(username, "")
        return bool(expected) and hmac.compare_digest(password.encode(), expected.encode())


# -- parameter conversion -----------------------------------------------------------------

_BOOL = {
    "Available",
    "MultiTaskEnabled",
    "ChannelOptimizedRouting",
    "IgnoreCapacity",
    "RejectPendingReservations",
    "CallAccept",
    "RedirectAccept",
    "Muted",
    "StartConferenceOnEnter",
    "EndConferenceOnExit",
    "EarlyMedia",
    "EndConferenceOnCustomerExit",
    "BeepOnCustomerEntrance",
    "Record",
    "HasAddons",
    "ReEvaluateTasks",
}
_BOOL_OR_TEXT = {"Beep", "ConferenceRecord"}
#: Twilio reads ``true``, ``1`` and ``yes`` as true. For these parameters its reference adds
#: that every other value means false (Activity and Worker-list ``Available``, the task's
#: ``IgnoreCapacity``); for the other booleans it says nothing, so we take ``false``, ``0``
#: and ``no`` as false and refuse the rest rather than guess.
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_SPELLED_BOOL = _TRUE | _FALSE
_LENIENT_BOOL = {"Available", "IgnoreCapacity"}
#: Whole-number parameters and their ranges are :data:`bounds.PARAMETER_RANGES`. These are
#: parameters of an instruction: out of range, they are refused with the instruction's code
#: (40001), as the instruction itself would refuse them.
_INSTRUCTION_INT = {"CallTimeout", "DequeueTimeout", "MaxParticipants"}
#: JSON parameters and the longest text each may be (task and worker ``Attributes`` share the
#: name; Twilio's limit is the same for both). The engine parses the text itself.
_JSON_CHARS = {
    "Attributes": max(bounds.MAX_TASK_ATTRIBUTES, bounds.MAX_WORKER_ATTRIBUTES),
    "EvaluateWorkerAttributes": bounds.MAX_WORKER_ATTRIBUTES,
    "Configuration": bounds.MAX_WORKFLOW_CONFIGURATION,
}
_DATE = {"VirtualStartTime", "StartDate", "EndDate"}
_LIST = {
    "StatusCallbackEvent",
    "ConferenceStatusCallbackEvent",
    "DequeueStatusCallbackEvent",
    "AssignmentStatus",
}


#: Parameters today's API description no longer lists but Twilio's older guides send, and the
#: values in which they change nothing: the Ruby guide creates a task with
#: ``assignment_status: 'pending'``, which every new task is. They are accepted and dropped;
#: any other value is refused.
_LEGACY_PARAMS: dict[str, dict[str, tuple[str, ...]]] = {
    "CreateTask": {"AssignmentStatus": ("pending",)},
}


def _convert(name: str, values: Sequence[str]) -> Any:
    if name in _LIST and len(values) > 1:
        return list(values)
    if len(values) > 1:
        raise InvalidArgument(f"{name}: expected one value, got {len(values)}")
    value = values[0]
    if name in _LENIENT_BOOL:
        return value.strip().lower() in _TRUE
    spelled = value.strip().lower()
    if name in _BOOL or (name in _BOOL_OR_TEXT and spelled in _SPELLED_BOOL):
        if spelled not in _SPELLED_BOOL:
            raise InvalidArgument(f"{name}: expected true or false (or 1/0, yes/no), got {value!r}")
        return spelled in _TRUE
    whole = bounds.PARAMETER_RANGES.get(name)
    if whole is not None:
        try:
            return bounds.parse_int(name, value, whole.low, whole.high)
        except InvalidArgument as exc:
            if name in _INSTRUCTION_INT:
                raise InvalidArgument(exc.message, code=40001) from None
            raise
    if name in _JSON_CHARS:
        _json_object(name, value)  # refuse oversized, too deep or non-finite JSON here
        return value
    if name in _DATE:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidArgument(f"{name}: expected an ISO 8601 date, got {value!r}") from None
        if moment.tzinfo is None:
            raise InvalidArgument(f"{name}: expected a date with a time zone, got {value!r}")
        return moment
    return value


def _params(operation: Operation) -> dict[str, Any]:
    source = request.args if operation.method == "GET" else request.form
    if operation.method != "GET" and request.args:
        source_names = set(request.args)
        raise InvalidArgument(
            f"{operation.name}: parameters go in the form body, not the query: "
            + ", ".join(sorted(source_names))
        )
    legacy = _LEGACY_PARAMS.get(operation.name, {})
    for name, accepted in legacy.items():
        for value in source.getlist(name):
            if value not in accepted:
                raise InvalidArgument(
                    f"{name}: {operation.name} accepts it only as {' or '.join(accepted)}"
                    f" (what the request does anyway), got {value!r}"
                )
    unknown = sorted(set(source) - set(operation.params) - set(legacy))
    if unknown:
        raise InvalidArgument(
            f"{operation.name}: unknown parameter(s) {', '.join(unknown)}; accepted:"
            f" {', '.join(operation.params) or 'none'}"
        )
    return {name: _convert(name, source.getlist(name)) for name in source if name not in legacy}


def _required(operation: Operation, params: Mapping[str, Any]) -> None:
    missing = [name for name in operation.required if name not in params]
    if missing:
        raise InvalidArgument(
            f"{operation.name}: missing required parameter(s) {', '.join(missing)}"
        )


def _kwargs(params: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {to_snake(name): params[name] for name in names if name in params}


# -- responses ----------------------------------------------------------------------------


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    response = Response(json.dumps(body), status, mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _error(status: int, code: int, message: str) -> Response:
    return _json(
        {
            "code": code,
            "message": message,
            "more_info": _MORE_INFO.format(code=code),
            "status": status,
        },
        status,
    )


@dataclass
class _Call:
    """One request being served: the operation, its path values and parameters."""

    service: SandboxService
    operation: Operation
    path: dict[str, str]
    params: dict[str, Any]
    render: Renderer

    @property
    def engine(self) -> Engine:
        return self.service.engine

    @property
    def ws(self) -> str:
        return self.path.get("WorkspaceSid") or self.path["Sid"]

    def if_match(self) -> str | None:
        return request.headers.get("If-Match")

    def page(self, items: Sequence[Any], render: Callable[[Any], Any], key: str) -> Response:
        size = self.params.get("PageSize", DEFAULT_PAGE_SIZE)
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise InvalidArgument(f"PageSize: expected 1 to {MAX_PAGE_SIZE}, got {size}")
        token = self.params.get("PageToken")
        number = self.params.get("Page", 0)
        if token is not None:
            if not (isinstance(token, str) and token.startswith("PT") and token[2:].isdigit()):
                raise InvalidArgument(f"PageToken: not a token this API issued: {token!r}")
            start = int(token[2:])
        else:
            if number < 0:
                raise InvalidArgument(f"Page: expected 0 or more, got {number}")
            start = number * size
        number = start // size
        filters = {
            k: v
            for k, v in request.args.items(multi=True)
            if k not in ("PageSize", "Page", "PageToken")
        }
        path = self.render.base[: -len("/v1")] + request.path

        def url(page: int, offset: int) -> str:
            query = [*filters.items(), ("PageSize", str(size)), ("Page", str(page))]
            if offset:
                query.append(("PageToken", f"PT{offset}"))
            return f"{path}?{urlencode(query)}"

        chunk = items[start : start + size]
        more = start + size < len(items)
        return _json(
            {
                key: [render(item) for item in chunk],
                "meta": {
                    "page": number,
                    "page_size": size,
                    "first_page_url": url(0, 0),
                    "previous_page_url": url(number - 1, max(0, start - size)) if start else None,
                    "url": url(number, start),
                    "next_page_url": url(number + 1, start + size) if more else None,
                    "key": key,
                },
            }
        )


Handler = Callable[[_Call], Response]
_HANDLERS: dict[str, Handler] = {}


def _handles(*names: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in names:
            _HANDLERS[name] = handler
        return handler

    return register


def _etag(revision: int) -> dict[str, str]:
    return {"ETag": str(revision)}


def _workspace_collection(operation_noun: str, noun: str, *, revisioned: bool = False) -> None:
    """Register create, fetch, update and delete of one kind of resource in a workspace.

    They differ only by name: ``Create<OperationNoun>`` calls ``engine.create_<noun>`` and
    renders with ``render.<noun>``, and so on. A ``revisioned`` resource (workers, tasks)
    answers with its revision as ``ETag`` and takes ``If-Match`` on update and delete.
    """

    def answer(call: _Call, record: Any, status: int = 200) -> Response:
        headers = _etag(record.revision) if revisioned else None
        return _json(getattr(call.render, noun)(record), status, headers)

    def if_match(call: _Call) -> dict[str, Any]:
        return {"if_match": call.if_match()} if revisioned else {}

    def create(call: _Call) -> Response:
        record = getattr(call.engine, f"create_{noun}")(
            call.ws, **_kwargs(call.params, *call.operation.params)
        )
        return answer(call, record, 201)

    def fetch(call: _Call) -> Response:
        return answer(call, getattr(call.engine, noun)(call.ws, call.path["Sid"]))

    def update(call: _Call) -> Response:
        record = getattr(call.engine, f"update_{noun}")(
            call.ws,
            call.path["Sid"],
            **if_match(call),
            **_kwargs(call.params, *call.operation.params),
        )
        return answer(call, record)

    def delete(call: _Call) -> Response:
        getattr(call.engine, f"delete_{noun}")(call.ws, call.path["Sid"], **if_match(call))
        return Response(status=204)

    for verb, handler in (
        ("Create", create),
        ("Fetch", fetch),
        ("Update", update),
        ("Delete", delete),
    ):
        _HANDLERS[f"{verb}{operation_noun}"] = handler


for _operation_noun, _noun in (
    ("Activity", "activity"),
    ("TaskChannel", "task_channel"),
    ("TaskQueue", "task_queue"),
    ("Workflow", "workflow"),
):
    _workspace_collection(_operation_noun, _noun)
_workspace_collection("Worker", "worker", revisioned=True)
_workspace_collection("Task", "task", revisioned=True)


# -- workspaces ----------------------------------------------------------------------------


@_handles("ListWorkspace")
def _list_workspaces(call: _Call) -> Response:
    name = call.params.get("FriendlyName")
    items = [w for w in call.engine.workspaces.values() if name is None or w.friendly_name == name]
    return call.page(items, call.render.workspace, "workspaces")


@_handles("CreateWorkspace")
def _create_workspace(call: _Call) -> Response:
    record = call.engine.create_workspace(**_kwargs(call.params, *call.operation.params))
    return _json(call.render.workspace(record), 201)


@_handles("FetchWorkspace")
def _fetch_workspace(call: _Call) -> Response:
    return _json(call.render.workspace(call.engine.workspace(call.path["Sid"])))


@_handles("UpdateWorkspace")
def _update_workspace(call: _Call) -> Response:
    record = call.engine.update_workspace(
        call.path["Sid"], **_kwargs(call.params, *call.operation.params)
    )
    return _json(call.render.workspace(record))


@_handles("DeleteWorkspace")
def _delete_workspace(call: _Call) -> Response:
    call.engine.delete_workspace(call.path["Sid"])
    return Response(status=204)


# -- simple collections ---------------------------------------------------------------------


@_handles("ListActivity")
def _list_activities(call: _Call) -> Response:
    engine, ws = call.engine, call.ws
    engine.workspace(ws)
    name, available = call.params.get("FriendlyName"), call.params.get("Available")
    items = [
        a
        for a in engine.activities.values()
        if a.workspace_sid == ws
        and (name is None or a.friendly_name == name)
        and (available is None or a.available == available)
    ]
    return call.page(items, call.render.activity, "activities")


@_handles("ListTaskChannel")
def _list_task_channels(call: _Call) -> Response:
    call.engine.workspace(call.ws)
    items = [c for c in call.engine.task_channels.values() if c.workspace_sid == call.ws]
    return call.page(items, call.render.task_channel, "channels")


# -- task queues ----------------------------------------------------------------------------


@_handles("ListTaskQueue")
def _list_task_queues(call: _Call) -> Response:
    engine, ws, params = call.engine, call.ws, call.params
    engine.workspace(ws)
    items = [q for q in engine.task_queues.values() if q.workspace_sid == ws]
    if "FriendlyName" in params:
        items = [q for q in items if q.friendly_name == params["FriendlyName"]]
    if "WorkerSid" in params:
        items = [q for q in items if params["WorkerSid"] in q.eligible]
    if "EvaluateWorkerAttributes" in params:
        attributes = _json_object("EvaluateWorkerAttributes", params["EvaluateWorkerAttributes"])
        items = [q for q in items if q.target.evaluate(attributes)]
    _order(items, params.get("Ordering"), _QUEUE_ORDERS)
    return call.page(items, call.render.task_queue, "task_queues")


# -- workflows -------------------------------------------------------------------------------


@_handles("ListWorkflow")
def _list_workflows(call: _Call) -> Response:
    call.engine.workspace(call.ws)
    name = call.params.get("FriendlyName")
    items = [
        w
        for w in call.engine.workflows.values()
        if w.workspace_sid == call.ws and (name is None or w.friendly_name == name)
    ]
    return call.page(items, call.render.workflow, "workflows")


# -- workers --------------------------------------------------------------------------------


@_handles("ListWorker")
def _list_workers(call: _Call) -> Response:
    engine, ws, params = call.engine, call.ws, call.params
    engine.workspace(ws)
    items = [w for w in engine.workers.values() if w.workspace_sid == ws]
    if "ActivitySid" in params:
        items = [w for w in items if w.activity_sid == params["ActivitySid"]]
    if "ActivityName" in params:
        items = [
            w
            for w in items
            if engine.activities[w.activity_sid].friendly_name == params["ActivityName"]
        ]
    if "Available" in params:
        items = [
            w for w in items if engine.activities[w.activity_sid].available == params["Available"]
        ]
    if "FriendlyName" in params:
        items = [w for w in items if w.friendly_name == params["FriendlyName"]]
    if "TaskQueueSid" in params:
        queue = engine.task_queue(ws, params["TaskQueueSid"])
        items = [w for w in items if w.sid in queue.eligible]
    if "TaskQueueName" in params:
        names = {
            q.sid
            for q in engine.task_queues.values()
            if q.workspace_sid == ws and q.friendly_name == params["TaskQueueName"]
        }
        items = [w for w in items if w.queues & names]
    if "TargetWorkersExpression" in params:
        expression = _expression("TargetWorkersExpression", params["TargetWorkersExpression"])
        items = [w for w in items if expression.evaluate(w.view)]
    _order(items, params.get("Ordering"), _WORKER_ORDERS)
    return call.page(items, call.render.listed_worker, "workers")


@_handles("ListWorkerChannel")
def _list_worker_channels(call: _Call) -> Response:
    worker = call.engine.worker(call.ws, call.path["WorkerSid"])
    items = call.engine.worker_channels_of(worker.sid)
    return call.page(items, call.render.worker_channel, "channels")


@_handles("FetchWorkerChannel")
def _fetch_worker_channel(call: _Call) -> Response:
    record = _worker_channel(call)
    return _json(call.render.worker_channel(record))


@_handles("UpdateWorkerChannel")
def _update_worker_channel(call: _Call) -> Response:
    record = _worker_channel(call)
    call.engine.update_worker_channel(
        call.ws, record.worker_sid, record.sid, **_kwargs(call.params, "Capacity", "Available")
    )
    return _json(call.render.worker_channel(record))


def _worker_channel(call: _Call) -> Any:
    worker = call.engine.worker(call.ws, call.path["WorkerSid"])
    sid = call.path["Sid"]
    for record in call.engine.worker_channels_of(worker.sid):
        channel = call.engine.task_channels[record.task_channel_sid]
        if sid in (record.sid, channel.sid, channel.unique_name):
            return record
    raise NotFound(f"worker channel {sid} was not found for worker {worker.sid}")


# -- tasks and reservations -------------------------------------------------------------------


@_handles("ListTask")
def _list_tasks(call: _Call) -> Response:
    engine, ws, params = call.engine, call.ws, call.params
    engine.workspace(ws)
    items = [t for t in engine.tasks.values() if t.workspace_sid == ws]
    if "Priority" in params:
        items = [t for t in items if t.priority == params["Priority"]]
    if "AssignmentStatus" in params:
        wanted = params["AssignmentStatus"]
        statuses = set(wanted if isinstance(wanted, list) else wanted.split(","))
        unknown = statuses - {s.value for s in TaskStatus}
        if unknown:
            raise InvalidArgument(
                f"AssignmentStatus: unknown status(es) {', '.join(sorted(unknown))}"
            )
        items = [t for t in items if t.status.value in statuses]
    for param, attribute in (("WorkflowSid", "workflow_sid"), ("TaskQueueSid", "task_queue_sid")):
        if param in params:
            items = [t for t in items if getattr(t, attribute) == params[param]]
    if "WorkflowName" in params:
        items = [
            t
            for t in items
            if t.workflow_sid
            and engine.workflows[t.workflow_sid].friendly_name == params["WorkflowName"]
        ]
    if "TaskQueueName" in params:
        items = [
            t
            for t in items
            if t.task_queue_sid
            and engine.task_queues[t.task_queue_sid].friendly_name == params["TaskQueueName"]
        ]
    if "EvaluateTaskAttributes" in params:
        expression = _expression("EvaluateTaskAttributes", params["EvaluateTaskAttributes"])
        items = [t for t in items if expression.evaluate(t.attributes)]
    if "RoutingTarget" in params:
        items = [t for t in items if t.routing_target == params["RoutingTarget"]]
    _order(items, params.get("Ordering"), _TASK_ORDERS, apart=("DateCreated", "VirtualStartTime"))
    return call.page(items, call.render.listed_task, "tasks")


#: What a list's ``Ordering`` may sort by. Twilio documents the tasks' (``DateCreated``,
#: ``Priority``, ``VirtualStartTime``, the first and last never together); for workers and
#: task queues it says only "Sorting parameter", so we take their dates and names.
_TASK_ORDERS: dict[str, Callable[[Any], Any]] = {
    "DateCreated": lambda t: t.seq,
    "Priority": lambda t: t.priority,
    "VirtualStartTime": lambda t: (t.virtual_start_time or t.date_created, t.seq),
}
_WORKER_ORDERS: dict[str, Callable[[Any], Any]] = {
    "DateCreated": lambda w: w.seq,
    "DateUpdated": lambda w: w.date_updated,
    "DateStatusChanged": lambda w: w.date_status_changed,
    "FriendlyName": lambda w: w.friendly_name,
}
_QUEUE_ORDERS: dict[str, Callable[[Any], Any]] = {
    "DateCreated": lambda q: q.position,
    "DateUpdated": lambda q: q.date_updated,
    "FriendlyName": lambda q: q.friendly_name,
}


def _order(
    items: list[Any],
    ordering: str | None,
    keys: Mapping[str, Callable[[Any], Any]],
    *,
    apart: tuple[str, str] | None = None,
) -> None:
    """Sort ``items`` in place by an ``Ordering`` such as ``DateCreated:asc,Priority:desc``:
    each attribute sorts within the ones before it."""
    if not ordering:
        return
    sorts = []
    for part in str(ordering).split(","):
        name, _, direction = part.strip().partition(":")
        if name not in keys or direction.lower() not in ("asc", "desc"):
            raise InvalidArgument(
                f"Ordering: expected {' or '.join(keys)}, then :asc or :desc, got {part!r}"
            )
        sorts.append((name, direction.lower() == "desc"))
    if apart is not None and set(apart) <= {name for name, _ in sorts}:
        raise InvalidArgument(f"Ordering: {apart[0]} and {apart[1]} cannot be combined")
    for name, descending in reversed(sorts):  # stable sorts, last key first
        items.sort(key=keys[name], reverse=descending)


def _reservations(call: _Call, records: list[Any], via_worker: bool) -> Response:
    status = call.params.get("ReservationStatus")
    if status is not None and status not in {s.value for s in ReservationStatus}:
        raise InvalidArgument(f"ReservationStatus: unknown status {status!r}")
    worker_sid = call.params.get("WorkerSid")
    items = [
        r
        for r in records
        if (status is None or r.status.value == status)
        and (worker_sid is None or r.worker_sid == worker_sid)
    ]
    return call.page(
        items, lambda r: call.render.reservation(r, via_worker=via_worker), "reservations"
    )


@_handles("ListTaskReservation")
def _list_task_reservations(call: _Call) -> Response:
    task = call.engine.task(call.ws, call.path["TaskSid"])
    return _reservations(call, call.engine.reservations_of_task(task.sid), False)


@_handles("ListWorkerReservation")
def _list_worker_reservations(call: _Call) -> Response:
    worker = call.engine.worker(call.ws, call.path["WorkerSid"])
    return _reservations(call, call.engine.reservations_of_worker(worker.sid), True)


@_handles("FetchTaskReservation", "FetchWorkerReservation")
def _fetch_reservation(call: _Call) -> Response:
    record = call.engine.reservation(call.ws, call.path["Sid"])
    via_worker = "WorkerSid" in call.path
    if record.task_sid != call.path.get("TaskSid", record.task_sid) or record.worker_sid != (
        call.path.get("WorkerSid", record.worker_sid)
    ):
        raise NotFound(f"reservation {record.sid} was not found here")
    return _json(
        call.render.reservation(record, via_worker=via_worker), headers=_etag(record.revision)
    )


#: REST instruction parameters -> the snake_case keys of a callback answer.
_INSTRUCTION_KEYS = {
    "DequeueFrom": "from",
    "DequeueTo": "to",
    "DequeuePostWorkActivitySid": "post_work_activity_sid",
    "DequeueRecord": "record",
    "DequeueTimeout": "timeout",
    "DequeueStatusCallbackUrl": "status_callback_url",
    "DequeueStatusCallbackEvent": "status_callback_events",
    "CallFrom": "from",
    "CallTo": "to",
    "CallUrl": "url",
    "CallAccept": "accept",
    "CallRecord": "record",
    "CallTimeout": "timeout",
    "CallStatusCallbackUrl": "status_callback_url",
    "RedirectCallSid": "call_sid",
    "RedirectUrl": "url",
    "RedirectAccept": "accept",
    "From": "from",
}
_NOT_INSTRUCTION = {
    "ReservationStatus",
    "WorkerActivitySid",
    "Instruction",
    "Supervisor",
    "SupervisorMode",
}


@_handles("UpdateTaskReservation", "UpdateWorkerReservation")
def _update_reservation(call: _Call) -> Response:
    params = call.params
    record = call.engine.reservation(call.ws, call.path["Sid"])
    instruction = params.get("Instruction")
    parameters: dict[str, Any] = {}
    if instruction == "supervise":
        # Supervising needs a live conference; there is none to join here.
        return _json(call.render.reservation(record, via_worker="WorkerSid" in call.path))
    if instruction is not None:
        prefix = {"dequeue": "Dequeue", "call": "Call", "redirect": "Redirect"}.get(instruction)
        for name, value in params.items():
            if name in _NOT_INSTRUCTION:
                continue
            if prefix and not name.startswith(prefix) and name not in ("PostWorkActivitySid",):
                continue
            if prefix is None and name.startswith(("Dequeue", "Call", "Redirect")):
                continue
            parameters[_INSTRUCTION_KEYS.get(name, to_snake(name))] = value
        if instruction == "reject" and "WorkerActivitySid" in params:
            parameters["activity_sid"] = params["WorkerActivitySid"]
    record = call.engine.update_reservation(
        call.ws,
        call.path["Sid"],
        task_sid=call.path.get("TaskSid"),
        worker_sid=call.path.get("WorkerSid"),
        reservation_status=params.get("ReservationStatus"),
        worker_activity_sid=params.get("WorkerActivitySid"),
        instruction=instruction,
        parameters=parameters,
        if_match=call.if_match(),
    )
    return _json(
        call.render.reservation(record, via_worker="WorkerSid" in call.path),
        headers=_etag(record.revision),
    )


# -- events ---------------------------------------------------------------------------------


@_handles("ListEvent")
def _list_events(call: _Call) -> Response:
    engine, params = call.engine, call.params
    engine.workspace(call.ws)
    end = params.get("EndDate") or engine.now()
    if "StartDate" in params:
        start = params["StartDate"]
    else:
        minutes = params.get("Minutes", 15)
        if minutes < 1:
            raise InvalidArgument(f"Minutes: expected 1 or more, got {minutes}")
        try:
            start = end - timedelta(minutes=minutes)
        except OverflowError:
            raise InvalidArgument(f"Minutes: {minutes} reaches before the year 1") from None
    wanted_types = set(str(params["EventType"]).split(",")) if "EventType" in params else None
    filters = [name for name in _EVENT_FILTERS if name in params]

    def keep(event: EventRecord) -> bool:
        if wanted_types is not None and event.type not in wanted_types:
            return False
        if "Sid" in params and event.sid != params["Sid"]:
            return False
        if "TaskChannel" in params and params["TaskChannel"] not in _channels_of(event):
            return False
        return all(
            params[name] == event.resource_sid or params[name] in _EVENT_FILTERS[name](event)
            for name in filters
        )

    items = [event for event in engine.events_for(call.ws, start, end) if keep(event)]
    items.reverse()  # newest first, as the API lists events
    return call.page(items, call.render.event, "events")


def _channels_of(event: EventRecord) -> tuple[str | None, ...]:
    if event.task is not None:
        return (event.task.channel_sid, event.task.channel_unique_name)
    if event.channel is not None:
        return (event.channel.sid, event.channel.unique_name)
    if event.capacity is not None:
        return (event.capacity.channel_sid, event.capacity.channel_unique_name)
    return ()


#: The Events list's SID filters: an event matches when it names the SID (or is about it).
_EVENT_FILTERS: dict[str, Callable[[EventRecord], tuple[str | None, ...]]] = {
    "TaskSid": lambda e: (e.task.sid if e.task else None,),
    "WorkerSid": lambda e: (e.worker.sid if e.worker else None,),
    "ReservationSid": lambda e: (e.reservation_sid,),
    "TaskQueueSid": lambda e: (
        e.task.queue_sid if e.task else None,
        e.queue.sid if e.queue else None,
    ),
    "WorkflowSid": lambda e: (
        e.task.workflow_sid if e.task else None,
        e.workflow.sid if e.workflow else None,
    ),
}


@_handles("FetchEvent")
def _fetch_event(call: _Call) -> Response:
    event = call.engine.log.get(call.path["Sid"])
    if event is not None and event.workspace_sid == call.ws:
        return _json(call.render.event(event))
    raise NotFound(f"event {call.path['Sid']} was not found in workspace {call.ws}")


# -- statistics -----------------------------------------------------------------------------


def _window(call: _Call) -> dict[str, Any]:
    return _kwargs(call.params, "Minutes", "StartDate", "EndDate", "TaskChannel", "SplitByWaitTime")


def _stats(call: _Call, body: dict[str, Any], **sids: str) -> Response:
    path = request.path
    return _json(
        {
            "account_sid": call.engine.account_sid,
            "workspace_sid": call.ws,
            **sids,
            **body,
            "url": call.render.base[: -len("/v1")] + path,
        }
    )


@_handles("FetchWorkspaceStatistics")
def _workspace_statistics(call: _Call) -> Response:
    return _stats(call, statistics.workspace_statistics(call.engine, call.ws, **_window(call)))


@_handles("FetchWorkspaceRealTimeStatistics")
def _workspace_real_time(call: _Call) -> Response:
    body = statistics.workspace_real_time(
        call.engine, call.ws, **_kwargs(call.params, "TaskChannel")
    )
    return _stats(call, body)


@_handles("FetchWorkspaceCumulativeStatistics")
def _workspace_cumulative(call: _Call) -> Response:
    return _stats(call, statistics.workspace_cumulative(call.engine, call.ws, **_window(call)))


def _member_statistics(operation_noun: str, noun: str) -> None:
    """Register the plain, real-time and cumulative statistics of one workflow or queue.

    ``Fetch<OperationNoun>Statistics`` calls ``statistics.<noun>_statistics`` with the
    ``<OperationNoun>Sid`` of the path, and so on for the other two.
    """
    path_key = f"{operation_noun}Sid"
    sid_field = f"{noun}_sid"

    def handler(kind: str, real_time: bool) -> Handler:
        compute = getattr(statistics, f"{noun}_{kind}")

        def serve(call: _Call) -> Response:
            sid = call.path[path_key]
            options = _kwargs(call.params, "TaskChannel") if real_time else _window(call)
            body = compute(call.engine, call.ws, sid, **options)
            return _stats(call, body, **{sid_field: sid})

        return serve

    _HANDLERS[f"Fetch{operation_noun}Statistics"] = handler("statistics", False)
    _HANDLERS[f"Fetch{operation_noun}RealTimeStatistics"] = handler("real_time", True)
    _HANDLERS[f"Fetch{operation_noun}CumulativeStatistics"] = handler("cumulative", False)


_member_statistics("Workflow", "workflow")
_member_statistics("TaskQueue", "task_queue")


@_handles("ListTaskQueuesStatistics")
def _task_queues_statistics(call: _Call) -> Response:
    items = statistics.task_queues_statistics(
        call.engine, call.ws, **_kwargs(call.params, "FriendlyName"), **_window(call)
    )
    account, ws = call.engine.account_sid, call.ws
    return call.page(
        items,
        lambda item: {"account_sid": account, "workspace_sid": ws, **item},
        "task_queues_statistics",
    )


@_handles("CreateTaskQueueBulkRealTimeStatistics")
def _bulk_real_time(call: _Call) -> Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidArgument('body: expected a JSON object such as {"TaskQueueSids": [...]}')
    sids = body.get("TaskQueueSids")
    if not isinstance(sids, list) or not all(isinstance(s, str) for s in sids):
        raise InvalidArgument("TaskQueueSids: expected a list of TaskQueue SIDs")
    return _stats(call, statistics.task_queue_bulk_real_time(call.engine, call.ws, sids))


@_handles("FetchWorkerStatistics")
def _workers_statistics(call: _Call) -> Response:
    body = statistics.workers_statistics(
        call.engine, call.ws, **_kwargs(call.params, *call.operation.params)
    )
    return _stats(call, body)


@_handles("FetchWorkersRealTimeStatistics")
def _workers_real_time(call: _Call) -> Response:
    body = statistics.workers_real_time(call.engine, call.ws, **_kwargs(call.params, "TaskChannel"))
    return _stats(call, body)


@_handles("FetchWorkersCumulativeStatistics")
def _workers_cumulative(call: _Call) -> Response:
    body = statistics.workers_cumulative(
        call.engine, call.ws, **_kwargs(call.params, *call.operation.params)
    )
    return _stats(call, body)


@_handles("FetchWorkerInstanceStatistics")
def _worker_instance_statistics(call: _Call) -> Response:
    sid = call.path["WorkerSid"]
    body = statistics.worker_instance_statistics(
        call.engine, call.ws, sid, **_kwargs(call.params, *call.operation.params)
    )
    return _stats(call, body, worker_sid=sid)


# -- the application ----------------------------------------------------------------------


def _json_object(name: str, text: str) -> dict[str, Any]:
    return bounds.parse_json_object(name, text, max_chars=_JSON_CHARS[name])


def _expression(name: str, text: str) -> Expression:
    try:
        return compile_expression(text)
    except ExpressionError as exc:
        raise InvalidArgument(f"{name}: {exc}") from exc


def create_app(service: SandboxService, *, base_url: str | None = None) -> Flask:
    """The REST API as a Flask application.

    :param base_url: the URL resources link to; by default the URL each request came to.
    """
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    missing = sorted(set(OPERATIONS) - set(_HANDLERS))
    if missing:  # pragma: no cover - a programming error caught by the tests
        raise RuntimeError(f"no sandbox handler for {missing}")

    def authorized() -> bool:
        auth = request.authorization
        return (
            auth is not None
            and auth.type == "basic"
            and service.authenticates(auth.username or "", auth.password or "")
        )

    def view_for(operation: Operation) -> Callable[..., Response]:
        handler = _HANDLERS[operation.name]

        def view(**path: str) -> Response:
            if not authorized():
                return _error(401, 20003, "Authentication Error - invalid username or password")
            try:
                params = _params(operation)
                _required(operation, params)
                render = Renderer(service.engine, base_url or request.host_url)
                with service.lock, service.engine.transaction():
                    response = handler(_Call(service, operation, dict(path), params, render))
            except EngineError as exc:
                return _error(exc.status, exc.code, exc.message)
            except (OverflowError, RecursionError) as exc:
                # Dates out of range, JSON nested too deeply: bad input, not a failure.
                return _error(400, 20001, f"{operation.name}: a parameter is out of range ({exc})")
            return response

        view.__name__ = operation.name
        return view

    for operation in OPERATIONS.values():
        rule = operation.path.replace("{", "<").replace("}", ">")
        app.add_url_rule(rule, operation.name, view_for(operation), methods=[operation.method])

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 400
        code = {404: 20404, 405: 20004, 413: 20001}.get(status, 20001)
        return _error(status, code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("sandbox API failure")
        return _error(500, 20500, "Internal Server Error")

    return app
