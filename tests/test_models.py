"""The models are immutable all the way down, hashable, and still read like dicts and lists."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
from collections.abc import Callable
from typing import Any

import pytest

from taskrouter_flask import Assignment, Event, Task, Worker
from taskrouter_flask.models import (
    FrozenDict,
    FrozenList,
    Statistics,
    Workflow,
    freeze,
    thaw,
)
from taskrouter_flask.testing import make_assignment, make_event

ATTRIBUTES = {"type": "ticket", "skills": ["billing", {"level": 3}], "customer": {"tier": "gold"}}


def test_attributes_read_like_a_dict() -> None:
    task = Task(sid="WT" + "0" * 32, attributes=ATTRIBUTES)
    assert task.attributes == ATTRIBUTES
    assert task.attributes.get("type") == "ticket" and task.attributes["skills"][0] == "billing"
    assert "billing" in task.attributes["skills"]
    assert isinstance(task.attributes, dict) and isinstance(task.attributes["skills"], list)
    assert json.loads(json.dumps(task.attributes)) == ATTRIBUTES
    assert {**task.attributes, "extra": 1}["extra"] == 1


def test_the_model_keeps_no_reference_to_the_callers_dict() -> None:
    source: dict[str, Any] = {"skills": ["billing"]}
    worker = Worker(sid="WK" + "0" * 32, attributes=source)
    source["skills"].append("support")
    source["new"] = True
    assert worker.attributes == {"skills": ["billing"]}


MUTATIONS: list[Callable[[Any], object]] = [
    lambda a: a.__setitem__("type", "call"),
    lambda a: a.__delitem__("type"),
    lambda a: a.update(type="call"),
    lambda a: a.setdefault("new", 1),
    lambda a: a.pop("type"),
    lambda a: a.popitem(),
    lambda a: a.clear(),
    lambda a: a.__ior__({"x": 1}),
    lambda a: a.__init__({"x": 1}),
    lambda a: a["skills"].append("x"),
    lambda a: a["skills"].extend(["x"]),
    lambda a: a["skills"].insert(0, "x"),
    lambda a: a["skills"].__setitem__(0, "x"),
    lambda a: a["skills"].__delitem__(0),
    lambda a: a["skills"].pop(),
    lambda a: a["skills"].remove("billing"),
    lambda a: a["skills"].sort(),
    lambda a: a["skills"].reverse(),
    lambda a: a["skills"].clear(),
    lambda a: a["skills"].__iadd__(["x"]),
    lambda a: a["skills"].__imul__(2),
    lambda a: a["skills"].__init__(["x"]),
    lambda a: a["skills"][1].__setitem__("level", 4),
    lambda a: a["customer"].update(tier="silver"),
]


@pytest.mark.parametrize("mutate", MUTATIONS)
def test_nothing_inside_a_model_can_be_changed(mutate: Callable[[Any], object]) -> None:
    assignment = make_assignment(task_attributes=ATTRIBUTES)
    with pytest.raises(TypeError, match="read-only"):
        mutate(assignment.task.attributes)
    assert assignment.task.attributes == ATTRIBUTES


def test_one_handler_cannot_change_what_the_next_sees() -> None:
    event = make_event("task.created", task_attributes={"tags": ["vip"]})
    assert event.task is not None
    with pytest.raises(TypeError):
        event.task.attributes["tags"].append("touched")
    with pytest.raises(TypeError):
        event.raw["TaskAttributes"] = "{}"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.task.attributes = {}  # type: ignore[misc]
    assert event.task.attributes == {"tags": ["vip"]}


def test_copies_are_mutable() -> None:
    attributes = Task(sid="WT" + "0" * 32, attributes=ATTRIBUTES).attributes
    assert isinstance(attributes, FrozenDict)
    for shallow in (dict(attributes), attributes.copy()):
        shallow["type"] = "call"
        assert type(shallow) is dict and attributes["type"] == "ticket"
    assert thaw(attributes) == attributes.thaw() == ATTRIBUTES
    deep = attributes.thaw()
    deep["skills"].append("support")
    deep["skills"][1]["level"] = 4
    assert type(deep["skills"]) is list and type(deep["skills"][1]) is dict
    assert attributes == ATTRIBUTES
    assert type(attributes | {"x": 1}) is dict
    assert isinstance(attributes["skills"], FrozenList)
    assert type(attributes["skills"] + ["x"]) is list


def test_models_are_hashable_and_equal_models_hash_alike() -> None:
    first = make_assignment(task_attributes=ATTRIBUTES, worker_attributes={"skills": ["a"]})
    again = dataclasses.replace(first, raw={"received": "differently"})
    assert first == again and hash(first) == hash(again)  # raw takes no part
    other = dataclasses.replace(first, task=dataclasses.replace(first.task, priority=9))
    assert first != other
    assert len({first, again, other}) == 2
    seen: dict[Assignment, str] = {first: "answered"}
    assert seen[again] == "answered"


def test_every_model_with_nested_values_is_hashable() -> None:
    event = make_event("worker.activity.update", worker_attributes=ATTRIBUTES)
    workflow = Workflow(sid="WW" + "0" * 32, configuration={"task_routing": {"filters": []}})
    stats = Statistics(cumulative={"tasks": {"a": [1, 2]}}, activity_statistics=[{"sid": "WA"}])
    for value in (event, workflow, stats):
        assert hash(value) == hash(copy.deepcopy(value))
    with pytest.raises(TypeError):
        stats.activity_statistics[0]["sid"] = "x"  # type: ignore[index]


def test_frozen_values_survive_copy_and_pickle() -> None:
    event: Event = make_event("task.created", task_attributes=ATTRIBUTES)
    assert pickle.loads(pickle.dumps(event)) == event
    assert copy.copy(event.raw) is event.raw and copy.deepcopy(event.raw) is event.raw
    restored = pickle.loads(pickle.dumps(event.raw))
    assert isinstance(restored, FrozenDict) and restored == event.raw


def test_freeze_is_deep_and_iterative() -> None:
    deep: Any = "leaf"
    for _ in range(5000):  # far deeper than the recursion limit
        deep = {"a": [deep]}
    frozen = freeze(deep)
    node = frozen
    for _ in range(5000):
        assert isinstance(node, FrozenDict) and isinstance(node["a"], FrozenList)
        node = node["a"][0]
    assert node == "leaf"


def test_freeze_keeps_tuples_and_freezes_sets() -> None:
    frozen = freeze({"pair": ({"a": [1]}, 2), "tags": {"x"}})
    assert isinstance(frozen["pair"], tuple) and isinstance(frozen["pair"][0], FrozenDict)
    assert frozen["tags"] == frozenset({"x"})
    assert freeze(frozen) is frozen
    assert FrozenDict.fromkeys(["a", "b"], [1]) == {"a": [1], "b": [1]}
