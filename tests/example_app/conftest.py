"""Fixtures for the example application: a desk running end to end, and event builders."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from example_app.runner import Options, SupportDesk
from taskrouter_flask import Event
from taskrouter_flask.testing import make_event, make_sid

WORKSPACE = make_sid("WS")
GOLD_QUEUE = make_sid("WQ")
SPANISH_QUEUE = make_sid("WQ")
EVERYONE_QUEUE = make_sid("WQ")
START = 1_767_225_600  # 2026-01-01T00:00:00Z


def event(event_type: str, *, at: float = START, **fields: Any) -> Event:
    """A parsed event of ``event_type`` at epoch second ``at``; ``fields`` are wire fields.

    ``task_attributes`` and ``worker_attributes`` are dicts, as for ``make_event``.
    """
    wire = {k: v for k, v in fields.items() if k not in ("task_attributes", "worker_attributes")}
    return make_event(
        event_type,
        workspace_sid=WORKSPACE,
        task_attributes=fields.get("task_attributes"),
        worker_attributes=fields.get("worker_attributes"),
        Timestamp=str(int(at)),
        **{k: str(v) for k, v in wire.items()},
    )


def wait_for(condition: Callable[[], Any], *, timeout: float = 15.0, what: str = "") -> Any:
    """Poll ``condition`` until it is truthy; return its value or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def live_desk() -> Iterator[SupportDesk]:
    """The whole desk on 127.0.0.1: sandbox, app server and agents; new tasks paused."""
    options = Options(
        port=0,
        seed=7,
        agents=6,
        handle_time=0.4,
        paused=True,
        daily_limit=1000,
    )
    with SupportDesk(options, environ={}) as desk:
        yield desk


def signed_in(desk: SupportDesk) -> requests.Session:
    """An HTTP session signed in as the desk's operator (through its sign-in link)."""
    session = requests.Session()
    response = session.get(desk.sign_in_url, timeout=10, allow_redirects=False)
    assert response.status_code == 303, response.text
    assert session.cookies.get("support_desk_session"), "no session cookie after signing in"
    return session
