"""Time for the sandbox: the only place in ``sandbox/`` that reads the wall clock.

The engine asks a clock for "now" and never sleeps; a test hands it a
:class:`ManualClock` and moves time by hand, so every timeout is exact.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """Something that tells the time (timezone-aware, UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time(), tz=UTC)


class ManualClock:
    """Time that only moves when told to.

    :param start: the initial time; a fixed date by default, so runs repeat.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("start: expected a timezone-aware datetime")

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        """Move to ``moment``; time never goes backwards.

        :raises ValueError: if ``moment`` is earlier than now.
        """
        if moment < self._now:
            raise ValueError(f"time cannot go back from {self._now} to {moment}")
        self._now = moment

    def advance(self, seconds: float) -> datetime:
        """Move forward by ``seconds`` and return the new time."""
        self.set(self._now + timedelta(seconds=seconds))
        return self._now
