"""xminer.jsonsafe: JSON from outside with a bound on nesting, one error type for all faults."""

from __future__ import annotations

import pytest

from xminer import jsonsafe
from xminer.jsonsafe import MAX_DEPTH, JsonError


def test_decodes_json_and_skips_brackets_in_strings() -> None:
    text = '{"a": [1, "[[[[", {"b": "\\"[{"}], "c": null}'
    assert jsonsafe.loads(text) == {"a": [1, "[[[[", {"b": '"[{'}], "c": None}
    assert jsonsafe.loads(text.encode()) == jsonsafe.loads(text)
    assert jsonsafe.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    assert jsonsafe.loads('"' + "[" * 10_000 + '"') == "[" * 10_000


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested deeper than 64"),
        ("[" * 100_000, "nested deeper than 64"),  # no RecursionError even unbalanced
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nested deeper than 64"),
        ("[1,", "invalid JSON"),
        ("NaN", "NaN is not JSON"),
        ('{"a": -Infinity}', "-Infinity is not JSON"),
        (b"\xff", "invalid JSON"),
        ("", "invalid JSON"),
    ],
)
def test_refuses_with_one_error_type(data: str | bytes, says: str) -> None:
    with pytest.raises(JsonError, match=says) as caught:
        jsonsafe.loads(data)
    assert isinstance(caught.value, ValueError) and "\n" not in str(caught.value)


def test_max_depth_is_a_parameter() -> None:
    assert jsonsafe.loads("[[1]]", max_depth=2) == [[1]]
    with pytest.raises(JsonError):
        jsonsafe.loads("[[[1]]]", max_depth=2)
