"""Intrinsic functions (`States.Format(...)` and friends) in `.$` fields and Fail paths.

A small recursive-descent parser turns the call text into a tree once (cached); evaluation
then reads paths from the state input or the context object.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from etlgen.asl import jsonpath
from etlgen.asl.errors import StatesError


class IntrinsicSyntaxError(ValueError):
    """The text is not a well-formed intrinsic function call."""


@dataclass(frozen=True)
class Literal:
    value: Any
    raw: str | None = None  # source text of a string literal, escapes kept (for Format)


@dataclass(frozen=True)
class PathArg:
    path: str


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Literal | PathArg | Call, ...]


Arg = Literal | PathArg | Call


def is_intrinsic(text: Any) -> bool:
    return isinstance(text, str) and text.startswith("States.")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str) -> IntrinsicSyntaxError:
        return IntrinsicSyntaxError(f"intrinsic {self.text!r}: {message} at position {self.pos}")

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def call(self) -> Call:
        start = self.pos
        while self.pos < len(self.text) and (self.text[self.pos].isalnum()
                                             or self.text[self.pos] in "._"):
            self.pos += 1
        name = self.text[start:self.pos]
        if name not in FUNCTIONS:
            raise self.fail(f"unknown function {name!r} (supported: {', '.join(FUNCTIONS)})")
        self.skip_spaces()
        if self.peek() != "(":
            raise self.fail("expected '('")
        self.pos += 1
        args: list[Arg] = []
        self.skip_spaces()
        if self.peek() == ")":
            self.pos += 1
            return Call(name, ())
        while True:
            self.skip_spaces()
            args.append(self.argument())
            self.skip_spaces()
            char = self.peek()
            self.pos += 1
            if char == ")":
                return Call(name, tuple(args))
            if char != ",":
                raise self.fail("expected ',' or ')'")

    def argument(self) -> Arg:
        char = self.peek()
        if char == "'":
            return self.string()
        if char == "$":
            return self.path()
        if self.text.startswith("States.", self.pos):
            return self.call()
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in ",) \t\n":
            self.pos += 1
        token = self.text[start:self.pos]
        if token in ("true", "false", "null"):
            return Literal({"true": True, "false": False, "null": None}[token])
        try:
            return Literal(json.loads(token))
        except ValueError:
            raise self.fail(f"unexpected argument {token!r}") from None

    def string(self) -> Literal:
        self.pos += 1
        raw: list[str] = []
        value: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise self.fail("unterminated string")
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                raw.append(self.text[self.pos:self.pos + 2])
                value.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            self.pos += 1
            if char == "'":
                return Literal("".join(value), "".join(raw))
            raw.append(char)
            value.append(char)

    def path(self) -> PathArg:
        start = self.pos
        depth = 0
        quote = ""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if quote:
                if char == quote:
                    quote = ""
            elif char in "'\"" and depth:
                quote = char
            elif char == "[":
                depth += 1
            elif char == "]":
                depth -= 1
            elif depth == 0 and (char in ",)" or char.isspace()):
                break
            self.pos += 1
        text = self.text[start:self.pos]
        try:
            jsonpath.parse(text)
        except jsonpath.PathSyntaxError as error:
            raise self.fail(str(error)) from None
        return PathArg(text)


@lru_cache(maxsize=1024)
def parse(text: str) -> Call:
    parser = _Parser(text.strip())
    call = parser.call()
    parser.skip_spaces()
    if parser.pos != len(parser.text):
        raise parser.fail("unexpected text after the call")
    return call


def evaluate(text: str, data: Any, context: Any) -> Any:
    """The value of an intrinsic call against the state input and the context object."""
    try:
        call = parse(text)
    except IntrinsicSyntaxError as error:
        raise StatesError("States.IntrinsicFailure", str(error)) from None
    return _evaluate(call, data, context)


def _evaluate(call: Call, data: Any, context: Any) -> Any:
    values = []
    for arg in call.args:
        if isinstance(arg, Call):
            values.append(_evaluate(arg, data, context))
        elif isinstance(arg, PathArg):
            values.append(jsonpath.read(arg.path, data, context, what=f"{call.name} argument"))
        else:
            values.append(arg.value)
    try:
        return FUNCTIONS[call.name](call, values)
    except StatesError:
        raise
    except (TypeError, ValueError, IndexError, KeyError) as error:
        raise StatesError("States.IntrinsicFailure", f"{call.name}: {error}") from None


def format_value(value: Any) -> str:
    """How `States.Format` prints an argument (objects the way Step Functions does)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(format_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={format_value(item)}" for key, item in value.items()) + "}"
    return json.dumps(value)


def _format(call: Call, values: list[Any]) -> str:
    if not values or not isinstance(values[0], str):
        raise ValueError("the first argument must be a string")
    first = call.args[0]
    raw = first.raw if isinstance(first, Literal) else None
    escaped = raw is not None
    template: str = raw if raw is not None else values[0]
    args = list(values[1:])
    out: list[str] = []
    position = 0
    while position < len(template):
        char = template[position]
        if escaped and char == "\\" and position + 1 < len(template):
            out.append(template[position + 1])
            position += 2
        elif template.startswith("{}", position):
            if not args:
                raise ValueError("more {} placeholders than arguments")
            out.append(format_value(args.pop(0)))
            position += 2
        else:
            out.append(char)
            position += 1
    if args:
        raise ValueError("more arguments than {} placeholders")
    return "".join(out)


def _one(values: list[Any], kind: type | tuple[type, ...], count: int = 1) -> list[Any]:
    if len(values) != count:
        raise ValueError(f"expected {count} argument(s), got {len(values)}")
    if not all(isinstance(value, kind) for value in values[:1]):
        raise ValueError(f"expected {kind} as the first argument")
    return values


def _json_to_string(call: Call, values: list[Any]) -> str:
    (value,) = _one(values, object)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _string_to_json(call: Call, values: list[Any]) -> Any:
    (value,) = _one(values, str)
    return json.loads(value)


def _array_length(call: Call, values: list[Any]) -> int:
    (value,) = _one(values, list)
    return len(value)


def _array_get_item(call: Call, values: list[Any]) -> Any:
    array, index = _one(values, list, 2)
    return array[int(index)]


def _array_contains(call: Call, values: list[Any]) -> bool:
    array, item = _one(values, list, 2)
    return item in array


def _array_unique(call: Call, values: list[Any]) -> list[Any]:
    (array,) = _one(values, list)
    unique: list[Any] = []
    for item in array:
        if item not in unique:
            unique.append(item)
    return unique


def _math_add(call: Call, values: list[Any]) -> int:
    left, right = _one(values, (int, float), 2)
    return int(left) + int(right)


def _string_split(call: Call, values: list[Any]) -> list[str]:
    text, separators = _one(values, str, 2)
    parts = [text]
    for separator in separators:
        parts = [piece for part in parts for piece in part.split(separator)]
    return [part for part in parts if part]


def _hash(call: Call, values: list[Any]) -> str:
    text, algorithm = _one(values, str, 2)
    names = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384",
             "SHA-512": "sha512"}
    return hashlib.new(names[algorithm], text.encode()).hexdigest()


FUNCTIONS: dict[str, Callable[[Call, list[Any]], Any]] = {
    "States.Format": _format,
    "States.JsonToString": _json_to_string,
    "States.StringToJson": _string_to_json,
    "States.Array": lambda call, values: list(values),
    "States.ArrayLength": _array_length,
    "States.ArrayGetItem": _array_get_item,
    "States.ArrayContains": _array_contains,
    "States.ArrayUnique": _array_unique,
    "States.MathAdd": _math_add,
    "States.StringSplit": _string_split,
    "States.Hash": _hash,
    "States.Base64Encode": lambda call, values: base64.b64encode(
        _one(values, str)[0].encode()).decode(),
    "States.Base64Decode": lambda call, values: base64.b64decode(
        _one(values, str)[0]).decode(),
    "States.UUID": lambda call, values: str(uuid.uuid4()),
}
