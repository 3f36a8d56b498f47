"""Simulated traffic is deterministic for a seed: arrivals and agents' choices."""

from __future__ import annotations

import itertools

import pytest

from example_app.traffic import Behaviour, TrafficPlan, task_spec


def _plan(seed: int | None, count: int = 50) -> list[tuple[float, str, dict[str, object]]]:
    plan = TrafficPlan(seed=seed, rate=5.0)
    return [
        (delay, spec.ref, spec.attributes)
        for delay, spec in itertools.islice(iter(plan.next, None), count)
    ]


def test_the_same_seed_gives_the_same_arrivals() -> None:
    assert _plan(1) == _plan(1)


def test_another_seed_gives_other_arrivals() -> None:
    assert _plan(1) != _plan(2)


def test_arrivals_have_the_advertised_rate_and_mix() -> None:
    arrivals = _plan(3, count=2000)
    mean_gap = sum(delay for delay, _, _ in arrivals) / len(arrivals)
    assert mean_gap == pytest.approx(1 / 5.0, rel=0.1)
    kinds = {
        kind: sum(a[2]["type"] == kind for a in arrivals) for kind in ("ticket", "call", "chat")
    }
    assert kinds["ticket"] > kinds["call"] > kinds["chat"] > 0
    assert {a[2]["customer_value"] for a in arrivals} == {"Gold", "Silver", "Bronze"}
    assert {a[2]["selected_language"] for a in arrivals} == {"en", "es", "fr"}
    assert [a[1] for a in arrivals[:3]] == ["0001", "0002", "0003"]
    calls = [a[2] for a in arrivals if a[2]["type"] == "call"]
    assert all(str(c["call_sid"]).startswith("CA") and len(str(c["call_sid"])) == 34 for c in calls)


def test_agents_choose_the_same_for_the_same_seed_task_and_agent() -> None:
    one, same, other = (Behaviour(seed=s, handle_time=8.0) for s in (1, 1, 2))
    assert one.handling("0042", "Alice") == same.handling("0042", "Alice")
    assert one.handling("0042", "Alice") != other.handling("0042", "Alice")
    assert one.handling("0042", "Alice") != one.handling("0042", "Bruno")
    assert one.comeback("Alice", 1) == same.comeback("Alice", 1)


def test_handling_times_scale_with_the_mean() -> None:
    behaviour = Behaviour(seed=1, handle_time=10.0)
    talks = [behaviour.handling(f"{n:04d}", "Alice").talk for n in range(500)]
    assert 5.0 <= min(talks) and max(talks) <= 15.0
    assert sum(talks) / len(talks) == pytest.approx(10.0, rel=0.05)
    answered = sum(behaviour.handling(f"{n:04d}", "Alice").answers for n in range(500))
    assert 350 < answered < 450  # about one ringing chat in five is missed


def test_a_task_spec_sets_priority_and_channel_by_kind() -> None:
    gold_call = task_spec(ref="D001", kind="call", customer_value="Gold", language="en")
    assert (gold_call.priority, gold_call.channel) == (15, "voice")
    assert gold_call.attributes["call_sid"].startswith("CA")
    chat = task_spec(ref="D002", kind="chat", customer_value="Bronze", language="es", priority=3)
    assert (chat.priority, chat.channel, chat.attributes["selected_language"]) == (3, "chat", "es")
    ticket = task_spec(
        ref="D003", kind="ticket", customer_value="Silver", language="en", subject="Hi"
    )
    assert ticket.attributes == {
        "type": "ticket",
        "customer_value": "Silver",
        "selected_language": "en",
        "ref": "D003",
        "source": "simulation",
        "subject": "Hi",
    }


def test_nonsense_rates_and_times_are_refused() -> None:
    with pytest.raises(ValueError, match="rate"):
        TrafficPlan(seed=1, rate=0)
    with pytest.raises(ValueError, match="handle_time"):
        Behaviour(seed=1, handle_time=-1)
