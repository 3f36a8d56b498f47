"""Property: whatever arrives at either endpoint, the answer is never a 5xx and a bad payload
never reaches a handler."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskrouter_flask import TaskRouter, accept
from taskrouter_flask.signature import compute_signature
from taskrouter_flask.testing import assignment_payload, event_payload

from .conftest import TOKEN

REQUIRED_ASSIGNMENT = (
    "AccountSid",
    "WorkspaceSid",
    "WorkflowSid",
    "TaskQueueSid",
    "ReservationSid",
    "TaskSid",
    "TaskAttributes",
    "TaskAge",
    "TaskPriority",
    "WorkerSid",
    "WorkerAttributes",
)
REQUIRED_EVENT = ("EventType", "AccountSid", "WorkspaceSid", "Timestamp")
MAX_BODY = 4096


@pytest.fixture(scope="module")
def harness() -> tuple[Flask, list[Any]]:
    app = Flask("hostile")
    app.config.update(TASKROUTER_AUTH_TOKEN=TOKEN, TASKROUTER_MAX_BODY=MAX_BODY)
    tr = TaskRouter(app)
    calls: list[Any] = []
    tr.assignment()(lambda a: calls.append(a) or accept())
    tr.event("*")(calls.append)
    return app, calls


_text = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
    st.sampled_from(["", "null", "[]", "{", "1e999", "-1", "9" * 5000, "[" * 3000, "\x00", "WT1"]),
)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, dict[str, str], bool]:
    """A payload with fields dropped, replaced or added; tells if a required one was dropped."""
    kind = draw(st.sampled_from(["assignment", "events"]))
    if kind == "assignment":
        payload, required = assignment_payload(), REQUIRED_ASSIGNMENT
    else:
        event_type = draw(
            st.sampled_from(["reservation.created", "task.canceled", "worker.activity.update"])
        )
        payload, required = event_payload(event_type), REQUIRED_EVENT
    dropped = draw(st.sets(st.sampled_from(sorted(payload)), max_size=3))
    for name in dropped:
        del payload[name]
    replaced = draw(st.dictionaries(st.sampled_from(sorted(payload) or ["X"]), _text, max_size=3))
    payload.update(replaced)
    payload.update(draw(st.dictionaries(st.text(min_size=1, max_size=10), _text, max_size=3)))
    return kind, payload, bool(dropped & set(required))


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=mutated())
def test_signed_mutated_payloads(
    harness: tuple[Flask, list[Any]], case: tuple[str, dict[str, str], bool]
) -> None:
    app, calls = harness
    kind, payload, lost_required = case
    calls.clear()
    path = f"/taskrouter/{kind}"
    body = urlencode(payload).encode()
    signature = compute_signature("http://localhost" + path, payload, TOKEN)
    response = app.test_client().post(
        path,
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )
    assert response.status_code < 500, response.data
    assert response.mimetype == "application/json"
    if response.status_code >= 400:
        assert calls == []
        assert response.json["error"]["code"] in ("invalid_payload", "payload_too_large")
        if response.status_code == 400:
            assert response.json["error"]["message"]
    else:
        assert len(calls) == 1
        assert dict(calls[0].raw) == payload
    if len(body) > MAX_BODY:
        assert response.status_code == 413
    elif lost_required:
        assert response.status_code == 400


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(["assignment", "events"]),
    body=st.one_of(st.binary(max_size=2 * MAX_BODY), st.text(max_size=500).map(str.encode)),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/json",
            "text/plain",
            "",
            "multipart/form-data",
        ]
    ),
    sign=st.booleans(),
    query=st.sampled_from(["", "?bodySHA256=00", "?a=%ff"]),
)
def test_random_bodies(
    harness: tuple[Flask, list[Any]],
    kind: str,
    body: bytes,
    content_type: str,
    sign: bool,
    query: str,
) -> None:
    app, calls = harness
    calls.clear()
    path = f"/taskrouter/{kind}{query}"
    headers = {}
    if sign:
        headers["X-Twilio-Signature"] = compute_signature("http://localhost" + path, {}, TOKEN)
    response = app.test_client().post(path, data=body, content_type=content_type, headers=headers)
    assert 400 <= response.status_code < 500
    assert response.mimetype == "application/json"
    assert "error" in response.json
    assert calls == []
