"""What every part of the engine shares: the engine, its store and its sibling parts.

Why: routing, the reservation lifecycle, resources and event facts call one
another (a freed worker is offered waiting work; a reservation is
made while routing). Each part reaches the others only through their public
methods, by the names given here, and none keeps state of its own beyond
what the :class:`~.store.Store` holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Engine
    from .facts import Facts
    from .lifecycle import Lifecycle
    from .resources import Resources
    from .routing import Routing
    from .store import Store

__all__ = ["Part"]


class Part:
    """A part of the engine; :meth:`Engine.__init__` connects the siblings."""

    engine: Engine
    store: Store
    routing: Routing
    lifecycle: Lifecycle
    resources: Resources
    facts: Facts

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = engine.store
