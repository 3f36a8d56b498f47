"""A local TaskRouter: the routing engine (pure), and HTTP around it.

``engine`` holds all state and decides everything TaskRouter decides, with
time passed in; nothing in it does I/O. The REST API and the callback sender
(later modules) put HTTP around it.
"""

from __future__ import annotations

from .clock import Clock, ManualClock, SystemClock
from .engine import Engine
from .errors import EngineError, InvalidArgument, InvalidTransition, NotFound, PreconditionFailed

__all__ = [
    "Clock",
    "Engine",
    "EngineError",
    "InvalidArgument",
    "InvalidTransition",
    "ManualClock",
    "NotFound",
    "PreconditionFailed",
    "SystemClock",
]
