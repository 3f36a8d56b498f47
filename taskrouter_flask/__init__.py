"""taskrouter_flask: the Flask way to build on Twilio TaskRouter.

Only public names live here; see ``docs/architecture.md`` for what each module does.
:class:`TaskRouter` and the worker token names are imported on first use, so that the
pure modules (signatures, instructions, models) can be imported without Flask, and
importing the package costs nothing for what it does not use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    InstructionError,
    NameResolutionError,
    NotFound,
    PayloadError,
    TaskRouterError,
)
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
from .signals import callback_handled
from .signature import compute_signature, validate_signature
from .workflow import Filter, Target, WorkflowConfiguration, WorkflowConfigurationError

if TYPE_CHECKING:
    from .access_token import AccessTokenError, WorkerGrant, mint_worker_token
    from .extension import TaskRouter

    #: The installed distribution's version (``pip show taskrouter-flask``), read from its
    #: metadata on first use; ``"0+unknown"`` in a source tree that was never installed.
    __version__: str

#: The distribution whose metadata gives ``__version__`` (``[project] name`` in pyproject.toml).
_DISTRIBUTION = "taskrouter-flask"


def _installed_version() -> str:
    # Imported here, not at the top: importlib.metadata pulls in email, socket and more,
    # which the pure modules (the sandbox engine's among them) must not import.
    from importlib import metadata

    try:
        return metadata.version(_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"


#: The names imported on first use, with the module of each.
_LAZY = {
    "TaskRouter": "extension",
    "AccessTokenError": "access_token",
    "WorkerGrant": "access_token",
    "mint_worker_token": "access_token",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    if name == "__version__":
        version = globals()["__version__"] = _installed_version()
        return version
    raise AttributeError(f"module 'taskrouter_flask' has no attribute {name!r}")


__all__ = [
    "Accept",
    "AccessTokenError",
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
    "NameResolutionError",
    "NotFound",
    "PayloadError",
    "Redirect",
    "Reject",
    "Target",
    "Task",
    "TaskRouter",
    "TaskRouterError",
    "Worker",
    "WorkerChannel",
    "WorkerGrant",
    "WorkflowConfiguration",
    "WorkflowConfigurationError",
    "__version__",
    "accept",
    "call",
    "callback_handled",
    "compile_expression",
    "compute_signature",
    "conference",
    "dequeue",
    "mint_worker_token",
    "redirect",
    "reject",
    "validate_signature",
]
