"""taskrouter_flask: the Flask way to build on Twilio TaskRouter.

Only public names live here; see ``DESIGN.md`` for what each module does.
"""

from __future__ import annotations

from .errors import InstructionError, PayloadError, TaskRouterError
from .extension import TaskRouter
from .instructions import (
    Accept,
    Call,
    Conference,
    Dequeue,
    Instruction,
    Redirect,
    Reject,
    accept,
    call,
    conference,
    dequeue,
    redirect,
    reject,
)
from .models import Activity, Assignment, Event, Task, Worker, WorkerChannel
from .signature import compute_signature, validate_signature

__version__ = "0.1.0"

__all__ = [
    "Accept",
    "Activity",
    "Assignment",
    "Call",
    "Conference",
    "Dequeue",
    "Event",
    "Instruction",
    "InstructionError",
    "PayloadError",
    "Redirect",
    "Reject",
    "Task",
    "TaskRouter",
    "TaskRouterError",
    "Worker",
    "WorkerChannel",
    "__version__",
    "accept",
    "call",
    "compute_signature",
    "conference",
    "dequeue",
    "redirect",
    "reject",
    "validate_signature",
]
