"""The handler registry, exercised with plain calls: no Flask application involved."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from taskrouter_flask import Assignment, Event, accept, reject
from taskrouter_flask.dispatch import Dispatcher, NameKind, NameTable, Reply
from taskrouter_flask.errors import NameResolutionError
from taskrouter_flask.expressions import ExpressionError
from taskrouter_flask.testing import make_assignment, make_event, make_sid

GOLD = make_sid("WQ")
SILVER = make_sid("WQ")
FLOW = make_sid("WW")


def test_first_matching_handler_wins_in_registration_order() -> None:
    d = Dispatcher()
    calls: list[str] = []

    def first(a: Assignment) -> Any:
        calls.append("first")
        return accept()

    def second(a: Assignment) -> Any:
        calls.append("second")
        return reject()

    d.add_assignment(first, queue=GOLD)
    d.add_assignment(second, queue=[GOLD, SILVER])
    assert d.dispatch_assignment(make_assignment(task_queue_sid=GOLD)) == Reply(
        200, {"instruction": "accept"}
    )
    assert d.dispatch_assignment(make_assignment(task_queue_sid=SILVER)) == Reply(
        200, {"instruction": "reject"}
    )
    assert calls == ["first", "second"]


def test_fallback_answers_only_when_nothing_matches_wherever_registered() -> None:
    d = Dispatcher()
    d.add_assignment(lambda a: reject())  # fallback, registered first
    d.add_assignment(lambda a: accept(), workflow=FLOW, when=lambda a: a.task.priority == 5)
    assert d.dispatch_assignment(make_assignment(workflow_sid=FLOW, task_priority=5)).body == {
        "instruction": "accept"
    }
    assert d.dispatch_assignment(make_assignment(workflow_sid=FLOW, task_priority=1)).body == {
        "instruction": "reject"
    }


def test_all_matchers_must_agree() -> None:
    d = Dispatcher()
    d.add_assignment(lambda a: accept(), queue=GOLD, workflow=FLOW)
    reply = d.dispatch_assignment(make_assignment(task_queue_sid=GOLD), unmatched="error")
    assert reply.status == 500
    assert reply.body is not None and reply.body["error"]["code"] == "no_handler"


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("pending", Reply(200)),
        ("accept", Reply(200, {"instruction": "accept"})),
        ("reject", Reply(200, {"instruction": "reject"})),
    ],
)
def test_unmatched_policies_are_logged(
    policy: Any, expected: Reply, caplog: pytest.LogCaptureFixture
) -> None:
    assignment = make_assignment()
    assert Dispatcher().dispatch_assignment(assignment, unmatched=policy) == expected
    assert f"no assignment handler matches reservation {assignment.reservation_sid}" in caplog.text


def test_handler_results_are_coerced() -> None:
    d = Dispatcher()
    results: list[Any] = [None, {}, {"instruction": "reject", "activity_sid": make_sid("WA")}]
    d.add_assignment(lambda a: results.pop(0))
    assert d.dispatch_assignment(make_assignment()) == Reply(200)
    assert d.dispatch_assignment(make_assignment()) == Reply(200)
    body = d.dispatch_assignment(make_assignment()).body
    assert body is not None and body["instruction"] == "reject"


@pytest.mark.parametrize("bad", [{"instruction": "teleport"}, {"activity_sid": "x"}, 42, "accept"])
def test_an_invalid_answer_is_a_handler_error(bad: Any, caplog: pytest.LogCaptureFixture) -> None:
    d = Dispatcher()
    d.add_assignment(lambda a: bad)
    reply = d.dispatch_assignment(make_assignment())
    assert reply.status == 500
    assert reply.body is not None and reply.body["error"]["code"] == "handler_error"
    assert "Traceback" in caplog.text


def test_raising_handler_uses_the_error_handler() -> None:
    d = Dispatcher()
    seen: list[tuple[Exception, Any]] = []

    def broken(a: Assignment) -> None:
        raise KeyError("skills")

    def recover(exc: Exception, payload: Any) -> Any:
        seen.append((exc, payload))
        return reject()

    d.add_assignment(broken)
    d.set_error_handler("assignment", recover)
    assignment = make_assignment()
    assert d.dispatch_assignment(assignment).body == {"instruction": "reject"}
    assert isinstance(seen[0][0], KeyError) and seen[0][1] is assignment


def test_a_failing_error_handler_still_answers_500(caplog: pytest.LogCaptureFixture) -> None:
    d = Dispatcher()
    d.add_assignment(lambda a: 1 / 0)
    d.set_error_handler("assignment", lambda exc, payload: 1 / 0)
    assert d.dispatch_assignment(make_assignment()).status == 500
    assert "error handler" in caplog.text


def test_a_raising_when_matcher_is_a_handler_error() -> None:
    d = Dispatcher()
    d.add_assignment(lambda a: accept(), when=lambda a: a.task.attributes["missing"])
    assert d.dispatch_assignment(make_assignment()).status == 500


def test_every_matching_event_handler_runs_in_order(caplog: pytest.LogCaptureFixture) -> None:
    d = Dispatcher()
    calls: list[str] = []

    def boom(e: Event) -> None:
        calls.append("boom")
        raise RuntimeError("boom")

    d.add_event(lambda e: calls.append("all"), ["*"])
    d.add_event(boom, ["reservation.*"])
    d.add_event(lambda e: calls.append("exact"), ["reservation.accepted", "task.created"])
    d.add_event(lambda e: calls.append("other"), ["worker.*"])
    reply = d.dispatch_event(make_event("reservation.accepted"))
    assert calls == ["all", "boom", "exact"]
    assert reply.status == 500
    assert "RuntimeError: boom" in caplog.text
    calls.clear()
    assert d.dispatch_event(make_event("worker.activity.update")) == Reply(204)
    assert calls == ["all", "other"]


def test_event_error_handler_turns_failures_into_204() -> None:
    d = Dispatcher()
    d.add_event(lambda e: 1 / 0, ["*"])
    failures: list[Exception] = []
    d.set_error_handler("events", lambda exc, payload: failures.append(exc))
    assert d.dispatch_event(make_event("task.created")) == Reply(204)
    assert isinstance(failures[0], ZeroDivisionError)


def test_wildcards_do_not_overmatch() -> None:
    d = Dispatcher()
    hits: list[str] = []
    d.add_event(lambda e: hits.append(e.type), ["task.*"])
    for event_type in ("task.created", "task-queue.entered", "task-channel.created"):
        d.dispatch_event(make_event(event_type))
    assert hits == ["task.created"]


@pytest.mark.parametrize("pattern", ["", "task created", "task.created;", 5])
def test_bad_event_patterns_are_refused(pattern: Any) -> None:
    with pytest.raises(ValueError, match="event pattern"):
        Dispatcher().add_event(lambda e: None, [pattern])


def test_an_unknown_event_type_warns_at_registration(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        Dispatcher().add_event(lambda e: None, ["reservation.accept"])
    assert "'reservation.accept' is not a documented TaskRouter event type" in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"queue": []}, "queue: expected a TaskQueue SID .* or friendly name, or a list of them"),
        ({"queue": ""}, "queue: expected a TaskQueue SID"),
        ({"queue": ["Gold", "  "]}, "queue: expected a TaskQueue SID"),
        ({"queue": [make_sid("WQ"), 42]}, "queue: expected a TaskQueue SID"),
        ({"queue": make_sid("WW")}, "is not a TaskQueue SID"),
        ({"queue": "WQ0123456789abcdef"}, "is not a TaskQueue SID"),
        ({"workflow": make_sid("WQ")}, "is not a Workflow SID"),
    ],
)
def test_bad_matchers_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Dispatcher().add_assignment(lambda a: None, **kwargs)


def test_when_must_be_an_expression_or_callable() -> None:
    with pytest.raises(TypeError, match="when: expected a TaskRouter expression string or a call"):
        Dispatcher().add_assignment(lambda a: None, when=42)  # type: ignore[arg-type]


def test_when_expression_is_compiled_at_registration() -> None:
    with pytest.raises(ExpressionError) as caught:
        Dispatcher().add_assignment(lambda a: None, when="type == 'ticket' AND")
    assert caught.value.column == 21


def test_when_expression_matches_task_and_worker_attributes() -> None:
    d = Dispatcher()
    d.add_assignment(
        lambda a: accept(),
        when="type == 'ticket' AND customer_value == 'Gold' AND worker.skills HAS 'billing'",
    )
    gold = {"type": "ticket", "customer_value": "Gold"}
    reply = d.dispatch_assignment(
        make_assignment(task_attributes=gold, worker_attributes={"skills": ["billing"]}),
        unmatched="error",
    )
    assert reply.body == {"instruction": "accept"}
    reply = d.dispatch_assignment(
        make_assignment(task_attributes=gold, worker_attributes={"skills": ["sales"]}),
        unmatched="error",
    )
    assert reply.status == 500


# -- queues and workflows by friendly name -----------------------------------------------------

WORKSPACE = make_sid("WS")


class FakeNames:
    """A NameResolver over a dict the test edits; counts listings; ``fail`` makes them fail."""

    def __init__(self, **queues: str) -> None:
        self.listed: dict[NameKind, dict[str, str]] = {"queue": dict(queues), "workflow": {}}
        self.tables: dict[tuple[NameKind, str], NameTable] = {}
        self.refreshes = 0
        self.fail = False

    def table(self, kind: NameKind, workspace_sid: str) -> NameTable | None:
        return self.tables.get((kind, workspace_sid))

    def refresh(self, kind: NameKind, workspace_sid: str) -> NameTable:
        self.refreshes += 1
        if self.fail:
            raise NameResolutionError(f"listing the {kind}s of {workspace_sid} failed")
        by_name = {name: frozenset({sid}) for name, sid in self.listed[kind].items()}
        table = NameTable(workspace_sid, by_name, frozenset(self.listed[kind].values()))
        self.tables[(kind, workspace_sid)] = table
        return table


def _gold(task_queue_sid: str, **fields: Any) -> Assignment:
    return make_assignment(workspace_sid=WORKSPACE, task_queue_sid=task_queue_sid, **fields)


def test_a_name_is_resolved_at_dispatch_not_at_registration() -> None:
    d = Dispatcher()
    names = FakeNames()
    d.add_assignment(lambda a: accept(), queue="Gold Tickets")
    assert names.refreshes == 0  # registration needs no queue to exist
    names.listed["queue"]["Gold Tickets"] = GOLD
    reply = d.dispatch_assignment(_gold(GOLD), names=names, unmatched="reject")
    assert reply.body == {"instruction": "accept"}
    assert names.refreshes == 1
    d.dispatch_assignment(_gold(GOLD), names=names)
    d.dispatch_assignment(_gold(SILVER), names=names, unmatched="reject")
    assert names.refreshes == 2  # SILVER was not in the listing: listed again, once


def test_sids_and_names_mix_and_sids_never_need_the_resolver() -> None:
    d = Dispatcher()
    d.add_assignment(lambda a: accept(), queue=[SILVER, "Gold Tickets"])
    names = FakeNames(**{"Gold Tickets": GOLD})
    assert d.dispatch_assignment(_gold(SILVER)).body == {"instruction": "accept"}
    assert d.dispatch_assignment(_gold(GOLD), names=names).body == {"instruction": "accept"}
    sid_only = Dispatcher()
    sid_only.add_assignment(lambda a: accept(), queue=GOLD, workflow=FLOW)
    assert sid_only.dispatch_assignment(_gold(GOLD, workflow_sid=FLOW)).body == {
        "instruction": "accept"
    }


def test_a_workflow_name_matches_like_a_queue_name() -> None:
    d = Dispatcher()
    d.add_assignment(lambda a: accept(), workflow="Support Desk")
    names = FakeNames()
    names.listed["workflow"]["Support Desk"] = FLOW
    assert d.dispatch_assignment(_gold(GOLD, workflow_sid=FLOW), names=names).body == {
        "instruction": "accept"
    }
    assert d.dispatch_assignment(_gold(GOLD), names=names).status == 200
    assert d.names_in_use() == {"queue": frozenset(), "workflow": frozenset({"Support Desk"})}


def test_an_unknown_name_does_not_match_and_warns_once_naming_it_and_the_workspace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    d = Dispatcher()
    names = FakeNames(**{"Gold Tickets": GOLD})

    def platinum(a: Assignment) -> Any:
        return reject()

    d.add_assignment(platinum, queue="Platinum")
    d.add_assignment(lambda a: accept())  # the fallback answers instead
    with caplog.at_level(logging.WARNING, logger="taskrouter_flask.dispatch"):
        for _ in range(3):
            reply = d.dispatch_assignment(_gold(GOLD), names=names)
            assert reply.body == {"instruction": "accept"}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert f"workspace {WORKSPACE} has no task queue named 'Platinum'" in warnings[0]
    assert "platinum" in warnings[0]


def test_a_queue_created_or_renamed_later_is_found_after_a_refresh(
    caplog: pytest.LogCaptureFixture,
) -> None:
    d = Dispatcher()
    d.add_assignment(lambda a: accept(), queue="Gold Tickets")
    names = FakeNames(Silver=SILVER)
    with caplog.at_level(logging.WARNING):
        assert d.dispatch_assignment(_gold(SILVER), names=names).status == 200
    assert "no task queue named 'Gold Tickets'" in caplog.text

    names.listed["queue"] = {"Gold Tickets": SILVER}  # renamed
    assert d.dispatch_assignment(_gold(SILVER), names=names).body == {"instruction": "accept"}

    new = make_sid("WQ")
    names.listed["queue"] = {"Silver": SILVER, "Gold Tickets": new}  # renamed back, new queue
    assert d.dispatch_assignment(_gold(new), names=names).body == {"instruction": "accept"}
    assert d.dispatch_assignment(_gold(SILVER), names=names).status == 200


def test_names_that_cannot_be_resolved_answer_like_a_failing_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    d = Dispatcher()
    d.add_assignment(lambda a: accept(), queue="Gold Tickets")
    d.add_assignment(lambda a: reject())
    names = FakeNames()
    names.fail = True
    with caplog.at_level(logging.ERROR):
        reply = d.dispatch_assignment(_gold(GOLD), names=names)
    assert reply.status == 500 and reply.body is not None
    assert reply.body["error"]["code"] == "handler_error"
    assert "listing the queues of" in caplog.text
    # Without a resolver at all, the message says what is missing.
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        assert d.dispatch_assignment(_gold(GOLD)).status == 500
    assert "need a name resolver" in caplog.text
    # An error handler chooses the answer, as for any failing handler.
    d.set_error_handler("assignment", lambda exc, a: reject())
    assert d.dispatch_assignment(_gold(GOLD), names=names).body == {"instruction": "reject"}


def test_check_names_resolves_every_name_or_names_the_unknown_ones() -> None:
    d = Dispatcher()
    d.add_assignment(lambda a: accept(), queue=["Gold Tickets", GOLD])
    d.add_assignment(lambda a: accept(), queue="Spanish", workflow="Support Desk")
    names = FakeNames(**{"Gold Tickets": GOLD, "Spanish": SILVER})
    names.listed["workflow"]["Support Desk"] = FLOW
    assert d.check_names(names, WORKSPACE) == {
        "queue": {"Gold Tickets": frozenset({GOLD}), "Spanish": frozenset({SILVER})},
        "workflow": {"Support Desk": frozenset({FLOW})},
    }
    del names.listed["queue"]["Spanish"]
    names.listed["workflow"].clear()
    with pytest.raises(NameResolutionError) as raised:
        d.check_names(names, WORKSPACE)
    assert raised.value.names == ("Spanish", "Support Desk")
    assert str(raised.value).startswith(
        f"workspace {WORKSPACE} has no task queue named 'Spanish', no workflow named 'Support Desk'"
    )
