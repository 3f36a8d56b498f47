"""Workflow configurations: build, round-trip, and every problem reported at once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from taskrouter_flask.workflow import (
    Filter,
    Target,
    WorkflowConfiguration,
    WorkflowConfigurationError,
)

GOLD = "WQ" + "1" * 32
EVERYONE = "WQ" + "2" * 32

SEED = json.dumps(
    {
        "task_routing": {
            "filters": [
                {
                    "filter_friendly_name": "Gold Tickets",
                    "expression": "customer_value == 'Gold' AND type == 'ticket'",
                    "targets": [{"queue": GOLD, "priority": "2"}],
                }
            ],
            "default_filter": {"queue": EVERYONE},
        }
    }
)


def test_the_seed_example_round_trips_exactly() -> None:
    config = WorkflowConfiguration.from_json(SEED)
    assert json.loads(config.to_json()) == json.loads(SEED)
    assert config.filters[0].friendly_name == "Gold Tickets"
    assert config.filters[0].targets[0].priority == "2"
    assert config.validate() == []


#: The configuration as the seed guide prints it (twilio-ruby's TaskRouter guide): each queue
#: named with ``task_queue_sid``, the filter with ``friendly_name``, the priority a string.
GUIDE = json.dumps(
    {
        "task_routing": {
            "filters": [
                {
                    "friendly_name": "Gold Tickets",
                    "expression": "customer_value == 'Gold' AND type == 'ticket'",
                    "targets": [{"task_queue_sid": GOLD, "priority": "2"}],
                }
            ],
            "default_filter": {"task_queue_sid": EVERYONE},
        }
    }
)


def test_the_guides_spelling_is_read_and_kept() -> None:
    config = WorkflowConfiguration.from_json(GUIDE)
    assert config.validate() == []
    assert config.filters[0].friendly_name == "Gold Tickets"
    assert config.filters[0].targets[0].queue == GOLD
    assert config.default_filter is not None and config.default_filter.queue == EVERYONE
    assert json.loads(config.to_json()) == json.loads(GUIDE)


def test_both_spellings_route_alike_and_compare_by_spelling() -> None:
    guide, today = WorkflowConfiguration.from_json(GUIDE), WorkflowConfiguration.from_json(SEED)
    assert guide.filters[0].targets[0].queue == today.filters[0].targets[0].queue
    assert guide.filters[0].friendly_name == today.filters[0].friendly_name
    assert guide != today  # each remembers how it was written


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ({"queue": GOLD, "task_queue_sid": EVERYONE}, "names two different queues"),
        ({"task_queue_sid": "WQ-nope"}, "queue must be a TaskQueue SID"),
    ],
)
def test_spelling_conflicts_are_problems(target: dict[str, Any], problem: str) -> None:
    config = WorkflowConfiguration.from_dict(
        {"task_routing": {"filters": [], "default_filter": target}}
    )
    assert any(problem in str(item) for item in config.validate())


def test_the_same_queue_under_both_keys_is_no_problem() -> None:
    config = WorkflowConfiguration.from_dict(
        {"task_routing": {"default_filter": {"queue": GOLD, "task_queue_sid": GOLD}}}
    )
    assert config.validate() == []
    assert config.to_dict()["task_routing"]["default_filter"] == {
        "queue": GOLD,
        "task_queue_sid": GOLD,
    }


def test_an_unknown_spelling_is_refused() -> None:
    with pytest.raises(ValueError, match="queue_key"):
        Target(queue=GOLD, queue_key="queue_sid")
    with pytest.raises(ValueError, match="name_key"):
        Filter("1 == 1", name_key="name")


def test_built_in_python_equals_the_document() -> None:
    config = WorkflowConfiguration(
        filters=[
            Filter(
                "customer_value == 'Gold' AND type == 'ticket'",
                targets=[Target(queue=GOLD, priority="2")],
                friendly_name="Gold Tickets",
            )
        ],
        default_filter=Target(queue=EVERYONE),
    )
    assert config == WorkflowConfiguration.from_json(SEED)
    assert config.check() is config


def test_unknown_keys_survive_the_round_trip() -> None:
    document: dict[str, Any] = json.loads(SEED)
    document["task_routing"]["filters"][0]["targets"][0]["future_option"] = {"x": 1}
    document["task_routing"]["filters"][0]["new_filter_key"] = True
    document["task_routing"]["routing_flag"] = "on"
    document["top_level"] = [1]
    assert WorkflowConfiguration.from_dict(document).to_dict() == document


def test_every_problem_is_reported_with_its_location() -> None:
    config = WorkflowConfiguration(
        filters=[
            Filter(
                "type == 'ticket' AND",
                targets=[
                    Target(queue=GOLD, timeout=-5, expression="level > 2"),
                    Target(queue="Gold Tickets", order_by="level DESC"),
                ],
                friendly_name="Tickets",
            ),
            Filter("1==1", targets=[Target(expression="task.x == 1")]),
            Filter("true == true"),
        ],
    )
    problems = [str(p) for p in config.validate()]
    expected_fragments = [
        "filters[0] 'Tickets' expression: expected a value or an attribute name, found the end"
        " at column 21",
        "filters[0] 'Tickets' targets[0]: timeout must be a positive number of seconds, got -5",
        "filters[0] 'Tickets' targets[0] expression: names must start with 'task.' or 'worker.'"
        " here: level",
        "filters[0] 'Tickets' targets[1]: queue must be a TaskQueue SID",
        "filters[0] 'Tickets' targets[1]: order_by must be a comma-separated list",
        "filters[1] targets[0]: queue is missing",
        "filters[2] targets: expected at least one target",
        "default_filter: missing",
    ]
    for fragment in expected_fragments:
        assert any(fragment in problem for problem in problems), (fragment, problems)
    assert len(problems) == len(expected_fragments)
    with pytest.raises(WorkflowConfigurationError) as caught:
        config.check()
    assert len(caught.value.problems) == len(expected_fragments)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (Target(queue=GOLD, priority=-1), "priority must be a whole number"),
        (Target(queue=GOLD, timeout=True), "timeout must be a positive number"),  # type: ignore[arg-type]
        (Target(queue=GOLD, skip_if="available == 0"), "names must start with 'workers.'"),
        (Target(queue=GOLD, known_worker_sid="agent_sid"), "known_worker_sid must name a task"),
        (
            Target(queue=GOLD, known_worker_sid="task.a", known_worker_friendly_name="task.b"),
            "not both",
        ),
        (Target(queue=GOLD, order_by="worker.level SIDEWAYS"), "order_by must be"),
    ],
)
def test_target_checks(target: Target, message: str) -> None:
    config = WorkflowConfiguration(
        filters=[Filter("1==1", targets=[target])], default_filter=Target(queue=EVERYONE)
    )
    problems = config.validate()
    assert len(problems) == 1 and message in problems[0].message, problems


def test_good_targets_pass() -> None:
    target = Target(
        queue=GOLD,
        expression="task.requested_agent == worker.agent_id",
        priority=10,
        timeout=300,
        order_by="worker.level DESC, worker.tenure ASC",
        skip_if="workers.available == 0",
        known_worker_sid="task.agent_sid",
    )
    config = WorkflowConfiguration(
        filters=[Filter("1==1", targets=[target, Target(queue=EVERYONE)])],
        default_filter=Target(queue=EVERYONE),
    )
    assert config.validate() == []


def test_unreachable_targets_and_default_timeout_are_problems() -> None:
    config = WorkflowConfiguration(
        filters=[Filter("1==1", targets=[Target(queue=GOLD), Target(queue=EVERYONE)])],
        default_filter=Target(queue=EVERYONE, timeout=30),
    )
    messages = [p.message for p in config.validate()]
    assert any("never reached" in m for m in messages)
    assert any("takes no timeout" in m for m in messages)


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("{not json", "configuration"),
        ("[]", "configuration"),
        ('{"task_routing": 5}', "task_routing"),
        ('{"task_routing": {"filters": {}}}', "task_routing.filters"),
        ('{"task_routing": {"filters": [3]}}', "filters[0]"),
        ('{"task_routing": {"filters": [{"targets": 1}]}}', "filters[0].targets"),
        ('{"task_routing": {"filters": [{"targets": [[]]}]}}', "filters[0].targets[0]"),
    ],
)
def test_unreadable_documents(text: str, location: str) -> None:
    with pytest.raises(WorkflowConfigurationError) as caught:
        WorkflowConfiguration.from_json(text)
    assert caught.value.problems[0].location == location


def test_a_filter_without_expression_is_a_problem_not_a_crash() -> None:
    config = WorkflowConfiguration.from_json(
        json.dumps(
            {
                "task_routing": {
                    "filters": [{"targets": [{"queue": GOLD}]}],
                    "default_filter": {"queue": GOLD},
                }
            }
        )
    )
    assert [p.location for p in config.validate()] == ["filters[0] expression"]
