"""Reference paths, ResultPath writes and intrinsic parsing at their edges."""

from __future__ import annotations

import pytest

from etlgen.asl import StatesError, intrinsics, jsonpath


def test_read_supports_names_quoted_names_indexes_and_the_context() -> None:
    data = {"a": {"b-c": [10, {"d": "x"}]}}
    assert jsonpath.read("$.a['b-c'][1].d", data) == "x"
    assert jsonpath.read("$.a[\"b-c\"][-2]", data) == 10
    assert jsonpath.read("$$.Map.Item.Index", data, {"Map": {"Item": {"Index": 3}}}) == 3
    assert jsonpath.read("$", data) is data


def test_a_missing_path_is_a_runtime_error_naming_the_path() -> None:
    with pytest.raises(StatesError) as raised:
        jsonpath.read("$.a.missing", {"a": {}}, what="field 'x.$'")
    assert raised.value.name == "States.Runtime"
    assert "'$.a.missing'" in raised.value.cause and "field 'x.$'" in raised.value.cause


def test_write_creates_objects_and_leaves_the_input_untouched() -> None:
    original = {"a": {"keep": 1}}
    written = jsonpath.write("$.a.b.c", original, 5)
    assert written == {"a": {"keep": 1, "b": {"c": 5}}}
    assert original == {"a": {"keep": 1}}
    assert jsonpath.write("$", original, [1]) == [1]


def test_write_into_a_non_object_is_a_runtime_error() -> None:
    with pytest.raises(StatesError, match=r"States\.Runtime"):
        jsonpath.write("$.a.b", {"a": 3}, 1)


def test_format_keeps_escaped_braces_and_quotes_literal() -> None:
    value = intrinsics.evaluate(r"States.Format('\{\} {} it\'s', $.x)", {"x": 1}, {})
    assert value == "{} 1 it's"


@pytest.mark.parametrize("text", [
    "States.Format('{}', $.a",  # no closing parenthesis
    "States.Format('unterminated)",
    "States.Missing(1)",
])
def test_malformed_intrinsics_are_reported(text: str) -> None:
    with pytest.raises(intrinsics.IntrinsicSyntaxError):
        intrinsics.parse(text)


def test_format_argument_count_mismatch_is_an_intrinsic_failure() -> None:
    with pytest.raises(StatesError) as raised:
        intrinsics.evaluate("States.Format('{} {}', $.a)", {"a": 1}, {})
    assert raised.value.name == "States.IntrinsicFailure"


def test_path_arguments_may_contain_commas_inside_brackets() -> None:
    data = {"a,b": "v"}
    assert intrinsics.evaluate("States.Format('[{}]', $['a,b'])", data, {}) == "[v]"
