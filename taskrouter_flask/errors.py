"""One error hierarchy for the whole package.

Every error we raise on purpose derives from :class:`TaskRouterError`, so an
application can catch "anything taskrouter_flask refused" in one clause, while
the subclasses that describe bad *values* also derive from :class:`ValueError`
so they read naturally next to the standard library.
"""

from __future__ import annotations

__all__ = [
    "InstructionError",
    "PayloadError",
    "TaskRouterError",
]


class TaskRouterError(Exception):
    """Root of every error raised by taskrouter_flask."""


class PayloadError(TaskRouterError, ValueError):
    """A callback payload is malformed or incomplete.

    :param message: what was wrong and what was expected.
    :param field: the wire name of the offending field, when there is one.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InstructionError(TaskRouterError, ValueError):
    """An assignment instruction cannot be carried out as built.

    Raised when the instruction object is constructed, so that an impossible
    instruction fails in the handler's own unit test rather than at Twilio.

    :param message: what was wrong and what was expected.
    :param parameter: the keyword argument (or dict key) at fault.
    """

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.parameter = parameter
