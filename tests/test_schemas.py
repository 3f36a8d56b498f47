"""Wire payloads become typed models, and every malformed one a PayloadError naming the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskrouter_flask import PayloadError
from taskrouter_flask.models import Activity, FrozenDict, FrozenList, Statistics, Task, Worker
from taskrouter_flask.schemas import load_assignment, load_event, load_resource, parse_form

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def test_assignment_fixture_parses_into_typed_models() -> None:
    payload = fixture("assignment")
    assignment = load_assignment(payload)
    assert assignment.account_sid == "AC0123456789abcdef0123456789abcdef"
    assert assignment.task_queue_sid == "WQ0123456789abcdef0123456789abcdef"
    assert assignment.reservation_sid == "WR0123456789abcdef0123456789abcdef"
    assert assignment.task == Task(
        sid="WT0123456789abcdef0123456789abcdef",
        attributes={
            "type": "ticket",
            "customer_value": "Gold",
            "call_sid": "CA0123456789abcdef0123456789abcdef",
        },
        age=42,
        priority=5,
        channel_sid="TC0123456789abcdef0123456789abcdef",
        channel_unique_name="voice",
    )
    assert assignment.worker == Worker(
        sid="WK0123456789abcdef0123456789abcdef",
        attributes={"contact_uri": "client:alice", "skills": ["billing", "support"], "level": 3},
    )
    assert assignment.timestamp == datetime(2024, 5, 31, 16, 8, 37, tzinfo=UTC)
    assert dict(assignment.raw) == payload


def test_event_fixture_keeps_unknown_fields_in_raw() -> None:
    event = load_event(fixture("event_reservation_accepted"))
    assert event.sid == "EV0123456789abcdef0123456789abcdef"
    assert event.type == "reservation.accepted"
    assert event.resource_type == "Reservation"
    assert event.task is not None and event.task.attributes == {"type": "ticket"}
    assert event.task.assignment_status == "assigned"
    assert event.worker is not None and event.worker.friendly_name == "Alice"
    assert event.worker.version == 7
    assert event.task_queue_name == "Gold Tickets"
    assert event.reservation_sid == "WR0123456789abcdef0123456789abcdef"
    assert event.raw["TaskQueueEnteredDate"] == "2024-05-31T16:08:00Z"
    assert event.timestamp.tzinfo is not None


def test_worker_activity_update_carries_previous_activity() -> None:
    event = load_event(fixture("event_worker_activity_update"))
    assert event.task is None
    assert event.worker is not None
    assert event.worker.previous_activity_sid == "WA0123456789abcdef0123456789abcdef"
    assert event.worker.time_in_previous_activity_ms == 83250
    assert event.worker.attributes["languages"] == ["en", "es"]


def test_activity_event() -> None:
    event = load_event(
        {
            "EventType": "activity.created",
            "AccountSid": "AC" + "a" * 32,
            "WorkspaceSid": "WS" + "b" * 32,
            "Timestamp": "1717171717",
            "ActivitySid": "WA" + "c" * 32,
            "ActivityName": "Break",
            "ActivityAvailable": "false",
        }
    )
    assert event.activity == Activity(sid="WA" + "c" * 32, friendly_name="Break", available=False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1717171717", datetime(2024, 5, 31, 16, 8, 37, tzinfo=UTC)),
        ("1717171717123", datetime(2024, 5, 31, 16, 8, 37, 123000, tzinfo=UTC)),
        ("2024-05-31T16:08:37Z", datetime(2024, 5, 31, 16, 8, 37, tzinfo=UTC)),
        ("2024-05-31T16:08:37", datetime(2024, 5, 31, 16, 8, 37, tzinfo=UTC)),
        (1717171717, datetime(2024, 5, 31, 16, 8, 37, tzinfo=UTC)),
    ],
)
def test_timestamps_become_aware_datetimes(value: Any, expected: datetime) -> None:
    payload: dict[str, Any] = {**fixture("event_worker_activity_update"), "Timestamp": value}
    assert load_event(payload).timestamp == expected


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("TaskAttributes", "{not json", "expected a JSON object, got invalid JSON"),
        ("TaskAttributes", "[1, 2]", "expected a JSON object, got a JSON list"),
        ("WorkerAttributes", "", "invalid JSON"),
        ("TaskAge", "forty", "expected an integer"),
        ("TaskPriority", "1.5", "expected an integer"),
        ("TaskSid", "WT123", "expected a WT SID"),
        ("ReservationSid", "WT0123456789abcdef0123456789abcdef", "expected a WR SID"),
        ("Timestamp", "yesterday", "expected epoch seconds or an ISO 8601 date-time"),
        ("TaskAttributes", "[" * 100_000 + "]" * 100_000, "JSON"),
    ],
)
def test_malformed_field_names_the_field(field: str, value: str, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        load_assignment({**fixture("assignment"), field: value})
    assert caught.value.field == field
    assert field in str(caught.value)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "field", ["AccountSid", "TaskSid", "TaskAttributes", "WorkerSid", "TaskAge"]
)
def test_missing_required_field_names_it(field: str) -> None:
    payload = fixture("assignment")
    del payload[field]
    with pytest.raises(PayloadError) as caught:
        load_assignment(payload)
    assert caught.value.field == field
    assert "required field is missing" in str(caught.value)


def test_a_known_field_sent_twice_is_refused() -> None:
    body = "&".join(f"{k}={v}" for k, v in fixture("assignment").items())
    form = parse_form((body + "&TaskSid=WT" + "f" * 32).encode())
    with pytest.raises(PayloadError) as caught:
        load_assignment(form)
    assert caught.value.field == "TaskSid"
    assert "expected one value, got 2 values" in str(caught.value)


def test_unknown_repeated_fields_are_kept() -> None:
    payload: dict[str, Any] = {**fixture("assignment"), "Future": ["a", "b"]}
    assert load_assignment(payload).raw["Future"] == ["a", "b"]


def test_parse_form_decodes_and_groups_repeats() -> None:
    assert parse_form(b"A=1&B=x+y%21&A=2&C=") == {"A": ["1", "2"], "B": "x y!", "C": ""}


@pytest.mark.parametrize("body", [b"A=\xff", b"A=%ff%fe", b"&".join([b"a=1"] * 1000)])
def test_parse_form_refuses_bad_bodies(body: bytes) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_form(body)
    assert str(caught.value).startswith("body:")


def test_models_are_frozen() -> None:
    assignment = load_assignment(fixture("assignment"))
    with pytest.raises(AttributeError):
        assignment.reservation_sid = "x"  # type: ignore[misc]


_values = st.one_of(
    st.text(max_size=40),
    st.integers(),
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(
    base=st.sampled_from(["assignment", "event_reservation_accepted"]),
    changes=st.dictionaries(
        st.sampled_from(sorted(fixture("event_reservation_accepted")) + ["X"]), _values
    ),
    dropped=st.sets(st.sampled_from(sorted(fixture("assignment")))),
)
def test_random_payloads_parse_or_raise_payload_error(
    base: str, changes: dict[str, Any], dropped: set[str]
) -> None:
    payload: dict[str, Any] = {**fixture(base), **changes}
    for name in dropped:
        payload.pop(name, None)
    loader = load_assignment if base == "assignment" else load_event
    try:
        loaded = loader(payload)
    except PayloadError as exc:
        assert exc.field is None or exc.field in payload or exc.field in fixture(base)
    else:
        assert loaded.raw == payload


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_parse_form_never_fails_otherwise(body: bytes) -> None:
    try:
        form = parse_form(body)
    except PayloadError:
        return
    assert all(isinstance(k, str) for k in form)


# -- frozen all the way down ------------------------------------------------------------------


def test_callback_models_and_raw_are_frozen_and_serialize_as_json() -> None:
    payload = fixture("assignment")
    assignment = load_assignment(payload)
    assert isinstance(assignment.raw, FrozenDict) and assignment.raw == payload
    assert isinstance(assignment.worker.attributes["skills"], FrozenList)
    assert json.loads(json.dumps(assignment.raw)) == payload
    assert json.loads(json.dumps(assignment.worker.attributes))["skills"] == ["billing", "support"]
    with pytest.raises(TypeError):
        assignment.worker.attributes["skills"].append("x")
    assert hash(assignment) == hash(load_assignment(payload))


def test_a_json_body_keeps_nested_objects_frozen_in_raw() -> None:
    payload: dict[str, Any] = {**fixture("assignment"), "TaskAttributes": {"tags": ["a"]}}
    assignment = load_assignment(payload)
    assert assignment.task.attributes == {"tags": ["a"]}
    with pytest.raises(TypeError):
        assignment.raw["TaskAttributes"]["tags"].append("b")
    payload["TaskAttributes"]["tags"].append("b")  # the caller's dict is not shared
    assert assignment.raw["TaskAttributes"] == {"tags": ["a"]}


def test_repeated_form_fields_stay_frozen_in_raw() -> None:
    form = parse_form(b"EventType=task.created&Extra=1&Extra=2")
    assert form["Extra"] == ["1", "2"]
    fields = {**fixture("event_reservation_accepted"), "Extra": form["Extra"]}
    event = load_event(fields)
    assert isinstance(event.raw["Extra"], FrozenList) and event.raw["Extra"] == ["1", "2"]


def test_rest_resources_are_frozen_too() -> None:
    task = load_resource(
        Task,
        {
            "sid": "WT" + "0" * 32,
            "attributes": json.dumps({"skills": ["billing"]}),
            "links": {"reservations": "https://example.com/r"},
        },
    )
    assert task.attributes == {"skills": ["billing"]} and isinstance(task.links, FrozenDict)
    assert isinstance(task.raw["links"], FrozenDict)
    listed = load_resource(Task, {"sid": "WT" + "0" * 32, "attributes": None})
    assert listed.attributes == {} and isinstance(listed.attributes, FrozenDict)
    stats = load_resource(
        Statistics, {"cumulative": {"a": 1}, "activity_statistics": [{"friendly_name": "Idle"}]}
    )
    assert isinstance(stats.cumulative, FrozenDict)
    assert isinstance(stats.activity_statistics, FrozenList)
    assert hash(task) == hash(load_resource(Task, dict(task.raw)))
