"""The REST client: one object, one HTTP session, every TaskRouter v1 resource."""

from __future__ import annotations

import copy
from typing import Any

import requests

from ..models import Statistics
from .http import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, HttpTransport
from .resources import (
    Activities,
    Events,
    TaskChannels,
    TaskQueues,
    Tasks,
    Workers,
    Workflows,
    Workspaces,
)

__all__ = ["TaskRouterClient"]


class TaskRouterClient:
    """Call the TaskRouter REST API (or the local sandbox, which speaks the same API).

    Resources of one workspace (``activities``, ``tasks``, ``workers``, ...)
    use ``workspace_sid``; :meth:`for_workspace` gives a client for another
    workspace that shares this one's connections.

    :param account_sid: the account SID (``AC...``), or an API key SID (``SK...``).
    :param auth_token: the auth token, or the API key's secret.
    :param workspace_sid: the workspace the workspace-level resources act on.
    :param base_url: the API's base URL; the sandbox's in tests.
    :param timeout: seconds per request, one number or ``(connect, read)``.
    :param max_retries: retries of a failed request, at most (see :mod:`.http`).
    :param backoff_factor: first wait between retries, in seconds.
    :param session: a ``requests.Session`` to send through.
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        workspace_sid: str | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        backoff_factor: float = 0.5,
        session: requests.Session | None = None,
    ) -> None:
        self.transport = HttpTransport(
            account_sid,
            auth_token,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            backoff_factor=backoff_factor,
            session=session,
        )
        self.account_sid = account_sid
        self._bind(workspace_sid)

    def _bind(self, workspace_sid: str | None) -> None:
        self.workspace_sid = workspace_sid
        self.workspaces = Workspaces(self)
        self.activities = Activities(self)
        self.events = Events(self)
        self.task_channels = TaskChannels(self)
        self.task_queues = TaskQueues(self)
        self.tasks = Tasks(self)
        self.workers = Workers(self)
        self.workflows = Workflows(self)

    def for_workspace(self, workspace_sid: str) -> TaskRouterClient:
        """A client for another workspace, on the same connections."""
        other = copy.copy(self)
        other._bind(workspace_sid)
        return other

    @property
    def base_url(self) -> str:
        """The API's base URL."""
        return self.transport.base_url

    def workspace_statistics(self, **window: Any) -> Statistics:
        """Cumulative and real-time statistics of this client's workspace."""
        return self.workspaces.statistics(self._workspace(), **window)

    def workspace_real_time_statistics(self, **filters: Any) -> Statistics:
        """Real-time statistics of this client's workspace."""
        return self.workspaces.real_time_statistics(self._workspace(), **filters)

    def workspace_cumulative_statistics(self, **window: Any) -> Statistics:
        """Cumulative statistics of this client's workspace over a time window."""
        return self.workspaces.cumulative_statistics(self._workspace(), **window)

    def close(self) -> None:
        """Close pooled connections."""
        self.transport.close()

    def __enter__(self) -> TaskRouterClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _workspace(self) -> str:
        if not self.workspace_sid:
            raise ValueError("no workspace: pass workspace_sid to TaskRouterClient")
        return self.workspace_sid
