"""Short garbage-collection pauses for a sandbox whose state keeps growing.

Why: CPython's cyclic collector now and then scans every object it tracks (a
full collection, each time the survivors have grown by a quarter). The
engine's state is made of such objects, a dozen or so per task with its
events, so those pauses grew with the number of live tasks: 41 ms at a few
thousand, about 200 ms at 26,000, over 400 ms near 100,000. Nearly all of
that state lives long, and scanning it again finds nothing to free.

What this does: every so often, after a command has committed, it runs one
collection of the objects not yet set aside, then moves every survivor into
the collector's permanent generation (:func:`gc.freeze`), which no
collection scans again. So every collection, full ones included, scans only
what was made since the last freeze, and its pause no longer grows with the
engine. Frozen objects are still freed as soon as nothing refers to them (a
deleted task's records go at once); what a freeze costs is that a reference
*cycle* frozen while alive is not collected once it becomes garbage, until
:meth:`Collector.stop` gives the frozen objects back. The engine keeps no
cycles that outlive their records (a record leaves its store's cycle when it
is removed), so that is bounded by what other code holds in cycles at the
moment of a freeze (a request being answered): ``benchmarks/bench_gc.py``
measures it, about a dozen objects per freeze.

Measured against the alternatives (``bench_gc.py``, 100,000 live tasks): with
CPython's thresholds the longest pause was 1.1 s; raising them (20,000, 50,
50) left 260 ms pauses of the middle generation and never ran a full
collection; with this policy the longest was 3.5 ms. Fewer objects per task
(13 tracked ones, its events included) could not do it alone: a full
collection would still scan over a million objects.

Not part of the pure engine: the collector is the process's, not the
engine's. The sandbox calls :meth:`Collector.start` once before it serves,
and :meth:`Collector.on_event` is one of the engine's listeners (see
:meth:`Collector.install`).
"""

from __future__ import annotations

import gc
from typing import Any

from .engine import Engine

__all__ = ["DEFAULT_EVERY", "LARGE_AT_START", "Collector"]

#: Events between two freezes: about 500 tasks created. The objects made in between (with
#: what the requests made) are what the next freeze's collection scans: a few milliseconds.
DEFAULT_EVERY = 2_000
#: Records and retained events from which a sandbox that starts with them (a journal just
#: loaded) is collected before it is frozen; a smaller one is frozen without a scan.
LARGE_AT_START = 10_000


class Collector:
    """Freezes what the engine has kept, every ``every`` committed events.

    :param every: how many events (each committed change makes one or more) between two
        freezes; fewer means shorter, more frequent collections before them.
    """

    def __init__(self, every: int = DEFAULT_EVERY) -> None:
        if every < 1:
            raise ValueError(f"every: expected at least 1, got {every}")
        self.every = every
        #: Events since the last freeze.
        self.pending = 0
        #: Freezes so far (a figure for tests and benchmarks).
        self.freezes = 0
        #: The engine whose events are counted, once installed.
        self.engine: Engine | None = None

    def install(self, engine: Engine) -> Collector:
        """Listen to ``engine``'s committed events (and return ``self``)."""
        self.engine = engine
        engine.listeners.append(self.on_event)
        return self

    def start(self) -> None:
        """Before serving: set aside everything there is now.

        A sandbox that starts large (a journal just loaded) is collected first: the one
        pause that scans the whole heap, taken before serving. Otherwise what exists (the
        modules, the application) is only frozen, which scans nothing, so the first
        collection while serving scans only what came after.
        """
        engine = self.engine
        if engine is not None:
            tables = (engine.tasks, engine.workers, engine.reservations)
            if sum(len(table) for table in tables) + len(engine.events) >= LARGE_AT_START:
                self.settle()
                return
        gc.freeze()
        self.freezes += 1

    def stop(self) -> None:
        """Give every frozen object back to the collector: when the sandbox stops.

        A stopped sandbox's own objects (its application, its engine) were frozen while
        alive and are garbage now, held in cycles that only a collection frees; after
        this, the next full collection frees them. In a process that runs many sandboxes
        one after another (a test session), memory would otherwise grow with each.
        """
        self.pending = 0
        if self.freezes:
            gc.unfreeze()

    def on_event(self, event: Any) -> None:
        """An engine listener: counts committed events and freezes every ``every``."""
        self.pending += 1
        if self.pending >= self.every:
            self.settle()

    def settle(self) -> None:
        """Collect the objects not yet frozen, then freeze the survivors."""
        self.pending = 0
        gc.collect()
        gc.freeze()
        self.freezes += 1
