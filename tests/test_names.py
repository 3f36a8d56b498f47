"""The name cache: listings made lazily, kept, made again on demand but never too often."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from taskrouter_flask.errors import NameResolutionError
from taskrouter_flask.models import TaskQueue, Workflow
from taskrouter_flask.names import MIN_REFRESH_INTERVAL, NameCache
from taskrouter_flask.testing import make_sid

WORKSPACE = make_sid("WS")
GOLD = make_sid("WQ")
SILVER = make_sid("WQ")
FLOW = make_sid("WW")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeList:
    def __init__(self, owner: FakeClient, items: list[Any]) -> None:
        self.owner = owner
        self.items = items

    def list(self, **filters: Any) -> Iterator[Any]:
        self.owner.calls.append(filters)
        if self.owner.error is not None:
            raise self.owner.error
        return iter(list(self.items))


class FakeClient:
    """Stands in for TaskRouterClient: only ``task_queues.list`` and ``workflows.list``."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.error: Exception | None = None
        self.task_queues = FakeList(self, [TaskQueue(sid=GOLD, friendly_name="Gold Tickets")])
        self.workflows = FakeList(self, [Workflow(sid=FLOW, friendly_name="Support Desk")])


@pytest.fixture
def client() -> FakeClient:
    return FakeClient()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(client: FakeClient, clock: Clock) -> NameCache:
    workspaces: list[str] = []

    def client_for(workspace_sid: str) -> Any:
        workspaces.append(workspace_sid)
        assert workspace_sid == WORKSPACE
        return client

    return NameCache(client_for, clock=clock)


def test_nothing_is_listed_until_asked_then_the_listing_is_kept(
    cache: NameCache, client: FakeClient
) -> None:
    assert cache.table("queue", WORKSPACE) is None
    assert client.calls == []
    table = cache.refresh("queue", WORKSPACE)
    assert table.by_name == {"Gold Tickets": frozenset({GOLD})}
    assert table.sids == frozenset({GOLD}) and table.workspace_sid == WORKSPACE
    assert cache.table("queue", WORKSPACE) is table
    assert client.calls == [{"page_size": 1000}]
    assert cache.refresh("workflow", WORKSPACE).by_name == {"Support Desk": frozenset({FLOW})}


def test_listings_are_made_at_most_once_per_interval_per_kind(
    cache: NameCache, client: FakeClient, clock: Clock
) -> None:
    first = cache.refresh("queue", WORKSPACE)
    client.task_queues.items.append(TaskQueue(sid=SILVER, friendly_name="Silver"))
    for _ in range(100):  # a flood of unknown names or SIDs
        assert cache.refresh("queue", WORKSPACE) is first
    assert len(client.calls) == 1
    cache.refresh("workflow", WORKSPACE)  # another kind has its own interval
    assert len(client.calls) == 2
    clock.now += MIN_REFRESH_INTERVAL
    assert cache.refresh("queue", WORKSPACE).by_name["Silver"] == frozenset({SILVER})
    assert len(client.calls) == 3


def test_a_listing_expires_after_max_age(cache: NameCache, clock: Clock) -> None:
    cache.refresh("queue", WORKSPACE)
    clock.now += cache.max_age - 1
    assert cache.table("queue", WORKSPACE) is not None
    clock.now += 2
    assert cache.table("queue", WORKSPACE) is None


def test_two_queues_with_one_name_are_both_that_name(cache: NameCache, client: FakeClient) -> None:
    client.task_queues.items.append(TaskQueue(sid=SILVER, friendly_name="Gold Tickets"))
    assert cache.refresh("queue", WORKSPACE).by_name == {"Gold Tickets": frozenset({GOLD, SILVER})}


def test_a_failed_listing_without_a_previous_one_is_an_error_not_retried_at_once(
    cache: NameCache, client: FakeClient, clock: Clock
) -> None:
    client.error = ConnectionError("connection refused")
    with pytest.raises(NameResolutionError, match=f"task queues of workspace {WORKSPACE} failed"):
        cache.refresh("queue", WORKSPACE)
    with pytest.raises(NameResolutionError, match="connection refused"):
        cache.refresh("queue", WORKSPACE)
    assert len(client.calls) == 1
    client.error = None
    clock.now += MIN_REFRESH_INTERVAL
    assert cache.refresh("queue", WORKSPACE).sids == frozenset({GOLD})


def test_a_failed_listing_keeps_the_previous_one(
    cache: NameCache, client: FakeClient, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    first = cache.refresh("queue", WORKSPACE)
    clock.now += MIN_REFRESH_INTERVAL
    client.error = ConnectionError("connection refused")
    with caplog.at_level(logging.WARNING, logger="taskrouter_flask.names"):
        assert cache.refresh("queue", WORKSPACE) is first
    assert f"could not list the task queues of workspace {WORKSPACE}" in caplog.text
