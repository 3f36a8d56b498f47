"""The worker SDK's gateway: every SDK call, reads included, as one POST to ``/v1/wschannels``.

Twilio's TaskRouter JavaScript SDK does not call the REST API. It posts
``{"url", "method", "params", "token"}`` to its event bridge, ``url`` being relative
(``Workspaces/WS.../Workers/WK...``) and ``params`` JSON values, and reads ``{"payload": ...}``
back (errors carry ``message`` and ``status``). The gateway checks the access token
(:mod:`taskrouter_flask.access_token`) and its scope, finds the REST operation the URL names,
reads the parameters exactly as the REST API reads them (:mod:`.parameters`), and runs the
same engine commands under the same lock and transaction, answering in the SDK's shapes
(:mod:`.sdk_payloads`). It knows nothing of HTTP: :mod:`.wschannels` serves it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..access_token import AccessTokenError, WorkerGrant, read_worker_token
from ..client.resources import OPERATIONS, Operation
from ..wire import NonFiniteJSON, decode_json_object
from . import queries
from .api import SandboxService
from .bounds import MAX_PAGE_SIZE
from .clock import Clock
from .engine import Engine
from .errors import EngineError, InvalidArgument, NotFound
from .parameters import keywords, read_params, require, reservation_changes
from .sdk_payloads import SdkPayloads, page
from .state import ACTIVE_RESERVATION

__all__ = ["Gateway", "GatewayAnswer"]

#: The SDK's path for a worker's channels differs from the REST API's.
_ALIASES = (("/WorkerChannels", "/Channels"),)


@dataclass(frozen=True)
class GatewayAnswer:
    """What to answer: the status and the JSON body (``{"payload": ...}`` or an error)."""

    status: int
    body: dict[str, Any]


def _refusal(status: int, message: str, code: int = 20001) -> GatewayAnswer:
    return GatewayAnswer(status, {"message": message, "status": status, "code": code})


def _route(operation: Operation) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(operation.path))
    return re.compile(pattern)


_ROUTES = [(operation, _route(operation)) for operation in OPERATIONS.values()]


@dataclass
class _Call:
    engine: Engine
    payloads: SdkPayloads
    grant: WorkerGrant
    operation: Operation
    ws: str
    path: dict[str, str]
    params: dict[str, Any]
    if_match: str | None
    after_sid: str | None
    active_only: bool

    def own_worker(self, worker_sid: str) -> None:
        if not self.grant.reaches_worker(worker_sid):
            raise _Forbidden(
                f"a worker token for {self.grant.worker_sid} may not act on worker {worker_sid}"
            )

    def own_task(self, task_sid: str) -> None:
        if self.grant.role != "worker":
            return
        task = self.engine.task(self.ws, task_sid)
        mine = task.routing_target == self.grant.worker_sid or any(
            r.worker_sid == self.grant.worker_sid
            for r in self.engine.reservations_of_task(task.sid)
        )
        if not mine:
            raise _Forbidden(
                f"a worker token for {self.grant.worker_sid} may not act on task {task_sid},"
                " which was never reserved for it"
            )

    def size(self) -> int:
        """The SDK's ``PageSize`` (its own is 1,000, the most there is); its range was read
        with the other parameters."""
        return int(self.params.get("PageSize", MAX_PAGE_SIZE))


class _Forbidden(Exception):
    pass


def _fetched_or_updated(noun: str, check: Callable[[_Call, str], None]) -> Callable[[_Call], Any]:
    """Serve the fetch (GET) and the update (POST) of one revisioned resource by its SID.

    They run ``engine.<noun>`` and ``engine.update_<noun>``, with the SDK's ``If-Match``,
    after ``check`` has found the token may reach that SID.
    """

    def serve(call: _Call) -> Any:
        sid = call.path["Sid"]
        check(call, sid)
        if call.operation.method == "GET":
            record = getattr(call.engine, noun)(call.ws, sid)
        else:
            record = getattr(call.engine, f"update_{noun}")(
                call.ws,
                sid,
                if_match=call.if_match,
                **keywords(call.params, *call.operation.params),
            )
        return getattr(call.payloads, noun)(record)

    return serve


def _activities(call: _Call) -> Any:
    items = queries.ACTIVITIES.run(call.engine, call.ws, call.params)
    return page(items, call.payloads.activity, size=call.size(), after_sid=call.after_sid)


def _worker_channels(call: _Call) -> Any:
    worker = call.engine.worker(call.ws, call.path["WorkerSid"])
    call.own_worker(worker.sid)
    items = call.engine.worker_channels_of(worker.sid)
    return page(items, call.payloads.worker_channel, size=call.size(), after_sid=call.after_sid)


def _worker_channel(call: _Call) -> Any:
    worker_sid = call.path["WorkerSid"]
    call.own_worker(worker_sid)
    record = call.engine.worker_channel(call.ws, worker_sid, call.path["Sid"])
    if call.operation.method == "POST":
        call.engine.update_worker_channel(
            call.ws, worker_sid, record.sid, **keywords(call.params, "Capacity", "Available")
        )
    return call.payloads.worker_channel(record)


def _worker_reservations(call: _Call) -> Any:
    worker = call.engine.worker(call.ws, call.path["WorkerSid"])
    call.own_worker(worker.sid)
    records = call.engine.reservations_of_worker(worker.sid)
    items = queries.RESERVATIONS.run(call.engine, call.ws, call.params, records)
    if call.active_only:
        items = [r for r in items if r.status in ACTIVE_RESERVATION]
    return page(items, call.payloads.reservation, size=call.size(), after_sid=call.after_sid)


def _reservation(call: _Call) -> Any:
    record = call.engine.reservation(call.ws, call.path["Sid"])
    if record.task_sid != call.path.get("TaskSid", record.task_sid) or record.worker_sid != (
        call.path.get("WorkerSid", record.worker_sid)
    ):
        raise NotFound(f"reservation {record.sid} was not found here")
    call.own_worker(record.worker_sid)
    changes = reservation_changes(call.params) if call.operation.method == "POST" else None
    if changes is not None:
        record = call.engine.update_reservation(
            call.ws,
            record.sid,
            task_sid=call.path.get("TaskSid"),
            worker_sid=call.path.get("WorkerSid"),
            if_match=call.if_match,
            **changes,
        )
    return call.payloads.reservation(record)


def _create_task(call: _Call) -> Any:
    target = call.params.get("RoutingTarget")
    if call.grant.role == "worker" and target != call.grant.worker_sid:
        raise _Forbidden(
            "a worker token creates only tasks routed to its own worker"
            f" (RoutingTarget {call.grant.worker_sid})"
        )
    record = call.engine.create_task(call.ws, **keywords(call.params, *call.operation.params))
    return call.payloads.task(record)


#: The SDK's calls, by the REST operation each names, and what serves it.
_SERVED: Mapping[str, Callable[[_Call], Any]] = {
    "FetchWorker": _fetched_or_updated("worker", _Call.own_worker),
    "UpdateWorker": _fetched_or_updated("worker", _Call.own_worker),
    "ListActivity": _activities,
    "ListWorkerChannel": _worker_channels,
    "FetchWorkerChannel": _worker_channel,
    "UpdateWorkerChannel": _worker_channel,
    "ListWorkerReservation": _worker_reservations,
    "FetchWorkerReservation": _reservation,
    "UpdateWorkerReservation": _reservation,
    "FetchTaskReservation": _reservation,
    "UpdateTaskReservation": _reservation,
    "FetchTask": _fetched_or_updated("task", _Call.own_task),
    "UpdateTask": _fetched_or_updated("task", _Call.own_task),
    "CreateTask": _create_task,
}
#: Parameters the SDK sends that the REST operation does not take: its own paging key, and
#: the v2 reservation list's ``Active``.
_SDK_ONLY = ("AfterSid", "Active")


def _as_text(name: str, value: Any) -> list[str]:
    """A JSON value as the REST form would carry it, for the REST API's reading."""
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, int | float | str):
        return [str(value)]
    if isinstance(value, dict):
        return [json.dumps(value)]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise InvalidArgument(f"{name}: expected text, a number, a boolean or an object, got {value!r}")


class Gateway:
    """Serves the SDK's posts for one sandbox.

    :param service: the engine, its lock, and the API keys that tokens are checked against.
    :param clock: the sandbox's clock, against which tokens expire.
    """

    def __init__(self, service: SandboxService, clock: Clock) -> None:
        self.service = service
        self.clock = clock
        self.payloads = SdkPayloads(service.engine)

    def grant(self, token: str) -> WorkerGrant:
        """What ``token`` allows now.

        :raises AccessTokenError: when the sandbox would not accept it.
        """
        return read_worker_token(
            token,
            api_keys=self.service.api_keys,
            account_sid=self.service.account_sid,
            now=self.clock.now().timestamp(),
        )

    def handle(self, body: bytes, *, if_match: str | None = None) -> GatewayAnswer:
        """Answer one post: its body as sent (JSON, whatever the content type says)."""
        try:
            request = decode_json_object(body.decode("utf-8"))
        except (UnicodeDecodeError, NonFiniteJSON, ValueError) as exc:
            return _refusal(
                400, f"body: expected a JSON object {{url, method, params, token}} ({exc})"
            )
        url, method, params, token = (request.get(k) for k in ("url", "method", "params", "token"))
        if not isinstance(url, str) or not url:
            return _refusal(
                400, "url: expected the path of a resource, such as Workspaces/WS.../Workers/WK..."
            )
        if method not in ("GET", "POST"):
            return _refusal(400, f"method: expected GET or POST, got {method!r}")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            return _refusal(400, f"params: expected an object, got {type(params).__name__}")
        try:
            grant = self.grant(token if isinstance(token, str) else "")
        except AccessTokenError as exc:
            return _refusal(exc.status, exc.message, 20003)
        try:
            return GatewayAnswer(
                200, {"payload": self._serve(grant, url, method, params, if_match)}
            )
        except _Forbidden as exc:
            return _refusal(403, str(exc), 20403)
        except EngineError as exc:
            return _refusal(exc.status, exc.message, exc.code)
        except (OverflowError, RecursionError) as exc:
            return _refusal(400, f"a parameter is out of range ({exc})")

    def _serve(
        self,
        grant: WorkerGrant,
        url: str,
        method: str,
        params: dict[str, Any],
        if_match: str | None,
    ) -> Any:
        path = "/" + url.strip("/")
        if not path.startswith("/v1/"):
            path = "/v1" + path
        for alias, name in _ALIASES:
            path = path.replace(alias, name)
        operation, values = self._operation(method, path)
        ws = values.get("WorkspaceSid") or values.get("Sid", "")
        if ws != grant.workspace_sid:
            raise _Forbidden(f"the token is for workspace {grant.workspace_sid}, not {ws}")
        after = params.get("AfterSid")
        active = params.get("Active")
        text = {
            name: _as_text(name, value) for name, value in params.items() if name not in _SDK_ONLY
        }
        read = read_params(operation, text)
        require(operation, read)
        if after is not None and not isinstance(after, str):
            raise InvalidArgument(f"AfterSid: expected a SID, got {after!r}")
        engine = self.service.engine
        with self.service.lock, engine.transaction():
            call = _Call(
                engine=engine,
                payloads=self.payloads,
                grant=grant,
                operation=operation,
                ws=ws,
                path=values,
                params=read,
                if_match=if_match,
                after_sid=after,
                active_only=active in (True, "true", "True", "1"),
            )
            return _SERVED[operation.name](call)

    @staticmethod
    def _operation(method: str, path: str) -> tuple[Operation, dict[str, str]]:
        for operation, pattern in _ROUTES:
            if operation.method != method:
                continue
            match = pattern.fullmatch(path)
            if match is not None:
                if operation.name not in _SERVED:
                    raise NotFound(
                        f"{method} {path[len('/v1/') :]}: the REST API has it ({operation.name}),"
                        " but the worker SDK does not call it and the gateway does not serve it"
                    )
                return operation, match.groupdict()
        raise NotFound(
            f"{method} {path[len('/v1/') :]}: not a call the sandbox's gateway serves (transfers"
            " and conference participants need Twilio's voice conferences, which it has not)"
        )
