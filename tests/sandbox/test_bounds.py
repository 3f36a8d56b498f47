"""Bounds on input: the pure checks of ``sandbox.bounds``, and the REST API refusing with 400.

A number of thousands of digits, JSON nested a thousand levels deep, ``NaN`` or a document
over Twilio's size limit must each be a 400 that names the parameter, and must leave the
resource as it was: never a 500, never a record that cannot be rendered again.
"""

from __future__ import annotations

import base64
import json
import math
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from taskrouter_flask.sandbox import Engine, ManualClock
from taskrouter_flask.sandbox.api import SandboxService, create_app
from taskrouter_flask.sandbox.bounds import (
    MAX_INT_TEXT,
    MAX_JSON_DEPTH,
    MAX_JSON_NUMBER_TEXT,
    MAX_PAGE_SIZE,
    MAX_PRIORITY,
    MAX_TASK_ATTRIBUTES,
    MAX_TASK_TIMEOUT,
    PARAMETER_RANGES,
    check_int,
    check_json_value,
    json_depth,
    parse_int,
    parse_json,
    parse_json_object,
)
from taskrouter_flask.sandbox.errors import InvalidArgument

FIELD = "Field"


def _refused(field: str = FIELD) -> Any:
    """``pytest.raises`` for an :class:`InvalidArgument` whose message starts with ``field:``."""
    return pytest.raises(InvalidArgument, match=rf"^{field}: expected ")


# -- whole numbers ------------------------------------------------------------------------------

ranges = st.tuples(st.integers(-(2**40), 2**40), st.integers(0, 2**40)).map(
    lambda pair: (pair[0], pair[0] + pair[1])
)


@given(ranges.flatmap(lambda r: st.tuples(st.just(r), st.integers(r[0], r[1]))))
def test_any_whole_number_in_range_round_trips(case: tuple[tuple[int, int], int]) -> None:
    (low, high), value = case
    assert parse_int(FIELD, str(value), low, high) == value
    assert check_int(FIELD, value, low, high) == value


@given(ranges, st.integers(1, 2**60), st.booleans())
def test_a_whole_number_out_of_range_is_refused(
    bounds: tuple[int, int], distance: int, above: bool
) -> None:
    low, high = bounds
    value = high + distance if above else low - distance
    with _refused() as caught:
        parse_int(FIELD, str(value), low, high)
    assert f"from {low} to {high}, got {value}" in caught.value.message
    with _refused():
        check_int(FIELD, value, low, high)


@given(st.integers(MAX_INT_TEXT + 1, 20_000), st.booleans())
def test_a_number_too_long_to_read_is_refused_before_int(digits: int, negative: bool) -> None:
    text = ("-" if negative else "") + "9" * digits
    with _refused() as caught:
        parse_int(FIELD, text, 0, 10)
    assert caught.value.message.endswith(f"a number of {digits} digits")


@given(st.text(max_size=200).filter(lambda t: not t.lstrip("-").isdigit() or not t.isascii()))
def test_text_that_is_not_a_whole_number_is_refused(text: str) -> None:
    with _refused():
        parse_int(FIELD, text, -(10**9), 10**9)


def test_the_message_names_the_field_the_range_and_the_size() -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_int("Priority", "9" * 5000, 0, MAX_PRIORITY)
    assert caught.value.message == (
        "Priority: expected a whole number from 0 to 2147483647, got a number of 5000 digits"
    )
    assert caught.value.status == 400


@pytest.mark.parametrize("text", ["1.5", "1e3", " 1", "+1", "0x10", "", "١٢", "NaN"])
def test_only_plain_ascii_digits_are_whole_numbers(text: str) -> None:
    with _refused():
        parse_int(FIELD, text, -100, 10_000)


@pytest.mark.parametrize(
    "value",
    [True, False, 1.0, "1", None, 10**5000, -(10**5000)],
    ids=["true", "false", "float", "str", "none", "huge", "-huge"],
)
def test_check_int_refuses_what_is_not_an_int_in_range(value: object) -> None:
    with _refused():
        check_int(FIELD, value, 0, 10)


def test_every_range_is_sound() -> None:
    for name, bounds in PARAMETER_RANGES.items():
        assert bounds.low <= bounds.high, name
        assert len(str(bounds.high)) <= MAX_INT_TEXT and len(str(bounds.low)) <= MAX_INT_TEXT
    assert PARAMETER_RANGES["Priority"].high == 2**31 - 1
    assert PARAMETER_RANGES["Timeout"].high == MAX_TASK_TIMEOUT == 1_209_600
    assert PARAMETER_RANGES["PageSize"].high == MAX_PAGE_SIZE == 1000


# -- JSON text ----------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=5)


def _depth(value: Any) -> int:
    """The nesting of a (shallow) parsed value, the reference for the checks under test."""
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@given(json_objects, st.booleans())
def test_any_bounded_json_object_round_trips(value: dict[str, Any], indent: bool) -> None:
    text = json.dumps(value, indent=2 if indent else None, ensure_ascii=indent)
    assert parse_json_object(FIELD, text, max_chars=len(text)) == value
    if text:
        with _refused():
            parse_json_object(FIELD, text, max_chars=len(text) - 1)


@given(json_values)
def test_the_depth_scan_agrees_with_the_parsed_value(value: Any) -> None:
    assert json_depth(json.dumps(value)) == _depth(value)


def test_brackets_inside_strings_do_not_nest() -> None:
    text = json.dumps({"a": "[{" * 2000, "b": '\\"[', "c": ['"]]"']})
    assert json_depth(text) == 2
    assert parse_json_object(FIELD, text, max_chars=len(text))["a"] == "[{" * 2000


@pytest.mark.parametrize("wrap", ["object", "array"])
def test_nesting_is_bounded_before_parsing(wrap: str) -> None:
    def nested(depth: int) -> str:
        if wrap == "object":
            return _nested(depth)
        return "[" * depth + "]" * depth

    assert _depth(parse_json(FIELD, nested(MAX_JSON_DEPTH), max_chars=10**6)) == MAX_JSON_DEPTH
    for depth in (MAX_JSON_DEPTH + 1, 1000, 100_000):
        with _refused() as caught:
            parse_json(FIELD, nested(depth), max_chars=10**6)
        assert f"nested at most {MAX_JSON_DEPTH} levels deep" in caught.value.message


@pytest.mark.parametrize(
    "text",
    [
        '{"a": NaN}',
        '{"a": Infinity}',
        '{"a": [-Infinity]}',
        '{"a": 1e999}',
        '{"a": -1e400}',
        '{"a": ' + "9" * 5000 + "}",
        '{"a": 0.' + "1" * MAX_JSON_NUMBER_TEXT + "}",
    ],
    ids=["nan", "infinity", "-infinity", "1e999", "-1e400", "5000-digits", "long-fraction"],
)
def test_numbers_json_cannot_carry_are_refused(text: str) -> None:
    with _refused():
        parse_json_object(FIELD, text, max_chars=10**6)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "Field: expected a JSON object, got a JSON list"),
        ('"x"', "Field: expected a JSON object, got a JSON string"),
        ("null", "Field: expected a JSON object, got a JSON null"),
    ],
)
def test_a_document_that_is_not_an_object_is_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_json_object(FIELD, text, max_chars=100)
    assert caught.value.message == message


@given(st.text(max_size=50))
def test_any_text_is_parsed_or_refused_with_the_field_named(text: str) -> None:
    try:
        parse_json(FIELD, text, max_chars=40)
    except InvalidArgument as exc:
        assert exc.message.startswith(f"{FIELD}: expected ")


@pytest.mark.parametrize(
    "text", ['"\\"' * 50_000, '"\\' * 50_000, '"' + "[" * 100_000, "[" * 500_000, '["' * 50_000]
)
def test_hostile_text_is_refused_quickly(text: str) -> None:
    with _refused():
        parse_json(FIELD, text, max_chars=10**6)


# -- JSON given as Python values --------------------------------------------------------------


@given(json_objects)
def test_a_python_value_is_measured_as_compact_json(value: dict[str, Any]) -> None:
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
    check_json_value(FIELD, value, max_chars=size)
    with _refused():
        check_json_value(FIELD, value, max_chars=size - 1)


@given(json_values)
def test_a_python_value_is_bounded_by_its_depth(value: Any) -> None:
    depth = _depth(value)
    check_json_value(FIELD, value, max_depth=max(depth, 1))
    if depth > 1:
        with _refused():
            check_json_value(FIELD, value, max_depth=depth - 1)


def test_a_deep_python_value_is_refused_without_recursion() -> None:
    value: dict[str, Any] = {}
    inner = value
    for _ in range(100_000):
        inner["a"] = {}
        inner = inner["a"]
    with _refused():
        check_json_value(FIELD, value)
    cycle: list[Any] = []
    cycle.append(cycle)
    with _refused():
        check_json_value(FIELD, cycle)


@pytest.mark.parametrize(
    "value",
    [
        {"a": math.nan},
        {"a": [math.inf]},
        {"a": 10**5000},
        {"a": 10**MAX_JSON_NUMBER_TEXT},
        {1: "a"},
        {"a": {1, 2}},
        {"a": object()},
        {"a": b"bytes"},
    ],
    ids=["nan", "inf", "huge-int", "long-int", "int-key", "set", "object", "bytes"],
)
def test_a_python_value_json_cannot_carry_is_refused(value: Any) -> None:
    with _refused():
        check_json_value(FIELD, value)


def test_tuples_and_mappings_count_as_json() -> None:
    check_json_value(FIELD, {"a": (1, 2.5, None, True, "x")}, max_chars=30)


def test_bounds_does_not_import_flask() -> None:
    code = (
        "import sys; import taskrouter_flask.sandbox.bounds; "
        "assert 'flask' not in sys.modules, sorted(m for m in sys.modules if 'flask' in m)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- the REST API ---------------------------------------------------------------------------------

ACCOUNT = "AC" + "1" * 32
TOKEN = "secret-token"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()}
HUGE = "9" * 5000
DEEP = _nested(1000)


@dataclass(frozen=True)
class World:
    client: FlaskClient
    ws: str
    queue: str
    worker: str
    task: str
    reservation: str

    def get(self, path: str, query: dict[str, str] | None = None) -> Any:
        return self.client.get(self.ws + path, query_string=query or {}, headers=AUTH)

    def post(self, path: str, form: dict[str, str]) -> Any:
        return self.client.post(self.ws + path, data=form, headers=AUTH)

    def ok(self, response: Any, status: int = 200) -> dict[str, Any]:
        assert response.status_code == status, response.get_data(as_text=True)
        body: dict[str, Any] = response.get_json()
        return body


@pytest.fixture
def world() -> Iterator[World]:
    """A workspace over the REST app: a queue, a workflow, a worker, a reserved task."""
    service = SandboxService(Engine(ManualClock(), account_sid=ACCOUNT), ACCOUNT, TOKEN)
    client = create_app(service).test_client()
    answer = client.post("/v1/Workspaces", data={"FriendlyName": "Bounds"}, headers=AUTH)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    ws = f"/v1/Workspaces/{answer.get_json()['sid']}"
    partial = World(client, ws, "", "", "", "")
    activities = {
        a["friendly_name"]: a["sid"] for a in partial.ok(partial.get("/Activities"))["activities"]
    }
    queue = partial.ok(
        partial.post("/TaskQueues", {"FriendlyName": "All", "TargetWorkers": "1 == 1"}), 201
    )["sid"]
    configuration = json.dumps({"task_routing": {"default_filter": {"queue": queue}}})
    workflow = partial.ok(
        partial.post("/Workflows", {"FriendlyName": "Routing", "Configuration": configuration}),
        201,
    )["sid"]
    worker = partial.ok(
        partial.post(
            "/Workers",
            {
                "FriendlyName": "Alice",
                "ActivitySid": activities["Available"],
                "Attributes": json.dumps({"team": "red"}),
            },
        ),
        201,
    )["sid"]
    task = partial.ok(
        partial.post("/Tasks", {"WorkflowSid": workflow, "Attributes": json.dumps({"n": 1})}), 201
    )["sid"]
    (reservation,) = partial.ok(partial.get(f"/Tasks/{task}/Reservations"))["reservations"]
    yield World(client, ws, queue, worker, task, reservation["sid"])


def _assert_refused(response: Any, field: str, code: int = 20001) -> str:
    """A 400 in Twilio's error shape whose message starts with the parameter's name."""
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["status"] == 400 and body["code"] == code, body
    message: str = body["message"]
    assert message.startswith(f"{field}: expected "), message
    return message


@pytest.mark.parametrize(
    ("field", "method", "path", "others", "code"),
    [
        ("Priority", "POST", "/Tasks", {}, 20001),
        ("Timeout", "POST", "/Tasks", {}, 20001),
        ("Priority", "POST", "/Tasks/{task}", {}, 20001),
        ("Priority", "GET", "/Tasks", {}, 20001),
        ("PageSize", "GET", "/Workers", {}, 20001),
        ("Page", "GET", "/Workers", {}, 20001),
        ("Minutes", "GET", "/Events", {}, 20001),
        ("Minutes", "GET", "/Statistics", {}, 20001),
        ("MaxReservedWorkers", "POST", "/TaskQueues", {"FriendlyName": "Big"}, 20001),
        ("MaxReservedWorkers", "POST", "/TaskQueues/{queue}", {}, 20001),
        ("TaskReservationTimeout", "POST", "/Workflows", {"FriendlyName": "Slow"}, 20001),
        ("Capacity", "POST", "/Workers/{worker}/Channels/default", {}, 20001),
        (
            "CallTimeout",
            "POST",
            "/Tasks/{task}/Reservations/{reservation}",
            {"Instruction": "call"},
            40001,
        ),
        (
            "DequeueTimeout",
            "POST",
            "/Workers/{worker}/Reservations/{reservation}",
            {"Instruction": "dequeue"},
            40001,
        ),
        (
            "Timeout",
            "POST",
            "/Tasks/{task}/Reservations/{reservation}",
            {"Instruction": "conference"},
            20001,
        ),
    ],
)
def test_a_5000_digit_number_is_a_400_naming_the_field(
    world: World, field: str, method: str, path: str, others: dict[str, str], code: int
) -> None:
    url = path.format(**vars(world))
    params = {**others, field: HUGE}
    response = world.get(url, params) if method == "GET" else world.post(url, params)
    message = _assert_refused(response, field, code)
    assert message.endswith("got a number of 5000 digits")


@pytest.mark.parametrize(
    ("field", "value"),
    [("Priority", "2147483648"), ("Priority", "-1"), ("Timeout", "1209601"), ("Timeout", "0")],
)
def test_a_task_number_just_out_of_range_is_a_400(world: World, field: str, value: str) -> None:
    message = _assert_refused(world.post("/Tasks", {field: value}), field)
    assert message.endswith(f"got {int(value)}")


def test_the_largest_documented_values_are_accepted(world: World) -> None:
    task = world.ok(
        world.post("/Tasks", {"Priority": str(MAX_PRIORITY), "Timeout": str(MAX_TASK_TIMEOUT)}),
        201,
    )
    assert task["priority"] == MAX_PRIORITY and task["timeout"] == MAX_TASK_TIMEOUT
    assert (
        world.ok(world.get("/Workers", {"PageSize": str(MAX_PAGE_SIZE)}))["meta"]["page_size"]
        == MAX_PAGE_SIZE
    )


@pytest.mark.parametrize("kind", ["task", "worker"])
@pytest.mark.parametrize(
    "attributes",
    [DEEP, '{"a": NaN}', '{"a": 1e999}', '{"a": ' + HUGE + "}", json.dumps({"a": "x" * 5000})],
    ids=["1000-deep", "nan", "1e999", "5000-digits", "oversized"],
)
def test_refused_attributes_leave_the_resource_unchanged(
    world: World, kind: str, attributes: str
) -> None:
    path = f"/Tasks/{world.task}" if kind == "task" else f"/Workers/{world.worker}"
    before = world.client.get(world.ws + path, headers=AUTH)
    _assert_refused(world.post(path, {"Attributes": attributes}), "Attributes")
    after = world.client.get(world.ws + path, headers=AUTH)
    assert after.get_json() == before.get_json()
    assert after.headers["ETag"] == before.headers["ETag"]


def test_refused_attributes_create_nothing(world: World) -> None:
    tasks = len(world.ok(world.get("/Tasks"))["tasks"])
    workers = len(world.ok(world.get("/Workers"))["workers"])
    _assert_refused(world.post("/Tasks", {"Attributes": DEEP}), "Attributes")
    _assert_refused(
        world.post("/Workers", {"FriendlyName": "Deep", "Attributes": DEEP}), "Attributes"
    )
    assert len(world.ok(world.get("/Tasks"))["tasks"]) == tasks
    assert len(world.ok(world.get("/Workers"))["workers"]) == workers


def test_attributes_up_to_twilios_limit_are_accepted(world: World) -> None:
    padding = MAX_TASK_ATTRIBUTES - len(json.dumps({"a": ""}))
    exact = json.dumps({"a": "x" * padding})
    assert len(exact) == MAX_TASK_ATTRIBUTES
    task = world.ok(world.post(f"/Tasks/{world.task}", {"Attributes": exact}))
    assert json.loads(task["attributes"]) == {"a": "x" * padding}
    over = json.dumps({"a": "x" * (padding + 1)})
    message = _assert_refused(
        world.post(f"/Tasks/{world.task}", {"Attributes": over}), "Attributes"
    )
    assert message.endswith(f"at most {MAX_TASK_ATTRIBUTES} characters, got {len(over)}")


def test_deep_attributes_within_the_bound_render_again(world: World) -> None:
    nested = _nested(MAX_JSON_DEPTH)
    world.ok(world.post(f"/Workers/{world.worker}", {"Attributes": nested}))
    worker = world.ok(world.client.get(f"{world.ws}/Workers/{world.worker}", headers=AUTH))
    assert json.loads(worker["attributes"]) == json.loads(nested)


@pytest.mark.parametrize(
    ("field", "method", "path", "others"),
    [
        ("Configuration", "POST", "/Workflows", {"FriendlyName": "Deep"}),
        ("EvaluateWorkerAttributes", "GET", "/TaskQueues", {}),
    ],
)
def test_other_json_parameters_are_bounded(
    world: World, field: str, method: str, path: str, others: dict[str, str]
) -> None:
    for document in (DEEP, '{"a": Infinity}'):
        params = {**others, field: document}
        response = world.get(path, params) if method == "GET" else world.post(path, params)
        _assert_refused(response, field)
