"""The collector policy: what the engine keeps is frozen out of the collector's scans."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from taskrouter_flask.sandbox import Engine, ManualClock
from taskrouter_flask.sandbox import collector as collector_module
from taskrouter_flask.sandbox.collector import Collector


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Give the test process its collector back as it was: nothing stays frozen."""
    assert gc.get_freeze_count() == 0
    try:
        yield
    finally:
        gc.unfreeze()


def _build(engine: Engine) -> str:
    """A FIFO workspace; the SID of its workflow."""
    engine.create_workspace(friendly_name="GC", template="FIFO")
    return next(iter(engine.workflows.values())).sid


def test_every_so_many_events_the_survivors_are_frozen(unfrozen: None) -> None:
    engine = Engine(ManualClock())
    workflow = _build(engine)
    ws = next(iter(engine.workspaces))
    collector = Collector(every=10).install(engine)
    before = collector.freezes
    while collector.freezes == before:
        engine.create_task(ws, workflow_sid=workflow, attributes={"n": 1})
    assert collector.pending < 10  # the events of the same command after the freeze
    task = next(iter(engine.tasks.values()))
    assert gc.get_freeze_count() > 0
    assert not any(obj is task for obj in gc.get_objects())  # no longer scanned


def test_cycles_made_after_a_freeze_are_still_collected(unfrozen: None) -> None:
    freed: list[bool] = []

    class Node:
        def __init__(self) -> None:
            self.self = self

        def __del__(self) -> None:
            freed.append(True)

    Collector().settle()
    Node()
    gc.collect()
    assert freed == [True]


def test_start_collects_first_only_an_engine_that_starts_large(
    unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine(ManualClock())
    workflow = _build(engine)
    ws = next(iter(engine.workspaces))
    for _ in range(5):
        engine.create_task(ws, workflow_sid=workflow, attributes={"n": 1})
    collections = gc.get_stats()[2]["collections"]
    small = Collector().install(engine)
    small.start()  # a test's sandbox: frozen as it is, without a collection
    assert small.freezes == 1 and gc.get_freeze_count() > 0
    assert gc.get_stats()[2]["collections"] == collections
    small.stop()
    assert gc.get_freeze_count() == 0
    monkeypatch.setattr(collector_module, "LARGE_AT_START", 10)
    loaded = Collector().install(engine)
    loaded.start()  # as after loading a large journal
    assert loaded.freezes == 1
    assert gc.get_freeze_count() > 0
    assert gc.get_stats()[2]["collections"] == collections + 1


def test_every_must_be_positive() -> None:
    with pytest.raises(ValueError, match="every"):
        Collector(every=0)


def test_stop_gives_the_frozen_objects_back(unfrozen: None) -> None:
    collector = Collector()
    collector.settle()
    collector.stop()
    assert gc.get_freeze_count() == 0


def test_a_running_sandbox_freezes_as_it_grows_and_gives_back_at_stop(unfrozen: None) -> None:
    from taskrouter_flask.sandbox.server import Sandbox

    with Sandbox(clock=ManualClock()) as sandbox:
        assert sandbox.collector is not None
        sandbox.collector.every = 20
        client = sandbox.client()
        workspace = client.workspaces.create(friendly_name="GC", template="FIFO").sid
        client = sandbox.client(workspace)
        workflow = next(iter(client.workflows.list())).sid
        for _ in range(20):
            client.tasks.create(workflow_sid=workflow, attributes="{}")
        assert sandbox.collector.freezes > 0 and gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_the_freeze_can_be_left_to_the_application() -> None:
    from taskrouter_flask.sandbox.server import Sandbox

    assert Sandbox(clock=ManualClock(), freeze_gc=False).collector is None
