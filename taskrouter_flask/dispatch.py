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
* A ``queue=`` or ``workflow=`` matcher takes SIDs, compared as they are, and
  friendly names, which the caller's :class:`NameResolver` turns into SIDs of
  the callback's workspace when they are first needed (never at
  registration). A name that no queue or workflow has, even after the
  resolver looked again, matches nothing: the handler is passed over and a
  WARNING naming it and the workspace is logged once.
* Every event handler whose pattern matches runs, in registration order. One
  that raises is logged with its traceback and does not stop the others.
* A handler that raises (or returns something that is not an instruction) is
  passed to the error handler registered for its endpoint, if any; otherwise
  the answer is a 500 JSON error, which makes Twilio try the workflow's
  fallback URL.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeAlias, TypeVar

from .errors import InstructionError, NameResolutionError
from .expressions import compile_expression
from .instructions import Instruction, accept, instruction_from_dict, reject
from .models import EVENT_TYPES, Assignment, Event
from .wire import HEX_DIGIT, sid_pattern

__all__ = [
    "AssignmentHandler",
    "AssignmentRoute",
    "Dispatcher",
    "Endpoint",
    "ErrorHandler",
    "EventHandler",
    "EventRoute",
    "HandlerResult",
    "NameKind",
    "NameMatcher",
    "NameResolver",
    "NameTable",
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
#: What a name in a matcher names: a task queue or a workflow.
NameKind: TypeAlias = Literal["queue", "workflow"]
ENDPOINTS: tuple[Endpoint, ...] = ("assignment", "events")

_F = TypeVar("_F", bound=Callable[..., Any])
_ANY_SID = sid_pattern()
_KINDS: dict[NameKind, tuple[str, str, str]] = {
    # kind: (SID prefix, resource name, what a name is one of)
    "queue": ("WQ", "TaskQueue", "task queue"),
    "workflow": ("WW", "Workflow", "workflow"),
}
_EVENT_PATTERN = re.compile(r"^[A-Za-z0-9_.*-]+$")

#: A handler slower than this is logged at WARNING: Twilio waits 5 s for an
#: assignment answer, so a handler near it is about to cost a fallback.
SLOW_HANDLER_SECONDS = 3.0

HANDLER_ERROR_MESSAGE = "a handler raised an error; the application log has the details"


@dataclass(frozen=True, slots=True)
class Reply:
    """A neutral answer to a callback: a status and an optional JSON object body."""

    status: int
    body: Mapping[str, Any] | None = None

    def content(self) -> bytes:
        """The body as sent: compact JSON, or nothing."""
        return b"" if self.body is None else json.dumps(self.body, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class NameTable:
    """The task queues (or workflows) of one workspace by friendly name, as last listed.

    :param by_name: each friendly name and the SIDs that have it.
    :param sids: every SID the listing had, so a SID missing from it tells
        that the listing is out of date.
    :param loaded_at: when the listing was made, on the resolver's clock.
    """

    workspace_sid: str
    by_name: Mapping[str, frozenset[str]]
    sids: frozenset[str]
    loaded_at: float = 0.0


class NameResolver(Protocol):
    """Turns friendly names into SIDs for :class:`NameMatcher`; the extension supplies one.

    ``table`` is on the hot path and must not do I/O; ``refresh`` may list the
    workspace's queues or workflows, and bounds how often it does.
    """

    def table(self, kind: NameKind, workspace_sid: str) -> NameTable | None:
        """The cached listing, or ``None`` if there is none or it is too old."""
        ...

    def refresh(self, kind: NameKind, workspace_sid: str) -> NameTable:
        """List again unless that was tried very recently; return the newest listing.

        :raises NameResolutionError: if there is no listing at all and none can be made.
        """
        ...


class NameMatcher:
    """A ``queue=`` or ``workflow=`` matcher: SIDs, and names resolved when first needed.

    A SID of the callback is accepted if it is one of the SIDs given, or a
    SID that one of the names has in the callback's workspace. The resolver
    is asked to list again when it has no listing, when the callback's SID is
    not in its listing (a queue created or renamed since), or while a name is
    unknown; how often it actually lists is its business.
    """

    __slots__ = ("_lock", "_seen", "_warned", "kind", "names", "sids")

    def __init__(self, kind: NameKind, sids: frozenset[str], names: frozenset[str]) -> None:
        self.kind = kind
        self.sids = sids
        self.names = names
        # (the listing last resolved against, the SIDs the names had in it, names it lacked);
        # replaced as a whole, so threads reading it never see half an update.
        self._seen: tuple[NameTable, frozenset[str], tuple[str, ...]] | None = None
        self._warned: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"NameMatcher({self.kind!r}, {sorted(self.sids | self.names)!r})"

    def accepts(
        self, sid: str, workspace_sid: str, resolver: NameResolver | None, handler: object = None
    ) -> bool:
        """Tell whether ``sid`` (of a callback from ``workspace_sid``) is one this matcher names.

        :raises NameResolutionError: if names must be resolved and cannot be
            (no resolver, or the workspace's listing cannot be made).
        """
        if sid in self.sids:
            return True
        if not self.names:
            return False
        if resolver is None:
            raise NameResolutionError(
                f"{self.kind}: the names {sorted(self.names)} need a name resolver;"
                " dispatch through the TaskRouter extension (or pass names=)"
            )
        table = resolver.table(self.kind, workspace_sid)
        if table is None or sid not in table.sids:
            table = resolver.refresh(self.kind, workspace_sid)
        seen = self._seen
        if seen is None or seen[0] is not table:
            seen = self._resolve(table)
        if seen[2]:
            newer = resolver.refresh(self.kind, workspace_sid)  # bounded by the resolver
            if newer is not table:
                seen = self._resolve(newer)
            if seen[2]:
                self._warn(seen[0].workspace_sid, seen[2], handler)
        return sid in seen[1]

    def _resolve(self, table: NameTable) -> tuple[NameTable, frozenset[str], tuple[str, ...]]:
        seen = self._seen
        if seen is not None and seen[0] is table:
            return seen
        resolved: set[str] = set()
        missing: list[str] = []
        for name in sorted(self.names):
            sids = table.by_name.get(name)
            if sids:
                resolved.update(sids)
            else:
                missing.append(name)
        with self._lock:
            self._warned.difference_update(
                (table.workspace_sid, name) for name in self.names if name not in missing
            )
        seen = (table, frozenset(resolved), tuple(missing))
        self._seen = seen
        return seen

    def _warn(self, workspace_sid: str, missing: tuple[str, ...], handler: object) -> None:
        what = _KINDS[self.kind][2]
        for name in missing:
            key = (workspace_sid, name)
            with self._lock:
                if key in self._warned:
                    continue
                self._warned.add(key)
            log.warning(
                "workspace %s has no %s named %r: assignment handler %s (%s=%r) does not"
                " match until one exists",
                workspace_sid,
                what,
                name,
                _name(handler) if callable(handler) else "?",
                self.kind,
                name,
            )


@dataclass(frozen=True, slots=True)
class AssignmentRoute:
    """One registered assignment handler with its matchers."""

    handler: AssignmentHandler
    queues: NameMatcher | None = None
    workflows: NameMatcher | None = None
    when: Callable[[Assignment], object] | None = None

    @property
    def is_fallback(self) -> bool:
        """A route with no matcher answers whatever nothing else matched."""
        return self.queues is None and self.workflows is None and self.when is None

    def matches(self, assignment: Assignment, names: NameResolver | None = None) -> bool:
        """Tell whether every matcher of this route accepts ``assignment``.

        :param names: resolves the friendly names of ``queue=`` and ``workflow=``.
        :raises NameResolutionError: if a name must be resolved and cannot be.
        """
        queues = self.queues
        if queues is not None and not queues.accepts(
            assignment.task_queue_sid, assignment.workspace_sid, names, self.handler
        ):
            return False
        workflows = self.workflows
        if workflows is not None and not workflows.accepts(
            assignment.workflow_sid, assignment.workspace_sid, names, self.handler
        ):
            return False
        return self.when is None or bool(self.when(assignment))


@dataclass(frozen=True, slots=True)
class EventRoute:
    """One registered event handler with the event-type patterns it takes."""

    handler: EventHandler
    patterns: tuple[str, ...]
    _regex: re.Pattern[str]
    #: The handler's name across processes and restarts (``module.qualname``, with
    #: ``#2``... for a repeat), by which its completion of an event is remembered.
    key: str = ""

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

        A queue or workflow is a SID (``WQ``/``WW`` and 32 hex digits) or a
        friendly name; names are resolved at dispatch, not here.

        :raises ValueError: if a queue or workflow is neither a SID nor a name
            (empty, not a string, a malformed SID or another resource's SID).
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
            queues=_matcher("queue", queue),
            workflows=_matcher("workflow", workflow),
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
        key = f"{getattr(handler, '__module__', None) or '?'}.{_name(handler)}"
        taken = {route.key for route in self.event_routes}
        unique, number = key, 1
        while unique in taken:
            number += 1
            unique = f"{key}#{number}"
        self.event_routes.append(
            EventRoute(handler=handler, patterns=patterns, _regex=regex, key=unique)
        )
        return handler

    def set_error_handler(self, endpoint: Endpoint, handler: ErrorHandler) -> None:
        """Choose the answer when a handler of ``endpoint`` raises."""
        if endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint: expected one of {ENDPOINTS}, got {endpoint!r}")
        self.error_handlers[endpoint] = handler

    # -- dispatch -------------------------------------------------------------

    def route_for(
        self, assignment: Assignment, *, names: NameResolver | None = None
    ) -> AssignmentRoute | None:
        """Return the route that answers ``assignment``: the first match, else the fallback.

        A ``when`` matcher that raises propagates, as does a name that cannot
        be resolved: the caller treats either like a raising handler.
        """
        fallback: AssignmentRoute | None = None
        for route in self.assignment_routes:
            if route.is_fallback:
                if fallback is None:
                    fallback = route
            elif route.matches(assignment, names):
                return route
        return fallback

    def dispatch_assignment(
        self,
        assignment: Assignment,
        *,
        unmatched: UnmatchedPolicy = "pending",
        names: NameResolver | None = None,
        slow: float = SLOW_HANDLER_SECONDS,
    ) -> Reply:
        """Run the handler for ``assignment`` and return the answer to send.

        :param names: resolves the friendly names in ``queue=`` and ``workflow=``
            matchers; needed only if a handler was registered with one.
        :param slow: seconds after which the handler's run is logged at WARNING.
        """
        try:
            route = self.route_for(assignment, names=names)
            if route is None:
                return self._unmatched(assignment, unmatched)
            started = time.perf_counter()
            try:
                result = route.handler(assignment)
            finally:
                _warn_if_slow(route.handler, started, slow, assignment.reservation_sid)
            return _instruction_reply(result)
        except NameResolutionError as exc:
            log.error(
                "cannot choose the handler for reservation %s: %s",
                assignment.reservation_sid,
                exc.message,
            )
            return self._recover("assignment", exc, assignment)
        except Exception as exc:
            log.exception(
                "assignment handler failed for reservation %s", assignment.reservation_sid
            )
            return self._recover("assignment", exc, assignment)

    def names_in_use(self) -> dict[NameKind, frozenset[str]]:
        """Every friendly name the assignment handlers' ``queue=`` and ``workflow=`` use."""
        used: dict[NameKind, set[str]] = {"queue": set(), "workflow": set()}
        for route in self.assignment_routes:
            for matcher in (route.queues, route.workflows):
                if matcher is not None:
                    used[matcher.kind].update(matcher.names)
        return {kind: frozenset(names) for kind, names in used.items()}

    def check_names(
        self, names: NameResolver, workspace_sid: str
    ) -> dict[NameKind, dict[str, frozenset[str]]]:
        """Resolve every name in use in ``workspace_sid`` now; see :meth:`TaskRouter.check_names`.

        :returns: for ``"queue"`` and ``"workflow"``, each name and its SIDs.
        :raises NameResolutionError: naming every unknown name, or if a listing fails.
        """
        resolved: dict[NameKind, dict[str, frozenset[str]]] = {"queue": {}, "workflow": {}}
        unknown: list[tuple[NameKind, str]] = []
        for kind, wanted in self.names_in_use().items():
            if not wanted:
                continue
            table = names.refresh(kind, workspace_sid)
            for name in sorted(wanted):
                sids = table.by_name.get(name)
                if sids:
                    resolved[kind][name] = sids
                else:
                    unknown.append((kind, name))
        if unknown:
            listed = ", ".join(f"no {_KINDS[kind][2]} named {name!r}" for kind, name in unknown)
            raise NameResolutionError(
                f"workspace {workspace_sid} has {listed}"
                " (names are compared exactly, case and spaces included)",
                names=tuple(name for _, name in unknown),
            )
        return resolved

    def dispatch_event(
        self,
        event: Event,
        *,
        done: Container[str] = frozenset(),
        record: Callable[[str], None] | None = None,
        slow: float = SLOW_HANDLER_SECONDS,
    ) -> Reply:
        """Run every handler whose pattern matches ``event`` and return the answer to send.

        :param done: keys of handlers that completed this event in an earlier
            delivery; they are not run again.
        :param record: called with a handler's key when it completes (also when
            an error handler recovered from it), if more than one handler matches:
            with one, the answer alone says whether it completed.
        :param slow: seconds after which a handler's run is logged at WARNING.
        """
        routes = [route for route in self.event_routes if route.matches(event.type)]
        if not routes:
            log.debug("no handler for event %s", event.type)
        if len(routes) < 2:
            record = None
        failed = False
        for route in routes:
            if route.key in done:
                log.info("event %s: %s completed it before; not run again", event.sid, route.key)
                continue
            started = time.perf_counter()
            try:
                route.handler(event)
            except Exception as exc:
                log.exception(
                    "event handler %s failed for %s %s",
                    _name(route.handler),
                    event.type,
                    event.sid or event.resource_sid,
                )
                if self._recover("events", exc, event).status >= 500:
                    failed = True
                    continue
            finally:
                _warn_if_slow(route.handler, started, slow, event.sid or event.type)
            if record is not None:
                record(route.key)
        if failed:
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


def _matcher(kind: NameKind, value: str | Iterable[str] | None) -> NameMatcher | None:
    """Split SIDs from friendly names; check both, resolve nothing."""
    if value is None:
        return None
    prefix, resource, _ = _KINDS[kind]
    expected = f"a {resource} SID ('{prefix}' followed by 32 hex digits) or friendly name"
    values = [value] if isinstance(value, str) else list(value)
    if not values:
        raise ValueError(f"{kind}: expected {expected}, or a list of them; got none")
    kind_sid = sid_pattern(prefix)
    almost_sid = re.compile(f"W[QW]{HEX_DIGIT}{{8,}}")
    sids: set[str] = set()
    names: set[str] = set()
    for item in values:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"{kind}: expected {expected}, got {item!r}")
        if kind_sid.fullmatch(item):
            sids.add(item)
        elif _ANY_SID.fullmatch(item) or almost_sid.fullmatch(item):
            raise ValueError(f"{kind}: expected {expected}; {item!r} is not a {resource} SID")
        else:
            names.add(item)
    return NameMatcher(kind, frozenset(sids), frozenset(names))


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


def _warn_if_slow(handler: Callable[..., Any], started: float, slow: float, subject: str) -> None:
    elapsed = time.perf_counter() - started
    if elapsed > slow:
        log.warning(
            "handler %s took %.1f s for %s (slower than %g s; Twilio waits 5 s for an"
            " assignment answer and 15 s for an event's)",
            _name(handler),
            elapsed,
            subject,
            slow,
        )


def _name(handler: Callable[..., Any]) -> str:
    return getattr(handler, "__qualname__", None) or repr(handler)
