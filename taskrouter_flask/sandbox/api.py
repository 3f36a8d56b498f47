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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from ..client.resources import OPERATIONS, Operation, to_snake
from . import queries, statistics
from .engine import Engine
from .errors import EngineError, InvalidArgument, NotFound
from .parameters import keywords, read_params, require, reservation_changes
from .render import Renderer

__all__ = ["MAX_BODY", "SandboxService", "create_app"]

log = logging.getLogger(__name__)

_MORE_INFO = "https://www.twilio.com/docs/errors/{code}"
#: The largest request body taken; a larger one is a 413 (whichever server reads it).
MAX_BODY = 1024 * 1024
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


def _form_or_query(operation: Operation) -> dict[str, Any]:
    """A GET reads its query; every other method its form body, with nothing in the query."""
    if operation.method != "GET" and request.args:
        raise InvalidArgument(
            f"{operation.name}: parameters go in the form body, not the query: "
            + ", ".join(sorted(set(request.args)))
        )
    source = request.args if operation.method == "GET" else request.form
    return read_params(operation, {name: source.getlist(name) for name in source})


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

    def page(
        self,
        items: Iterable[Any],
        render: Callable[[Any], Any],
        key: str,
        *,
        text: Callable[[Any], str] | None = None,
    ) -> Response:
        """One page of ``items``: only the page's records are taken from them and rendered.

        ``items`` may be lazy (a query's records as it finds them): the records before the
        page are skipped without being kept, and one record past it tells whether there is a
        next page. ``text``, when given, writes a record straight as its JSON text, the same
        text ``json.dumps(render(record))`` would give.
        """
        # PageSize and Page were read within bounds.PARAMETER_RANGES with the others.
        size = self.params.get("PageSize", DEFAULT_PAGE_SIZE)
        token = self.params.get("PageToken")
        number = self.params.get("Page", 0)
        if token is not None:
            if not (isinstance(token, str) and token.startswith("PT") and token[2:].isdigit()):
                raise InvalidArgument(f"PageToken: not a token this API issued: {token!r}")
            start = int(token[2:])
        else:
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

        if isinstance(items, Sequence):
            chunk = items[start : start + size + 1]
        else:
            chunk = list(islice(items, start, start + size + 1))
        more = len(chunk) > size
        if more:
            chunk = chunk[:size]
        meta = {
            "page": number,
            "page_size": size,
            "first_page_url": url(0, 0),
            "previous_page_url": url(number - 1, max(0, start - size)) if start else None,
            "url": url(number, start),
            "next_page_url": url(number + 1, start + size) if more else None,
            "key": key,
        }
        if text is None:
            return _json({key: [render(item) for item in chunk], "meta": meta})
        # What json.dumps writes for {key: [...], "meta": meta}, with each record's text.
        listed = ", ".join([text(item) for item in chunk])
        body = f'{{{json.dumps(key)}: [{listed}], "meta": {json.dumps(meta)}}}'
        return Response(body, 200, mimetype="application/json")


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
            call.ws, **keywords(call.params, *call.operation.params)
        )
        return answer(call, record, 201)

    def fetch(call: _Call) -> Response:
        return answer(call, getattr(call.engine, noun)(call.ws, call.path["Sid"]))

    def update(call: _Call) -> Response:
        record = getattr(call.engine, f"update_{noun}")(
            call.ws,
            call.path["Sid"],
            **if_match(call),
            **keywords(call.params, *call.operation.params),
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
    items = queries.WORKSPACES.select(call.engine, "", call.params)
    return call.page(items, call.render.workspace, "workspaces")


@_handles("CreateWorkspace")
def _create_workspace(call: _Call) -> Response:
    record = call.engine.create_workspace(**keywords(call.params, *call.operation.params))
    return _json(call.render.workspace(record), 201)


@_handles("FetchWorkspace")
def _fetch_workspace(call: _Call) -> Response:
    return _json(call.render.workspace(call.engine.workspace(call.path["Sid"])))


@_handles("UpdateWorkspace")
def _update_workspace(call: _Call) -> Response:
    record = call.engine.update_workspace(
        call.path["Sid"], **keywords(call.params, *call.operation.params)
    )
    return _json(call.render.workspace(record))


@_handles("DeleteWorkspace")
def _delete_workspace(call: _Call) -> Response:
    call.engine.delete_workspace(call.path["Sid"])
    return Response(status=204)


# -- simple collections ---------------------------------------------------------------------


@_handles("ListActivity")
def _list_activities(call: _Call) -> Response:
    items = queries.ACTIVITIES.select(call.engine, call.ws, call.params)
    return call.page(items, call.render.activity, "activities")


@_handles("ListTaskChannel")
def _list_task_channels(call: _Call) -> Response:
    items = queries.TASK_CHANNELS.select(call.engine, call.ws, call.params)
    return call.page(items, call.render.task_channel, "channels")


# -- task queues ----------------------------------------------------------------------------


@_handles("ListTaskQueue")
def _list_task_queues(call: _Call) -> Response:
    items = queries.TASK_QUEUES.select(call.engine, call.ws, call.params)
    return call.page(items, call.render.task_queue, "task_queues")


# -- workflows -------------------------------------------------------------------------------


@_handles("ListWorkflow")
def _list_workflows(call: _Call) -> Response:
    items = queries.WORKFLOWS.select(call.engine, call.ws, call.params)
    return call.page(items, call.render.workflow, "workflows")


# -- workers --------------------------------------------------------------------------------


@_handles("ListWorker")
def _list_workers(call: _Call) -> Response:
    items = queries.WORKERS.select(call.engine, call.ws, call.params)
    render = call.render
    return call.page(items, render.listed_worker, "workers", text=render.listed_worker_json)


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
        call.ws, record.worker_sid, record.sid, **keywords(call.params, "Capacity", "Available")
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
    items = queries.TASKS.select(call.engine, call.ws, call.params)
    render = call.render
    return call.page(items, render.listed_task, "tasks", text=render.listed_task_json)


def _reservations(call: _Call, records: list[Any], via_worker: bool) -> Response:
    items = queries.RESERVATIONS.select(call.engine, call.ws, call.params, records)
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


@_handles("UpdateTaskReservation", "UpdateWorkerReservation")
def _update_reservation(call: _Call) -> Response:
    record = call.engine.reservation(call.ws, call.path["Sid"])
    changes = reservation_changes(call.params)
    if changes is not None:
        record = call.engine.update_reservation(
            call.ws,
            call.path["Sid"],
            task_sid=call.path.get("TaskSid"),
            worker_sid=call.path.get("WorkerSid"),
            if_match=call.if_match(),
            **changes,
        )
    return _json(
        call.render.reservation(record, via_worker="WorkerSid" in call.path),
        headers=_etag(record.revision),
    )


# -- events ---------------------------------------------------------------------------------


@_handles("ListEvent")
def _list_events(call: _Call) -> Response:
    items = queries.EVENTS.select(call.engine, call.ws, call.params)
    return call.page(items, call.render.event, "events")


@_handles("FetchEvent")
def _fetch_event(call: _Call) -> Response:
    event = call.engine.log.get(call.path["Sid"])
    if event is not None and event.workspace_sid == call.ws:
        return _json(call.render.event(event))
    raise NotFound(f"event {call.path['Sid']} was not found in workspace {call.ws}")


# -- statistics -----------------------------------------------------------------------------


def _window(call: _Call) -> dict[str, Any]:
    """The request's statistics window, under the names :class:`statistics.WindowOptions` gives.

    The one place the window parameters are read: which of them an operation takes is its
    parameter list's business, and ``_params`` has refused the others already.
    """
    names = statistics.WindowOptions.__optional_keys__
    return {to_snake(wire): value for wire, value in call.params.items() if to_snake(wire) in names}


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


def _scope_statistics(
    noun: str,
    scope: Callable[..., statistics.Scope],
    *,
    member: str | None = None,
    filters: Sequence[str] = (),
    combined: str | None = None,
    halves: bool = True,
) -> None:
    """Serve ``Fetch<noun>Statistics`` and its ``RealTime`` and ``Cumulative`` halves.

    The three differ only by what they compute over one scope, so each scope is declared once,
    below, as the client declares its operations.

    :param scope: builds the scope from the workspace SID, then the path's ``member`` SID,
        then the ``filters`` the request gave (as keyword arguments).
    :param member: the path parameter naming the resource; the answer repeats it
        (``WorkflowSid`` as ``workflow_sid``).
    :param combined: the combined operation's name where the API's differs.
    :param halves: whether the scope has the real-time and cumulative operations too.
    """

    def serving(compute: Callable[..., dict[str, Any]]) -> Handler:
        def serve(call: _Call) -> Response:
            sids = {to_snake(member): call.path[member]} if member else {}
            built = scope(call.ws, *sids.values(), **keywords(call.params, *filters))
            return _stats(call, compute(call.engine, built, **_window(call)), **sids)

        return serve

    _HANDLERS[combined or f"Fetch{noun}Statistics"] = serving(statistics.combined)
    if halves:
        _HANDLERS[f"Fetch{noun}RealTimeStatistics"] = serving(statistics.real_time)
        _HANDLERS[f"Fetch{noun}CumulativeStatistics"] = serving(statistics.cumulative)


_scope_statistics("Workspace", statistics.WorkspaceScope)
_scope_statistics("Workflow", statistics.WorkflowScope, member="WorkflowSid")
_scope_statistics("TaskQueue", statistics.TaskQueueScope, member="TaskQueueSid")
_scope_statistics(
    "Workers",
    statistics.WorkersScope,
    filters=("TaskQueueSid", "TaskQueueName", "FriendlyName"),
    combined="FetchWorkerStatistics",
)
_scope_statistics("WorkerInstance", statistics.WorkerScope, member="WorkerSid", halves=False)


@_handles("ListTaskQueuesStatistics")
def _task_queues_statistics(call: _Call) -> Response:
    items = statistics.task_queues_statistics(
        call.engine, call.ws, **keywords(call.params, "FriendlyName"), **_window(call)
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


# -- the application ----------------------------------------------------------------------


def create_app(service: SandboxService, *, base_url: str | None = None) -> Flask:
    """The REST API as a Flask application.

    :param base_url: the URL resources link to; by default the URL each request came to.
    """
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
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
                params = _form_or_query(operation)
                require(operation, params)
                # request.host_url, without its IRI round trip (a fifth of a small request)
                here = f"{request.scheme}://{request.host}/"
                render = Renderer(service.engine, base_url or here)
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
