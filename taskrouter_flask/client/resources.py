"""Every TaskRouter v1 operation, declared once and called through one code path.

Each operation of the API description is an :class:`Operation`: its method,
its path, the wire names of its parameters and the model its answer becomes.
Resource classes only say which operation a method is; :meth:`_Resource._call`
turns snake_case keyword arguments into the wire's PascalCase fields, encodes
values (JSON for dicts such as attributes and configurations, one field per
item for lists, as the API's array parameters want, ``true``/``false``, ISO
8601 dates), refuses
unknown or missing arguments before any request, and parses the answer.
Because the operations are data, a test can hold them against the API
description and fail on any path, method or parameter name we do not cover.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..errors import PayloadError
from ..models import (
    Activity,
    Event,
    Reservation,
    Statistics,
    Task,
    TaskChannel,
    TaskQueue,
    Worker,
    WorkerChannel,
    Workflow,
    Workspace,
)
from ..schemas import format_timestamp, load_resource
from .errors import InvalidResponse

if TYPE_CHECKING:
    from .client import TaskRouterClient

__all__ = ["OPERATIONS", "Operation", "Page", "to_snake"]

T = TypeVar("T")

_PAGING = ("PageSize", "Page", "PageToken")
_STATS_WINDOW = ("Minutes", "StartDate", "EndDate", "TaskChannel", "SplitByWaitTime")
_RESERVATION_UPDATE = (
    "ReservationStatus WorkerActivitySid Instruction DequeuePostWorkActivitySid DequeueFrom"
    " DequeueRecord DequeueTimeout DequeueTo DequeueStatusCallbackUrl CallFrom CallRecord"
    " CallTimeout CallTo CallUrl CallStatusCallbackUrl CallAccept RedirectCallSid RedirectAccept"
    " RedirectUrl To From StatusCallback StatusCallbackMethod StatusCallbackEvent Timeout Record"
    " Muted Beep StartConferenceOnEnter EndConferenceOnExit WaitUrl WaitMethod EarlyMedia"
    " MaxParticipants ConferenceStatusCallback ConferenceStatusCallbackMethod"
    " ConferenceStatusCallbackEvent ConferenceRecord ConferenceTrim RecordingChannels"
    " RecordingStatusCallback RecordingStatusCallbackMethod ConferenceRecordingStatusCallback"
    " ConferenceRecordingStatusCallbackMethod Region SipAuthUsername SipAuthPassword"
    " DequeueStatusCallbackEvent PostWorkActivitySid EndConferenceOnCustomerExit"
    " BeepOnCustomerEntrance JitterBufferSize"
).split()


def to_snake(wire: str) -> str:
    """``TaskQueueSid`` -> ``task_queue_sid``: the keyword argument for a wire parameter."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", wire).lower()


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of the REST API.

    :param name: the API description's ``operationId``.
    :param params: wire names of the form fields (POST) or query parameters (GET).
    :param required: the wire names among ``params`` that must be given.
    :param paged: the answer is a page of a list (``meta`` + items).
    :param if_match: the operation takes an ``If-Match`` header.
    :param json_body: the body is one JSON document instead of form fields.
    """

    name: str
    method: str
    path: str
    model: type | None
    params: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    paged: bool = False
    if_match: bool = False
    json_body: bool = False
    keywords: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keywords", {to_snake(w): w for w in self.params})


#: Every operation the client can call; the coverage test compares it with the API description.
OPERATIONS: dict[str, Operation] = {}


def _op(
    name: str,
    method: str,
    path: str,
    model: type | None,
    params: Iterable[str] = (),
    *,
    required: Iterable[str] = (),
    paged: bool = False,
    if_match: bool = False,
    json_body: bool = False,
) -> Operation:
    wire = tuple(params) + (_PAGING if paged else ())
    operation = Operation(
        name, method, path, model, wire, tuple(required), paged, if_match, json_body
    )
    OPERATIONS[name] = operation
    return operation


def _encode(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return str(to_json())
    if isinstance(value, str | int | float):
        return str(value)
    raise TypeError(f"cannot send a {type(value).__name__} as a TaskRouter parameter")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list, and how to get the next.

    :param items: this page's resources.
    :param next_page_url: where the next page is, or ``None`` on the last page.
    """

    items: list[T]
    next_page_url: str | None
    meta: Mapping[str, Any]
    _resource: _Resource[Any] = field(repr=False, compare=False)
    _operation: Operation = field(repr=False, compare=False)

    def next_page(self) -> Page[T] | None:
        """Fetch the next page, or return ``None`` on the last page."""
        if self.next_page_url is None:
            return None
        page: Page[T] = self._resource._fetch_page(self.next_page_url, None, self._operation)
        return page

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)


class _Resource(Generic[T]):
    """A group of operations sharing a path; subclasses bind methods to operations."""

    def __init__(self, client: TaskRouterClient, **parents: str) -> None:
        self._client = client
        self._parents = parents

    # -- the one code path -----------------------------------------------------------------

    def _call(self, operation: Operation, params: Mapping[str, Any], **path: str) -> Any:
        wire = self._wire_params(operation, params)
        headers = {}
        if_match = params.get("if_match")
        if if_match is not None:
            headers["If-Match"] = str(if_match)
        url = self._path(operation, path)
        if operation.method == "GET":
            body = self._client.transport.request("GET", url, params=wire, headers=headers)
        elif operation.method == "DELETE":
            self._client.transport.request("DELETE", url, headers=headers)
            return None
        elif operation.json_body:
            body = self._client.transport.request("POST", url, json=params.get("body"))
        else:
            body = self._client.transport.request("POST", url, data=wire, headers=headers)
        return self._parse(operation.model, body, operation.name)

    def _wire_params(
        self, operation: Operation, params: Mapping[str, Any]
    ) -> dict[str, str | list[str]]:
        allowed = dict(operation.keywords)
        extra = {"if_match"} if operation.if_match else set()
        if operation.json_body:
            extra.add("body")
        unknown = sorted(set(params) - set(allowed) - extra)
        if unknown:
            accepted = ", ".join(sorted(set(allowed) | extra)) or "none"
            raise TypeError(
                f"{operation.name}: unexpected keyword argument(s) {', '.join(unknown)};"
                f" accepted: {accepted}"
            )
        given = {allowed[k]: v for k, v in params.items() if k in allowed and v is not None}
        missing = [to_snake(w) for w in operation.required if w not in given]
        if missing:
            raise TypeError(
                f"{operation.name}: missing required keyword argument(s) {', '.join(missing)}"
            )
        return {
            name: [_encode(item) for item in value]
            if isinstance(value, list | tuple)
            else _encode(value)
            for name, value in given.items()
        }

    def _path(self, operation: Operation, values: Mapping[str, str]) -> str:
        known = {"WorkspaceSid": self._client.workspace_sid, **self._parents, **values}

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            value = known.get(name)
            if not value:
                if name == "WorkspaceSid":
                    raise ValueError(
                        f"{operation.name}: no workspace: pass workspace_sid to TaskRouterClient"
                        " or use client.for_workspace(sid)"
                    )
                raise ValueError(f"{operation.name}: {to_snake(name)} is required")
            if "/" in value or "?" in value or "#" in value:
                raise ValueError(f"{operation.name}: {to_snake(name)} must be a SID, got {value!r}")
            return value

        return re.sub(r"\{(\w+)\}", fill, operation.path)

    @staticmethod
    def _parse(model: type | None, body: Any, name: str) -> Any:
        if model is None or body is None:
            return body
        try:
            return load_resource(model, body)
        except PayloadError as exc:
            raise InvalidResponse(f"{name}: the answer is not a valid resource: {exc}") from exc

    # -- lists -------------------------------------------------------------------------------

    def _page(self, operation: Operation, params: Mapping[str, Any], **path: str) -> Page[Any]:
        wire = self._wire_params(operation, params)
        return self._fetch_page(self._path(operation, path), wire, operation)

    def _fetch_page(
        self, url: str, query: Mapping[str, str | list[str]] | None, operation: Operation
    ) -> Page[Any]:
        body = self._client.transport.request("GET", url, params=query)
        if not isinstance(body, Mapping) or not isinstance(body.get("meta"), Mapping):
            raise InvalidResponse(f"GET {url}: expected a page with 'meta', got {body!r:.200}")
        meta = body["meta"]
        key = meta.get("key")
        items = body.get(key) if isinstance(key, str) else None
        if not isinstance(items, list):
            raise InvalidResponse(f"GET {url}: the page has no list under {key!r}")
        parsed = [self._parse(operation.model, item, operation.name) for item in items]
        next_url = meta.get("next_page_url")
        return Page(parsed, next_url if isinstance(next_url, str) else None, meta, self, operation)

    def _iterate(
        self,
        operation: Operation,
        params: Mapping[str, Any],
        limit: int | None,
        **path: str,
    ) -> Iterator[Any]:
        if limit is not None and limit < 0:
            raise ValueError(f"limit: expected a number of items >= 0, got {limit}")
        # Check everything now, so a bad argument fails at the call, not at the first next().
        query = self._wire_params(operation, params)
        url = self._path(operation, path)
        return self._generate(operation, url, query, limit)

    def _generate(
        self,
        operation: Operation,
        url: str,
        query: Mapping[str, str | list[str]],
        limit: int | None,
    ) -> Iterator[Any]:
        if limit == 0:
            return
        count = 0
        page: Page[Any] | None = self._fetch_page(url, query, operation)
        while page is not None:
            for item in page.items:
                yield item
                count += 1
                if limit is not None and count >= limit:
                    return
            page = page.next_page()


class _Collection(_Resource[T]):
    """The usual five: list, create, fetch, update, delete (each where the API has it)."""

    _list: Operation | None = None
    _create: Operation | None = None
    _fetch: Operation | None = None
    _update: Operation | None = None
    _delete: Operation | None = None

    def list(self, *, limit: int | None = None, **filters: Any) -> Iterator[T]:
        """Iterate over the resources, fetching page after page as needed.

        :param limit: stop after this many items.
        :param filters: the operation's query filters, and ``page_size``.
        :raises TypeError: on an unknown filter, before any request.
        """
        iterator: Iterator[T] = self._iterate(_need(self._list, "list"), filters, limit)
        return iterator

    def page(self, **filters: Any) -> Page[T]:
        """Fetch one page; ``page.next_page()`` fetches the next."""
        page: Page[T] = self._page(_need(self._list, "page"), filters)
        return page

    def create(self, **params: Any) -> T:
        """Create a resource; keyword arguments are the operation's form fields in snake_case."""
        result: T = self._call(_need(self._create, "create"), params)
        return result

    def fetch(self, sid: str) -> T:
        """Fetch one resource by SID."""
        result: T = self._call(_need(self._fetch, "fetch"), {}, Sid=sid)
        return result

    def update(self, sid: str, **params: Any) -> T:
        """Update a resource; ``if_match=`` sends ``If-Match`` where the API takes it."""
        result: T = self._call(_need(self._update, "update"), params, Sid=sid)
        return result

    def delete(self, sid: str, **params: Any) -> None:
        """Delete a resource; ``if_match=`` sends ``If-Match`` where the API takes it."""
        self._call(_need(self._delete, "delete"), params, Sid=sid)


class _WithStatistics(_Collection[T]):
    """A collection whose members have plain, real-time and cumulative statistics."""

    _statistics: Operation
    _real_time: Operation
    _cumulative: Operation
    #: The path parameter naming the member, e.g. ``TaskQueueSid``.
    _member: str

    def statistics(self, sid: str, **window: Any) -> Statistics:
        """Cumulative and real-time statistics of member ``sid``."""
        result: Statistics = self._call(self._statistics, window, **{self._member: sid})
        return result

    def real_time_statistics(self, sid: str, **filters: Any) -> Statistics:
        """Real-time statistics of member ``sid``."""
        result: Statistics = self._call(self._real_time, filters, **{self._member: sid})
        return result

    def cumulative_statistics(self, sid: str, **window: Any) -> Statistics:
        """Cumulative statistics of member ``sid`` over a time window."""
        result: Statistics = self._call(self._cumulative, window, **{self._member: sid})
        return result


def _need(operation: Operation | None, what: str) -> Operation:
    if operation is None:
        raise AttributeError(f"this resource has no {what} operation")
    return operation


# -- workspaces ---------------------------------------------------------------------------------

_WS = "/v1/Workspaces"
_W = "/v1/Workspaces/{WorkspaceSid}"


class Workspaces(_WithStatistics[Workspace]):
    """``/v1/Workspaces``."""

    _member = "WorkspaceSid"
    _list = _op("ListWorkspace", "GET", _WS, Workspace, ["FriendlyName"], paged=True)
    _create = _op(
        "CreateWorkspace",
        "POST",
        _WS,
        Workspace,
        "FriendlyName EventCallbackUrl EventsFilter MultiTaskEnabled Template"
        " PrioritizeQueueOrder".split(),
        required=["FriendlyName"],
    )
    _fetch = _op("FetchWorkspace", "GET", _WS + "/{Sid}", Workspace)
    _update = _op(
        "UpdateWorkspace",
        "POST",
        _WS + "/{Sid}",
        Workspace,
        "DefaultActivitySid EventCallbackUrl EventsFilter FriendlyName MultiTaskEnabled"
        " TimeoutActivitySid PrioritizeQueueOrder".split(),
    )
    _delete = _op("DeleteWorkspace", "DELETE", _WS + "/{Sid}", None)
    _statistics = _op(
        "FetchWorkspaceStatistics", "GET", _W + "/Statistics", Statistics, _STATS_WINDOW
    )
    _real_time = _op(
        "FetchWorkspaceRealTimeStatistics",
        "GET",
        _W + "/RealTimeStatistics",
        Statistics,
        ["TaskChannel"],
    )
    _cumulative = _op(
        "FetchWorkspaceCumulativeStatistics",
        "GET",
        _W + "/CumulativeStatistics",
        Statistics,
        _STATS_WINDOW,
    )


class Activities(_Collection[Activity]):
    """``/v1/Workspaces/{WorkspaceSid}/Activities``."""

    _list = _op(
        "ListActivity",
        "GET",
        _W + "/Activities",
        Activity,
        ["FriendlyName", "Available"],
        paged=True,
    )
    _create = _op(
        "CreateActivity",
        "POST",
        _W + "/Activities",
        Activity,
        ["FriendlyName", "Available"],
        required=["FriendlyName"],
    )
    _fetch = _op("FetchActivity", "GET", _W + "/Activities/{Sid}", Activity)
    _update = _op("UpdateActivity", "POST", _W + "/Activities/{Sid}", Activity, ["FriendlyName"])
    _delete = _op("DeleteActivity", "DELETE", _W + "/Activities/{Sid}", None)


class Events(_Collection[Event]):
    """``/v1/Workspaces/{WorkspaceSid}/Events`` (read-only)."""

    _list = _op(
        "ListEvent",
        "GET",
        _W + "/Events",
        Event,
        "EndDate EventType Minutes ReservationSid StartDate TaskQueueSid TaskSid WorkerSid"
        " WorkflowSid TaskChannel Sid".split(),
        paged=True,
    )
    _fetch = _op("FetchEvent", "GET", _W + "/Events/{Sid}", Event)


class TaskChannels(_Collection[TaskChannel]):
    """``/v1/Workspaces/{WorkspaceSid}/TaskChannels``."""

    _list = _op("ListTaskChannel", "GET", _W + "/TaskChannels", TaskChannel, paged=True)
    _create = _op(
        "CreateTaskChannel",
        "POST",
        _W + "/TaskChannels",
        TaskChannel,
        ["FriendlyName", "UniqueName", "ChannelOptimizedRouting"],
        required=["FriendlyName", "UniqueName"],
    )
    _fetch = _op("FetchTaskChannel", "GET", _W + "/TaskChannels/{Sid}", TaskChannel)
    _update = _op(
        "UpdateTaskChannel",
        "POST",
        _W + "/TaskChannels/{Sid}",
        TaskChannel,
        ["FriendlyName", "ChannelOptimizedRouting"],
    )
    _delete = _op("DeleteTaskChannel", "DELETE", _W + "/TaskChannels/{Sid}", None)


class TaskQueues(_WithStatistics[TaskQueue]):
    """``/v1/Workspaces/{WorkspaceSid}/TaskQueues`` and their statistics."""

    _member = "TaskQueueSid"
    _list = _op(
        "ListTaskQueue",
        "GET",
        _W + "/TaskQueues",
        TaskQueue,
        ["FriendlyName", "EvaluateWorkerAttributes", "WorkerSid", "Ordering"],
        paged=True,
    )
    _create = _op(
        "CreateTaskQueue",
        "POST",
        _W + "/TaskQueues",
        TaskQueue,
        "FriendlyName TargetWorkers MaxReservedWorkers TaskOrder ReservationActivitySid"
        " AssignmentActivitySid".split(),
        required=["FriendlyName"],
    )
    _fetch = _op("FetchTaskQueue", "GET", _W + "/TaskQueues/{Sid}", TaskQueue)
    _update = _op(
        "UpdateTaskQueue",
        "POST",
        _W + "/TaskQueues/{Sid}",
        TaskQueue,
        "FriendlyName TargetWorkers ReservationActivitySid AssignmentActivitySid"
        " MaxReservedWorkers TaskOrder".split(),
    )
    _delete = _op("DeleteTaskQueue", "DELETE", _W + "/TaskQueues/{Sid}", None)
    _statistics = _op(
        "FetchTaskQueueStatistics",
        "GET",
        _W + "/TaskQueues/{TaskQueueSid}/Statistics",
        Statistics,
        _STATS_WINDOW,
    )
    _real_time = _op(
        "FetchTaskQueueRealTimeStatistics",
        "GET",
        _W + "/TaskQueues/{TaskQueueSid}/RealTimeStatistics",
        Statistics,
        ["TaskChannel"],
    )
    _cumulative = _op(
        "FetchTaskQueueCumulativeStatistics",
        "GET",
        _W + "/TaskQueues/{TaskQueueSid}/CumulativeStatistics",
        Statistics,
        _STATS_WINDOW,
    )
    _all_statistics = _op(
        "ListTaskQueuesStatistics",
        "GET",
        _W + "/TaskQueues/Statistics",
        Statistics,
        ("FriendlyName",) + _STATS_WINDOW,
        paged=True,
    )
    _bulk = _op(
        "CreateTaskQueueBulkRealTimeStatistics",
        "POST",
        _W + "/TaskQueues/RealTimeStatistics",
        Statistics,
        json_body=True,
    )

    def list_statistics(self, *, limit: int | None = None, **filters: Any) -> Iterator[Statistics]:
        """Iterate over the statistics of every queue, page by page."""
        iterator: Iterator[Statistics] = self._iterate(self._all_statistics, filters, limit)
        return iterator

    def bulk_real_time_statistics(self, body: Mapping[str, Any]) -> Statistics:
        """Real-time statistics of several queues in one request.

        :param body: the JSON document to send, e.g. ``{"TaskQueueSids": [...]}``.
        """
        result: Statistics = self._call(self._bulk, {"body": dict(body)})
        return result


class Workflows(_WithStatistics[Workflow]):
    """``/v1/Workspaces/{WorkspaceSid}/Workflows`` and their statistics."""

    _member = "WorkflowSid"
    _list = _op("ListWorkflow", "GET", _W + "/Workflows", Workflow, ["FriendlyName"], paged=True)
    _create = _op(
        "CreateWorkflow",
        "POST",
        _W + "/Workflows",
        Workflow,
        "FriendlyName Configuration AssignmentCallbackUrl FallbackAssignmentCallbackUrl"
        " TaskReservationTimeout".split(),
        required=["FriendlyName", "Configuration"],
    )
    _fetch = _op("FetchWorkflow", "GET", _W + "/Workflows/{Sid}", Workflow)
    _update = _op(
        "UpdateWorkflow",
        "POST",
        _W + "/Workflows/{Sid}",
        Workflow,
        "FriendlyName AssignmentCallbackUrl FallbackAssignmentCallbackUrl Configuration"
        " TaskReservationTimeout ReEvaluateTasks".split(),
    )
    _delete = _op("DeleteWorkflow", "DELETE", _W + "/Workflows/{Sid}", None)
    _statistics = _op(
        "FetchWorkflowStatistics",
        "GET",
        _W + "/Workflows/{WorkflowSid}/Statistics",
        Statistics,
        _STATS_WINDOW,
    )
    _real_time = _op(
        "FetchWorkflowRealTimeStatistics",
        "GET",
        _W + "/Workflows/{WorkflowSid}/RealTimeStatistics",
        Statistics,
        ["TaskChannel"],
    )
    _cumulative = _op(
        "FetchWorkflowCumulativeStatistics",
        "GET",
        _W + "/Workflows/{WorkflowSid}/CumulativeStatistics",
        Statistics,
        _STATS_WINDOW,
    )


class TaskReservations(_Collection[Reservation]):
    """``/v1/Workspaces/{WorkspaceSid}/Tasks/{TaskSid}/Reservations``."""

    _list = _op(
        "ListTaskReservation",
        "GET",
        _W + "/Tasks/{TaskSid}/Reservations",
        Reservation,
        ["ReservationStatus", "WorkerSid"],
        paged=True,
    )
    _fetch = _op(
        "FetchTaskReservation", "GET", _W + "/Tasks/{TaskSid}/Reservations/{Sid}", Reservation
    )
    _update = _op(
        "UpdateTaskReservation",
        "POST",
        _W + "/Tasks/{TaskSid}/Reservations/{Sid}",
        Reservation,
        _RESERVATION_UPDATE + ["SupervisorMode", "Supervisor"],
        if_match=True,
    )


class Tasks(_Collection[Task]):
    """``/v1/Workspaces/{WorkspaceSid}/Tasks``."""

    _list = _op(
        "ListTask",
        "GET",
        _W + "/Tasks",
        Task,
        "Priority AssignmentStatus WorkflowSid WorkflowName TaskQueueSid TaskQueueName"
        " EvaluateTaskAttributes RoutingTarget Ordering HasAddons".split(),
        paged=True,
    )
    _create = _op(
        "CreateTask",
        "POST",
        _W + "/Tasks",
        Task,
        "Timeout Priority TaskChannel WorkflowSid Attributes VirtualStartTime RoutingTarget"
        " IgnoreCapacity TaskQueueSid".split(),
    )
    _fetch = _op("FetchTask", "GET", _W + "/Tasks/{Sid}", Task)
    _update = _op(
        "UpdateTask",
        "POST",
        _W + "/Tasks/{Sid}",
        Task,
        "Attributes AssignmentStatus Reason Priority TaskChannel VirtualStartTime".split(),
        if_match=True,
    )
    _delete = _op("DeleteTask", "DELETE", _W + "/Tasks/{Sid}", None, if_match=True)

    def reservations(self, task_sid: str) -> TaskReservations:
        """The reservations of task ``task_sid``."""
        return TaskReservations(self._client, TaskSid=task_sid)


class WorkerChannels(_Collection[WorkerChannel]):
    """``/v1/Workspaces/{WorkspaceSid}/Workers/{WorkerSid}/Channels``."""

    _list = _op(
        "ListWorkerChannel",
        "GET",
        _W + "/Workers/{WorkerSid}/Channels",
        WorkerChannel,
        paged=True,
    )
    _fetch = _op(
        "FetchWorkerChannel", "GET", _W + "/Workers/{WorkerSid}/Channels/{Sid}", WorkerChannel
    )
    _update = _op(
        "UpdateWorkerChannel",
        "POST",
        _W + "/Workers/{WorkerSid}/Channels/{Sid}",
        WorkerChannel,
        ["Capacity", "Available"],
    )


class WorkerReservations(_Collection[Reservation]):
    """``/v1/Workspaces/{WorkspaceSid}/Workers/{WorkerSid}/Reservations``."""

    _list = _op(
        "ListWorkerReservation",
        "GET",
        _W + "/Workers/{WorkerSid}/Reservations",
        Reservation,
        ["ReservationStatus"],
        paged=True,
    )
    _fetch = _op(
        "FetchWorkerReservation",
        "GET",
        _W + "/Workers/{WorkerSid}/Reservations/{Sid}",
        Reservation,
    )
    _update = _op(
        "UpdateWorkerReservation",
        "POST",
        _W + "/Workers/{WorkerSid}/Reservations/{Sid}",
        Reservation,
        _RESERVATION_UPDATE,
        if_match=True,
    )


class Workers(_Collection[Worker]):
    """``/v1/Workspaces/{WorkspaceSid}/Workers`` and their statistics."""

    _list = _op(
        "ListWorker",
        "GET",
        _W + "/Workers",
        Worker,
        "ActivityName ActivitySid Available FriendlyName TargetWorkersExpression TaskQueueName"
        " TaskQueueSid Ordering".split(),
        paged=True,
    )
    _create = _op(
        "CreateWorker",
        "POST",
        _W + "/Workers",
        Worker,
        ["FriendlyName", "ActivitySid", "Attributes"],
        required=["FriendlyName"],
    )
    _fetch = _op("FetchWorker", "GET", _W + "/Workers/{Sid}", Worker)
    _update = _op(
        "UpdateWorker",
        "POST",
        _W + "/Workers/{Sid}",
        Worker,
        ["ActivitySid", "Attributes", "FriendlyName", "RejectPendingReservations"],
        if_match=True,
    )
    _delete = _op("DeleteWorker", "DELETE", _W + "/Workers/{Sid}", None, if_match=True)
    _statistics = _op(
        "FetchWorkerStatistics",
        "GET",
        _W + "/Workers/Statistics",
        Statistics,
        "Minutes StartDate EndDate TaskQueueSid TaskQueueName FriendlyName TaskChannel".split(),
    )
    _real_time = _op(
        "FetchWorkersRealTimeStatistics",
        "GET",
        _W + "/Workers/RealTimeStatistics",
        Statistics,
        ["TaskChannel"],
    )
    _cumulative = _op(
        "FetchWorkersCumulativeStatistics",
        "GET",
        _W + "/Workers/CumulativeStatistics",
        Statistics,
        ["EndDate", "Minutes", "StartDate", "TaskChannel"],
    )
    _instance_statistics = _op(
        "FetchWorkerInstanceStatistics",
        "GET",
        _W + "/Workers/{WorkerSid}/Statistics",
        Statistics,
        ["Minutes", "StartDate", "EndDate", "TaskChannel"],
    )

    def reservations(self, worker_sid: str) -> WorkerReservations:
        """The reservations of worker ``worker_sid``."""
        return WorkerReservations(self._client, WorkerSid=worker_sid)

    def channels(self, worker_sid: str) -> WorkerChannels:
        """The task-channel capacities of worker ``worker_sid``."""
        return WorkerChannels(self._client, WorkerSid=worker_sid)

    def statistics(self, **filters: Any) -> Statistics:
        """Cumulative and real-time statistics of all workers."""
        result: Statistics = self._call(self._statistics, filters)
        return result

    def real_time_statistics(self, **filters: Any) -> Statistics:
        """Real-time statistics of all workers."""
        result: Statistics = self._call(self._real_time, filters)
        return result

    def cumulative_statistics(self, **window: Any) -> Statistics:
        """Cumulative statistics of all workers over a time window."""
        result: Statistics = self._call(self._cumulative, window)
        return result

    def instance_statistics(self, worker_sid: str, **window: Any) -> Statistics:
        """Cumulative statistics of one worker."""
        result: Statistics = self._call(self._instance_statistics, window, WorkerSid=worker_sid)
        return result
