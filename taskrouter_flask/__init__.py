"""taskrouter_flask: the Flask way to build on Twilio TaskRouter.

Only public names live here; see ``DESIGN.md`` for what each module does.
:class:`TaskRouter` is imported on first use, so that the pure modules
(signatures, instructions, models) can be imported without Flask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import InstructionError, PayloadError, TaskRouterError
from .expressions import Expression, ExpressionError, compile_expression
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
from .workflow import Filter, Target, WorkflowConfiguration, WorkflowConfigurationError

if TYPE_CHECKING:
    from .extension import TaskRouter

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "TaskRouter":
        from .extension import TaskRouter

        return TaskRouter
    raise AttributeError(f"module 'taskrouter_flask' has no attribute {name!r}")


__all__ = [
    "Accept",
    "Activity",
    "Assignment",
    "Call",
    "Conference",
    "Dequeue",
    "Event",
    "Expression",
    "Filter",
    "ExpressionError",
    "Instruction",
    "InstructionError",
    "PayloadError",
    "Redirect",
    "Reject",
    "Target",
    "Task",
    "TaskRouter",
    "TaskRouterError",
    "Worker",
    "WorkerChannel",
    "WorkflowConfiguration",
    "WorkflowConfigurationError",
    "__version__",
    "accept",
    "call",
    "compile_expression",
    "compute_signature",
    "conference",
    "dequeue",
    "redirect",
    "reject",
    "validate_signature",
]
