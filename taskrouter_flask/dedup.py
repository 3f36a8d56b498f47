"""Run each callback's handlers once, across processes, even when a process dies mid-way.

Twilio may deliver the same callback again (a timeout on its side, a retry),
and an application running in several processes must not act twice; but it
must not lose a callback either. Both promises rest on a claim with two
stages:

* **in progress**, held for a short *lease* (``TASKROUTER_DEDUP_LEASE``,
  30 s by default): the process that claimed the key runs the handlers. If it
  dies (a gunicorn timeout, SIGKILL, the OOM killer, a deploy) or its claim
  landed in Redis after it had given up waiting (a Redis timeout), only the
  lease is left, and a redelivery after the lease runs the handlers;
* **done**, kept for ``TASKROUTER_DEDUP_TTL`` (a day): a repeat is not
  dispatched. A repeated assignment gets the first answer again, 5xx
  included, so a reservation is never answered two ways and a failure still
  sends Twilio to the fallback URL.

A repeat that arrives while the first delivery is in progress waits for its
answer — blocking on Redis (``XREAD BLOCK``) or a condition variable, never
polling — for at most :data:`REPEAT_WAIT` seconds, and is otherwise answered
503 so that Twilio tries again.

Events are once-only per handler: each event handler that succeeds is
recorded, and when another fails the claim is released, so the redelivery
runs only the handlers that have not succeeded yet.

Keys are chosen by the caller from fields a signature cannot be re-split
into (an event's ``Sid``, an assignment's ``ReservationSid``). Pure module:
no Flask.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeAlias

from .dispatch import Reply, error_body
from .errors import TaskRouterError

__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_TTL",
    "REPEAT_WAIT",
    "Claim",
    "DedupStore",
    "DedupUnavailable",
    "MemoryDedupStore",
    "Outcome",
    "Progress",
    "RedisDedupStore",
    "run_once",
    "store_from_setting",
]

log = logging.getLogger(__name__)

DEFAULT_TTL = 24 * 3600
DEFAULT_LEASE = 30.0
DEFAULT_MAX_ENTRIES = 100_000
#: Seconds a repeat waits for the answer of a first delivery still in progress: inside
#: the 5 s Twilio gives an assignment callback, with room for the network.
REPEAT_WAIT = 3.0

#: What became of one callback, as the ``callback_handled`` signal reports it.
Outcome: TypeAlias = Literal[
    "dispatched", "failed", "duplicate", "in_progress", "unavailable", "refused", "error"
]
ClaimState: TypeAlias = Literal["new", "running", "done"]


class DedupUnavailable(TaskRouterError):
    """The shared store could not be reached; the caller decides to fail open or closed."""


@dataclass(frozen=True, slots=True)
class Claim:
    """The state of one key when a delivery asked for it.

    :param state: ``new`` (this delivery holds the lease and runs the handlers),
        ``running`` (another delivery holds it) or ``done``.
    :param token: identifies this delivery's lease, so only it can release it.
    :param answer: the first delivery's answer, when ``done``.
    :param handlers_done: event handlers an earlier, failed attempt completed.
    :param lease_left: seconds until another delivery's lease runs out, when ``running``.
    """

    key: str
    state: ClaimState
    token: str = ""
    answer: bytes | None = None
    handlers_done: frozenset[str] = frozenset()
    lease_left: float = 0.0


class DedupStore(Protocol):
    """Where claims, handler progress and answers live; atomic per key."""

    def claim(self, key: str) -> Claim:
        """Take the lease on ``key`` if nobody holds it and it is not done; say which."""
        ...

    def handler_done(self, claim: Claim, handler: str) -> None:
        """Record that ``handler`` completed for the claimed key (kept for the TTL)."""
        ...

    def finish(self, claim: Claim, answer: bytes) -> None:
        """Mark the key done with ``answer`` (kept for the TTL) and wake its waiters."""
        ...

    def release(self, claim: Claim) -> None:
        """Give the lease back, if still held by ``claim``, so a redelivery runs again."""
        ...

    def wait(self, key: str, timeout: float) -> bytes | None:
        """Block until ``key`` is done (its answer) or released or ``timeout`` passes (None)."""
        ...


@dataclass(frozen=True, slots=True)
class Progress:
    """What an earlier attempt at this callback completed, and how to record more.

    The dispatcher skips the event handlers in ``done`` and calls ``record`` with
    each one that succeeds.
    """

    done: frozenset[str] = frozenset()
    record: Callable[[str], None] | None = None


NO_PROGRESS = Progress()


def run_once(
    store: DedupStore | None,
    key: str,
    dispatch: Callable[[Progress], Reply],
    *,
    replay: bool,
    fail_open: bool,
    wait: float = REPEAT_WAIT,
) -> tuple[Reply, Outcome]:
    """Dispatch the callback under ``key`` unless it was, or is being, dispatched already.

    :param dispatch: runs the handlers and returns the answer.
    :param replay: answer a repeat with the first answer (assignments); otherwise a
        repeat of a completed callback gets an empty 204 (events).
    :param fail_open: when the store is unreachable, dispatch anyway (a duplicate is
        better than a lost callback) or, if false, answer 503 so Twilio retries.
    :param wait: seconds a repeat waits for a first delivery in progress.
    """
    if store is None:
        return _dispatched(dispatch(NO_PROGRESS))
    try:
        claim = store.claim(key)
    except DedupUnavailable as exc:
        if not fail_open:
            log.error("refused callback %s: %s (TASKROUTER_DEDUP_FAIL_OPEN is off)", key, exc)
            return _unavailable(), "unavailable"
        log.error("dispatching callback %s without duplicate detection: %s", key, exc)
        return _dispatched(dispatch(NO_PROGRESS))
    if claim.state == "running":
        log.info("callback %s arrived again while the first delivery is in progress", key)
        claim = _await_first(store, claim, wait)
    if claim.state == "done":
        log.info("callback %s was delivered again; not dispatched twice", key)
        return _repeat(claim.answer, replay), "duplicate"
    if claim.state == "running":
        reply = Reply(
            503,
            error_body(
                "in_progress",
                "an earlier delivery of this callback is still being handled; retry later",
            ),
        )
        return reply, "in_progress"
    return _run(store, claim, dispatch, replay)


def _await_first(store: DedupStore, claim: Claim, wait: float) -> Claim:
    """Wait for the delivery in progress to finish; if its lease runs out first, take it over.

    A lease that runs out while a repeat waits belonged to a delivery that will never
    answer (its process died, or its claim reached Redis after it had given up), so
    the waiting repeat claims the key and runs the handlers itself.
    """
    deadline = time.monotonic() + wait
    while claim.state == "running":
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return claim
        budget = min(remaining, claim.lease_left + 0.05) if claim.lease_left > 0 else remaining
        try:
            answer = store.wait(claim.key, budget)
            if answer is not None:
                return Claim(claim.key, "done", answer=answer)
            claim = store.claim(claim.key)  # released, or its lease ran out
        except DedupUnavailable as exc:
            log.error("could not wait for the first delivery of %s: %s", claim.key, exc)
            return claim
    return claim


def _run(
    store: DedupStore, claim: Claim, dispatch: Callable[[Progress], Reply], replay: bool
) -> tuple[Reply, Outcome]:
    progress = Progress(claim.handlers_done, _recorder(store, claim))
    try:
        reply = dispatch(progress)
    except BaseException:
        # A bug below, or the worker being stopped (gunicorn's timeout raises
        # SystemExit here): give the lease back so a redelivery need not wait it out.
        _quietly(store.release, claim)
        raise
    if replay or reply.status < 500:
        _quietly(store.finish, claim, encode_reply(reply))
    else:
        _quietly(store.release, claim)
    return _dispatched(reply)


def _recorder(store: DedupStore, claim: Claim) -> Callable[[str], None]:
    def record(handler: str) -> None:
        _quietly(store.handler_done, claim, handler)

    return record


def _quietly(action: Callable[..., None], *arguments: Any) -> None:
    """Write to the store; if it is gone, the lease runs out and a redelivery retries."""
    try:
        action(*arguments)
    except DedupUnavailable as exc:
        log.error("could not record a callback's progress (%s): %s", arguments[0].key, exc)


def _dispatched(reply: Reply) -> tuple[Reply, Outcome]:
    return reply, "failed" if reply.status >= 500 else "dispatched"


def _unavailable() -> Reply:
    return Reply(503, error_body("dedup_unavailable", "duplicate detection is unavailable; retry"))


def encode_reply(reply: Reply) -> bytes:
    """``b"200 {json}"``: what a store keeps of an answer."""
    return b"%d %s" % (reply.status, reply.content())


def decode_reply(answer: bytes) -> Reply:
    status, _, body = answer.partition(b" ")
    return Reply(int(status), json.loads(body) if body else None)


def _repeat(answer: bytes | None, replay: bool) -> Reply:
    if replay and answer:
        return decode_reply(answer)
    return Reply(200) if replay else Reply(204)


# -- stores ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Entry:
    expires: float
    token: str = ""
    answer: bytes | None = None


class MemoryDedupStore:
    """Per-process store: bounded in size (oldest entries go first) and in time.

    :param ttl: seconds a completed callback is kept.
    :param lease: seconds a claim in progress is held before another delivery may run.
    :param max_entries: entries kept at most.
    :param clock: seconds, monotonic; for tests.
    """

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL,
        lease: float = DEFAULT_LEASE,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0 or lease <= 0 or max_entries <= 0:
            raise ValueError("ttl, lease and max_entries: expected positive numbers")
        self.ttl = ttl
        self.lease = lease
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._handlers: OrderedDict[str, tuple[float, frozenset[str]]] = OrderedDict()
        self._changed = threading.Condition()
        self._tokens = itertools.count(1)

    def _expire(self, now: float) -> None:
        entries, handlers, limit = self._entries, self._handlers, self.max_entries
        while entries:
            key, entry = next(iter(entries.items()))
            if entry.expires > now and len(entries) <= limit:
                break
            del entries[key]
        while handlers:
            key, (expires, _) = next(iter(handlers.items()))
            if expires > now and len(handlers) <= limit:
                break
            del handlers[key]

    def _live(self, key: str, now: float) -> _Entry | None:
        entry = self._entries.get(key)
        return entry if entry is not None and entry.expires > now else None

    def claim(self, key: str) -> Claim:
        with self._changed:
            now = self._clock()
            self._expire(now)
            entry = self._live(key, now)
            if entry is not None:
                if entry.answer is not None:
                    return Claim(key, "done", answer=entry.answer)
                return Claim(key, "running", lease_left=entry.expires - now)
            token = str(next(self._tokens))
            self._entries[key] = _Entry(now + self.lease, token)
            self._entries.move_to_end(key)
            handlers = self._handlers.get(key)
            done = handlers[1] if handlers is not None and handlers[0] > now else frozenset()
            return Claim(key, "new", token, handlers_done=done)

    def handler_done(self, claim: Claim, handler: str) -> None:
        with self._changed:
            now = self._clock()
            expires, done = self._handlers.get(claim.key, (0.0, frozenset()))
            self._handlers[claim.key] = (now + self.ttl, done | {handler})
            self._handlers.move_to_end(claim.key)
            self._expire(now)

    def finish(self, claim: Claim, answer: bytes) -> None:
        with self._changed:
            now = self._clock()
            self._entries[claim.key] = _Entry(now + self.ttl, answer=answer)
            self._entries.move_to_end(claim.key)
            self._handlers.pop(claim.key, None)
            self._expire(now)
            self._changed.notify_all()

    def release(self, claim: Claim) -> None:
        with self._changed:
            entry = self._entries.get(claim.key)
            if entry is not None and entry.answer is None and entry.token == claim.token:
                del self._entries[claim.key]
            self._changed.notify_all()

    def wait(self, key: str, timeout: float) -> bytes | None:
        with self._changed:
            deadline = time.monotonic() + timeout
            while True:
                entry = self._live(key, self._clock())
                if entry is None:
                    return None  # released, or its lease ran out
                if entry.answer is not None:
                    return entry.answer
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)


#: Take the lease unless the key is held or done; on success also say which handlers
#: completed before and clear the waiters' stream of an earlier attempt.
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('DEL', KEYS[3])
  return {1, redis.call('HKEYS', KEYS[2])}
end
return {0, redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}
"""
#: Give the lease back only if this delivery still holds it; tell the waiters.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
redis.call('XADD', KEYS[2], 'MAXLEN', '1', '*', 'a', 'R')
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
"""
_LEASE, _DONE = b"L", b"D"


class RedisDedupStore:
    """Store shared by every process, in Redis (5.0 or newer: streams wake the waiters).

    Per key: a string holding the lease (``L`` and a token, ``PX lease``) or the
    answer (``D`` and the answer, ``EX ttl``); a hash of the event handlers that
    completed; a one-entry stream that a completion or a release is written to,
    which repeats block on.

    :param url: ``redis://host:port/db``.
    :param prefix: put before every key, so several apps can share a Redis.
    :param ttl: seconds a completed callback is kept.
    :param lease: seconds a claim in progress is held.
    :param timeout: seconds to wait for Redis before calling it unavailable.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "taskrouter:",
        ttl: int = DEFAULT_TTL,
        lease: float = DEFAULT_LEASE,
        timeout: float = 0.5,
        client: Any = None,
    ) -> None:
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError(
                "TASKROUTER_DEDUP is a redis:// URL but the redis package is missing:"
                " pip install 'taskrouter-flask[redis]'"
            ) from exc
        if client is None:
            # One client, with its connection pool, per store (so per application).
            client = redis.Redis.from_url(
                url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        self.client = client
        self.url = url
        self.prefix = prefix
        self.ttl = int(ttl)
        self.lease = lease
        self.timeout = timeout
        self._blocking: Any = None
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(_RELEASE)
        self._lock = threading.Lock()

    def _keys(self, key: str) -> tuple[str, str, str]:
        base = self.prefix + key
        return base, base + ":h", base + ":w"

    def _call(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except Exception as exc:  # redis raises its own hierarchy; all mean "unavailable"
            if exc.__class__.__module__.split(".")[0] != "redis" and not isinstance(exc, OSError):
                raise
            raise DedupUnavailable(f"Redis is unavailable: {exc}") from exc

    def claim(self, key: str) -> Claim:
        token = uuid.uuid4().hex
        lease_ms = max(1, int(self.lease * 1000))
        result = self._call(
            lambda: self._claim(keys=self._keys(key), args=[_LEASE + token.encode(), lease_ms])
        )
        if result[0]:
            done = frozenset(
                name.decode() if isinstance(name, bytes) else name for name in result[1]
            )
            return Claim(key, "new", token, handlers_done=done)
        value = bytes(result[1])
        if value.startswith(_DONE):
            return Claim(key, "done", answer=value[1:])
        return Claim(key, "running", lease_left=max(0, int(result[2])) / 1000)

    def handler_done(self, claim: Claim, handler: str) -> None:
        _, handlers, _ = self._keys(claim.key)

        def write() -> None:
            pipe = self.client.pipeline(transaction=False)
            pipe.hset(handlers, handler, b"1")
            pipe.expire(handlers, self.ttl)
            pipe.execute()

        self._call(write)

    def finish(self, claim: Claim, answer: bytes) -> None:
        key, handlers, stream = self._keys(claim.key)
        done = _DONE + answer

        def write() -> None:
            pipe = self.client.pipeline(transaction=True)
            pipe.set(key, done, ex=self.ttl)
            pipe.delete(handlers)
            pipe.xadd(stream, {"a": done}, maxlen=1, approximate=False)
            pipe.pexpire(stream, self._stream_ms())
            pipe.execute()

        self._call(write)

    def release(self, claim: Claim) -> None:
        self._call(
            lambda: self._release(
                keys=self._keys(claim.key)[::2],
                args=[_LEASE + claim.token.encode(), self._stream_ms()],
            )
        )

    def wait(self, key: str, timeout: float) -> bytes | None:
        stream = self._keys(key)[2]
        block_ms = max(1, int(timeout * 1000))
        result = self._call(
            lambda: self._waiter(timeout).xread({stream: "0-0"}, count=1, block=block_ms)
        )
        if not result:
            return None
        _, entries = result[0]
        _, fields = entries[-1]
        value = bytes(fields.get(b"a", fields.get("a", b"")))
        return value[1:] if value.startswith(_DONE) else None

    def _waiter(self, timeout: float) -> Any:
        """A client whose socket timeout outlasts a blocking read of ``timeout`` seconds."""
        with self._lock:
            if self._blocking is None:
                import redis

                self._blocking = redis.Redis(
                    connection_pool=redis.ConnectionPool.from_url(
                        self.url,
                        socket_timeout=REPEAT_WAIT + self.timeout + 1.0,
                        socket_connect_timeout=self.timeout,
                    )
                )
            return self._blocking

    def _stream_ms(self) -> int:
        """How long a completion stays readable for repeats: longer than any wait."""
        return int((max(self.lease, REPEAT_WAIT) + 5.0) * 1000)


_STORE_METHODS = ("claim", "handler_done", "finish", "release", "wait")


def store_from_setting(
    setting: Any,
    *,
    ttl: int = DEFAULT_TTL,
    lease: float = DEFAULT_LEASE,
    prefix: str = "taskrouter:",
) -> DedupStore | None:
    """Build the store ``TASKROUTER_DEDUP`` names: ``"memory"``, a ``redis://`` URL, or None.

    :raises ValueError: for any other value, or a lease not shorter than the TTL.
    """
    if lease >= ttl:
        raise ValueError(
            f"TASKROUTER_DEDUP_LEASE: expected fewer seconds than TASKROUTER_DEDUP_TTL ({ttl}),"
            f" got {lease}"
        )
    if setting is None or setting is False:
        return None
    if setting == "memory":
        return MemoryDedupStore(ttl=ttl, lease=lease)
    if isinstance(setting, str) and setting.startswith(("redis://", "rediss://", "unix://")):
        return RedisDedupStore(setting, prefix=prefix, ttl=ttl, lease=lease)
    if all(callable(getattr(setting, name, None)) for name in _STORE_METHODS):
        store: DedupStore = setting
        return store
    raise ValueError(
        "TASKROUTER_DEDUP: expected 'memory', a redis:// URL, a store object (with"
        f" {', '.join(_STORE_METHODS)}) or None, got {setting!r}"
    )
