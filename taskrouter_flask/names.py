"""Friendly names of task queues and workflows, resolved to SIDs through the REST client.

:class:`NameCache` is the :class:`~taskrouter_flask.dispatch.NameResolver` the
extension gives its dispatcher, one per application. It lists a workspace's
task queues (or workflows) the first time a name of that kind is needed there,
and lists again when asked to: when a callback carries a SID the listing does
not have (a queue created or renamed since), while a name is unknown, and when
the listing is older than ``max_age``. It never lists one kind of one workspace
more than once per ``min_interval`` seconds, however many unknown names or
SIDs arrive, so a flood of callbacks cannot turn into a flood of API requests.

Like the rest of the client side, this module does not import Flask.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .dispatch import NameKind, NameTable
from .errors import NameResolutionError

if TYPE_CHECKING:
    from .client import TaskRouterClient

__all__ = ["MAX_AGE", "MIN_REFRESH_INTERVAL", "NameCache"]

log = logging.getLogger(__name__)

#: Seconds between two listings of one kind (queues, workflows) of one workspace, at least.
MIN_REFRESH_INTERVAL = 5.0
#: Seconds after which a listing is made again on its next use, to notice renames.
MAX_AGE = 300.0
#: Items per page when listing; a workspace with more queues takes several pages.
_PAGE_SIZE = 1000
_WHAT: dict[NameKind, str] = {"queue": "task queues", "workflow": "workflows"}


class NameCache:
    """Friendly name to SIDs, per workspace, for task queues and workflows.

    :param client_for: gives the REST client for a workspace SID.
    :param min_interval: seconds between two listings of one kind of one workspace, at least.
    :param max_age: seconds a listing is used before it is made again.
    :param clock: monotonic seconds (tests pass a fake).
    """

    def __init__(
        self,
        client_for: Callable[[str], TaskRouterClient],
        *,
        min_interval: float = MIN_REFRESH_INTERVAL,
        max_age: float = MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client_for = client_for
        self.min_interval = min_interval
        self.max_age = max_age
        self.clock = clock
        self._tables: dict[tuple[NameKind, str], NameTable] = {}
        self._attempts: dict[tuple[NameKind, str], tuple[float, Exception | None]] = {}
        self._locks: dict[tuple[NameKind, str], threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def table(self, kind: NameKind, workspace_sid: str) -> NameTable | None:
        """The listing of ``kind`` in ``workspace_sid``, unless there is none or it is too old."""
        table = self._tables.get((kind, workspace_sid))
        if table is None or self.clock() - table.loaded_at > self.max_age:
            return None
        return table

    def refresh(self, kind: NameKind, workspace_sid: str) -> NameTable:
        """List ``kind`` in ``workspace_sid`` again, unless tried under ``min_interval`` ago.

        A failed listing keeps the previous one (logged at WARNING).

        :returns: the newest listing.
        :raises NameResolutionError: if there is no listing and none can be made.
        """
        key = (kind, workspace_sid)
        with self._lock(key):
            current = self._tables.get(key)
            now = self.clock()
            attempt = self._attempts.get(key)
            if attempt is not None and now - attempt[0] < self.min_interval:
                if current is not None:
                    return current
                raise self._failure(kind, workspace_sid, attempt[1])
            try:
                table = self._list(kind, workspace_sid, now)
            except Exception as exc:
                self._attempts[key] = (now, exc)
                if current is None:
                    raise self._failure(kind, workspace_sid, exc) from exc
                log.warning(
                    "could not list the %s of workspace %s (%s); using the names listed %.0f s ago",
                    _WHAT[kind],
                    workspace_sid,
                    exc,
                    now - current.loaded_at,
                )
                return current
            self._attempts[key] = (now, None)
            self._tables[key] = table
            return table

    def clear(self) -> None:
        """Forget every listing (and when the last was made)."""
        self._tables.clear()
        self._attempts.clear()

    def _list(self, kind: NameKind, workspace_sid: str, now: float) -> NameTable:
        client = self.client_for(workspace_sid)
        items: Iterable[object]
        if kind == "queue":
            items = client.task_queues.list(page_size=_PAGE_SIZE)
        else:
            items = client.workflows.list(page_size=_PAGE_SIZE)
        by_name: dict[str, set[str]] = {}
        sids: set[str] = set()
        for item in items:
            sid = getattr(item, "sid", None)
            name = getattr(item, "friendly_name", None)
            if not isinstance(sid, str):
                continue
            sids.add(sid)
            if isinstance(name, str):
                by_name.setdefault(name, set()).add(sid)
        log.debug("listed %d %s of workspace %s", len(sids), _WHAT[kind], workspace_sid)
        return NameTable(
            workspace_sid=workspace_sid,
            by_name={name: frozenset(found) for name, found in by_name.items()},
            sids=frozenset(sids),
            loaded_at=now,
        )

    def _failure(
        self, kind: NameKind, workspace_sid: str, cause: Exception | None
    ) -> NameResolutionError:
        return NameResolutionError(
            f"cannot resolve {kind} names: listing the {_WHAT[kind]} of workspace"
            f" {workspace_sid} failed ({cause}); tried again at most every"
            f" {self.min_interval:g} s"
        )

    def _lock(self, key: tuple[NameKind, str]) -> threading.Lock:
        lock = self._locks.get(key)
        if lock is None:
            with self._locks_lock:
                lock = self._locks.setdefault(key, threading.Lock())
        return lock
