"""One error hierarchy for the whole package.

Every error we raise on purpose derives from :class:`TaskRouterError`, so an
application can catch "anything taskrouter_flask refused" in one clause, while
the subclasses that describe bad *values* also derive from :class:`ValueError`
so they read naturally next to the standard library.
"""

from __future__ import annotations

__all__ = [
    "InstructionError",
    "NameResolutionError",
    "NotFound",
    "PayloadError",
    "TaskRouterError",
]


class TaskRouterError(Exception):
    """Root of every error raised by taskrouter_flask."""


class NotFound(TaskRouterError):
    """No such resource: the one class to catch wherever the answer came from.

    The REST client raises :class:`taskrouter_flask.client.errors.NotFound`
    (a 404 from TaskRouter or the sandbox's REST API) and the sandbox engine
    raises :class:`taskrouter_flask.sandbox.errors.NotFound`; both derive
    from this class, so ``except taskrouter_flask.NotFound`` catches either.
    """


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


class NameResolutionError(TaskRouterError, LookupError):
    """A task queue or workflow named by a handler's matcher could not be resolved.

    Raised by :meth:`TaskRouter.check_names` for names that no queue or
    workflow of the workspace has, and at dispatch when the workspace's queues
    or workflows cannot be listed at all (the REST API is unreachable, or the
    application has no credentials), so the assignment is answered like a
    failing handler rather than guessed at.

    :param message: what could not be resolved, naming it and the workspace.
    :param names: the unknown names, when that is what went wrong.
    """

    def __init__(self, message: str, *, names: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.names = names
