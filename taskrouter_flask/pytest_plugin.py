"""The pytest plugin: fixtures for testing TaskRouter applications.

Registered through the ``pytest11`` entry point, so installing the package
makes the fixtures available. The helpers they use are in
:mod:`taskrouter_flask.testing`, which does not need pytest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .testing import TaskRouterTestClient

__all__ = ["sandbox", "taskrouter_client"]


@pytest.fixture
def sandbox() -> Iterator[Any]:
    """A local TaskRouter on a free port of 127.0.0.1, with a manual clock.

    ``sandbox.client(workspace_sid)`` is a REST client for it,
    ``sandbox.advance(seconds)`` moves its clock (running timeouts), and
    ``sandbox.drain()`` waits for its callbacks to be delivered. It has an API key, so
    ``sandbox.worker_token(workspace_sid, worker_sid)`` mints a token for Twilio's worker
    SDK, and ``sandbox.sdk_servers`` gives the SDK's ``ebServer`` and ``wsServer``.
    """
    from .sandbox.clock import ManualClock
    from .sandbox.server import DEFAULT_API_KEY_SECRET, DEFAULT_API_KEY_SID, Sandbox

    with Sandbox(
        clock=ManualClock(),
        seed=0,
        api_key_sid=DEFAULT_API_KEY_SID,
        api_key_secret=DEFAULT_API_KEY_SECRET,
    ) as running:
        yield running


@pytest.fixture
def taskrouter_client(request: pytest.FixtureRequest) -> Iterator[TaskRouterTestClient]:
    """A :class:`TaskRouterTestClient` for the ``app`` fixture your tests define."""
    app = request.getfixturevalue("app")
    yield TaskRouterTestClient(app)
