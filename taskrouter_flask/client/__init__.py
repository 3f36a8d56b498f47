"""The bundled REST client for TaskRouter v1, over ``requests`` (no Flask here).

client = TaskRouterClient(account_sid, auth_token, workspace_sid)
task = client.tasks.create(workflow_sid=wf.sid, attributes={"type": "ticket"})
"""

from __future__ import annotations

from .client import TaskRouterClient
from .errors import (
    ApiError,
    AuthenticationError,
    Conflict,
    InvalidRequest,
    InvalidResponse,
    NotFound,
    PreconditionFailed,
    RateLimited,
    ServerError,
    TransportError,
    error_from_response,
)
from .resources import OPERATIONS, Operation, Page

__all__ = [
    "OPERATIONS",
    "ApiError",
    "AuthenticationError",
    "Conflict",
    "InvalidRequest",
    "InvalidResponse",
    "NotFound",
    "Operation",
    "Page",
    "PreconditionFailed",
    "RateLimited",
    "ServerError",
    "TaskRouterClient",
    "TransportError",
    "error_from_response",
]
