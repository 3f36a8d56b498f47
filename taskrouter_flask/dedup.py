"""Recognise callbacks TaskRouter delivers more than once.

Twilio may deliver the same event again (a timeout on its side, a retry),
and an application running in several processes must not act twice. Each
event is claimed by its SID before dispatch — atomically, in one place all
processes share (Redis), or per process (memory) — and a claim that fails
means "seen already". An assignment callback repeated for one reservation
gets the first answer again, so the reservation is never answered two ways.

A claim is released when the handler failed (a 5xx answer), so Twilio's
redelivery gets another chance. Pure module: no Flask.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from .errors import TaskRouterError

__all__ = [
    "DedupStore",
    "DedupUnavailable",
    "MemoryDedupStore",
    "RedisDedupStore",
    "event_key",
    "store_from_setting",
]

log = logging.getLogger(__name__)

DEFAULT_TTL = 24 * 3600
DEFAULT_MAX_ENTRIES = 100_000


class DedupUnavailable(TaskRouterError):
    """The shared store could not be reached; the caller decides to fail open or closed."""


class DedupStore(Protocol):
    """Where claims and remembered answers live."""

    def claim(self, key: str) -> bool:
        """Record ``key``; True if it was not recorded before (atomically)."""
        ...

    def release(self, key: str) -> None:
        """Forget ``key``, so the next delivery is dispatched again."""
        ...

    def remember(self, key: str, value: bytes) -> None:
        """Keep an answer under ``key``."""
        ...

    def recall(self, key: str) -> bytes | None:
        """The answer kept under ``key``, if any."""
        ...


def event_key(fields: Mapping[str, Any]) -> str:
    """The key of an event: its SID, else a hash of all its fields.

    :param fields: the callback's fields, as received.
    """
    sid = fields.get("Sid")
    if isinstance(sid, str) and sid.startswith("EV"):
        return f"event:{sid}"
    digest = hashlib.sha256()
    for name in sorted(fields):
        digest.update(f"{name}\0{fields[name]!r}\0".encode())
    return f"event:sha256:{digest.hexdigest()}"


class MemoryDedupStore:
    """Per-process store: bounded in size (oldest entries go first) and in time.

    :param ttl: seconds an entry is kept.
    :param max_entries: entries kept at most.
    :param clock: seconds, monotonic; for tests.
    """

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0 or max_entries <= 0:
            raise ValueError("ttl and max_entries: expected positive numbers")
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, bytes | None]] = OrderedDict()
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        while self._entries:
            key, (expires, _) = next(iter(self._entries.items()))
            if expires > now and len(self._entries) <= self.max_entries:
                return
            del self._entries[key]

    def claim(self, key: str) -> bool:
        with self._lock:
            now = self._clock()
            self._expire(now)
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now:
                return False
            self._entries[key] = (now + self.ttl, None)
            self._entries.move_to_end(key)
            self._expire(now)
            return True

    def release(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def remember(self, key: str, value: bytes) -> None:
        with self._lock:
            now = self._clock()
            self._entries[key] = (now + self.ttl, value)
            self._entries.move_to_end(key)
            self._expire(now)

    def recall(self, key: str) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] <= self._clock():
                return None
            return entry[1]


class RedisDedupStore:
    """Store shared by every process, in Redis (``SET key NX EX ttl``).

    :param url: ``redis://host:port/db``.
    :param prefix: put before every key, so several apps can share a Redis.
    :param ttl: seconds an entry is kept.
    :param timeout: seconds to wait for Redis before calling it unavailable.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "taskrouter:",
        ttl: int = DEFAULT_TTL,
        timeout: float = 0.5,
        client: Any = None,
    ) -> None:
        if client is None:
            try:
                import redis
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise RuntimeError(
                    "TASKROUTER_DEDUP is a redis:// URL but the redis package is missing:"
                    " pip install 'taskrouter-flask[redis]'"
                ) from exc
            # One client, with its connection pool, per store (so per application).
            client = redis.Redis.from_url(
                url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        self.client = client
        self.prefix = prefix
        self.ttl = int(ttl)

    def _call(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except Exception as exc:  # redis raises its own hierarchy; all mean "unavailable"
            if exc.__class__.__module__.split(".")[0] != "redis" and not isinstance(exc, OSError):
                raise
            raise DedupUnavailable(f"Redis is unavailable: {exc}") from exc

    def claim(self, key: str) -> bool:
        result = self._call(lambda: self.client.set(self.prefix + key, b"1", nx=True, ex=self.ttl))
        return bool(result)

    def release(self, key: str) -> None:
        self._call(lambda: self.client.delete(self.prefix + key))

    def remember(self, key: str, value: bytes) -> None:
        self._call(lambda: self.client.set(self.prefix + key, value, ex=self.ttl))

    def recall(self, key: str) -> bytes | None:
        value = self._call(lambda: self.client.get(self.prefix + key))
        return None if value is None else bytes(value)


def store_from_setting(
    setting: Any, *, ttl: int = DEFAULT_TTL, prefix: str = "taskrouter:"
) -> DedupStore | None:
    """Build the store ``TASKROUTER_DEDUP`` names: ``"memory"``, a ``redis://`` URL, or None.

    :raises ValueError: for any other value.
    """
    if setting is None or setting is False:
        return None
    if setting == "memory":
        return MemoryDedupStore(ttl=ttl)
    if isinstance(setting, str) and setting.startswith(("redis://", "rediss://", "unix://")):
        return RedisDedupStore(setting, prefix=prefix, ttl=ttl)
    if all(hasattr(setting, name) for name in ("claim", "release", "remember", "recall")):
        store: DedupStore = setting
        return store
    raise ValueError(
        "TASKROUTER_DEDUP: expected 'memory', a redis:// URL, a store object or None,"
        f" got {setting!r}"
    )
