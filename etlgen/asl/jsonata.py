"""The small part of JSONata that JSONata-mode states of the generated definition use.

Step Functions lets one state opt into JSONata (`"QueryLanguage": "JSONata"`); its `Output`
holds `{% expression %}` strings evaluated with `$states.input` and `$states.context`
bound. This module parses such expressions into a tree once (cached) and evaluates it.
Supported: number, string, true/false/null literals; `$states` and field steps (`.name`);
object and array constructors; `+ - * / %` and `&`; parentheses; and the functions in
`FUNCTIONS`. Anything else is refused when the definition is checked, never skipped.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from etlgen.asl.errors import StatesError


class JsonataSyntaxError(ValueError):
    """The text is not an expression of the supported subset."""


class _Undefined:
    """JSONata's `undefined`: what a missing field gives; dropped from objects."""

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED = _Undefined()
EXPRESSION = re.compile(r"^\{%(.*)%\}$", re.DOTALL)
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<variable>\$[A-Za-z_][A-Za-z0-9_]*)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<operator>[-+*/%&.,:()\[\]{}])
""", re.VERBOSE)
_BINARY_PRECEDENCE = {"+": 50, "-": 50, "&": 50, "*": 60, "/": 60, "%": 60}
_KEYWORDS = {"true": True, "false": False, "null": None}


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Variable:
    name: str


@dataclass(frozen=True)
class Step:
    target: Node
    field: str


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Binary:
    operator: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Negate:
    operand: Node


@dataclass(frozen=True)
class ArrayOf:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class ObjectOf:
    pairs: tuple[tuple[Node, Node], ...]


Node = Literal | Variable | Step | Call | Binary | Negate | ArrayOf | ObjectOf


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise JsonataSyntaxError(f"JSONata {text!r}: unsupported text at position "
                                     f"{position}: {text[position:position + 10]!r}")
        kind = match.lastgroup or ""
        if kind != "space":
            found.append((kind, match.group()))
        position = match.end()
    return found


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.position = 0

    def fail(self, message: str) -> JsonataSyntaxError:
        return JsonataSyntaxError(f"JSONata {self.text!r}: {message}")

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.position] if self.position < len(self.tokens) else ("", "")

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if not token[0] or (expected is not None and token[1] != expected):
            raise self.fail(f"expected {expected or 'more'}, found {token[1] or 'the end'!r}")
        self.position += 1
        return token

    def expression(self, precedence: int = 0) -> Node:
        left = self.operand()
        while True:
            kind, text = self.peek()
            strength = _BINARY_PRECEDENCE.get(text, -1) if kind == "operator" else -1
            if strength <= precedence:
                return left
            self.take()
            left = Binary(text, left, self.expression(strength))

    def operand(self) -> Node:
        node = self.primary()
        while self.peek() == ("operator", "."):
            self.take()
            kind, text = self.take()
            if kind != "name":
                raise self.fail(f"expected a field name after '.', found {text!r}")
            node = Step(node, text)
        return node

    def primary(self) -> Node:
        kind, text = self.take()
        if kind == "number":
            return Literal(json.loads(text))
        if kind == "string":
            return Literal(_unquote(text))
        if kind == "name" and text in _KEYWORDS:
            return Literal(_KEYWORDS[text])
        if kind == "variable":
            if self.peek() == ("operator", "("):
                return self._call(text[1:])
            return Variable(text[1:])
        if (kind, text) == ("operator", "-"):
            return Negate(self.operand())
        if (kind, text) == ("operator", "("):
            inner = self.expression()
            self.take(")")
            return inner
        if (kind, text) == ("operator", "["):
            return ArrayOf(tuple(self._list("]", self.expression)))
        if (kind, text) == ("operator", "{"):
            return ObjectOf(tuple(self._list("}", self._pair)))
        raise self.fail(f"unsupported token {text!r}")

    def _pair(self) -> tuple[Node, Node]:
        key = self.expression()
        self.take(":")
        return key, self.expression()

    def _call(self, name: str) -> Call:
        if name not in FUNCTIONS:
            raise self.fail(f"function ${name} is not supported locally "
                            f"(supported: {', '.join('$' + n for n in FUNCTIONS)})")
        self.take("(")
        return Call(name, tuple(self._list(")", self.expression)))

    def _list(self, closing: str, item: Callable[[], Any]) -> list[Any]:
        items: list[Any] = []
        if self.peek() == ("operator", closing):
            self.take()
            return items
        while True:
            items.append(item())
            _, text = self.take()
            if text == closing:
                return items
            if text != ",":
                raise self.fail(f"expected ',' or {closing!r}, found {text!r}")


def _unquote(text: str) -> str:
    body = text[1:-1]
    if text[0] == "'":
        body = body.replace("\\'", "'").replace('"', '\\"')
    unquoted: str = json.loads(f'"{body}"')
    return unquoted


@lru_cache(maxsize=256)
def parse(text: str) -> Node:
    parser = _Parser(text)
    node = parser.expression()
    if parser.position != len(parser.tokens):
        raise parser.fail(f"unexpected {parser.peek()[1]!r} after the expression")
    return node


def expressions(template: Any) -> list[str]:
    """Every `{% ... %}` expression in a field value (strings, objects, arrays)."""
    if isinstance(template, str):
        match = EXPRESSION.match(template)
        return [match.group(1)] if match else []
    if isinstance(template, dict):
        return [text for value in template.values() for text in expressions(value)]
    if isinstance(template, list):
        return [text for value in template for text in expressions(value)]
    return []


def render(template: Any, state_input: Any, context: Any) -> Any:
    """A JSONata-mode field value with its `{% %}` strings evaluated (`$states` bound)."""
    states = {"input": state_input, "context": context}
    clock = _Clock()
    return _render(template, states, clock)


def _render(template: Any, states: dict[str, Any], clock: _Clock) -> Any:
    if isinstance(template, str):
        match = EXPRESSION.match(template)
        if match is None:
            return template
        try:
            node = parse(match.group(1))
        except JsonataSyntaxError as error:
            raise StatesError("States.QueryEvaluationError", str(error)) from None
        value = _evaluate(node, {"states": states}, clock)
        return None if value is UNDEFINED else value
    if isinstance(template, dict):
        return {key: _render(value, states, clock) for key, value in template.items()}
    if isinstance(template, list):
        return [_render(value, states, clock) for value in template]
    return template


class _Clock:
    """JSONata: every `$millis()` of one evaluation returns the same instant."""

    def __init__(self) -> None:
        self._millis: int | None = None

    def millis(self) -> int:
        if self._millis is None:
            self._millis = int(time.time() * 1000)
        return self._millis


def _evaluate(node: Node, variables: dict[str, Any], clock: _Clock) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Variable):
        if node.name not in variables:
            raise StatesError("States.QueryEvaluationError",
                              f"JSONata variable ${node.name} is not defined")
        return variables[node.name]
    if isinstance(node, Step):
        target = _evaluate(node.target, variables, clock)
        if isinstance(target, dict):
            return target.get(node.field, UNDEFINED)
        return UNDEFINED
    if isinstance(node, Negate):
        return -_number(_evaluate(node.operand, variables, clock), "-")
    if isinstance(node, ArrayOf):
        values = [_evaluate(item, variables, clock) for item in node.items]
        return [value for value in values if value is not UNDEFINED]
    if isinstance(node, ObjectOf):
        result: dict[str, Any] = {}
        for key_node, value_node in node.pairs:
            key = _evaluate(key_node, variables, clock)
            if not isinstance(key, str):
                raise StatesError("States.QueryEvaluationError",
                                  "JSONata object keys must be strings")
            value = _evaluate(value_node, variables, clock)
            if value is not UNDEFINED:
                result[key] = value
        return result
    if isinstance(node, Binary):
        left = _evaluate(node.left, variables, clock)
        right = _evaluate(node.right, variables, clock)
        return _binary(node.operator, left, right)
    args = [_evaluate(arg, variables, clock) for arg in node.args]
    try:
        return FUNCTIONS[node.name](args, clock)
    except ValueError:  # a wrong number of arguments
        raise StatesError("States.QueryEvaluationError",
                          f"JSONata ${node.name}: wrong number of arguments") from None


def _number(value: Any, operator: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StatesError("States.QueryEvaluationError",
                          f"JSONata operator {operator!r} needs numbers, got {value!r}")
    return value


def _binary(operator: str, left: Any, right: Any) -> Any:
    if operator == "&":
        return _string([left], None) + _string([right], None)
    if left is UNDEFINED or right is UNDEFINED:
        return UNDEFINED
    a, b = _number(left, operator), _number(right, operator)
    if operator == "+":
        return a + b
    if operator == "-":
        return a - b
    if operator == "*":
        return a * b
    if b == 0 and operator in "/%":
        raise StatesError("States.QueryEvaluationError", "JSONata division by zero")
    return a / b if operator == "/" else math.fmod(a, b)


def _format_number(value: float | int) -> str:
    """JSONata prints numbers as JSON with 15 significant digits."""
    if isinstance(value, float) and not math.isfinite(value):
        raise StatesError("States.QueryEvaluationError", "JSONata cannot print an infinite "
                          "or NaN number")
    if float(value).is_integer() and abs(value) < 1e21:
        return str(int(value))
    return json.dumps(float(f"{value:.15g}"))


def _string(args: list[Any], clock: _Clock | None) -> str:
    (value,) = args
    if value is UNDEFINED:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return _format_number(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _floor(args: list[Any], clock: _Clock | None) -> Any:
    (value,) = args
    if value is UNDEFINED:
        return UNDEFINED
    return math.floor(_number(value, "$floor"))


def _merge(args: list[Any], clock: _Clock | None) -> dict[str, Any]:
    (objects,) = args
    if isinstance(objects, dict):
        objects = [objects]
    if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
        raise StatesError("States.QueryEvaluationError",
                          "JSONata $merge needs an array of objects")
    merged: dict[str, Any] = {}
    for item in objects:
        merged.update(item)
    return merged


def _millis(args: list[Any], clock: _Clock | None) -> int:
    if args:
        raise StatesError("States.QueryEvaluationError", "JSONata $millis takes no argument")
    assert clock is not None
    return clock.millis()


FUNCTIONS: dict[str, Callable[[list[Any], _Clock | None], Any]] = {
    "merge": _merge,
    "string": _string,
    "floor": _floor,
    "millis": _millis,
}
