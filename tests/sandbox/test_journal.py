"""The journal: each committed command on disk before anyone hears of it, and a faithful restart."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from taskrouter_flask.sandbox import Engine, ManualClock
from taskrouter_flask.sandbox.journal import FORMAT_VERSION, Journal
from taskrouter_flask.sandbox.state import EventRecord, ReservationStatus

START = datetime(2026, 2, 2, 10, 0, tzinfo=UTC)


def _journaled(path: Path) -> tuple[Engine, Journal, str]:
    engine = Engine(ManualClock(START), seed=4)
    journal = Journal(path)
    journal.initialize(engine)
    engine.committers.append(journal.write)
    ws = engine.create_workspace(friendly_name="Journal", template="FIFO").sid
    return engine, journal, ws


def _available(engine: Engine, ws: str) -> str:
    return next(
        a.sid
        for a in engine.activities.values()
        if a.workspace_sid == ws and a.friendly_name == "Available"
    )


def test_a_restart_gives_back_the_same_engine_which_goes_on_the_same_way(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.db"
    engine, journal, ws = _journaled(path)
    available = _available(engine, ws)
    ana = engine.create_worker(ws, friendly_name="ana", activity_sid=available).sid
    engine.create_worker(ws, friendly_name="bo", activity_sid=available)
    tasks = [engine.create_task(ws, attributes={"n": n}).sid for n in range(4)]
    pending = [r for r in engine.reservations.values() if r.status is ReservationStatus.PENDING]
    engine.update_reservation(ws, pending[0].sid, reservation_status="accepted")
    engine.update_worker(ws, ana, attributes={"skills": ["billing"]})
    engine.delete_task(ws, tasks[-1])
    engine.advance(seconds=200)  # the other reservation times out
    journal.close()
    engine.committers.clear()

    again = Journal(path)
    reloaded = again.load(clock=ManualClock(engine.now()))
    assert reloaded.export() == engine.export()
    # Both go on identically: the same SIDs, events and routing from here.
    for copy in (engine, reloaded):
        copy.update_worker(ws, ana, activity_sid=available)
        copy.create_task(ws, attributes={"n": 9})
        copy.advance(seconds=500)
    assert reloaded.export() == engine.export()
    again.close()


def test_listeners_hear_of_an_event_only_once_it_is_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.db"
    engine, journal, ws = _journaled(path)
    seen_on_disk: list[bool] = []

    def listener(event: EventRecord) -> None:
        with contextlib.closing(sqlite3.connect(path)) as reader:
            stored = {sid for (sid,) in reader.execute("SELECT sid FROM events")}
        seen_on_disk.append(event.sid in stored)

    engine.listeners.append(listener)
    engine.create_worker(ws, friendly_name="cy", activity_sid=_available(engine, ws))
    engine.create_task(ws, attributes={})
    assert seen_on_disk and all(seen_on_disk)
    journal.close()


def test_no_sid_is_handed_out_twice_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.db"
    engine, journal, ws = _journaled(path)
    seen = {e.sid for e in engine.events} | set(engine.tasks)
    for _ in range(3):
        seen.add(engine.create_task(ws, attributes={}).sid)
        journal.close()
        journal = Journal(path)
        engine = journal.load()
        engine.committers.append(journal.write)
        task = engine.create_task(ws, attributes={"again": True})
        new = {task.sid} | {e.sid for e in engine.events_for(ws) if e.resource_sid == task.sid}
        assert not new & seen
        seen |= new | {e.sid for e in engine.events}
    journal.close()


def test_closing_leaves_only_the_data_file(tmp_path: Path) -> None:
    engine, journal, ws = _journaled(tmp_path / "sandbox.db")
    engine.create_task(ws, attributes={})
    journal.close()
    assert [p.name for p in tmp_path.iterdir()] == ["sandbox.db"]


def test_a_file_of_another_format_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.db"
    _, journal, _ = _journaled(path)
    journal.close()
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("UPDATE meta SET value = '1' WHERE key = 'version'")
    with pytest.raises(ValueError, match=f"format version 1.*only version {FORMAT_VERSION}"):
        Journal(path)


def test_a_file_that_is_not_a_journal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("shopping list\n" * 100)
    with pytest.raises(ValueError, match="not a readable sandbox journal"):
        Journal(path)


def test_loading_an_empty_journal_says_so(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "new.db")
    with pytest.raises(ValueError, match="holds no sandbox state"):
        journal.load()
    journal.close()
