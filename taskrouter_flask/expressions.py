"""TaskRouter's expression language: parse, compile to closures, evaluate.

Workflow filters, targets, task queues' ``target_workers`` and ``skip_if`` are
written in this language, and Twilio only tells you about a mistake when it
rejects the workflow, or silently routes nothing. Compiling here lets a
mistake fail at the line that wrote it, lets handlers match with the same
language (``@tr.assignment(when="type == 'ticket'")``), and lets the sandbox
route exactly as written. User text is parsed into a tree, and the tree into
one Python closure per expression; the user's text is never handed to
``eval`` or ``exec`` (see the compilation section).

The language::

    expr       := or
    or         := and ("OR" and)*
    and        := not ("AND" not)*
    not        := "NOT" not | "(" expr ")" | comparison
    comparison := operand op operand
    op         := "==" | "!=" | ">" | ">=" | "<" | "<=" | "IN" | "NOT IN" | "HAS" | "CONTAINS"
    operand    := 'string' | "string" | number | true | false | [literal, ...] | name
    name       := ident ("." ident | "[" digits "]")*

Keywords and ``true``/``false`` are case-insensitive. Names resolve in the
attributes given; ``task.x`` and ``worker.x`` resolve in the task's and the
worker's attributes when those are given (a target's expression, a queue's
``target_workers``), else in the attributes as written.

An attribute whose value is JSON ``null`` is the same as a missing one.

Where Twilio's documentation leaves the meaning open, the safe reading is
taken — the comparison does not match:

* A missing attribute is NULL, and every comparison with NULL is false,
  ``!=`` and ``NOT IN`` included (``NOT (x == 1)`` is how to say "x is not 1,
  or missing").
* Values of different types never compare: ``5 == '5'`` and ``5 != '5'`` are
  both false; ``true`` is not ``1``. Ordering (``<`` ...) works on two
  numbers or two strings.
* Scalar operators on lists are false, and so are list operators on the
  wrong shapes: ``IN``/``NOT IN`` want a scalar on the left and a list on the
  right, ``HAS`` a list on the left and a scalar on the right, ``CONTAINS``
  two strings (a substring test, case-sensitive).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from .errors import TaskRouterError

__all__ = ["Expression", "ExpressionError", "compile_expression", "walk"]

#: A compiled node: (attributes, task, worker) -> value.
_Fn: TypeAlias = Callable[
    [Mapping[str, Any], Mapping[str, Any] | None, Mapping[str, Any] | None], Any
]


class ExpressionError(TaskRouterError, ValueError):
    """An expression that does not parse.

    :param expression: the text.
    :param position: 0-based offset of the problem in the text.
    """

    def __init__(self, problem: str, *, expression: str, position: int) -> None:
        self.problem = problem
        self.expression = expression
        self.position = position
        self.column = position + 1
        super().__init__(f"{problem} at column {self.column}:\n  {expression}\n  {' ' * position}^")


# -- tokens ---------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<number>-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*)
  | (?P<op>==|!=|>=|<=|>|<)
  | (?P<punct>[()\[\],])
    """,
    re.VERBOSE,
)
_KEYWORDS = {"AND", "OR", "NOT", "IN", "HAS", "CONTAINS"}
_ESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # string number bool name op kw punct end
    value: Any
    position: int
    text: str


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            char = text[position]
            hint = {"-": " (hyphens cannot appear in names)", "=": " (use == to compare)"}.get(
                char, ""
            )
            raise ExpressionError(
                f"unexpected character {char!r}{hint}", expression=text, position=position
            )
        kind = match.lastgroup
        raw = match.group()
        assert kind is not None
        if kind == "string":
            tokens.append(_Token("string", _ESCAPE.sub(r"\1", raw[1:-1]), position, raw))
        elif kind == "number":
            value: Any = float(raw) if any(c in raw for c in ".eE") else int(raw)
            tokens.append(_Token("number", value, position, raw))
        elif kind == "name":
            head = re.match(r"[A-Za-z_][A-Za-z0-9_]*", raw)
            assert head is not None
            word = head.group().upper()
            if word in _KEYWORDS or word in ("TRUE", "FALSE"):
                # A keyword is never a name's first part: 'IN[1]' is IN and a list.
                raw = head.group()
                if word in _KEYWORDS:
                    tokens.append(_Token("kw", word, position, raw))
                else:
                    tokens.append(_Token("bool", word == "TRUE", position, raw))
                position += len(raw)
                continue
            tokens.append(_Token("name", _path(raw), position, raw))
        elif kind != "space":
            tokens.append(_Token(kind, raw, position, raw))
        position = match.end()
    tokens.append(_Token("end", None, len(text), ""))
    return tokens


def _path(name: str) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for piece in re.finditer(r"\[(\d+)\]|([A-Za-z_][A-Za-z0-9_]*)", name):
        index, ident = piece.groups()
        parts.append(int(index) if index is not None else ident)
    return tuple(parts)


# -- tree -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Literal:
    value: Any


@dataclass(frozen=True, slots=True)
class _Name:
    path: tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class _Compare:
    op: str
    left: _Literal | _Name
    right: _Literal | _Name


@dataclass(frozen=True, slots=True)
class _Not:
    operand: _Node


@dataclass(frozen=True, slots=True)
class _Junction:
    op: str  # AND or OR
    operands: tuple[_Node, ...]


_Node: TypeAlias = _Compare | _Not | _Junction


#: Deepest nesting of parentheses and NOTs accepted; real expressions use a few levels.
MAX_DEPTH = 32


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def fail(self, problem: str, token: _Token | None = None) -> ExpressionError:
        token = token or self.token
        found = "the end" if token.kind == "end" else repr(token.text)
        return ExpressionError(
            f"{problem}, found {found}", expression=self.text, position=token.position
        )

    def advance(self) -> _Token:
        token = self.token
        self.index += 1
        return token

    def is_kw(self, word: str) -> bool:
        return self.token.kind == "kw" and self.token.value == word

    def parse(self) -> _Node:
        if self.token.kind == "end":
            raise self.fail("expected an expression")
        node = self.parse_or()
        if self.token.kind != "end":
            raise self.fail("expected AND, OR or the end of the expression")
        return node

    def parse_or(self) -> _Node:
        operands = [self.parse_and()]
        while self.is_kw("OR"):
            self.advance()
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else _Junction("OR", tuple(operands))

    def parse_and(self) -> _Node:
        operands = [self.parse_not()]
        while self.is_kw("AND"):
            self.advance()
            operands.append(self.parse_not())
        return operands[0] if len(operands) == 1 else _Junction("AND", tuple(operands))

    def parse_not(self) -> _Node:
        nested = self.is_kw("NOT") or (self.token.kind == "punct" and self.token.value == "(")
        if not nested:
            return self.parse_comparison()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(
                f"nested more than {MAX_DEPTH} levels deep",
                expression=self.text,
                position=self.token.position,
            )
        if self.is_kw("NOT"):
            self.advance()
            node: _Node = _Not(self.parse_not())
        else:
            self.advance()
            node = self.parse_or()
            if not (self.token.kind == "punct" and self.token.value == ")"):
                raise self.fail("expected ')'")
            self.advance()
        self.depth -= 1
        return node

    def parse_comparison(self) -> _Compare:
        left = self.parse_operand()
        token = self.token
        if token.kind == "op":
            op = str(self.advance().value)
        elif token.kind == "kw" and token.value in ("IN", "HAS", "CONTAINS"):
            op = str(self.advance().value)
        elif token.kind == "kw" and token.value == "NOT":
            self.advance()
            if not self.is_kw("IN"):
                raise self.fail("expected IN after NOT (only NOT IN is an operator)")
            self.advance()
            op = "NOT IN"
        else:
            raise self.fail("expected a comparison operator (==, !=, >, >=, <, <=, IN, HAS, ...)")
        right = self.parse_operand()
        return _Compare(op, left, right)

    def parse_operand(self) -> _Literal | _Name:
        token = self.token
        if token.kind in ("string", "number", "bool"):
            self.advance()
            return _Literal(token.value)
        if token.kind == "name":
            self.advance()
            return _Name(token.value)
        if token.kind == "punct" and token.value == "[":
            return _Literal(self.parse_list())
        raise self.fail("expected a value or an attribute name")

    def parse_list(self) -> tuple[Any, ...]:
        self.advance()  # [
        items: list[Any] = []
        if self.token.kind == "punct" and self.token.value == "]":
            self.advance()
            return ()
        while True:
            token = self.token
            if token.kind not in ("string", "number", "bool"):
                raise self.fail("expected a string, number or boolean in the list")
            items.append(self.advance().value)
            if self.token.kind == "punct" and self.token.value == ",":
                self.advance()
                continue
            if self.token.kind == "punct" and self.token.value == "]":
                self.advance()
                return tuple(items)
            raise self.fail("expected ',' or ']' in the list")


# -- semantics ------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    return "object"


_SCALARS = frozenset({"bool", "number", "string"})


def _equal(left: Any, right: Any) -> bool:
    kind = _kind(left)
    return kind in _SCALARS and kind == _kind(right) and left == right


def _not_equal(left: Any, right: Any) -> bool:
    kind = _kind(left)
    return kind in _SCALARS and kind == _kind(right) and left != right


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(left: Any, right: Any) -> bool:
        kind = _kind(left)
        return kind in ("number", "string") and kind == _kind(right) and test(left, right)

    return compare


def _in(left: Any, right: Any) -> bool:
    return (
        _kind(left) in _SCALARS
        and _kind(right) == "list"
        and any(_equal(left, item) for item in right)
    )


def _not_in(left: Any, right: Any) -> bool:
    return (
        _kind(left) in _SCALARS
        and _kind(right) == "list"
        and not any(_equal(left, item) for item in right)
    )


def _has(left: Any, right: Any) -> bool:
    return (
        _kind(left) == "list"
        and _kind(right) in _SCALARS
        and any(_equal(item, right) for item in left)
    )


def _contains(left: Any, right: Any) -> bool:
    return isinstance(left, str) and isinstance(right, str) and right in left


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": _equal,
    "!=": _not_equal,
    ">": _ordered(lambda a, b: a > b),
    ">=": _ordered(lambda a, b: a >= b),
    "<": _ordered(lambda a, b: a < b),
    "<=": _ordered(lambda a, b: a <= b),
    "IN": _in,
    "NOT IN": _not_in,
    "HAS": _has,
    "CONTAINS": _contains,
}


def walk(value: Any, path: Sequence[str | int]) -> Any:
    """Follow a dotted/indexed name; a missing step is NULL (``None``).

    The one path lookup of the package: compiled expressions call it, and so do
    the sandbox's worker ordering and its ``task.`` references.
    """
    for step in path:
        if isinstance(step, str):
            if not isinstance(value, Mapping):
                return None
            value = value.get(step)
        else:
            if not isinstance(value, list | tuple) or step >= len(value):
                return None
            value = value[step]
    return value


# -- compilation ----------------------------------------------------------------------------
#
# The tree becomes one Python function whose body is built from a fixed
# vocabulary of our own (comparisons, ``and``/``or``/``not``, dictionary
# look-ups). Everything that came from the user — attribute names, literal
# values — is bound to the function as a closure variable (``_v0``, ``_v1``,
# ...) and never appears in the generated text, so no user text is ever
# executed. One function with the clauses inline evaluates at close to the
# speed of a hand-written lambda, where a closure per node would cost a call
# per node.


class _CodeGen:
    def __init__(self) -> None:
        self.values: list[Any] = []
        self.temps = 0

    def bind(self, value: Any) -> str:
        self.values.append(value)
        return f"_v{len(self.values) - 1}"

    def temp(self) -> str:
        self.temps += 1
        return f"_x{self.temps}"

    def node(self, node: _Node) -> str:
        if isinstance(node, _Compare):
            return self.compare(node)
        if isinstance(node, _Not):
            return f"(not {self.node(node.operand)})"
        joiner = " and " if node.op == "AND" else " or "
        return "(" + joiner.join(self.node(operand) for operand in node.operands) + ")"

    def operand(self, operand: _Literal | _Name) -> str:
        if isinstance(operand, _Literal):
            value = list(operand.value) if isinstance(operand.value, tuple) else operand.value
            return self.bind(value)
        path = operand.path
        head, rest = path[0], path[1:]
        if head in ("task", "worker") and rest:
            scope = "task" if head == "task" else "worker"
            return (
                f"(_walk(a, {self.bind(path)}) if {scope} is None else {self.lookup(scope, rest)})"
            )
        return self.lookup("a", path)

    def lookup(self, source: str, path: tuple[str | int, ...]) -> str:
        if len(path) == 1 and isinstance(path[0], str):
            return f"{source}.get({self.bind(path[0])})"
        return f"_walk({source}, {self.bind(path)})"

    def compare(self, node: _Compare) -> str:
        if isinstance(node.left, _Literal) and isinstance(node.right, _Literal):
            right = node.right.value
            right = list(right) if isinstance(right, tuple) else right
            left = list(node.left.value) if isinstance(node.left.value, tuple) else node.left.value
            return "True" if _OPERATORS[node.op](left, right) else "False"
        if isinstance(node.left, _Name) and isinstance(node.right, _Literal):
            constant = node.right.value
            kind = _kind(constant)
            if node.op == "==" and (
                kind == "string" or (kind == "number" and constant not in (0, 1))
            ):
                # Attribute values are JSON data: only a string equals a string, and only
                # a number equals a number other than 0 and 1 (which True and False equal).
                return f"({self.operand(node.left)} == {self.bind(constant)})"
            if node.op in ("==", "!=", ">", ">=", "<", "<=") and kind in ("string", "number"):
                # Inline: the value must be of the literal's kind (bool is not a number).
                value = self.temp()
                if kind == "string":
                    check = f"_isinstance(({value} := {self.operand(node.left)}), _str)"
                else:
                    check = (
                        f"_isinstance(({value} := {self.operand(node.left)}), _numbers)"
                        f" and {value}.__class__ is not _bool"
                    )
                return f"({check} and {value} {node.op} {self.bind(constant)})"
            if node.op == "==" and kind == "bool":
                return f"({self.operand(node.left)} is {self.bind(constant)})"
        test = self.bind(_OPERATORS[node.op])
        return f"{test}({self.operand(node.left)}, {self.operand(node.right)})"


def _compile(node: _Node) -> Callable[..., bool]:
    gen = _CodeGen()
    body = gen.node(node)
    params = ", ".join(f"_v{i}" for i in range(len(gen.values)))
    source = (
        f"def _factory(_walk, _isinstance, _str, _bool, _numbers{', ' if params else ''}"
        f"{params}):\n"
        f"    def evaluate(a, task=None, worker=None):\n"
        f"        return {body}\n"
        f"    return evaluate\n"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, "<taskrouter expression>", "exec"), {"__builtins__": {}}, namespace)
    evaluate: Callable[..., bool] = namespace["_factory"](
        walk, isinstance, str, bool, (int, float), *gen.values
    )
    return evaluate


def _names(node: _Node) -> set[tuple[str | int, ...]]:
    if isinstance(node, _Compare):
        return {side.path for side in (node.left, node.right) if isinstance(side, _Name)}
    if isinstance(node, _Not):
        return _names(node.operand)
    found: set[tuple[str | int, ...]] = set()
    for operand in node.operands:
        found |= _names(operand)
    return found


class Expression:
    """A compiled TaskRouter expression.

    ``expression.evaluate(attributes, *, task=None, worker=None) -> bool``
    tells whether the attributes match: bare names resolve in ``attributes``,
    ``task.`` and ``worker.`` names in ``task`` and ``worker`` when given.
    Calling the expression, ``expression(attributes)``, is the same with
    attributes alone (a predicate for ``filter()``).

    :ivar text: the expression as written.
    :ivar names: every attribute name it refers to, as dotted strings.
    """

    __slots__ = ("evaluate", "names", "text")

    evaluate: Callable[..., bool]

    def __init__(self, text: str, evaluate: Callable[..., bool], names: frozenset[str]) -> None:
        self.text = text
        self.evaluate = evaluate
        self.names = names

    def __call__(self, attributes: Mapping[str, Any]) -> bool:
        return self.evaluate(attributes)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expression) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


@functools.lru_cache(maxsize=2048)
def compile_expression(text: str) -> Expression:
    """Parse and compile ``text``; the same text compiles once (the result is cached).

    :raises ExpressionError: with the position of the first problem.
    :raises TypeError: if ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"expression: expected a string, got {type(text).__name__}")
    tree = _Parser(text).parse()
    names = frozenset(
        ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[")
        for path in _names(tree)
    )
    return Expression(text, _compile(tree), names)
