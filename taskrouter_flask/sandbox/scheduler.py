"""What the engine will do later, and when: a heap of typed timers.

Why a part of its own: reservation timeouts, workflow step timeouts and task
TTLs are the only things that happen without a request. Keeping them as
typed actions in one heap means the engine decides what each one does in one
place, persistence stores them as plain rows, and an aborted command can put
the heap back exactly as it was.

Pure: no clock of its own (the engine passes "now"), no threads.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

__all__ = ["Action", "ReservationTimeout", "Scheduler", "StepTimeout", "TaskTTL", "Timer"]


@dataclass(frozen=True, slots=True)
class ReservationTimeout:
    """A pending reservation that nobody answered times out."""

    reservation_sid: str


@dataclass(frozen=True, slots=True)
class StepTimeout:
    """A task has waited a workflow target's ``timeout`` in its ``step``-th target."""

    task_sid: str
    step: int


@dataclass(frozen=True, slots=True)
class TaskTTL:
    """A task that was never assigned reaches its ``Timeout``."""

    task_sid: str


Action = ReservationTimeout | StepTimeout | TaskTTL

#: At the same instant: reservations time out before steps, steps before TTLs.
_PRIORITY: dict[type[Any], int] = {ReservationTimeout: 0, StepTimeout: 1, TaskTTL: 2}
_KINDS: dict[str, type[Any]] = {
    "reservation-timeout": ReservationTimeout,
    "step-timeout": StepTimeout,
    "task-ttl": TaskTTL,
}
_NAMES = {kind: name for name, kind in _KINDS.items()}


@dataclass(frozen=True, slots=True, order=True)
class Timer:
    """One scheduled action; timers order by due time, then kind, then scheduling order."""

    due: datetime
    priority: int
    seq: int
    action: Action

    def to_row(self) -> tuple[int, str, int, str, str]:
        """``(seq, due, priority, kind, argument)``: how a timer is stored."""
        action = self.action
        argument = (
            f"{action.task_sid} {action.step}"
            if isinstance(action, StepTimeout)
            else action.reservation_sid
            if isinstance(action, ReservationTimeout)
            else action.task_sid
        )
        return (self.seq, self.due.isoformat(), self.priority, _NAMES[type(action)], argument)

    @classmethod
    def from_row(cls, row: tuple[int, str, int, str, str]) -> Timer:
        seq, due, priority, kind, argument = row
        action: Action
        if kind == "step-timeout":
            task_sid, step = argument.split(" ")
            action = StepTimeout(task_sid, int(step))
        elif kind == "reservation-timeout":
            action = ReservationTimeout(argument)
        elif kind == "task-ttl":
            action = TaskTTL(argument)
        else:
            raise ValueError(f"unknown timer kind {kind!r}")
        return cls(datetime.fromisoformat(due), int(priority), int(seq), action)


class Scheduler:
    """The timer heap, with a record of what changed since the last :meth:`commit`."""

    def __init__(self) -> None:
        self._heap: list[Timer] = []
        self._added: list[Timer] = []
        self._removed: list[Timer] = []

    def schedule(self, now: datetime, delay: float, action: Action, seq: int) -> Timer:
        """Run ``action`` ``delay`` seconds after ``now``; ``seq`` breaks ties in order."""
        timer = Timer(now + timedelta(seconds=delay), _PRIORITY[type(action)], seq, action)
        heapq.heappush(self._heap, timer)
        self._added.append(timer)
        return timer

    def next_due(self) -> datetime | None:
        """When the next timer falls due, if any."""
        return self._heap[0].due if self._heap else None

    def pop_due(self, limit: datetime) -> Timer | None:
        """Take the first timer due at or before ``limit``, if there is one."""
        if not self._heap or self._heap[0].due > limit:
            return None
        timer = heapq.heappop(self._heap)
        self._removed.append(timer)
        return timer

    def __len__(self) -> int:
        return len(self._heap)

    def __iter__(self) -> Iterator[Timer]:
        """The timers in due order."""
        return iter(sorted(self._heap))

    # -- transactions -----------------------------------------------------------------------

    def added(self) -> list[Timer]:
        """Timers scheduled since the last commit."""
        return list(self._added)

    def removed(self) -> list[Timer]:
        """Timers taken (run) since the last commit; a timer may be in both lists."""
        return list(self._removed)

    def changed(self) -> bool:
        """Whether anything was scheduled or taken since the last commit."""
        return bool(self._added or self._removed)

    def commit(self) -> None:
        """Keep the changes since the last commit."""
        if self._added:
            self._added.clear()
        if self._removed:
            self._removed.clear()

    def rollback(self) -> None:
        """Undo every change since the last commit."""
        added = {timer.seq for timer in self._added}
        self._heap = [timer for timer in self._heap if timer.seq not in added]
        self._heap.extend(timer for timer in self._removed if timer.seq not in added)
        heapq.heapify(self._heap)
        self._added, self._removed = [], []

    # -- persistence ------------------------------------------------------------------------

    def export(self) -> list[Timer]:
        """Every timer, in due order."""
        return sorted(self._heap)

    def restore(self, timers: list[Timer]) -> None:
        """Replace the heap with ``timers``."""
        self._heap = list(timers)
        heapq.heapify(self._heap)
        self._added, self._removed = [], []
