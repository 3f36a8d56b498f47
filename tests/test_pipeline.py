"""The callback pipeline as a plain function: no Flask app, no HTTP.

Each test builds a :class:`Callback` value (signed as Twilio signs) and checks
the reply and outcome of :func:`handle`, with a real dispatcher and a real
in-memory once-only store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskrouter_flask import Event, accept
from taskrouter_flask.dedup import MemoryDedupStore
from taskrouter_flask.dispatch import Dispatcher
from taskrouter_flask.pipeline import FORM, JSON, Callback, Handled, handle
from taskrouter_flask.settings import TaskRouterSettings
from taskrouter_flask.signature import body_sha256, compute_signature
from taskrouter_flask.testing import assignment_payload, event_payload, signed_json

from .conftest import TOKEN
from .resplit import merge_next, move_into_value

URL = "https://callbacks.example.com/taskrouter/events"


def _settings(**config: Any) -> TaskRouterSettings:
    return TaskRouterSettings.from_config({"TASKROUTER_AUTH_TOKEN": TOKEN, **config})


def _form_callback(
    fields: Mapping[str, str], *, endpoint: str = "events", url: str = URL, **changes: Any
) -> Callback:
    values: dict[str, Any] = {
        "endpoint": endpoint,
        "method": "POST",
        "content_type": FORM,
        "body": urlencode(fields).encode(),
        "url": url,
        "signature": compute_signature(url, fields, TOKEN),
    }
    values.update(changes)
    return Callback(**values)


class Desk:
    """A dispatcher whose handlers count their calls, and a store, shared by a test."""

    def __init__(self) -> None:
        self.dispatcher = Dispatcher()
        self.store = MemoryDedupStore()
        self.events: list[Event] = []
        self.dispatcher.add_event(self.events.append, ["*"])
        self.dispatcher.add_assignment(lambda assignment: accept())

    def handle(self, callback: Callback, **config: Any) -> Handled:
        return handle(
            callback, settings=_settings(**config), dispatcher=self.dispatcher, store=self.store
        )


def _error(handled: Handled) -> tuple[int, str, str | None]:
    body = handled.reply.body
    assert body is not None
    return handled.reply.status, body["error"]["code"], body["error"].get("field")


def test_an_event_is_dispatched_and_a_repeat_is_not() -> None:
    desk = Desk()
    callback = _form_callback(event_payload("task.created"))
    assert desk.handle(callback).outcome == "dispatched"
    assert desk.handle(callback).outcome == "duplicate"
    assert desk.handle(callback).reply.status == 204
    assert len(desk.events) == 1


def test_an_assignment_is_answered_and_replayed() -> None:
    desk = Desk()
    callback = _form_callback(assignment_payload(), endpoint="assignment")
    first, repeat = desk.handle(callback), desk.handle(callback)
    assert first.reply.body == repeat.reply.body == {"instruction": "accept"}
    assert (first.outcome, repeat.outcome) == ("dispatched", "duplicate")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"method": "GET"}, (405, "method_not_allowed", None)),
        ({"content_type": "text/plain"}, (415, "unsupported_media_type", None)),
        ({"body": b"a=" + b"x" * 70_000}, (413, "payload_too_large", None)),
        ({"signature": None}, (403, "invalid_signature", None)),
        ({"signature": "bm90IGl0"}, (403, "invalid_signature", None)),
        ({"body": b"\xff=1"}, (400, "invalid_payload", None)),
    ],
)
def test_refusals_come_in_order_and_dispatch_nothing(
    changes: dict[str, Any], expected: tuple[int, str, str | None]
) -> None:
    desk = Desk()
    handled = desk.handle(_form_callback(event_payload("task.created"), **changes))
    assert _error(handled) == expected
    assert handled.outcome == "refused"
    assert desk.events == []


def test_a_bad_signature_is_explained_with_the_url_that_would_have_matched(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fields = event_payload("task.created")
    signed_over = "http://callbacks.example.com/taskrouter/events"
    callback = _form_callback(
        fields,
        signature=compute_signature(signed_over, fields, TOKEN),
        alternatives=lambda: [("the scheme http", signed_over)],
    )
    assert Desk().handle(callback).reply.status == 403
    assert f"it would have matched {signed_over} (the scheme http)" in caplog.text
    assert TOKEN not in caplog.text


def test_an_event_without_a_sid_is_refused() -> None:
    fields = event_payload("task.created")
    del fields["Sid"]
    desk = Desk()
    assert _error(desk.handle(_form_callback(fields))) == (400, "invalid_payload", "Sid")
    assert desk.events == []


def test_unsigned_callbacks_are_taken_when_validation_is_off() -> None:
    desk = Desk()
    callback = _form_callback(event_payload("task.created"), signature=None)
    handled = desk.handle(callback, TASKROUTER_VALIDATE_SIGNATURES=False)
    assert handled.outcome == "dispatched"


def test_a_json_event_is_checked_against_its_body_hash() -> None:
    desk = Desk()
    url, body, headers = signed_json(URL, event_payload("task.created"), TOKEN)
    callback = Callback("events", "POST", JSON, body, url, headers["X-Twilio-Signature"])
    assert desk.handle(callback).outcome == "dispatched"
    tampered = Callback("events", "POST", JSON, body + b" ", url, headers["X-Twilio-Signature"])
    assert desk.handle(tampered).reply.status == 403


@pytest.mark.parametrize("document", ['{"\\ud800": "x"}', '{"EventType": "\\udfff"}'])
def test_a_json_event_with_a_lone_surrogate_is_a_400(document: str) -> None:
    body = document.encode()
    url = URL + "?bodySHA256=" + body_sha256(body)
    callback = Callback("events", "POST", JSON, body, url, compute_signature(url, body, TOKEN))
    handled = Desk().handle(callback)
    assert handled.reply.status == 400, handled


# -- re-splitting a signature ---------------------------------------------------------------


def test_moving_the_sid_into_the_field_before_it_is_refused_not_replayed() -> None:
    """The attack of issue 14: ``ResourceType='taskSidEV…'`` keeps the signature valid."""
    fields = event_payload("task.created")
    forged = merge_next(fields, sorted(fields).index("Sid") - 1)
    assert forged is not None and "Sid" not in forged
    assert compute_signature(URL, forged, TOKEN) == compute_signature(URL, fields, TOKEN)
    desk = Desk()
    assert desk.handle(_form_callback(fields)).outcome == "dispatched"
    forged_callback = _form_callback(forged, signature=compute_signature(URL, fields, TOKEN))
    assert _error(desk.handle(forged_callback))[0] == 400
    assert len(desk.events) == 1


@settings(max_examples=150, deadline=None)
@given(splits=st.lists(st.tuples(st.integers(0, 30), st.integers(0, 12)), min_size=1, max_size=4))
def test_no_resplitting_of_a_signed_event_runs_a_handler_twice(
    splits: list[tuple[int, int]],
) -> None:
    fields = event_payload("reservation.accepted")
    signature = compute_signature(URL, fields, TOKEN)
    desk = Desk()
    desk.handle(_form_callback(fields))
    variant: dict[str, str] | None = dict(fields)
    for index, count in splits:
        assert variant is not None
        moved = merge_next(variant, index) if count == 0 else move_into_value(variant, index, count)
        if moved is None:
            continue
        variant = moved
        handled = desk.handle(_form_callback(variant, signature=signature))
        assert handled.outcome in ("duplicate", "refused"), handled
    assert len(desk.events) == 1


def test_json_bodies_cannot_bemove_into_value() -> None:
    """A JSON body is signed through its SHA-256, so any change to it fails the check."""
    payload = event_payload("task.created")
    url, body, headers = signed_json(URL, payload, TOKEN)
    desk = Desk()
    desk.handle(Callback("events", "POST", JSON, body, url, headers["X-Twilio-Signature"]))
    sid = payload["Sid"]  # a different last digit, whatever the random SID ends with
    changed = json.dumps({**payload, "Sid": sid[:-1] + ("1" if sid[-1] == "0" else "0")})
    changed_body = changed.encode()
    handled = desk.handle(
        Callback("events", "POST", JSON, changed_body, url, headers["X-Twilio-Signature"])
    )
    assert handled.reply.status == 403
    assert len(desk.events) == 1
