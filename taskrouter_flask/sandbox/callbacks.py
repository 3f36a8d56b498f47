"""Deliver the sandbox's callbacks over HTTP, signed as Twilio signs them.

The engine tells :class:`CallbackSender` of every event while the request
that caused it still holds the lock; the sender only captures what to send
and queues it, so a slow or dead receiver never blocks the REST API and
never undoes a transition the engine already made. Event callbacks go out
in the order the engine emitted them, one at a time, from one thread.
Assignment callbacks go out from a small pool: a 200 JSON instruction is
applied to the reservation; an empty 200 leaves it pending for a REST
accept; a timeout, an error status or an invalid instruction tries the
workflow's fallback URL, and failing that leaves the reservation to time out.
"""

from __future__ import annotations

import functools
import json
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests

from ..signature import SIGNATURE_HEADER, compute_signature
from .errors import EngineError, InvalidTransition
from .state import EventRecord
from .wire import event_fields

__all__ = ["CallbackSender", "Delivery"]

log = logging.getLogger(__name__)

#: How long Twilio waits for an assignment answer.
ASSIGNMENT_TIMEOUT = 5.0
#: How long an event callback may take.
EVENT_TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class Delivery:
    """One callback sent, for inspection in tests and logs."""

    kind: str  # "event" or "assignment"
    url: str
    params: dict[str, str]
    status: int | None
    outcome: str


class CallbackSender:
    """Queues and sends the callbacks of one engine.

    :param run_locked: runs a function while holding the engine's lock (used to
        apply an assignment answer).
    :param auth_token: the token callbacks are signed with.
    :param workers: assignment callbacks in flight at most.
    """

    def __init__(
        self,
        engine: Any,
        run_locked: Callable[[Callable[[], Any]], Any],
        *,
        auth_token: str,
        workers: int = 4,
        assignment_timeout: float = ASSIGNMENT_TIMEOUT,
        event_timeout: float = EVENT_TIMEOUT,
    ) -> None:
        self.engine = engine
        self.run_locked = run_locked
        self.auth_token = auth_token
        self.assignment_timeout = assignment_timeout
        self.event_timeout = event_timeout
        self.deliveries: deque[Delivery] = deque(maxlen=10_000)
        #: Per workspace: its event callback URL and filter, as of its latest event.
        self._targets: dict[str, tuple[str | None, str | None]] = {}
        self._events: queue.Queue[tuple[str, dict[str, str]] | None] = queue.Queue()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="assignment")
        self._session = requests.Session()
        self._pending = 0
        self._idle = threading.Condition()
        self._thread = threading.Thread(
            target=self._send_events, name="event-callbacks", daemon=True
        )
        self._thread.start()

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
            self._track(+1)
            self._events.put((url, _event_params(event)))
        if event.type == "reservation.created":
            task = self.engine.tasks.get(event.task.sid) if event.task is not None else None
            workflow = self.engine.workflows.get(task.workflow_sid or "") if task else None
            if workflow is not None and workflow.assignment_callback_url:
                urls = [workflow.assignment_callback_url]
                if workflow.fallback_assignment_callback_url:
                    urls.append(workflow.fallback_assignment_callback_url)
                self._track(+1)
                self._pool.submit(self._assign, event.resource_sid, urls, _assignment_params(event))

    # -- delivery -------------------------------------------------------------------------------

    def _post(self, url: str, params: dict[str, str], timeout: float) -> requests.Response:
        headers = {SIGNATURE_HEADER: compute_signature(url, params, self.auth_token)}
        return self._session.post(url, data=params, headers=headers, timeout=timeout)

    def _send_events(self) -> None:
        while True:
            item = self._events.get()
            if item is None:
                return
            url, params = item
            try:
                response = self._post(url, params, self.event_timeout)
                outcome = "delivered" if response.ok else "refused"
                status: int | None = response.status_code
            except requests.RequestException as exc:
                outcome, status = f"failed: {exc.__class__.__name__}", None
                log.warning("event callback %s to %s failed: %s", params["EventType"], url, exc)
            self.deliveries.append(Delivery("event", url, params, status, outcome))
            self._track(-1)

    def _assign(self, reservation_sid: str, urls: list[str], params: dict[str, str]) -> None:
        try:
            for url in urls:
                answer = self._ask(url, params)
                if answer is _FAILED:
                    continue
                if answer is None:
                    self.deliveries.append(Delivery("assignment", url, params, 200, "pending"))
                    return
                try:
                    self.run_locked(functools.partial(self._apply, reservation_sid, answer))
                except InvalidTransition as exc:  # it timed out or was canceled meanwhile
                    self.deliveries.append(Delivery("assignment", url, params, 200, f"late: {exc}"))
                    return
                except EngineError as exc:  # an invalid instruction: try the fallback URL
                    log.warning(
                        "assignment answer from %s for %s not applied: %s",
                        url,
                        reservation_sid,
                        exc,
                    )
                    self.deliveries.append(
                        Delivery("assignment", url, params, 200, f"refused: {exc}")
                    )
                    continue
                self.deliveries.append(
                    Delivery("assignment", url, params, 200, f"applied {answer['instruction']}")
                )
                return
            log.warning(
                "no assignment answer for %s; it stays pending until it times out", reservation_sid
            )
        finally:
            self._track(-1)

    def _ask(self, url: str, params: dict[str, str]) -> Any:
        """POST the assignment; return the instruction dict, None for "pending", or _FAILED."""
        try:
            response = self._post(url, params, self.assignment_timeout)
        except requests.RequestException as exc:
            log.warning("assignment callback to %s failed: %s", url, exc)
            self.deliveries.append(Delivery("assignment", url, params, None, f"failed: {exc}"))
            return _FAILED
        if response.status_code != 200:
            self.deliveries.append(
                Delivery("assignment", url, params, response.status_code, "error status")
            )
            return _FAILED
        body = response.content.strip()
        if not body:
            return None
        try:
            answer = json.loads(body)
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
        """Stop sending (what is queued is dropped after the current deliveries)."""
        self._events.put(None)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._thread.join(timeout=self.event_timeout + 1)
        self._session.close()


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
