"""The event log: its indexes agree with a plain scan, retention drops old events everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from taskrouter_flask.sandbox import Engine, ManualClock, statistics
from taskrouter_flask.sandbox.eventlog import DEFAULT_RETENTION, EventLog
from taskrouter_flask.sandbox.journal import Journal
from taskrouter_flask.sandbox.state import EventRecord, TaskFacts, WorkerFacts

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def _event(number: int, workspace: str, kind: str, at: datetime, task: str) -> EventRecord:
    queue_event = kind.startswith("task-queue")
    return EventRecord(
        sid=f"EV{number:032d}",
        workspace_sid=workspace,
        type=kind,
        description="",
        resource_type="TaskQueue" if queue_event else "Worker",
        resource_sid="WQ1" if queue_event else "WK1",
        timestamp=at,
        account_sid="AC1",
        workspace_name=workspace,
        task=TaskFacts(task, {}, 0, 0, "pending", "TC1", "default", queue_sid="WQ1"),
        worker=None if queue_event else WorkerFacts("WK1", "ana", {}, "WA1", "Available", 1),
    )


_EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["WS1", "WS2"]),
        st.sampled_from(["task-queue.entered", "worker.activity.update", "task.created"]),
        st.integers(0, 3600),  # seconds after the previous event
        st.sampled_from(["WT1", "WT2"]),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(_EVENTS, st.integers(0, 40_000), st.integers(0, 40_000), st.integers(0, 3))
def test_windows_and_retention_agree_with_a_plain_scan(
    raw: list[tuple[str, str, int, str]], low: int, high: int, commit_every: int
) -> None:
    log = EventLog(retention=timedelta(hours=5))
    moment, events = START, []
    for number, (workspace, kind, gap, task) in enumerate(raw):
        moment += timedelta(seconds=gap)
        event = _event(number, workspace, kind, moment, task)
        log.append(event)
        events.append(event)
        if commit_every and number % commit_every == 0:
            log.commit()
    log.commit()
    start, end = START + timedelta(seconds=low), START + timedelta(seconds=high)
    for workspace in ("WS1", "WS2"):
        expected = [
            e for e in events if e.workspace_sid == workspace and start <= e.timestamp <= end
        ]
        assert list(log.of_workspace(workspace, start, end)) == expected
    for task in ("WT1", "WT2"):
        entries = [
            (e.timestamp, e.resource_sid)
            for e in events
            if e.type == "task-queue.entered"
            and e.task is not None
            and e.task.sid == task
            and e.timestamp <= end
        ]
        assert log.queue_entry_before(task, end) == (entries[-1] if entries else None)
    kept = [e for e in events if e.timestamp >= moment - timedelta(hours=5)]
    dropped = [e for e in events if e not in kept]
    assert log.trim(moment) == len(dropped)
    assert list(log) == kept
    assert all(log.get(e.sid) is None for e in dropped)
    assert all(log.get(e.sid) is e for e in kept)
    for workspace in ("WS1", "WS2"):
        assert list(log.of_workspace(workspace)) == [
            e for e in kept if e.workspace_sid == workspace
        ]


def test_a_rolled_back_event_leaves_no_index_behind() -> None:
    log = EventLog()
    log.append(_event(1, "WS1", "task-queue.entered", START, "WT1"))
    log.commit()
    log.append(_event(2, "WS1", "task-queue.entered", START + timedelta(seconds=5), "WT1"))
    log.append(_event(3, "WS1", "worker.activity.update", START + timedelta(seconds=6), "WT1"))
    log.rollback()
    assert [e.sid for e in log] == [f"EV{1:032d}"]
    assert log.get(f"EV{2:032d}") is None
    assert log.queue_entry_before("WT1", START + timedelta(hours=1)) == (START, "WQ1")
    assert log.activity_before("WK1", START + timedelta(hours=1)) is None


def _busy_engine(clock: ManualClock) -> tuple[Engine, str]:
    engine = Engine(clock, seed=2)
    ws = engine.create_workspace(friendly_name="Retention", template="FIFO").sid
    available = next(a.sid for a in engine.activities.values() if a.friendly_name == "Available")
    engine.create_worker(ws, friendly_name="ana", activity_sid=available)
    for _ in range(3):
        engine.create_task(ws, attributes={"n": 1})
    return engine, ws


def test_events_older_than_the_retention_are_dropped_from_the_log_and_the_journal(
    tmp_path: Path,
) -> None:
    assert DEFAULT_RETENTION == timedelta(days=30)
    clock = ManualClock(START)
    engine, ws = _busy_engine(clock)
    journal = Journal(tmp_path / "sandbox.db")
    journal.initialize(engine)
    engine.committers.append(journal.write)
    old = {event.sid for event in engine.events}
    clock.advance(timedelta(days=30, seconds=1).total_seconds())
    engine.create_task(ws, attributes={"n": 2})  # a commit: retention applies
    assert not old & {event.sid for event in engine.events}
    assert engine.events_for(ws)[0].type == "task.created"
    journal.close()
    reloaded = Journal(tmp_path / "sandbox.db").load()
    assert [e.sid for e in reloaded.events] == [e.sid for e in engine.events]
    assert reloaded.export() == engine.export()


def test_statistics_within_the_retention_are_unchanged_by_trimming() -> None:
    clock = ManualClock(START)
    engine, ws = _busy_engine(clock)
    clock.advance(timedelta(days=29).total_seconds())
    engine.create_task(ws, attributes={"n": 3})
    window = {"start_date": START + timedelta(days=28)}
    everything, workers = statistics.WorkspaceScope(ws), statistics.WorkersScope(ws)
    before = statistics.cumulative(engine, everything, **window)
    workers_before = statistics.cumulative(engine, workers, **window)
    clock.advance(timedelta(days=1, hours=1).total_seconds())  # the first events expire
    engine.create_task(ws, attributes={"n": 4})
    after = statistics.cumulative(engine, everything, **window, end_date=START + timedelta(days=29))
    assert after["tasks_created"] == before["tasks_created"] == 1
    assert (
        statistics.cumulative(engine, workers, **window, end_date=workers_before["end_time"])
        == workers_before
    )
