"""Tests for the expression language: a table of meanings, errors, properties, safety.

The property tests generate random expression trees, print them to text (random keyword
case, spacing and parenthesisation), compile the text and compare ``evaluate`` with a
tree-walking reference evaluator written here from the semantics in the module docstring
of ``taskrouter_flask.expressions``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskrouter_flask.errors import TaskRouterError
from taskrouter_flask.expressions import Expression, ExpressionError, compile_expression

ATTRS: dict[str, Any] = {
    "type": "ticket",
    "priority": 5,
    "score": 2.5,
    "flag": True,
    "off": False,
    "nothing": None,
    "zero": 0,
    "one": 1,
    "neg": -3,
    "big": 1e20,
    "num_str": "5",
    "text": "Hello World",
    "note": 'it\'s "quoted" AND or NOT',
    "path": "C:\\dir",
    "skills": ["billing", "sales", 3, True],
    "langs": ["en", "es"],
    "empty": [],
    "customer": {
        "tier": "Gold",
        "id": 42,
        "tags": ["vip", "new"],
        "address": {"city": "Paris"},
    },
    "items": [{"sku": "A1"}, {"sku": "B2"}],
    "matrix": [[1, 2], [3, 4]],
}

# (expression, expected) against ATTRS.
TABLE: list[tuple[str, bool]] = [
    # == and != on strings
    ("type == 'ticket'", True),
    ('type == "ticket"', True),
    ("type == 'Ticket'", False),
    ("type != 'ticket'", False),
    ("type != 'task'", True),
    ("text == 'Hello World'", True),
    ("'' == ''", True),
    # numbers
    ("priority == 5", True),
    ("priority == 5.0", True),
    ("priority != 5.0", False),
    ("priority != 6", True),
    ("score == 2.5", True),
    ("score == 25e-1", True),
    ("score > .5", True),
    ("1 == 1.0", True),
    ("1==1", True),
    ("1 != 1", False),
    ("neg == -3", True),
    ("neg < -2", True),
    ("neg > -3.5", True),
    ("big == 1e20", True),
    ("big == 1E+20", True),
    ("big > 1.5e19", True),
    ("customer.id == 42", True),
    ("customer.id IN [41, 42]", True),
    # numbers and strings never compare
    ("priority == '5'", False),
    ("priority != '5'", False),
    ("num_str == 5", False),
    ("num_str != 5", False),
    ("num_str == '5'", True),
    ("'5' == 5", False),
    ("5 == '5'", False),
    ("5 != '5'", False),
    # booleans are not numbers
    ("flag == true", True),
    ("flag == TRUE", True),
    ("flag == True", True),
    ("flag == 1", False),
    ("flag != 1", False),
    ("flag != false", True),
    ("one == true", False),
    ("one == 1", True),
    ("zero == false", False),
    ("off == false", True),
    ("off == FaLsE", True),
    ("off == 0", False),
    ("flag > false", False),
    ("flag >= true", False),
    ("true == true", True),
    ("true == 1", False),
    ("false == 0", False),
    # ordering: two numbers or two strings only
    ("priority > 4", True),
    ("priority > 5", False),
    ("priority >= 5", True),
    ("priority < 5", False),
    ("priority <= 5", True),
    ("priority < 5.5", True),
    ("type > 'task'", True),
    ("type < 'u'", True),
    ("type <= 'ticket'", True),
    ("type >= 'ticketz'", False),
    ("'B' < 'a'", True),
    ("type > 5", False),
    ("priority > '4'", False),
    ("num_str < 6", False),
    ("skills > 1", False),
    ("customer > 1", False),
    ("type == type", True),
    ("priority >= priority", True),
    # missing attributes: every comparison is false, != and NOT IN included
    ("missing == 1", False),
    ("missing != 1", False),
    ("missing > 1", False),
    ("missing >= 1", False),
    ("missing < 1", False),
    ("missing <= 1", False),
    ("missing == 'x'", False),
    ("missing != 'x'", False),
    ("missing == true", False),
    ("missing != false", False),
    ("missing IN [1, 2]", False),
    ("missing NOT IN [1, 2]", False),
    ("missing NOT IN []", False),
    ("missing HAS 1", False),
    ("skills HAS missing", False),
    ("missing CONTAINS 'a'", False),
    ("text CONTAINS missing", False),
    ("missing == missing", False),
    ("missing != nothing", False),
    ("NOT (missing == 1)", True),
    ("NOT missing == 1", True),
    ("NOT missing NOT IN [1]", True),
    # JSON null is the same as missing
    ("nothing == 1", False),
    ("nothing != 1", False),
    ("nothing > 1", False),
    ("nothing <= 'a'", False),
    ("nothing IN [1]", False),
    ("nothing NOT IN [1]", False),
    ("nothing HAS 1", False),
    ("nothing CONTAINS ''", False),
    ("nothing == nothing", False),
    ("NOT (nothing != 1)", True),
    # IN / NOT IN: scalar left, list right
    ("type IN ['ticket', 'task']", True),
    ("type in ['task']", False),
    ("type NOT IN ['task']", True),
    ("type not in ['ticket']", False),
    ("type Not In ['task']", True),
    ("type nOt   iN ['task']", True),
    ("priority IN [1, 5]", True),
    ("priority IN [1.0, 5.0]", True),
    ("priority IN ['5']", False),
    ("priority NOT IN ['5']", True),
    ("flag IN [1]", False),
    ("flag IN [true]", True),
    ("1 IN [1, 'a', true]", True),
    ("'a' IN [1, 'a', true]", True),
    ("true IN [1, 'a']", False),
    ("type IN []", False),
    ("type NOT IN []", True),
    ("'en' IN langs", True),
    ("'fr' NOT IN langs", True),
    ("'en' NOT IN langs", False),
    ("type IN 'ticket'", False),
    ("type NOT IN 'x'", False),
    ("langs IN ['en', 'es']", False),
    ("langs NOT IN ['fr']", False),
    ("customer IN ['Gold']", False),
    ("customer NOT IN ['Gold']", False),
    ("[] IN langs", False),
    # HAS: list left, scalar right
    ("skills HAS 'billing'", True),
    ("skills has 'support'", False),
    ("skills HAS 3", True),
    ("skills HAS 3.0", True),
    ("skills HAS '3'", False),
    ("skills HAS true", True),
    ("skills HAS 1", False),
    ("type HAS 't'", False),
    ("skills HAS ['billing']", False),
    ("['en', 'es'] HAS 'en'", True),
    ("[1, 2] HAS 2", True),
    ("empty HAS 'x'", False),
    ("customer.tags HAS 'vip'", True),
    ("customer HAS 'tier'", False),
    # CONTAINS: two strings, substring, case-sensitive
    ("text CONTAINS 'World'", True),
    ("text contains 'world'", False),
    ("text Contains ''", True),
    ("text CONTAINS 'Hello World!'", False),
    ("langs CONTAINS 'en'", False),
    ("priority CONTAINS 5", False),
    ("'5' CONTAINS num_str", True),
    ("text CONTAINS 5", False),
    ("'abc' CONTAINS 'b'", True),
    ("customer CONTAINS 'tier'", False),
    # lists and objects under scalar operators are false
    ("[1] == [1]", False),
    ("empty == []", False),
    ("langs == langs", False),
    ("langs != ['x']", False),
    ("customer == customer", False),
    ("customer != customer", False),
    # nested names and indexes
    ("customer.tier == 'Gold'", True),
    ("customer.address.city == 'Paris'", True),
    ("customer.address.zip == 'x'", False),
    ("customer.address.city.name == 'Paris'", False),
    ("type.length == 6", False),
    ("langs[0] == 'en'", True),
    ("langs[1] == 'es'", True),
    ("langs[2] == 'fr'", False),
    ("langs[2] != 'fr'", False),
    ("langs[99] NOT IN ['fr']", False),
    ("NOT (langs[9] == 'x')", True),
    ("items[1].sku == 'B2'", True),
    ("items[5].sku == 'B2'", False),
    ("matrix[1][0] == 3", True),
    ("matrix[1][2] == 3", False),
    ("customer.tags[0] == 'vip'", True),
    ("customer[0] == 1", False),
    ("langs.first == 'en'", False),
    ("type[0] == 't'", False),
    # keywords in any case, precedence, parentheses
    ("type == 'ticket' and priority == 5", True),
    ("type == 'x' Or priority == 5", True),
    ("type == 'x' OR priority == 4", False),
    ("type == 'ticket' AnD priority == 5 oR flag == false", True),
    ("NOT type == 'x'", True),
    ("not type == 'ticket'", False),
    ("NoT NOT type == 'ticket'", True),
    ("NOT type == 'ticket' AND priority == 5", False),
    ("NOT type == 'x' AND priority == 4", False),
    ("NOT (type == 'x' AND priority == 4)", True),
    ("1 == 1 OR 1 == 2 AND 1 == 2", True),
    ("(1 == 1 OR 1 == 2) AND 1 == 2", False),
    ("1 == 2 AND 1 == 2 OR 1 == 1", True),
    ("1 == 2 AND (1 == 2 OR 1 == 1)", False),
    ("NOT 1 == 2 OR 1 == 2", True),
    ("NOT (1 == 1 OR 1 == 2)", False),
    ("NOT 1 == 1 OR NOT 1 == 2", True),
    ("((type == 'ticket'))", True),
    ("type=='ticket'AND(priority>=5)", True),
    ("  type   ==\t'ticket'\n", True),
    # strings with escaped quotes, backslashes and keywords inside
    ("note == 'it\\'s \"quoted\" AND or NOT'", True),
    ('note == "it\'s \\"quoted\\" AND or NOT"', True),
    ("note CONTAINS ' AND '", True),
    ("type == 'ticket AND priority == 5'", False),
    ("'a AND b' == 'a AND b'", True),
    ("'x OR' == 'x OR' AND 'NOT IN' == 'NOT IN'", True),
    ("path == 'C:\\\\dir'", True),
]


@pytest.mark.parametrize(("text", "expected"), TABLE, ids=[text for text, _ in TABLE])
def test_table(text: str, expected: bool) -> None:
    expression = compile_expression(text)
    assert expression.evaluate(ATTRS) is expected
    assert expression(ATTRS) is expected


def test_table_is_large_and_unique() -> None:
    assert len(TABLE) >= 80
    assert len({text for text, _ in TABLE}) == len(TABLE)


# (expression, attributes, task, worker, expected)
SCOPED: list[tuple[str, dict[str, Any], dict[str, Any] | None, dict[str, Any] | None, bool]] = [
    ("task.type == 'ticket'", {"task": {"type": "ticket"}}, None, None, True),
    ("task.type == 'ticket'", {"task": {"type": "ticket"}}, {"type": "call"}, None, False),
    ("task.type == 'ticket'", {"task": {"type": "ticket"}}, {}, None, False),
    ("task.type == 'ticket'", {}, {"type": "ticket"}, None, True),
    ("task.type == 'ticket'", {}, None, None, False),
    ("task.customer.tier == 'Gold'", {}, {"customer": {"tier": "Gold"}}, None, True),
    ("task.langs[1] == 'es'", {}, {"langs": ["en", "es"]}, None, True),
    ("task.langs[2] == 'es'", {}, {"langs": ["en", "es"]}, None, False),
    ("worker.skills HAS task.skill", {}, {"skill": "billing"}, {"skills": ["billing"]}, True),
    ("worker.skills HAS task.skill", {}, {"skill": "sales"}, {"skills": ["billing"]}, False),
    ("task.agent == worker.agent_id", {}, {"agent": "alice"}, {"agent_id": "alice"}, True),
    ("task.agent == worker.agent_id", {}, {"agent": "alice"}, {}, False),
    ("task.agent != worker.agent_id", {}, {"agent": "alice"}, {}, False),
    ("worker.level > 2", {"worker": {"level": 3}}, {"level": 0}, None, True),
    ("worker.level > 2", {"worker": {"level": 3}}, None, {}, False),
    ("worker.level > 2", {}, None, {"level": 3}, True),
    ("worker.level > task.level", {}, {"level": 1}, {"level": 3}, True),
    ("type == 'ticket'", {"type": "ticket"}, {"type": "call"}, {"type": "call"}, True),
    ("task == 1", {"task": 1}, {"x": 1}, None, True),
    ("workers.available == 0", {"workers": {"available": 0}}, {}, {}, True),
    ("NOT (task.vip == true)", {}, {}, None, True),
]


@pytest.mark.parametrize(("text", "attributes", "task", "worker", "expected"), SCOPED)
def test_scoping(
    text: str,
    attributes: dict[str, Any],
    task: dict[str, Any] | None,
    worker: dict[str, Any] | None,
    expected: bool,
) -> None:
    assert compile_expression(text).evaluate(attributes, task=task, worker=worker) is expected


def test_call_ignores_scopes() -> None:
    expression = compile_expression("task.x == 1")
    assert expression({"task": {"x": 1}}) is True
    assert expression.evaluate({"task": {"x": 1}}, task={"x": 2}) is False


# -- errors ----------------------------------------------------------------------------------

# (expression, expected 1-based column)
ERRORS: list[tuple[str, int]] = [
    ("a == 1 AND", 11),
    ("a == 1 OR", 10),
    ("a = 1", 3),
    ("a === 1", 5),
    ("a => 1", 3),
    ("(a == 1", 8),
    ("a == 1)", 7),
    ("a == 1 AND (b == 2", 19),
    ("()", 2),
    ("a b", 3),
    ("a == 1 2", 8),
    ('a == "x" "y"', 10),
    ("foo-bar == 1", 4),
    ("", 1),
    ("   ", 4),
    ("a NOT HAS 1", 7),
    ("NOT HAS x", 5),
    ("a NOT CONTAINS 'x'", 7),
    ("a IN [1, b]", 10),
    ("a == 'abc", 6),
    ("AND a == 1", 1),
    ("1 == 1 AND OR a == 1", 12),
    ("a IN [1,]", 9),
    ("a IN [,]", 7),
    ("a IN [1 2]", 9),
    ("a IN [[1]]", 7),
    ("a == [1", 8),
    ("a ==", 5),
    ("== 1", 1),
    ("a == b == c", 8),
    ("NOT", 4),
    ("NOT NOT", 8),
    ("a.b[x] == 1", 4),
    ("a == 1 && b == 2", 8),
    ("é == 1", 1),
    ("a IN (1, 2)", 6),
    ("__import__('os') == 1", 11),
]


@pytest.mark.parametrize(("text", "column"), ERRORS, ids=[repr(text) for text, _ in ERRORS])
def test_errors(text: str, column: int) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression(text)
    exc = info.value
    assert isinstance(exc, TaskRouterError)
    assert isinstance(exc, ValueError)
    assert exc.column == column
    assert exc.position == column - 1
    assert exc.expression == text
    message = str(exc)
    assert exc.problem in message
    assert f"column {column}" in message
    lines = message.split("\n")
    assert lines[-2] == "  " + text
    caret = lines[-1]
    assert caret.strip() == "^"
    assert caret.index("^") == 2 + exc.position


def test_error_table_is_large() -> None:
    assert len(ERRORS) >= 15


def test_error_hints() -> None:
    with pytest.raises(ExpressionError, match="hyphen"):
        compile_expression("first-name == 'x'")
    with pytest.raises(ExpressionError, match="use =="):
        compile_expression("a = 1")
    with pytest.raises(ExpressionError, match="NOT IN"):
        compile_expression("a NOT HAS 1")


@pytest.mark.parametrize("value", [5, None, b"a == 1", 1.5])
def test_not_a_string(value: Any) -> None:
    with pytest.raises(TypeError):
        compile_expression(value)


# -- names, caching, repr, equality ------------------------------------------------------------


def test_names() -> None:
    expression = compile_expression("a.b[2] == x AND task.y IN [1] OR 1 == 1 OR x != 'x'")
    assert expression.names == frozenset({"a.b[2]", "x", "task.y"})
    assert compile_expression("m[0][1] HAS 1").names == frozenset({"m[0][1]"})
    assert compile_expression("items[1].sku == 'B2'").names == frozenset({"items[1].sku"})
    assert compile_expression("1 == 1").names == frozenset()
    assert compile_expression("'a' IN ['a']").names == frozenset()


def test_text_repr_equality_hash() -> None:
    text = "type == 'ticket'"
    expression = compile_expression(text)
    assert expression.text == text
    assert repr(expression) == "Expression(\"type == 'ticket'\")"
    assert eval(repr(expression), {"Expression": lambda t: t}) == text
    fresh = compile_expression.__wrapped__(text)
    assert fresh is not expression
    assert fresh == expression
    assert hash(fresh) == hash(expression) == hash(text)
    assert expression != compile_expression("type == 'task'")
    assert expression != text
    assert len({expression, fresh, compile_expression("1 == 1")}) == 2


def test_caching() -> None:
    text = "cached == 'yes' AND n > 1"
    assert compile_expression(text) is compile_expression(text)
    assert compile_expression(text) is not compile_expression(text + " ")


# -- bugs found --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["x IN[1]", "x NOT IN[2]", "x in[1]"])
def test_in_followed_by_single_integer_list(text: str) -> None:
    # 'x IN[1, 2]' and "x IN['a']" parse; only '[<digits>]' right after the keyword fails.
    assert compile_expression("x IN[1, 2]").evaluate({"x": 1}) is True
    assert compile_expression(text).evaluate({"x": 1}) is True


@pytest.mark.parametrize(
    "text",
    [
        "NOT " * 250 + "a == 1",
        "(a == 1 OR (b == 1 AND " * 120 + "c == 1" + "))" * 120,
        "(" * 1000 + "a == 1" + ")" * 1000,
    ],
    ids=["250 NOTs", "120 alternating AND/OR levels", "1000 parentheses"],
)
def test_deep_nesting_compiles_or_raises_expression_error(text: str) -> None:
    try:
        expression = compile_expression(text)
    except ExpressionError:
        return
    assert expression.evaluate({"a": 1}) in (True, False)


class _Str(str):
    pass


def test_operand_order_does_not_matter_for_str_subclass() -> None:
    value = {"x": _Str("b")}
    assert compile_expression("'a' != x").evaluate(value) is True
    assert compile_expression("'a' < x").evaluate(value) is True
    assert compile_expression("x != 'a'").evaluate(value) is True
    assert compile_expression("x > 'a'").evaluate(value) is True


# -- safety ------------------------------------------------------------------------------------


class _Recorder(dict[str, Any]):
    """A dict that records the keys given to ``get`` and the attributes read from it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log: list[tuple[str, str]] = []

    def get(self, key: Any, default: Any = None) -> Any:
        object.__getattribute__(self, "log").append(("get", key))
        return dict.get(self, key, default)

    def __getattribute__(self, name: str) -> Any:
        if name != "log":
            object.__getattribute__(self, "log").append(("attr", name))
        return object.__getattribute__(self, name)


@pytest.mark.parametrize(
    "text",
    [
        "__import__ == 1",
        "__builtins__ == 1",
        "a.__class__ == 1",
        "a.__class__.__subclasses__ == 1",
        "a.__dict__ != 'x'",
        "_walk == 1",
        "_v0 == _v1",
        "evaluate == 1",
        "a.__class__ > 1",
        "a.get == 1",
    ],
)
def test_dunder_names_are_plain_lookups(text: str) -> None:
    assert compile_expression(text).evaluate({}) is False
    assert compile_expression(text).evaluate({"a": {}}) is False


@pytest.mark.parametrize("op", ["==", "!=", ">", "IN", "HAS", "CONTAINS"])
def test_dunder_is_read_as_a_key_only(op: str) -> None:
    # The attribute reads for 'a.__class__' are exactly those for 'a.klass': the user's
    # '__class__' is only ever a key given to get().
    right = "[1]" if op == "IN" else "1"
    logs = []
    for name in ("__class__", "klass"):
        inner = _Recorder({name: 1})
        outer = _Recorder({"a": inner})
        compile_expression(f"a.{name} {op} {right}").evaluate(outer)
        logs.append((outer.log, inner.log))
    (outer_dunder, inner_dunder), (outer_plain, inner_plain) = logs
    assert outer_dunder == outer_plain
    assert ("get", "__class__") in inner_dunder
    assert [entry for entry in inner_dunder if entry != ("get", "__class__")] == [
        entry for entry in inner_plain if entry != ("get", "klass")
    ]


def test_code_in_text_is_never_executed() -> None:
    with pytest.raises(ExpressionError):
        compile_expression("__import__('os') == 1")
    with pytest.raises(ExpressionError):
        compile_expression("a == 1; raise SystemExit")
    with pytest.raises(ExpressionError):
        compile_expression("a == 1 or exit()")
    payload = "__import__('sys').exit(3)"
    expression = compile_expression(f'x == "{payload}" OR y == \'")\' OR z == 1')
    assert expression.evaluate({"x": payload}) is True
    assert expression.evaluate({}) is False


# -- reference evaluator ---------------------------------------------------------------------
#
# Trees: ("cmp", op, left, right) with operands ("name", "a.b[0]") or ("lit", value),
# ("not", node), ("and", (node, ...)), ("or", (node, ...)).

Node = tuple[Any, ...]

_KINDS: dict[type, str] = {
    type(None): "null",
    bool: "bool",
    int: "number",
    float: "number",
    str: "string",
    list: "list",
    tuple: "list",
    dict: "object",
}


def _ref_kind(value: Any) -> str:
    return _KINDS[type(value)]


def _ref_eq(left: Any, right: Any) -> bool:
    kind = _ref_kind(left)
    if kind not in ("bool", "number", "string") or kind != _ref_kind(right):
        return False
    return bool(left == right)


def _ref_compare(op: str, left: Any, right: Any) -> bool:
    lk, rk = _ref_kind(left), _ref_kind(right)
    scalars = ("bool", "number", "string")
    if op == "==":
        return _ref_eq(left, right)
    if op == "!=":
        return lk in scalars and lk == rk and bool(left != right)
    if op in (">", ">=", "<", "<="):
        if lk not in ("number", "string") or lk != rk:
            return False
        return bool(
            {
                ">": left > right,
                ">=": left >= right,
                "<": left < right,
                "<=": left <= right,
            }[op]
        )
    if op in ("IN", "NOT IN"):
        if lk not in scalars or rk != "list":
            return False
        found = any(_ref_eq(left, item) for item in right)
        return found if op == "IN" else not found
    if op == "HAS":
        if lk != "list" or rk not in scalars:
            return False
        return any(_ref_eq(item, right) for item in left)
    if op == "CONTAINS":
        return lk == "string" and rk == "string" and right in left
    raise AssertionError(op)


def _ref_path(name: str) -> list[str | int]:
    steps: list[str | int] = []
    for part in name.split("."):
        head, *indexes = part.split("[")
        steps.append(head)
        steps.extend(int(index.rstrip("]")) for index in indexes)
    return steps


def _ref_resolve(
    name: str,
    attributes: Mapping[str, Any],
    task: Mapping[str, Any] | None,
    worker: Mapping[str, Any] | None,
) -> Any:
    steps = _ref_path(name)
    value: Any = attributes
    if len(steps) > 1 and steps[0] == "task" and task is not None:
        value, steps = task, steps[1:]
    elif len(steps) > 1 and steps[0] == "worker" and worker is not None:
        value, steps = worker, steps[1:]
    for step in steps:
        if isinstance(step, str):
            value = value.get(step) if type(value) is dict else None
        elif type(value) is list and step < len(value):
            value = value[step]
        else:
            value = None
    return value


def _ref_evaluate(
    node: Node,
    attributes: Mapping[str, Any],
    task: Mapping[str, Any] | None = None,
    worker: Mapping[str, Any] | None = None,
) -> bool:
    kind = node[0]
    if kind == "not":
        return not _ref_evaluate(node[1], attributes, task, worker)
    if kind == "and":
        return all(_ref_evaluate(child, attributes, task, worker) for child in node[1])
    if kind == "or":
        return any(_ref_evaluate(child, attributes, task, worker) for child in node[1])
    _, op, left, right = node
    values = [
        _ref_resolve(operand[1], attributes, task, worker)
        if operand[0] == "name"
        else list(operand[1])
        if isinstance(operand[1], tuple)
        else operand[1]
        for operand in (left, right)
    ]
    return _ref_compare(op, *values)


# -- printer ---------------------------------------------------------------------------------

_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "cmp": 4}
_WORDY = re.compile(r"[A-Za-z0-9_]")


class _Printer:
    """Print a tree to tokens, then join them with spacing.

    :param parens: "minimal", "full" or "random" (minimal plus random redundant ones).
    :param case: "upper", "lower" or "random" for keywords and booleans.
    :param spacing: "compact" (no space unless needed), "single" or "random".
    """

    def __init__(self, rnd: random.Random, *, parens: str, case: str, spacing: str) -> None:
        self.rnd = rnd
        self.parens = parens
        self.case = case
        self.spacing = spacing

    def word(self, word: str) -> str:
        if self.case == "upper":
            return word.upper()
        if self.case == "lower":
            return word.lower()
        return "".join(self.rnd.choice((c.lower(), c.upper())) for c in word)

    def literal(self, value: Any) -> list[str]:
        if isinstance(value, bool):
            return [self.word("true" if value else "false")]
        if isinstance(value, int | float):
            return [repr(value)]
        if isinstance(value, str):
            quote = self.rnd.choice("'\"")
            body = value.replace("\\", "\\\\").replace(quote, "\\" + quote)
            return [quote + body + quote]
        tokens = ["["]
        for index, item in enumerate(value):
            if index:
                tokens.append(",")
            tokens.extend(self.literal(item))
        return [*tokens, "]"]

    def operand(self, operand: tuple[str, Any]) -> list[str]:
        return [operand[1]] if operand[0] == "name" else self.literal(operand[1])

    def node(self, node: Node, parent: int = 0) -> list[str]:
        kind = node[0]
        if kind == "cmp":
            _, op, left, right = node
            ops = [self.word(part) for part in op.split()] if op[0].isalpha() else [op]
            tokens = [*self.operand(left), *ops, *self.operand(right)]
        elif kind == "not":
            tokens = [self.word("NOT"), *self.node(node[1], _PRECEDENCE["not"])]
        else:
            tokens = []
            for index, child in enumerate(node[1]):
                if index:
                    tokens.append(self.word(kind))
                tokens.extend(self.node(child, _PRECEDENCE[kind]))
        needed = _PRECEDENCE[kind] < parent
        if (
            needed
            or (self.parens == "full" and kind != "cmp")
            or (self.parens == "random" and self.rnd.random() < 0.25)
        ):
            tokens = ["(", *tokens, ")"]
        return tokens

    def separator(self, before: str, after: str) -> str:
        required = bool(_WORDY.match(before[-1])) and bool(
            _WORDY.match(after[0]) or after[0] in "[.-"
        )
        if self.spacing == "single":
            return " "
        if self.spacing == "compact":
            return " " if required else ""
        choices = [" ", "  ", "\t", "\n", " \r\n "]
        return self.rnd.choice(choices if required else ["", *choices])

    def __call__(self, tree: Node) -> str:
        tokens = self.node(tree)
        text = tokens[0]
        for before, after in zip(tokens, tokens[1:], strict=False):
            text += self.separator(before, after) + after
        if self.spacing == "random":
            text = self.rnd.choice(["", " ", "\n"]) + text + self.rnd.choice(["", " ", "\t"])
        return text


# -- strategies ----------------------------------------------------------------------------

NAMES = [
    "a",
    "b",
    "l",
    "missing",
    "x.a",
    "x.l",
    "x.l[1]",
    "l[0]",
    "l[2]",
    "task.a",
    "task.l",
    "task.x.a",
    "worker.b",
    "worker.l",
    "worker.l[0]",
]
KEYS = ["a", "b", "l", "x", "task", "worker"]
OPS = ["==", "!=", ">", ">=", "<", "<=", "IN", "NOT IN", "HAS", "CONTAINS"]

# A small pool shared by literals and attribute values, so that comparisons often meet
# equal values, near-equal values of another type (1, 1.0, true, '1') and substrings.
_SHARED: list[Any] = [True, False, 0, 1, -1, 2, 0.0, 1.0, 2.5, "", "a", "ab", "A", "b", "1", "true"]

_strings = st.one_of(
    st.sampled_from(["", "a", "b", "ab", "A", "x y", "AND", "not in"]),
    st.text(alphabet="ab'\"\\ ", max_size=4),
)
_numbers = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([0.0, 1.0, 2.5, -1.5, 1e20, 3.0]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(),
)
_literal_scalars = st.one_of(st.sampled_from(_SHARED), st.booleans(), _numbers, _strings)
_literals = st.one_of(
    _literal_scalars, st.lists(_literal_scalars, max_size=3).map(tuple), st.just(())
)
_value_scalars = st.one_of(st.sampled_from(_SHARED), st.none(), _numbers, _strings)
_values = st.recursive(
    st.one_of(_value_scalars, st.lists(_value_scalars, max_size=3)),
    lambda children: st.dictionaries(st.sampled_from(KEYS), children, max_size=3),
    max_leaves=6,
)
_attributes = st.dictionaries(st.sampled_from(KEYS), _values, max_size=6)
_scope = st.one_of(st.none(), _attributes)

_operands = st.one_of(
    st.tuples(st.just("name"), st.sampled_from(NAMES)),
    st.tuples(st.just("lit"), _literals),
)
_comparisons = st.tuples(st.just("cmp"), st.sampled_from(OPS), _operands, _operands)
_trees: st.SearchStrategy[Node] = st.recursive(
    _comparisons,
    lambda children: st.one_of(
        st.tuples(st.just("not"), children),
        st.tuples(
            st.sampled_from(["and", "or"]), st.lists(children, min_size=2, max_size=3).map(tuple)
        ),
    ),
    max_leaves=8,
)

PROPERTY = settings(max_examples=300, deadline=None)


def test_reference_evaluator_agrees_with_the_table() -> None:
    # The reference is checked on a few hand-built trees too, so that a mistake in it
    # cannot hide a mistake in the implementation.
    cases: list[tuple[Node, bool]] = [
        (("cmp", "==", ("name", "x.l[1]"), ("lit", 2)), True),
        (("cmp", "!=", ("name", "missing"), ("lit", 2)), False),
        (("cmp", "IN", ("name", "a"), ("lit", (1, "true"))), False),
        (("cmp", "IN", ("name", "a"), ("lit", (1, True))), True),
        (("cmp", "HAS", ("name", "x.l"), ("lit", 2.0)), True),
        (("not", ("cmp", "CONTAINS", ("name", "s"), ("lit", "B"))), True),
        (("cmp", "==", ("name", "task.a"), ("lit", 5)), True),
    ]
    attributes = {"a": True, "s": "abc", "x": {"l": [1, 2]}, "task": {"a": 5}}
    for tree, expected in cases:
        assert _ref_evaluate(tree, attributes) is expected
        text = _Printer(random.Random(0), parens="full", case="lower", spacing="single")(tree)
        assert compile_expression(text).evaluate(attributes) is expected


_PAIR_VALUES: list[Any] = [
    *_SHARED,
    None,
    -2.5,
    1e20,
    "B",
    "a b",
    [],
    [1],
    [True],
    ["a", 1.0],
    {"a": 1},
]


def _is_literal(value: Any) -> bool:
    if isinstance(value, list):
        return all(_is_literal(item) and not isinstance(item, list) for item in value)
    return value is not None and not isinstance(value, dict)


def test_every_operator_on_every_pair_of_values() -> None:
    # Exhaustive over a small pool, in the four operand shapes (the compiled code has fast
    # paths for a name compared with a literal), against the reference evaluator.
    printer = _Printer(random.Random(0), parens="minimal", case="upper", spacing="single")
    failures = []
    for op in OPS:
        for left in _PAIR_VALUES:
            for right in _PAIR_VALUES:
                expected = _ref_compare(op, left, right)
                attributes = {"p": left, "q": right}
                shapes = [(("name", "p"), ("name", "q"))]
                if _is_literal(right):
                    shapes.append((("name", "p"), ("lit", right)))
                if _is_literal(left):
                    shapes.append((("lit", left), ("name", "q")))
                if _is_literal(left) and _is_literal(right):
                    shapes.append((("lit", left), ("lit", right)))
                for shape in shapes:
                    text = printer(("cmp", op, *shape))
                    if compile_expression(text).evaluate(attributes) is not expected:
                        failures.append((text, left, right, expected))
    assert failures == []


@PROPERTY
@given(
    tree=_trees,
    rnd=st.randoms(use_true_random=False),
    attributes=_attributes,
    task=_scope,
    worker=_scope,
)
def test_matches_reference_evaluator(
    tree: Node,
    rnd: random.Random,
    attributes: dict[str, Any],
    task: dict[str, Any] | None,
    worker: dict[str, Any] | None,
) -> None:
    text = _Printer(rnd, parens="random", case="random", spacing="random")(tree)
    expression = compile_expression(text)
    expected = _ref_evaluate(tree, attributes, task, worker)
    assert expression.evaluate(attributes, task=task, worker=worker) is expected, text
    if task is None and worker is None:
        assert expression(attributes) is expected


@PROPERTY
@given(
    tree=_trees,
    rnd=st.randoms(use_true_random=False),
    samples=st.lists(st.tuples(_attributes, _scope, _scope), min_size=1, max_size=4),
)
def test_printing_style_does_not_change_meaning(
    tree: Node,
    rnd: random.Random,
    samples: list[tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]],
) -> None:
    minimal = _Printer(rnd, parens="minimal", case="upper", spacing="compact")(tree)
    full = _Printer(rnd, parens="full", case="lower", spacing="random")(tree)
    first, second = compile_expression(minimal), compile_expression(full)
    assert first.names == second.names
    for attributes, task, worker in samples:
        assert first.evaluate(attributes, task=task, worker=worker) is second.evaluate(
            attributes, task=task, worker=worker
        ), (minimal, full)


_TOKENS = [
    "a",
    "b.c",
    "x[0]",
    "task.a",
    "worker.b",
    "==",
    "!=",
    ">",
    ">=",
    "<",
    "<=",
    "=",
    "!",
    "IN",
    "in",
    "not",
    "NOT",
    "AND",
    "or",
    "HAS",
    "contains",
    "(",
    ")",
    "[",
    "]",
    ",",
    "'s'",
    '"q"',
    "'",
    '"',
    "\\",
    "1",
    "-2.5",
    "1e3",
    ".5",
    "true",
    "FALSE",
    "-",
    ".",
    "@",
    "[1]",
    " ",
    "\t",
    "\n",
]
_EVALUATE_ON: list[dict[str, Any]] = [
    {},
    {"a": 1, "b": {"c": "s"}, "x": [1], "task": {"a": [1]}, "worker": {"b": None}},
    {"a": "s", "b": [1, "q"], "x": {"0": 1}, "task": 1},
]


def _check_text(text: str) -> None:
    try:
        expression = compile_expression(text)
    except ExpressionError as exc:
        assert 0 <= exc.position <= len(text)
        assert exc.column == exc.position + 1
        assert exc.expression == text
        return
    assert isinstance(expression, Expression)
    for attributes in _EVALUATE_ON:
        assert expression.evaluate(attributes) in (True, False)
        assert expression.evaluate(attributes, task=attributes, worker={}) in (True, False)


@PROPERTY
@given(text=st.text())
def test_arbitrary_text_raises_only_expression_error(text: str) -> None:
    _check_text(text)


@PROPERTY
@given(
    tokens=st.lists(st.sampled_from(_TOKENS), max_size=30),
    separators=st.lists(st.sampled_from(["", " "]), min_size=30, max_size=30),
)
def test_spliced_tokens_raise_only_expression_error(
    tokens: list[str], separators: list[str]
) -> None:
    text = "".join(token + separator for token, separator in zip(tokens, separators, strict=False))
    _check_text(text)
