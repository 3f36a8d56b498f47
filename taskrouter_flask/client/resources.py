"""Every TaskRouter v1 operation, declared once and called through one code path.

Each operation of the API description is an :class:`Operation`: its method,
its path, the wire names of its parameters (their types come from the
description) and the model its answer becomes.
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

import functools
import json
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

from ..errors import PayloadError
from ..instructions import REST_PARAMETERS
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
from ..schemas import load_resource
from ..wire import format_timestamp, to_snake
from .errors import InvalidResponse
from .parameter_types import PARAMETER_TYPES, ParameterType

if TYPE_CHECKING:
    from .client import TaskRouterClient

__all__ = ["OPERATIONS", "Operation", "Page", "to_snake"]

T = TypeVar("T")

_PAGING = ("PageSize", "Page", "PageToken")
_STATS_WINDOW = ("Minutes", "StartDate", "EndDate", "TaskChannel", "SplitByWaitTime")
#: UpdateReservation's own parameters, then each instruction's, as the instructions declare
#: them (reject's ``WorkerActivitySid`` is one of the reservation's own).
_RESERVATION_UPDATE = list(
    dict.fromkeys(
        ["ReservationStatus", "WorkerActivitySid", "Instruction"]
        + [parameter.name for parameter in REST_PARAMETERS]
    )
)


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of the REST API.

    :param name: the API description's ``operationId``.
    :param params: wire names of the form fields (POST) or query parameters (GET).
    :param required: the wire names among ``params`` that must be given.
    :param paged: the answer is a page of a list (``meta`` + items).
    :param if_match: the operation takes an ``If-Match`` header.
    :param json_body: the body is one JSON document instead of form fields.

    ``types`` gives each parameter's type as Twilio's API description has it
    (:mod:`.parameter_types`), so the sandbox reads a parameter by its type and not by a
    list of names that a new parameter could be missing from.
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
    types: Mapping[str, ParameterType] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keywords", {to_snake(w): w for w in self.params})
        described = PARAMETER_TYPES.get(self.name, {})
        untyped = [w for w in self.params if w not in described]
        if untyped:
            raise ValueError(
                f"{self.name}: Twilio's API description gives no type for {', '.join(untyped)}"
                " (python -m tests.client.generate_parameter_types writes the types)"
            )
        object.__setattr__(self, "types", {w: described[w] for w in self.params})


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


# -- statistics ---------------------------------------------------------------------------------
#
# One naming scheme for every collection with statistics, so that a name says what it covers:
#
# - ``statistics(sid)``: one member's, cumulative and real-time together;
# - ``statistics_of_all()``: the whole collection's (every queue, all workers);
# - ``real_time_statistics_of_many(task_queue_sids=[...])``: several named members';
# - a ``real_time_`` or ``cumulative_`` prefix asks for that half only.
#
# A method exists where TaskRouter has the resource. The former names stay for one release as
# aliases that warn (:func:`_renamed`).

#: The window of the worker statistics: TaskRouter does not split them by wait time.
_WORKER_WINDOW = tuple(name for name in _STATS_WINDOW if name != "SplitByWaitTime")
#: Which workers the statistics of all workers count.
_WORKER_FILTERS = ("TaskQueueSid", "TaskQueueName", "FriendlyName")

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class _StatisticsOperations:
    """A scope's three statistics operations, which differ from other scopes' only by path."""

    combined: Operation
    real_time: Operation
    cumulative: Operation


def _statistics_operations(
    path: str,
    noun: str,
    window: Sequence[str] = _STATS_WINDOW,
    *,
    combined: tuple[str, Sequence[str]] | None = None,
) -> _StatisticsOperations:
    """Declare ``Fetch<noun>Statistics``, ``...RealTimeStatistics`` and ``...CumulativeStatistics``.

    Every scope has the three at ``<path>/Statistics``, ``/RealTimeStatistics`` and
    ``/CumulativeStatistics``, the real-time one taking only ``TaskChannel``.

    :param window: the cumulative (and combined) operation's parameters.
    :param combined: the combined operation's name and parameters, where the API's differ
        (all workers' is ``FetchWorkerStatistics``, and takes the worker filters too).
    """
    name, params = combined or (f"Fetch{noun}Statistics", window)
    return _StatisticsOperations(
        _op(name, "GET", path + "/Statistics", Statistics, params),
        _op(
            f"Fetch{noun}RealTimeStatistics",
            "GET",
            path + "/RealTimeStatistics",
            Statistics,
            ["TaskChannel"],
        ),
        _op(
            f"Fetch{noun}CumulativeStatistics",
            "GET",
            path + "/CumulativeStatistics",
            Statistics,
            window,
        ),
    )


def _deprecated(old: str, new: str) -> None:
    """Warn the caller's caller that ``old`` goes in the next release, and what replaces it."""
    warnings.warn(
        f"{old} is deprecated and will be removed in the next release; use {new}",
        DeprecationWarning,
        stacklevel=3,
    )


def _renamed(new: Callable[P, R], old: str) -> Callable[P, R]:
    """``new`` under its former name ``old``, for one release, warning at every call."""
    owner = new.__qualname__.rpartition(".")[0]

    @functools.wraps(new)
    def alias(*args: P.args, **kwargs: P.kwargs) -> R:
        _deprecated(f"{owner}.{old}()", f"{new.__qualname__}()")
        return new(*args, **kwargs)

    alias.__name__ = old
    alias.__qualname__ = f"{owner}.{old}"
    alias.__doc__ = f"Deprecated: the former name of :meth:`{new.__name__}`."
    return alias


class _WithStatistics(_Collection[T]):
    """A collection with statistics, all fetched through :meth:`_statistics`.

    One code path, so that a member's SID reaches its path the same way for every
    collection, and only the operation differs from method to method.
    """

    #: The path parameter naming a member, e.g. ``TaskQueueSid``.
    _member: str

    def _statistics(
        self, operation: Operation, params: Mapping[str, Any], sid: str | None = None
    ) -> Statistics:
        path = {} if sid is None else {self._member: sid}
        result: Statistics = self._call(operation, params, **path)
        return result


class _MemberStatistics(_WithStatistics[T]):
    """Workspaces, workflows and queues: each member has all three statistics resources.

    Workers are not among them: TaskRouter has one worker's cumulative statistics only.
    """

    _one: _StatisticsOperations

    def statistics(self, sid: str, **window: Any) -> Statistics:
        """Cumulative and real-time statistics of member ``sid``.

        :param window: ``minutes`` (15 by default), ``start_date``, ``end_date``,
            ``task_channel``, ``split_by_wait_time``.
        """
        return self._statistics(self._one.combined, window, sid)

    def real_time_statistics(self, sid: str, **filters: Any) -> Statistics:
        """Real-time statistics of member ``sid`` (``task_channel=`` to count one channel)."""
        return self._statistics(self._one.real_time, filters, sid)

    def cumulative_statistics(self, sid: str, **window: Any) -> Statistics:
        """Cumulative statistics of member ``sid`` over a window (see :meth:`statistics`)."""
        return self._statistics(self._one.cumulative, window, sid)


def _need(operation: Operation | None, what: str) -> Operation:
    if operation is None:
        raise AttributeError(f"this resource has no {what} operation")
    return operation


# -- workspaces ---------------------------------------------------------------------------------

_WS = "/v1/Workspaces"
_W = "/v1/Workspaces/{WorkspaceSid}"


class Workspaces(_MemberStatistics[Workspace]):
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
    _one = _statistics_operations(_W, "Workspace")


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


class TaskQueues(_MemberStatistics[TaskQueue]):
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
    _one = _statistics_operations(_W + "/TaskQueues/{TaskQueueSid}", "TaskQueue")
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

    def statistics_of_all(
        self, *, limit: int | None = None, **filters: Any
    ) -> Iterator[Statistics]:
        """Iterate over every queue's statistics (each with its ``task_queue_sid``), page by page.

        :param filters: ``friendly_name``, the window of :meth:`statistics`, ``page_size``.
        """
        iterator: Iterator[Statistics] = self._iterate(self._all_statistics, filters, limit)
        return iterator

    def real_time_statistics_of_many(self, *, task_queue_sids: Sequence[str]) -> Statistics:
        """Real-time statistics of the queues named, in one request, in the order given.

        :param task_queue_sids: the queues' SIDs (TaskRouter takes 1 to 50).
        :raises TypeError: for one string instead of a sequence of SIDs, before any request.
        """
        if isinstance(task_queue_sids, str) or not all(
            isinstance(sid, str) for sid in task_queue_sids
        ):
            raise TypeError(
                f"{self._bulk.name}: task_queue_sids: expected a sequence of task queue SIDs,"
                f" got {task_queue_sids!r:.100}"
            )
        return self._bulk_real_time({"TaskQueueSids": list(task_queue_sids)})

    def bulk_real_time_statistics(self, body: Mapping[str, Any]) -> Statistics:
        """Deprecated: :meth:`real_time_statistics_of_many` takes the SIDs as a keyword."""
        _deprecated(
            "TaskQueues.bulk_real_time_statistics(body)",
            "TaskQueues.real_time_statistics_of_many(task_queue_sids=[...])",
        )
        return self._bulk_real_time(body)

    def _bulk_real_time(self, body: Mapping[str, Any]) -> Statistics:
        result: Statistics = self._call(self._bulk, {"body": dict(body)})
        return result

    list_statistics = _renamed(statistics_of_all, "list_statistics")


class Workflows(_MemberStatistics[Workflow]):
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
    _one = _statistics_operations(_W + "/Workflows/{WorkflowSid}", "Workflow")


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


class Workers(_WithStatistics[Worker]):
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
    _member = "WorkerSid"
    _all = _statistics_operations(
        _W + "/Workers",
        "Workers",
        _WORKER_WINDOW,
        combined=("FetchWorkerStatistics", _WORKER_WINDOW + _WORKER_FILTERS),
    )
    _one = _op(
        "FetchWorkerInstanceStatistics",
        "GET",
        _W + "/Workers/{WorkerSid}/Statistics",
        Statistics,
        _WORKER_WINDOW,
    )

    def reservations(self, worker_sid: str) -> WorkerReservations:
        """The reservations of worker ``worker_sid``."""
        return WorkerReservations(self._client, WorkerSid=worker_sid)

    def channels(self, worker_sid: str) -> WorkerChannels:
        """The task-channel capacities of worker ``worker_sid``."""
        return WorkerChannels(self._client, WorkerSid=worker_sid)

    def statistics(self, sid: str | None = None, **window: Any) -> Statistics:
        """Cumulative statistics of worker ``sid`` (TaskRouter has no real-time half of one).

        :param window: ``minutes`` (15 by default), ``start_date``, ``end_date``,
            ``task_channel``.

        Without ``sid`` this is the former meaning, all workers' statistics: deprecated, use
        :meth:`statistics_of_all`.
        """
        if sid is None:
            _deprecated("Workers.statistics() without a worker SID", "Workers.statistics_of_all()")
            return self._statistics(self._all.combined, window)
        return self._statistics(self._one, window, sid)

    def statistics_of_all(self, **filters: Any) -> Statistics:
        """Cumulative and real-time statistics of all workers, or of those the filters keep.

        :param filters: the window of :meth:`statistics`, and ``task_queue_sid``,
            ``task_queue_name`` or ``friendly_name`` to count only some workers.
        """
        return self._statistics(self._all.combined, filters)

    def real_time_statistics_of_all(self, **filters: Any) -> Statistics:
        """How many workers are in each activity now (``task_channel=`` accepted)."""
        return self._statistics(self._all.real_time, filters)

    def cumulative_statistics_of_all(self, **window: Any) -> Statistics:
        """All workers' reservations and time per activity over a window."""
        return self._statistics(self._all.cumulative, window)

    def instance_statistics(self, worker_sid: str, **window: Any) -> Statistics:
        """Deprecated: the former name of :meth:`statistics`."""
        _deprecated("Workers.instance_statistics()", "Workers.statistics(sid)")
        return self._statistics(self._one, window, worker_sid)

    real_time_statistics = _renamed(real_time_statistics_of_all, "real_time_statistics")
    cumulative_statistics = _renamed(cumulative_statistics_of_all, "cumulative_statistics")
