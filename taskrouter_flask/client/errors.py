"""What can go wrong talking to the TaskRouter REST API, as one hierarchy.

Every failure the client reports is a :class:`~taskrouter_flask.errors.TaskRouterError`:
an HTTP error answer becomes the subclass for its status, carrying Twilio's
error ``code``, ``message`` and ``more_info``; a network failure or a timeout
becomes a :class:`TransportError` with the original exception chained, so
callers never need to catch ``requests`` exceptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import NotFound as _NotFound
from ..errors import TaskRouterError

__all__ = [
    "ApiError",
    "AuthenticationError",
    "Conflict",
    "InvalidRequest",
    "InvalidResponse",
    "NotFound",
    "PreconditionFailed",
    "RateLimited",
    "ServerError",
    "TransportError",
    "error_from_response",
]


class ApiError(TaskRouterError):
    """The API answered with an error status.

    :param status: the HTTP status.
    :param code: Twilio's error code (e.g. 20404), when the body has one.
    :param message: Twilio's message, or a description of the status.
    :param more_info: the URL of Twilio's page about the code.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: int | None = None,
        more_info: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        where = f" ({method} {url})" if method and url else ""
        prefix = f"HTTP {status}" + (f", Twilio error {code}" if code is not None else "")
        super().__init__(f"{prefix}: {message}{where}")
        self.status = status
        self.code = code
        self.message = message
        self.more_info = more_info
        self.method = method
        self.url = url


class InvalidRequest(ApiError):
    """400: a parameter is missing or malformed."""


class AuthenticationError(ApiError):
    """401 or 403: the credentials are wrong or lack the permission."""


class NotFound(ApiError, _NotFound):
    """404: no such resource (also a :class:`taskrouter_flask.errors.NotFound`)."""


class Conflict(ApiError):
    """409: the request conflicts with the resource's state."""


class PreconditionFailed(ApiError):
    """412: the ``If-Match`` revision is not the resource's current one."""


class RateLimited(ApiError):
    """429: too many requests, still refused after the configured retries."""


class ServerError(ApiError):
    """5xx: the service failed."""


class TransportError(TaskRouterError):
    """The request did not get an HTTP answer: connection refused, reset, or timed out."""


class InvalidResponse(TaskRouterError):
    """The API answered 2xx with a body that is not the resource it should be."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidRequest,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    429: RateLimited,
}


def error_from_response(
    status: int, body: Any, *, method: str | None = None, url: str | None = None
) -> ApiError:
    """Return the exception for an error answer: the class for ``status``, with Twilio's fields.

    :param status: the HTTP status (>= 400).
    :param body: the decoded JSON body, or anything else (then ignored).
    """
    details: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
    code = details.get("code")
    message = details.get("message") or details.get("detail") or f"the API answered {status}"
    more_info = details.get("more_info")
    if status >= 500:
        cls: type[ApiError] = ServerError
    else:
        cls = _BY_STATUS.get(status, ApiError)
    return cls(
        str(message),
        status=status,
        code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        more_info=more_info if isinstance(more_info, str) else None,
        method=method,
        url=url,
    )
