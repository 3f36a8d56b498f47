"""Deliver the sandbox's callbacks over HTTP, signed as Twilio signs them.

The engine tells :class:`CallbackSender` of every event while the request
that caused it still holds the lock; the sender only captures what to send
and queues it, so a slow or dead receiver never blocks the REST API and
never undoes a transition the engine already made. An assignment answer is
handled as Twilio documents it: a 200 JSON instruction is applied to the
reservation; an empty 200 leaves it pending for a REST accept; a timeout, an
error status, an oversized or invalid answer tries the workflow's fallback
URL, and failing that leaves the reservation to time out.

Why it is built this way:

- **A deadline is for the whole answer.** Twilio waits a fixed time for an
  answer, not a fixed time between two bytes of it; a receiver that drips
  its answer must fail at the deadline like one that never answers, or the
  fallback URL would be tried much later than on Twilio. Socket timeouts are
  per read, so every read and write is given only what is left of one
  monotonic deadline (connect, request, status, headers, body), and the body
  is capped: an instruction is small, and an endless or huge body must not
  hold a thread or memory.
- **Assignment callbacks are limited per receiver, not only in total.** One
  shared small pool let a few hanging receivers stall every workflow. A
  thread per callback with no bound would let a burst of reservations open
  thousands of sockets. So each receiver (the URL's ``scheme://host:port``,
  the server whose capacity is at stake) has its own first-in-first-out line
  and a small cap on concurrent requests, and a larger pool bounds the total:
  a slow receiver fills only its own line, and only many slow receivers at
  once can reach the total. A fallback URL is a separate request in its own
  receiver's line.
- **Event callbacks are ordered per workspace, and only per workspace.** An
  application reads a workspace's events as a history, so each workspace
  sends one at a time in the engine's order; but workspaces are independent
  applications, so each has its own line on a shared bounded pool, and a
  hanging receiver delays only its own workspace. A line exists only while
  it has work, so deleted workspaces leave nothing behind.
- **Retries of event callbacks follow Twilio's documented default, read
  conservatively.** The TaskRouter Events reference
  (https://www.twilio.com/docs/taskrouter/api/event/reference, "Event
  Callbacks") only says to answer "with 204 No Content ... within 15
  seconds"; it documents no retries. Twilio's general webhook page
  (https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides,
  "Webhooks (HTTP callbacks): Connection Overrides") gives the defaults of
  every webhook: connect timeout 5000 ms, "Retry count (rc) ... Default: 1
  ... The number of retry attempts Twilio will make if its connection to
  your webhook fails", and a total time of 15000 ms "for all timeouts
  including retries". So an event callback is retried once, at once, and
  only when no connection could be made (refused, unreachable, connect
  timeout): then the receiver surely never saw it, and a retry cannot
  deliver an event twice. An error status, a timeout after connecting or a
  broken answer is not retried, since the receiver may have acted on it.
  Both attempts share the one 15-second budget. Assignment callbacks are not
  retried: their documented second chance is the fallback URL.
"""

from __future__ import annotations

import functools
import http.client
import io
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import SplitResult, urlencode, urlsplit

from ..signature import SIGNATURE_HEADER, compute_signature
from ..wire import loads as load_json
from .errors import EngineError, InvalidTransition
from .state import EventRecord
from .wire import event_fields

__all__ = ["CallbackSender", "Delivery"]

log = logging.getLogger(__name__)

#: How long Twilio waits for an assignment answer.
ASSIGNMENT_TIMEOUT = 5.0
#: How long an event callback may take, its retry included.
EVENT_TIMEOUT = 15.0
#: How long a connection may take to open (Twilio's default connect timeout).
CONNECT_TIMEOUT = 5.0
#: Retries of an event callback whose connection could not be made.
EVENT_RETRIES = 1
#: The largest answer read; a larger assignment answer counts as a failed one.
MAX_ANSWER_BYTES = 64 * 1024
#: Callbacks in flight at once, of each kind.
WORKERS = 64
#: Assignment callbacks in flight at once to one receiver (scheme://host:port).
PER_RECEIVER = 8

_USER_AGENT = "taskrouter-flask-sandbox"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One callback sent, for inspection in tests and logs."""

    kind: str  # "event" or "assignment"
    url: str
    params: dict[str, str]
    status: int | None
    outcome: str


@dataclass(frozen=True, slots=True)
class _Assignment:
    """An assignment callback: the URLs still to try, in order, and what to send."""

    reservation_sid: str
    urls: tuple[str, ...]
    params: dict[str, str]


class CallbackSender:
    """Queues and sends the callbacks of one engine.

    :param run_locked: runs a function while holding the engine's lock (used to
        apply an assignment answer).
    :param auth_token: the token callbacks are signed with.
    :param workers: assignment callbacks in flight at most, all receivers together
        (event callbacks have as many of their own).
    :param per_receiver: assignment callbacks in flight at most to one receiver.
    :param assignment_timeout: the time an assignment answer may take, whole.
    :param event_timeout: the time an event callback may take, whole, its retry included.
    :param event_retries: retries of an event callback that could not connect.
    :param event_retry_delay: seconds between an event callback's attempts.
    :param max_answer_bytes: the largest answer read.
    """

    def __init__(
        self,
        engine: Any,
        run_locked: Callable[[Callable[[], Any]], Any],
        *,
        auth_token: str,
        workers: int = WORKERS,
        per_receiver: int = PER_RECEIVER,
        assignment_timeout: float = ASSIGNMENT_TIMEOUT,
        event_timeout: float = EVENT_TIMEOUT,
        event_retries: int = EVENT_RETRIES,
        event_retry_delay: float = 0.0,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        self.engine = engine
        self.run_locked = run_locked
        self.auth_token = auth_token
        self.assignment_timeout = assignment_timeout
        self.event_timeout = event_timeout
        self.event_retries = event_retries
        self.event_retry_delay = event_retry_delay
        self.max_answer_bytes = max_answer_bytes
        self.deliveries: deque[Delivery] = deque(maxlen=10_000)
        #: Per workspace: its event callback URL and filter, as of its latest event.
        self._targets: dict[str, tuple[str | None, str | None]] = {}
        self._events = _Lines("event-callbacks", total=workers, per_line=1)
        self._assignments = _Lines("assignment-callbacks", total=workers, per_line=per_receiver)
        self._pending = 0
        self._idle = threading.Condition()
        self._stopping = threading.Event()
        #: The sockets of the requests in flight, so that close() can cut them short.
        self._sockets: set[socket.socket] = set()
        self._sockets_lock = threading.Lock()

    # -- fed by the engine (under its lock) ---------------------------------------------------

    def on_event(self, event: EventRecord) -> None:
        """Engine listener: queue the event callback, and the assignment callback it implies.

        The engine calls it once the change that emitted ``event`` is committed (and
        journaled), so nothing is sent for a change that did not happen.
        """
        workspace = self.engine.workspaces.get(event.workspace_sid)
        if workspace is not None:
            target = (workspace.event_callback_url, workspace.events_filter)
            self._targets[event.workspace_sid] = target
        else:  # deleted by the change that emitted this event: its last settings hold
            target = self._targets.pop(event.workspace_sid, (None, None))
        url, events_filter = target
        if url and _wanted(events_filter, event.type):
            job = functools.partial(self._send_event, url, _event_params(event))
            self._enqueue(self._events, event.workspace_sid, job)
        if event.type == "reservation.created":
            task = self.engine.tasks.get(event.task.sid) if event.task is not None else None
            workflow = self.engine.workflows.get(task.workflow_sid or "") if task else None
            if workflow is not None and workflow.assignment_callback_url:
                urls = [workflow.assignment_callback_url]
                if workflow.fallback_assignment_callback_url:
                    urls.append(workflow.fallback_assignment_callback_url)
                assignment = _Assignment(event.resource_sid, tuple(urls), _assignment_params(event))
                self._enqueue_assignment(assignment)

    def _enqueue(self, lines: _Lines, line: str, job: Callable[[], None]) -> bool:
        """Queue ``job`` as one pending callback; tell whether it was taken."""
        self._track(+1)
        if lines.submit(line, job):
            return True
        self._track(-1)  # closed
        return False

    def _enqueue_assignment(self, assignment: _Assignment) -> bool:
        job = functools.partial(self._assign, assignment)
        return self._enqueue(self._assignments, _origin(assignment.urls[0]), job)

    # -- event callbacks ------------------------------------------------------------------------

    def _send_event(self, url: str, params: dict[str, str]) -> None:
        try:
            deadline = time.monotonic() + self.event_timeout
            retries = self.event_retries
            while True:
                try:
                    status = self._post(url, params, deadline, need_body=False)[0]
                except _Failure as failure:
                    retry = (
                        failure.retriable
                        and retries > 0
                        and deadline - time.monotonic() > self.event_retry_delay
                        and not self._stopping.is_set()
                    )
                    outcome = f"failed: {failure}" + ("; retrying" if retry else "")
                    self.deliveries.append(Delivery("event", url, params, failure.status, outcome))
                    level = self._failure_level()
                    log.log(level, "event callback %s to %s: %s", params["EventType"], url, outcome)
                    if retry and not self._stopping.wait(self.event_retry_delay):
                        retries -= 1
                        continue
                    return
                outcome = "delivered" if 200 <= status < 300 else "refused"
                self.deliveries.append(Delivery("event", url, params, status, outcome))
                return
        finally:
            self._track(-1)

    # -- assignment callbacks -------------------------------------------------------------------

    def _assign(self, assignment: _Assignment) -> None:
        """Ask the first URL left; hand the rest on to the next receiver's line if it fails."""
        try:
            url, *rest = assignment.urls
            if not self._answer(assignment, url) or self._stopping.is_set():
                return
            if rest:  # counted as pending before this one stops being
                next_try = _Assignment(assignment.reservation_sid, tuple(rest), assignment.params)
                self._enqueue_assignment(next_try)
            else:
                log.warning(
                    "no assignment answer for %s; it stays pending until it times out",
                    assignment.reservation_sid,
                )
        finally:
            self._track(-1)

    def _answer(self, assignment: _Assignment, url: str) -> bool:
        """Ask ``url`` and act on its answer; tell whether the next URL should be tried."""
        reservation_sid, params = assignment.reservation_sid, assignment.params
        answer = self._ask(url, params)
        if answer is _FAILED:
            return True
        if answer is None:
            self.deliveries.append(Delivery("assignment", url, params, 200, "pending"))
            return False
        try:
            self.run_locked(functools.partial(self._apply, reservation_sid, answer))
        except InvalidTransition as exc:  # it timed out or was canceled meanwhile
            self.deliveries.append(Delivery("assignment", url, params, 200, f"late: {exc}"))
            return False
        except EngineError as exc:  # an invalid instruction: try the fallback URL
            log.warning(
                "assignment answer from %s for %s not applied: %s", url, reservation_sid, exc
            )
            self.deliveries.append(Delivery("assignment", url, params, 200, f"refused: {exc}"))
            return True
        self.deliveries.append(
            Delivery("assignment", url, params, 200, f"applied {answer['instruction']}")
        )
        return False

    def _ask(self, url: str, params: dict[str, str]) -> Any:
        """POST the assignment; return the instruction dict, None for "pending", or _FAILED."""
        deadline = time.monotonic() + self.assignment_timeout
        try:
            status, body = self._post(url, params, deadline, need_body=True)
        except _Failure as failure:
            log.log(self._failure_level(), "assignment callback to %s failed: %s", url, failure)
            self.deliveries.append(
                Delivery("assignment", url, params, failure.status, f"failed: {failure}")
            )
            return _FAILED
        if status != 200:
            self.deliveries.append(Delivery("assignment", url, params, status, "error status"))
            return _FAILED
        body = body.strip()
        if not body:
            return None
        try:
            answer = load_json(body)
        except ValueError:
            self.deliveries.append(Delivery("assignment", url, params, 200, "not JSON"))
            return _FAILED
        if isinstance(answer, dict) and not answer:
            return None
        if not isinstance(answer, dict) or "instruction" not in answer:
            # Twilio's warning 40005: a 200 JSON answer without an instruction; it stays pending.
            log.warning("assignment answer from %s has no instruction (Twilio's 40005)", url)
            return None
        return answer

    def _apply(self, reservation_sid: str, answer: dict[str, Any]) -> None:
        reservation = self.engine.reservations.get(reservation_sid)
        if reservation is None:
            return
        self.engine.apply_instruction(reservation, answer)

    # -- HTTP -----------------------------------------------------------------------------------

    def _post(
        self, url: str, params: dict[str, str], deadline: float, *, need_body: bool
    ) -> tuple[int, bytes]:
        """POST the signed form; return the status and body, all of it before ``deadline``.

        Raises :class:`_Failure` when there is no complete answer in time, when the
        body is over the cap (if ``need_body``), or when the request cannot be made.
        Without ``need_body`` the answer is its status: the body is read only as far
        as the deadline and the cap allow, and never makes it fail.
        """
        try:
            parts = urlsplit(url)
            scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
        except ValueError as exc:
            raise _Failure(f"invalid URL: {exc}") from exc
        if scheme not in ("http", "https") or not host:
            raise _Failure("not an http(s) URL")
        connect_within = min(CONNECT_TIMEOUT, deadline - time.monotonic())
        if connect_within <= 0:
            raise _Failure("timed out before connecting")
        factory = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        connection = factory(host, port, timeout=connect_within)
        try:
            try:
                connection.connect()
            except (OSError, ValueError) as exc:  # refused, unreachable, DNS, TLS, timeout
                raise _Failure(_describe(exc), retriable=isinstance(exc, OSError)) from exc
            raw: socket.socket = connection.sock
            self._register(raw)
            try:
                # http.client only calls sendall, makefile and close on it.
                connection.sock = cast(socket.socket, _DeadlineSocket(raw, deadline))
                return self._exchange(connection, parts, params, url, need_body)
            finally:
                with self._sockets_lock:
                    self._sockets.discard(raw)
        finally:
            connection.close()

    def _exchange(
        self,
        connection: http.client.HTTPConnection,
        parts: SplitResult,
        params: dict[str, str],
        url: str,
        need_body: bool,
    ) -> tuple[int, bytes]:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {
            SIGNATURE_HEADER: compute_signature(url, params, self.auth_token),
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "*/*",
            "User-Agent": _USER_AGENT,
            "Connection": "close",
        }
        status: int | None = None
        response: http.client.HTTPResponse | None = None
        try:
            connection.request("POST", path, body=urlencode(params).encode(), headers=headers)
            response = connection.getresponse()
            status = response.status
            limit = self.max_answer_bytes
            if response.length is not None and response.length > limit:
                raise _TooLarge(limit)
            body = bytearray()
            while chunk := response.read1(16_384):
                body += chunk
                if len(body) > limit:
                    raise _TooLarge(limit)
            return status, bytes(body)
        except (OSError, http.client.HTTPException, _TooLarge) as exc:
            if status is not None and not need_body:
                return status, b""
            raise _Failure(_describe(exc), status=status) from exc
        finally:
            if response is not None:
                response.close()

    def _failure_level(self) -> int:
        """Failures are warnings, except those close() causes by cutting requests short."""
        return logging.DEBUG if self._stopping.is_set() else logging.WARNING

    def _register(self, raw: socket.socket) -> None:
        with self._sockets_lock:
            if self._stopping.is_set():
                raise _Failure("the sandbox is stopping")
            self._sockets.add(raw)

    # -- control ----------------------------------------------------------------------------

    def _track(self, change: int) -> None:
        with self._idle:
            self._pending += change
            if self._pending == 0:
                self._idle.notify_all()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every queued callback was sent; tell whether that happened in time."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def close(self) -> None:
        """Stop sending: what is queued is dropped, and the requests in flight are cut short."""
        self._stopping.set()
        dropped = self._events.close() + self._assignments.close()
        if dropped:
            self._track(-dropped)
        with self._sockets_lock:
            in_flight = list(self._sockets)
        for raw in in_flight:
            try:
                raw.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._events.join()
        self._assignments.join()


class _Lines:
    """Jobs on a bounded pool, first in first out within a line, at most ``per_line`` at once.

    A line starts a job only while it runs fewer than ``per_line`` and the pool runs
    fewer than ``total``, so the pool never queues: a job waits in its own line,
    never behind another line's. Lines take turns when the pool is full, and a
    line is forgotten as soon as it has nothing queued or running.
    """

    def __init__(self, name: str, *, total: int, per_line: int) -> None:
        self._total = total
        self._per_line = per_line
        self._pool = ThreadPoolExecutor(max_workers=total, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._waiting: dict[str, deque[Callable[[], None]]] = {}
        self._running: dict[str, int] = {}
        self._busy = 0
        self._closed = False

    def submit(self, line: str, job: Callable[[], None]) -> bool:
        """Queue ``job`` at the end of ``line``; False once closed."""
        with self._lock:
            if self._closed:
                return False
            self._waiting.setdefault(line, deque()).append(job)
            self._start()
        return True

    def _start(self) -> None:
        """Start what the bounds allow, one job per line per turn (holding the lock)."""
        started = True
        while started and self._busy < self._total:
            started = False
            for line in list(self._waiting):
                if self._busy >= self._total:
                    return
                if self._running.get(line, 0) >= self._per_line:
                    continue
                waiting = self._waiting.pop(line)
                job = waiting.popleft()
                if waiting:  # to the back: the lines take turns
                    self._waiting[line] = waiting
                self._running[line] = self._running.get(line, 0) + 1
                self._busy += 1
                self._pool.submit(self._run, line, job)
                started = True

    def _run(self, line: str, job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:
            log.exception("callback job failed")
        finally:
            with self._lock:
                self._busy -= 1
                left = self._running[line] - 1
                if left:
                    self._running[line] = left
                else:
                    del self._running[line]
                if not self._closed:
                    self._start()

    def close(self) -> int:
        """Take no more jobs and drop the queued ones; return how many were dropped."""
        with self._lock:
            self._closed = True
            dropped = sum(len(waiting) for waiting in self._waiting.values())
            self._waiting.clear()
        return dropped

    def join(self) -> None:
        """Wait for the running jobs."""
        self._pool.shutdown(wait=True)


class _DeadlineSocket:
    """A connected socket whose every write and read gets only what is left of a deadline.

    It stands in for the socket in :class:`http.client.HTTPConnection`, which uses
    ``sendall``, ``makefile`` and ``close``.
    """

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline

    def arm(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out: no complete answer before the deadline")
        self.sock.settimeout(remaining)

    def sendall(self, data: bytes) -> None:
        self.arm()
        self.sock.sendall(data)

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        # The socket's own raw file keeps it open until the response is done with it.
        return io.BufferedReader(_DeadlineReader(self, self.sock.makefile("rb", buffering=0)))

    def close(self) -> None:
        self.sock.close()


class _DeadlineReader(io.RawIOBase):
    def __init__(self, owner: _DeadlineSocket, raw: Any) -> None:
        super().__init__()
        self._owner = owner
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._owner.arm()
        try:
            read: int = self._raw.readinto(buffer)
        except TimeoutError:
            raise TimeoutError("timed out: no complete answer before the deadline") from None
        return read

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _Failure(Exception):
    """No usable answer. ``retriable``: no connection was made, so nothing was received."""

    def __init__(self, reason: str, *, retriable: bool = False, status: int | None = None):
        super().__init__(reason)
        self.retriable = retriable
        self.status = status


class _TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"answer larger than {limit} bytes")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, _TooLarge):
        return str(exc)
    detail = str(exc)
    return f"{exc.__class__.__name__}: {detail}" if detail else exc.__class__.__name__


def _origin(url: str) -> str:
    """The receiver a URL names: ``scheme://host:port``, or the URL itself if unparsable."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
        return f"{scheme}://{(parts.hostname or '').lower()}:{port}"
    except ValueError:
        return url


_FAILED: Any = object()


def _wanted(events_filter: str | None, event_type: str) -> bool:
    if not events_filter:
        return True
    return event_type in {part.strip() for part in events_filter.split(",")}


def _event_params(event: EventRecord) -> dict[str, str]:
    stamp = event.timestamp.timestamp()
    return {
        **event_fields(event),
        "Sid": event.sid,
        "EventType": event.type,
        "EventDescription": event.description,
        "ResourceType": event.resource_type,
        "ResourceSid": event.resource_sid,
        "Timestamp": str(int(stamp)),
        "TimestampMs": str(int(stamp * 1000)),
    }


_ASSIGNMENT_FIELDS = (
    "AccountSid",
    "WorkspaceSid",
    "WorkflowSid",
    "TaskQueueSid",
    "WorkerSid",
    "WorkerAttributes",
    "TaskSid",
    "TaskAttributes",
    "TaskAge",
    "TaskPriority",
    "TaskChannelSid",
    "TaskChannelUniqueName",
)


def _assignment_params(event: EventRecord) -> dict[str, str]:
    fields = event_fields(event)
    params = {name: fields[name] for name in _ASSIGNMENT_FIELDS if name in fields}
    params["ReservationSid"] = event.resource_sid
    params["Timestamp"] = str(int(event.timestamp.timestamp()))
    return params
