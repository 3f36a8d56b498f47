"""The renderer's fast paths write exactly what the straightforward renderer wrote.

``render.py`` writes dates without ``format_timestamp``, keeps URLs it made once, and
writes listed workers and tasks straight as JSON text. None of that may change one byte
of the API's answers, so the renderer as it was before (the plain dictionaries, every
URL and date written out per record) is kept here as the reference, and both are
compared on generated records: names with quotes, control and non-ASCII characters,
dates in other years and zones, missing queues and workflows. The pages of the REST app
are compared as bytes with the reference's paging (a copied list, sliced).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from itertools import islice
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskrouter_flask.sandbox import Engine, ManualClock, queries
from taskrouter_flask.sandbox.api import SandboxService, create_app
from taskrouter_flask.sandbox.render import Renderer, iso
from taskrouter_flask.sandbox.state import (
    ReservationRecord,
    ReservationStatus,
    TaskRecord,
    TaskStatus,
    WorkerRecord,
)
from taskrouter_flask.wire import format_timestamp

BASE = "http://127.0.0.1:8099"
TOKEN = "token"

# -- the reference: the renderer before its fast paths ------------------------------------------


class Reference:
    """Workers, tasks and reservations rendered the plain way, one f-string per URL."""

    def __init__(self, engine: Engine, base_url: str) -> None:
        self.engine = engine
        self.base = base_url.rstrip("/") + "/v1"

    def _ws(self, workspace_sid: str) -> str:
        return f"{self.base}/Workspaces/{workspace_sid}"

    def listed_worker(self, record: WorkerRecord) -> dict[str, Any]:
        return {**self.worker(record), "attributes": None}

    def worker(self, record: WorkerRecord) -> dict[str, Any]:
        url = f"{self._ws(record.workspace_sid)}/Workers/{record.sid}"
        activity = self.engine.activities[record.activity_sid]
        return {
            "account_sid": self.engine.account_sid,
            "activity_name": activity.friendly_name,
            "activity_sid": activity.sid,
            "attributes": json.dumps(record.attributes),
            "available": activity.available,
            "date_created": _iso(record.date_created),
            "date_status_changed": _iso(record.date_status_changed),
            "date_updated": _iso(record.date_updated),
            "friendly_name": record.friendly_name,
            "sid": record.sid,
            "workspace_sid": record.workspace_sid,
            "url": url,
            "links": {
                "activity": f"{self._ws(record.workspace_sid)}/Activities/{activity.sid}",
                "channels": f"{url}/Channels",
                "reservations": f"{url}/Reservations",
                "statistics": f"{url}/Statistics",
                "workspace": self._ws(record.workspace_sid),
            },
        }

    def listed_task(self, record: TaskRecord) -> dict[str, Any]:
        return {**self.task(record), "attributes": None}

    def task(self, record: TaskRecord) -> dict[str, Any]:
        url = f"{self._ws(record.workspace_sid)}/Tasks/{record.sid}"
        engine = self.engine
        queue = engine.task_queues.get(record.task_queue_sid or "")
        workflow = engine.workflows.get(record.workflow_sid or "")
        channel = engine.task_channels.get(record.task_channel_sid)
        return {
            "account_sid": engine.account_sid,
            "age": engine.task_age(record),
            "assignment_status": record.status.value,
            "attributes": json.dumps(record.attributes),
            "addons": "{}",
            "date_created": _iso(record.date_created),
            "date_updated": _iso(record.date_updated),
            "task_queue_entered_date": _iso(record.task_queue_entered_date),
            "priority": record.priority,
            "reason": record.reason,
            "sid": record.sid,
            "task_queue_sid": record.task_queue_sid,
            "task_queue_friendly_name": queue.friendly_name if queue else None,
            "task_channel_sid": record.task_channel_sid,
            "task_channel_unique_name": channel.unique_name if channel else None,
            "timeout": record.timeout,
            "workflow_sid": record.workflow_sid,
            "workflow_friendly_name": workflow.friendly_name if workflow else None,
            "workspace_sid": record.workspace_sid,
            "url": url,
            "links": {
                "task_queue": None
                if queue is None
                else f"{self._ws(record.workspace_sid)}/TaskQueues/{queue.sid}",
                "workflow": None
                if workflow is None
                else f"{self._ws(record.workspace_sid)}/Workflows/{workflow.sid}",
                "workspace": self._ws(record.workspace_sid),
                "reservations": f"{url}/Reservations",
            },
            "virtual_start_time": _iso(record.virtual_start_time or record.date_created),
            "ignore_capacity": record.ignore_capacity,
            "routing_target": record.routing_target,
        }

    def reservation(self, record: ReservationRecord, *, via_worker: bool = False) -> dict[str, Any]:
        ws = self._ws(record.workspace_sid)
        worker = self.engine.workers.get(record.worker_sid)
        if via_worker:
            url = f"{ws}/Workers/{record.worker_sid}/Reservations/{record.sid}"
        else:
            url = f"{ws}/Tasks/{record.task_sid}/Reservations/{record.sid}"
        return {
            "account_sid": self.engine.account_sid,
            "date_created": _iso(record.date_created),
            "date_updated": _iso(record.date_updated),
            "reservation_status": record.status.value,
            "sid": record.sid,
            "task_sid": record.task_sid,
            "worker_name": worker.friendly_name if worker else None,
            "worker_sid": record.worker_sid,
            "workspace_sid": record.workspace_sid,
            "url": url,
            "links": {
                "task": f"{ws}/Tasks/{record.task_sid}",
                "worker": f"{ws}/Workers/{record.worker_sid}",
                "workspace": ws,
            },
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else format_timestamp(moment)


# -- generated records -----------------------------------------------------------------------

#: Names a user may give: quotes, backslashes, control characters, accents, emoji, surrogates.
names = st.text(
    st.characters(blacklist_categories=("Cs",)) | st.sampled_from('"\\/\n\t\x00\u2028é☃😀'),
    max_size=12,
)
zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
)
moments = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=zones
)


class World:
    """An engine with a workspace, a queue, a workflow and one worker, task and reservation."""

    def __init__(self) -> None:
        self.engine = engine = Engine(ManualClock(datetime(2026, 3, 1, tzinfo=UTC)))
        self.ws = engine.create_workspace(friendly_name="Render", template="FIFO").sid
        self.queue = next(iter(engine.task_queues.values()))
        self.workflow = next(iter(engine.workflows.values()))
        available = next(
            a for a in engine.activities.values() if a.friendly_name == "Available"
        ).sid
        self.worker = engine.create_worker(
            self.ws, friendly_name="w", activity_sid=available, attributes={"a": [1, "é"]}
        )
        self.task = engine.create_task(self.ws, workflow_sid=self.workflow.sid, attributes={})
        self.reservation = next(iter(engine.reservations.values()))
        self.fast = Renderer(engine, BASE)
        self.reference = Reference(engine, BASE)


@pytest.fixture(scope="module")
def world() -> World:
    return World()


def _set(record: Any, **values: Any) -> None:
    for name, value in values.items():
        object.__setattr__(record, name, value)


def _same(fast: Any, reference: Any) -> None:
    assert json.dumps(fast) == json.dumps(reference)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=names,
    activity_name=names,
    created=moments,
    updated=moments,
    changed=moments,
    attributes=st.dictionaries(names, st.integers() | names, max_size=3),
)
def test_workers_render_as_the_reference(
    world: World,
    name: str,
    activity_name: str,
    created: datetime,
    updated: datetime,
    changed: datetime,
    attributes: dict[str, Any],
) -> None:
    worker = world.worker
    _set(
        worker,
        friendly_name=name,
        date_created=created,
        date_updated=updated,
        date_status_changed=changed,
        attributes=attributes,
    )
    _set(world.engine.activities[worker.activity_sid], friendly_name=activity_name)
    _same(world.fast.worker(worker), world.reference.worker(worker))
    _same(world.fast.listed_worker(worker), world.reference.listed_worker(worker))
    assert world.fast.listed_worker_json(worker) == json.dumps(
        world.reference.listed_worker(worker)
    )


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    created=moments,
    updated=moments,
    entered=st.none() | moments,
    start=st.none() | moments,
    priority=st.integers(0, 2**31 - 1),
    timeout=st.integers(1, 1_209_600),
    reason=st.none() | names,
    routing_target=st.none() | names,
    ignore_capacity=st.booleans(),
    status=st.sampled_from(list(TaskStatus)),
    in_queue=st.booleans(),
    in_workflow=st.booleans(),
    queue_name=names,
    workflow_name=names,
)
def test_tasks_render_as_the_reference(
    world: World,
    created: datetime,
    updated: datetime,
    entered: datetime | None,
    start: datetime | None,
    priority: int,
    timeout: int,
    reason: str | None,
    routing_target: str | None,
    ignore_capacity: bool,
    status: TaskStatus,
    in_queue: bool,
    in_workflow: bool,
    queue_name: str,
    workflow_name: str,
) -> None:
    task = world.task
    _set(
        task,
        date_created=created,
        date_updated=updated,
        task_queue_entered_date=entered,
        virtual_start_time=start,
        priority=priority,
        timeout=timeout,
        reason=reason,
        routing_target=routing_target,
        ignore_capacity=ignore_capacity,
        status=status,
        task_queue_sid=world.queue.sid if in_queue else "WQ" + "f" * 32,
        workflow_sid=world.workflow.sid if in_workflow else None,
    )
    _set(world.queue, friendly_name=queue_name)
    _set(world.workflow, friendly_name=workflow_name)
    _same(world.fast.task(task), world.reference.task(task))
    _same(world.fast.listed_task(task), world.reference.listed_task(task))
    assert world.fast.listed_task_json(task) == json.dumps(world.reference.listed_task(task))


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(created=moments, updated=moments, status=st.sampled_from(list(ReservationStatus)))
def test_reservations_render_as_the_reference(
    world: World, created: datetime, updated: datetime, status: ReservationStatus
) -> None:
    reservation = world.reservation
    _set(reservation, date_created=created, date_updated=updated, status=status)
    for via_worker in (False, True):
        _same(
            world.fast.reservation(reservation, via_worker=via_worker),
            world.reference.reservation(reservation, via_worker=via_worker),
        )


@given(moment=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
def test_iso_writes_what_format_timestamp_writes(moment: datetime) -> None:
    for zone in (None, UTC, timezone(timedelta(hours=-3, minutes=-15))):
        dated = moment if zone is None else moment.replace(tzinfo=zone)
        assert iso(dated) == format_timestamp(dated)
        assert iso(dated) == format_timestamp(dated)  # the second time with its day known


# -- pages -----------------------------------------------------------------------------------


def _reference_page(
    items: list[Any], render: Any, key: str, path: str, args: list[tuple[str, str]]
) -> bytes:
    """The REST app's page as it was: the whole list copied, then sliced."""
    params = dict(args)
    size = int(params.get("PageSize", 50))
    token = params.get("PageToken")
    start = int(token[2:]) if token else int(params.get("Page", 0)) * size
    number = start // size
    filters = [(k, v) for k, v in args if k not in ("PageSize", "Page", "PageToken")]

    def url(page: int, offset: int) -> str:
        query = [*filters, ("PageSize", str(size)), ("Page", str(page))]
        if offset:
            query.append(("PageToken", f"PT{offset}"))
        return f"{BASE}{path}?{urlencode(query)}"

    chunk = items[start : start + size]
    more = start + size < len(items)
    body = {
        key: [render(item) for item in chunk],
        "meta": {
            "page": number,
            "page_size": size,
            "first_page_url": url(0, 0),
            "previous_page_url": url(number - 1, max(0, start - size)) if start else None,
            "url": url(number, start),
            "next_page_url": url(number + 1, start + size) if more else None,
            "key": key,
        },
    }
    return json.dumps(body).encode()


@pytest.fixture(scope="module")
def busy() -> World:
    """A world with 120 more tasks (some with a queue deleted) and 30 workers."""
    world = World()
    engine, ws = world.engine, world.ws
    offline = next(a for a in engine.activities.values() if a.friendly_name == "Offline").sid
    for index in range(30):
        engine.create_worker(ws, friendly_name=f'w"{index}é', activity_sid=offline)
    for index in range(120):
        engine.create_task(
            ws, workflow_sid=world.workflow.sid, attributes={"i": index}, priority=index % 4
        )
    return world


COMMON = [
    [],
    [("PageSize", "7")],
    [("PageSize", "7"), ("Page", "3")],
    [("PageSize", "50"), ("PageToken", "PT100")],
    [("PageSize", "1000")],
    [("PageSize", "11"), ("Page", "40")],
]
PAGES = [
    *(("Tasks", args) for args in COMMON),
    ("Tasks", [("Priority", "2"), ("PageSize", "5"), ("Page", "2")]),
    ("Tasks", [("AssignmentStatus", "pending,reserved"), ("PageSize", "9"), ("Page", "1")]),
    ("Tasks", [("Ordering", "Priority:desc"), ("PageSize", "13"), ("Page", "2")]),
    *(("Workers", args) for args in COMMON),
    ("Workers", [("ActivityName", "Offline"), ("PageSize", "4"), ("Page", "1")]),
    ("Workers", [("Ordering", "FriendlyName:asc"), ("PageSize", "6")]),
]


@pytest.mark.parametrize(("collection", "args"), PAGES)
def test_pages_are_the_bytes_the_reference_wrote(
    busy: World, collection: str, args: list[tuple[str, str]]
) -> None:
    engine = busy.engine
    query, render, key = {
        "Tasks": (queries.TASKS, busy.reference.listed_task, "tasks"),
        "Workers": (queries.WORKERS, busy.reference.listed_worker, "workers"),
    }[collection]
    client = create_app(SandboxService(engine, engine.account_sid, TOKEN), base_url=BASE)
    credentials = base64.b64encode(f"{engine.account_sid}:{TOKEN}".encode()).decode()
    path = f"/v1/Workspaces/{busy.ws}/{collection}"
    response = client.test_client().get(
        f"{path}?{urlencode(args)}", headers={"Authorization": f"Basic {credentials}"}
    )
    assert response.status_code == 200
    parsed: dict[str, Any] = {
        "Priority": int,
        "AssignmentStatus": str,
        "Ordering": str,
        "ActivityName": str,
    }
    params = {name: parsed[name](value) for name, value in args if name in parsed}
    items = query.run(engine, busy.ws, params)
    assert response.data == _reference_page(items, render, key, path, args)


def test_a_page_reads_the_records_up_to_it_and_one_more(busy: World) -> None:
    """Without ``Ordering`` a query's records come through its filters as they are read:
    a page takes the ones before it, its own and one more, and nothing is copied."""
    read: list[str] = []

    def source(scope: queries.Scope, params: Any) -> Iterator[TaskRecord]:
        for task in busy.engine.tasks.values():
            read.append(task.sid)
            yield task

    query = queries.Query(source, queries.TASKS.filters, queries.TASKS.orders)
    selected = query.select(busy.engine, busy.ws, {"Priority": 1})
    page = list(islice(selected, 10, 10 + 5 + 1))
    assert [task.priority for task in page] == [1] * 6
    assert len(read) < 4 * 16 + 4  # every fourth task has priority 1
    assert not isinstance(queries.TASKS.select(busy.engine, busy.ws, {}), list)
    ordered = queries.TASKS.select(busy.engine, busy.ws, {"Ordering": "Priority:asc"})
    assert isinstance(ordered, list)
