"""Refusals of the engine, each with the Twilio error code and HTTP status the API answers."""

from __future__ import annotations

from ..errors import NotFound as _NotFound
from ..errors import TaskRouterError

__all__ = [
    "STATISTICS_START_DATE_TOO_OLD",
    "EngineError",
    "InvalidArgument",
    "InvalidTransition",
    "NotFound",
    "PreconditionFailed",
]

#: Twilio's code for statistics asked from a ``StartDate`` more than 30 days back (HTTP 400):
#: "start_date passed to TaskRouter statistics is older than 30 days",
#: https://www.twilio.com/docs/api/errors/14241.
STATISTICS_START_DATE_TOO_OLD = 14241


class EngineError(TaskRouterError):
    """Base of the engine's refusals.

    :param message: what was refused and why.
    :param code: Twilio's error code for it.
    :param status: the HTTP status the REST API answers with.
    """

    status = 400
    code = 20001

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFound(EngineError, _NotFound):
    """No such resource (also a :class:`taskrouter_flask.errors.NotFound`)."""

    status = 404
    code = 20404


class InvalidArgument(EngineError):
    """A parameter is missing or has a value the resource cannot take."""


class InvalidTransition(EngineError):
    """The resource's state does not allow this change (a reservation no longer pending...)."""


class PreconditionFailed(EngineError):
    """``If-Match`` names an older revision than the resource's."""

    status = 412
    code = 20001
