"""The worker SDK's websockets: who is connected, what each worker hears, heartbeats, expiry.

Twilio's SDK opens ``/v1/wschannels?token=...`` and never sends a frame; the server
speaks. The first frame is ``init`` (the worker's SID as ``channel_id``, the token's
lifetime in milliseconds); then come the worker's own events (``worker.*``, the
``reservation.*`` of its reservations, the ``task.*`` of tasks reserved for it), each
``{"event_type": ..., "payload": ...}`` in the SDK's shapes, and a heartbeat every
15 seconds, without which the SDK reconnects after 30 to 60 seconds.

Engine events reach :meth:`Channels.on_event` after their command is committed, under
the engine's lock: it renders payloads there and only queues text, so a slow or dead
browser never holds the engine; :mod:`.http_server` writes each socket from its loop,
woken by ``Session.notify``.
Heartbeats and token expiry follow the sandbox's clock through :meth:`Channels.pulse`,
which the sandbox calls from its ticker (real time) or from ``Sandbox.advance`` (a
manual clock): they never touch the engine, so a test on a manual clock sees exactly the
timers and events it made, and sees a heartbeat exactly when it moves the clock 15 s.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..access_token import WorkerGrant
from .api import SandboxService
from .clock import Clock
from .errors import EngineError
from .sdk_payloads import SdkPayloads
from .state import EventRecord

__all__ = ["HEARTBEAT", "Channels", "Session"]

log = logging.getLogger(__name__)

#: How often a connected SDK hears from the server when nothing else happens.
HEARTBEAT = timedelta(seconds=15)
#: The heartbeat frame: JSON like every other frame, an event the SDK has no handler for.
HEARTBEAT_FRAME = json.dumps({"event_type": "heartbeat", "payload": None})
_WORKER_EVENTS = frozenset({"worker.activity.update", "worker.attributes.update"})
_CHANNEL_EVENTS = frozenset({"worker.capacity.update", "worker.channel.availability.update"})
_TASK_EVENTS = frozenset({"task.updated", "task.canceled", "task.completed", "task.wrapup"})
_CLOSE = None


@dataclass(eq=False)
class Session:
    """One connected SDK: a worker's socket, its token, and the frames waiting for it."""

    grant: WorkerGrant
    #: Whether the worker goes offline when this socket drops (the SDK's
    #: ``setWorkerOfflineIfDisconnected``, true unless it says false, as with Twilio).
    offline_if_disconnected: bool
    next_beat: datetime
    #: Called (from any thread) after a frame is queued: wakes whoever writes the socket.
    notify: Callable[[], object] = lambda: None
    frames: queue.SimpleQueue[str | None] = field(default_factory=queue.SimpleQueue)
    #: Set when the server ends the session (sandbox stopping, token expired, replaced).
    closed_by_server: bool = False
    reason: str = ""

    @property
    def worker_sid(self) -> str:
        return self.grant.worker_sid

    def push(self, frame: str | None) -> None:
        """Queue a frame (``None``: close the socket after the frames before it)."""
        self.frames.put(frame)
        self.notify()

    def send(self, event_type: str, payload: Any) -> None:
        self.push(json.dumps({"event_type": event_type, "payload": payload}))

    def close(self, reason: str) -> None:
        """Have the socket closed once the frames queued before are sent."""
        self.closed_by_server = True
        self.reason = reason
        self.push(_CLOSE)

    def take(self) -> list[str | None]:
        """Every frame queued so far, oldest first (for the socket's writer)."""
        taken: list[str | None] = []
        while True:
            try:
                taken.append(self.frames.get_nowait())
            except queue.Empty:
                return taken


class Channels:
    """Every connected SDK of one sandbox, by worker.

    :param service: the engine and its lock.
    :param clock: the sandbox's clock: heartbeats and token expiry follow it.
    """

    def __init__(self, service: SandboxService, clock: Clock) -> None:
        self.service = service
        self.clock = clock
        self.payloads = SdkPayloads(service.engine)
        self._sessions: dict[str, list[Session]] = {}
        self._guard = threading.Lock()

    # -- sessions --------------------------------------------------------------------------

    def open(
        self,
        grant: WorkerGrant,
        *,
        close_existing: bool,
        offline_if_disconnected: bool,
        notify: Callable[[], object] = lambda: None,
    ) -> Session:
        """Register a new socket for ``grant``'s worker and queue its ``init`` frame.

        :param close_existing: close the worker's other sockets first (the SDK's
            ``closeExistingSessions``).
        """
        now = self.clock.now()
        session = Session(grant, offline_if_disconnected, next_beat=now + HEARTBEAT, notify=notify)
        with self._guard:
            others = self._sessions.setdefault(grant.worker_sid, [])
            if close_existing:
                for other in others:
                    other.close("another session of this worker was opened")
                others.clear()
            others.append(session)
        session.send(
            "init",
            {
                "channel_id": grant.worker_sid,
                "account_sid": grant.account_sid,
                "workspace_sid": grant.workspace_sid,
                "token_lifetime": grant.lifetime_ms(now.timestamp()),
            },
        )
        return session

    def sessions(self, worker_sid: str | None = None) -> list[Session]:
        """The open sessions, of one worker or of all."""
        with self._guard:
            if worker_sid is not None:
                return list(self._sessions.get(worker_sid, ()))
            return [s for group in self._sessions.values() for s in group]

    def closed(self, session: Session) -> None:
        """The socket is gone. A browser that left takes its worker offline if it asked to."""
        with self._guard:
            group = self._sessions.get(session.worker_sid, [])
            if session in group:
                group.remove(session)
            if not group:
                self._sessions.pop(session.worker_sid, None)
            still_here = bool(group)
        if session.closed_by_server or still_here or not session.offline_if_disconnected:
            return
        self._take_offline(session.grant)

    def _take_offline(self, grant: WorkerGrant) -> None:
        engine = self.service.engine
        with self.service.lock:
            worker = engine.workers.get(grant.worker_sid)
            if worker is None:
                return
            offline = next(
                (
                    a
                    for a in engine.activities.values()
                    if a.workspace_sid == worker.workspace_sid and a.friendly_name == "Offline"
                ),
                None,
            )
            if offline is None or worker.activity_sid == offline.sid:
                return
            try:
                with engine.transaction():
                    engine.update_worker(worker.workspace_sid, worker.sid, activity_sid=offline.sid)
            except EngineError as exc:  # e.g. a reservation holds the worker
                log.info(
                    "worker %s stays %s after its SDK left: %s",
                    worker.sid,
                    worker.activity_sid,
                    exc,
                )

    def close_all(self, reason: str = "the sandbox is stopping") -> None:
        """Close every socket (the workers' activities are left as they are)."""
        for session in self.sessions():
            session.close(reason)

    # -- time ------------------------------------------------------------------------------

    def pulse(self) -> None:
        """Send the heartbeats that are due by the clock; close sockets whose token expired."""
        now = self.clock.now()
        stamp = now.timestamp()
        for session in self.sessions():
            if session.grant.expires_at <= stamp:
                session.close("the token expired")
                continue
            if session.next_beat <= now:
                session.push(HEARTBEAT_FRAME)
                while session.next_beat <= now:
                    session.next_beat += HEARTBEAT

    # -- events ----------------------------------------------------------------------------

    def on_event(self, event: EventRecord) -> None:
        """Engine listener: tell the connected workers an event concerns, in the SDK's shape."""
        if not self._sessions:
            return
        for worker_sid, payload in self._addressed(event):
            for session in self.sessions(worker_sid):
                session.send(event.type, payload)

    def _addressed(self, event: EventRecord) -> list[tuple[str, Any]]:
        engine = self.service.engine
        kind = event.type
        if kind in _WORKER_EVENTS:
            worker = engine.workers.get(event.resource_sid)
            return [] if worker is None else [(worker.sid, self.payloads.worker(worker))]
        if kind in _CHANNEL_EVENTS and event.worker is not None and event.capacity is not None:
            worker = engine.workers.get(event.worker.sid)
            sid = worker.channels.get(event.capacity.channel_sid) if worker else None
            record = engine.worker_channels.get(sid or "")
            return (
                []
                if record is None
                else [(record.worker_sid, self.payloads.worker_channel(record))]
            )
        if kind.startswith("reservation."):
            reservation = engine.reservations.get(event.resource_sid)
            if reservation is None or reservation.task_sid not in engine.tasks:
                return []
            return [(reservation.worker_sid, self.payloads.reservation(reservation))]
        if kind in _TASK_EVENTS:
            task = engine.tasks.get(event.resource_sid)
            if task is None:
                return []
            payload = self.payloads.task(task)
            workers = dict.fromkeys(r.worker_sid for r in engine.reservations_of_task(task.sid))
            return [(worker_sid, payload) for worker_sid in workers]
        return []
