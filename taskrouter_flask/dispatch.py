"""Decide which handler answers a callback, run it, and shape the answer.

The registry belongs to one :class:`~taskrouter_flask.TaskRouter` object and
may serve several Flask applications, so nothing here knows about Flask or
about one application's configuration: the policies that vary per application
are passed in, and the result is a neutral :class:`Reply` (status and JSON
body) that the extension turns into a response. That keeps the rules testable
with plain function calls.

The rules:

* Assignment handlers are tried in registration order and the first whose
  matchers all accept the assignment answers. A handler registered with no
  matcher is the fallback, wherever it was registered. When nothing matches,
  the caller's :data:`UnmatchedPolicy` applies.
* Every event handler whose pattern matches runs, in registration order. One
  that raises is logged with its traceback and does not stop the others.
* A handler that raises (or returns something that is not an instruction) is
  passed to the error handler registered for its endpoint, if any; otherwise
  the answer is a 500 JSON error, which makes Twilio try the workflow's
  fallback URL.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, TypeVar

from .errors import InstructionError
from .expressions import compile_expression
from .instructions import Instruction, accept, instruction_from_dict, reject
from .models import EVENT_TYPES, Assignment, Event

__all__ = [
    "AssignmentHandler",
    "AssignmentRoute",
    "Dispatcher",
    "Endpoint",
    "ErrorHandler",
    "EventHandler",
    "EventRoute",
    "HandlerResult",
    "Reply",
    "UnmatchedPolicy",
]

log = logging.getLogger(__name__)

#: What an assignment handler may return.
HandlerResult: TypeAlias = Instruction | Mapping[str, Any] | None
AssignmentHandler: TypeAlias = Callable[[Assignment], HandlerResult]
EventHandler: TypeAlias = Callable[[Event], object]
#: Called as ``handler(exc, payload)``; for assignments its result is the answer.
ErrorHandler: TypeAlias = Callable[[Exception, Any], HandlerResult]
Endpoint: TypeAlias = Literal["assignment", "events"]
#: What to answer when no assignment handler matches: leave the reservation
#: pending (an empty 200, as when a workflow has no callback URL), accept it,
#: reject it, or answer 500 so Twilio calls the workflow's fallback URL.
UnmatchedPolicy: TypeAlias = Literal["pending", "accept", "reject", "error"]

UNMATCHED_POLICIES: tuple[UnmatchedPolicy, ...] = ("pending", "accept", "reject", "error")
ENDPOINTS: tuple[Endpoint, ...] = ("assignment", "events")

_F = TypeVar("_F", bound=Callable[..., Any])
_SID_PATTERN = r"[0-9a-fA-F]{32}"
_EVENT_PATTERN = re.compile(r"^[A-Za-z0-9_.*-]+$")

HANDLER_ERROR_MESSAGE = "a handler raised an error; the application log has the details"


@dataclass(frozen=True, slots=True)
class Reply:
    """A neutral answer to a callback: a status and an optional JSON object body."""

    status: int
    body: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class AssignmentRoute:
    """One registered assignment handler with its matchers."""

    handler: AssignmentHandler
    queues: frozenset[str] | None = None
    workflows: frozenset[str] | None = None
    when: Callable[[Assignment], object] | None = None

    @property
    def is_fallback(self) -> bool:
        """A route with no matcher answers whatever nothing else matched."""
        return self.queues is None and self.workflows is None and self.when is None

    def matches(self, assignment: Assignment) -> bool:
        """Tell whether every matcher of this route accepts ``assignment``."""
        if self.queues is not None and assignment.task_queue_sid not in self.queues:
            return False
        if self.workflows is not None and assignment.workflow_sid not in self.workflows:
            return False
        return self.when is None or bool(self.when(assignment))


@dataclass(frozen=True, slots=True)
class EventRoute:
    """One registered event handler with the event-type patterns it takes."""

    handler: EventHandler
    patterns: tuple[str, ...]
    _regex: re.Pattern[str]

    def matches(self, event_type: str) -> bool:
        """Tell whether ``event_type`` matches one of this route's patterns."""
        return self._regex.fullmatch(event_type) is not None


class Dispatcher:
    """The handler registry of one :class:`~taskrouter_flask.TaskRouter`."""

    def __init__(self) -> None:
        self.assignment_routes: list[AssignmentRoute] = []
        self.event_routes: list[EventRoute] = []
        self.error_handlers: dict[Endpoint, ErrorHandler] = {}

    # -- registration -------------------------------------------------------

    def add_assignment(
        self,
        handler: _F,
        *,
        queue: str | Iterable[str] | None = None,
        workflow: str | Iterable[str] | None = None,
        when: str | Callable[[Assignment], object] | None = None,
    ) -> _F:
        """Register an assignment handler; see :meth:`TaskRouter.assignment`.

        :raises ValueError: if a queue or workflow is not a SID.
        :raises ExpressionError: if ``when`` is an expression that does not parse.
        :raises TypeError: if ``when`` is neither an expression nor a callable.
        """
        if not callable(handler):
            raise TypeError(f"assignment handler: expected a callable, got {handler!r}")
        if isinstance(when, str):
            when = _expression_predicate(when)
        elif when is not None and not callable(when):
            raise TypeError(
                "when: expected a TaskRouter expression string or a callable taking the"
                f" Assignment, got {type(when).__name__}"
            )
        route = AssignmentRoute(
            handler=handler,
            queues=_sids("queue", "WQ", "TaskQueue", queue),
            workflows=_sids("workflow", "WW", "Workflow", workflow),
            when=when,
        )
        self.assignment_routes.append(route)
        return handler

    def add_event(self, handler: _F, patterns: Iterable[str]) -> _F:
        """Register an event handler; see :meth:`TaskRouter.event`.

        :raises ValueError: if a pattern is empty or has characters event types never have.
        """
        if not callable(handler):
            raise TypeError(f"event handler: expected a callable, got {handler!r}")
        patterns = tuple(patterns) or ("*",)
        for pattern in patterns:
            if not isinstance(pattern, str) or not _EVENT_PATTERN.match(pattern):
                raise ValueError(
                    f"event pattern {pattern!r}: expected an event type such as"
                    " 'task.created', or a wildcard such as 'reservation.*' or '*'"
                )
            if "*" not in pattern and pattern not in EVENT_TYPES:
                log.warning(
                    "event pattern %r is not a documented TaskRouter event type;"
                    " %s will only run if Twilio sends it",
                    pattern,
                    _name(handler),
                )
        regex = re.compile("|".join(re.escape(p).replace(r"\*", ".*") for p in patterns), re.DOTALL)
        self.event_routes.append(EventRoute(handler=handler, patterns=patterns, _regex=regex))
        return handler

    def set_error_handler(self, endpoint: Endpoint, handler: ErrorHandler) -> None:
        """Choose the answer when a handler of ``endpoint`` raises."""
        if endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint: expected one of {ENDPOINTS}, got {endpoint!r}")
        self.error_handlers[endpoint] = handler

    # -- dispatch -------------------------------------------------------------

    def route_for(self, assignment: Assignment) -> AssignmentRoute | None:
        """Return the route that answers ``assignment``: the first match, else the fallback.

        A ``when`` matcher that raises propagates: the caller treats it like
        a raising handler.
        """
        fallback: AssignmentRoute | None = None
        for route in self.assignment_routes:
            if route.is_fallback:
                if fallback is None:
                    fallback = route
            elif route.matches(assignment):
                return route
        return fallback

    def dispatch_assignment(
        self, assignment: Assignment, *, unmatched: UnmatchedPolicy = "pending"
    ) -> Reply:
        """Run the handler for ``assignment`` and return the answer to send."""
        try:
            route = self.route_for(assignment)
            if route is None:
                return self._unmatched(assignment, unmatched)
            return _instruction_reply(route.handler(assignment))
        except Exception as exc:
            log.exception(
                "assignment handler failed for reservation %s", assignment.reservation_sid
            )
            return self._recover("assignment", exc, assignment)

    def dispatch_event(self, event: Event) -> Reply:
        """Run every handler whose pattern matches ``event`` and return the answer to send."""
        failed: Exception | None = None
        ran = 0
        for route in self.event_routes:
            if not route.matches(event.type):
                continue
            ran += 1
            try:
                route.handler(event)
            except Exception as exc:
                log.exception(
                    "event handler %s failed for %s %s",
                    _name(route.handler),
                    event.type,
                    event.sid or event.resource_sid,
                )
                recovered = self._recover("events", exc, event)
                if failed is None and recovered.status >= 500:
                    failed = exc
        if ran == 0:
            log.debug("no handler for event %s", event.type)
        if failed is not None:
            return Reply(500, error_body("handler_error", HANDLER_ERROR_MESSAGE))
        return Reply(204)

    def _unmatched(self, assignment: Assignment, policy: UnmatchedPolicy) -> Reply:
        log.warning(
            "no assignment handler matches reservation %s (queue %s, workflow %s);"
            " answering with the %r policy",
            assignment.reservation_sid,
            assignment.task_queue_sid,
            assignment.workflow_sid,
            policy,
        )
        if policy == "accept":
            return _instruction_reply(accept())
        if policy == "reject":
            return _instruction_reply(reject())
        if policy == "error":
            return Reply(500, error_body("no_handler", "no assignment handler matches"))
        return Reply(200)

    def _recover(self, endpoint: Endpoint, exc: Exception, payload: Any) -> Reply:
        handler = self.error_handlers.get(endpoint)
        if handler is not None:
            try:
                result = handler(exc, payload)
                return _instruction_reply(result) if endpoint == "assignment" else Reply(204)
            except Exception:
                log.exception("the %s error handler %s itself failed", endpoint, _name(handler))
        return Reply(500, error_body("handler_error", HANDLER_ERROR_MESSAGE))


def _instruction_reply(result: object) -> Reply:
    """Coerce what a handler returned into the assignment answer.

    :raises InstructionError: if it is neither an instruction, a valid
        instruction dict, nor ``None``.
    """
    if isinstance(result, Instruction):
        return Reply(200, result.to_dict())
    if result is None:
        return Reply(200)
    if isinstance(result, Mapping):
        instruction = instruction_from_dict(result)
        return Reply(200, None if instruction is None else instruction.to_dict())
    raise InstructionError(
        "assignment handler: expected an instruction (accept(), reject(), ...), a dict or"
        f" None, got {type(result).__name__}",
        parameter="return value",
    )


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """Return the JSON error body every refusal of ours uses."""
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error}


def _sids(
    parameter: str, prefix: str, kind: str, value: str | Iterable[str] | None
) -> frozenset[str] | None:
    if value is None:
        return None
    values = [value] if isinstance(value, str) else list(value)
    if not values:
        raise ValueError(f"{parameter}: expected a {kind} SID or a list of them, got none")
    pattern = re.compile(prefix + _SID_PATTERN)
    for sid in values:
        if not isinstance(sid, str) or not pattern.fullmatch(sid):
            raise ValueError(
                f"{parameter}: expected a {kind} SID ('{prefix}' followed by 32 hex digits),"
                f" got {sid!r}"
            )
    return frozenset(values)


def _expression_predicate(text: str) -> Callable[[Assignment], bool]:
    """Compile ``text`` now (a bad expression fails at registration) into a matcher.

    Bare names are the task's attributes; ``task.`` and ``worker.`` names the
    task's and the worker's attributes.
    """
    evaluate = compile_expression(text).evaluate

    def matches(assignment: Assignment) -> bool:
        task = assignment.task.attributes
        return evaluate(task, task=task, worker=assignment.worker.attributes)

    matches.__qualname__ = f"when({text!r})"
    return matches


def _name(handler: Callable[..., Any]) -> str:
    return getattr(handler, "__qualname__", None) or repr(handler)
