"""Our JCS gives rfc8785's bytes, or refuses what rfc8785 refuses, on every generated value."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from app.crypto.jcs import JcsError, _plain, canonical_json

# Every code point, lone surrogates included, weighted towards the ones with escapes or sorting
# rules: control characters, quotes, backslash, DEL, U+2028, the BMP's top and astral planes.
SPECIAL = st.sampled_from(
    ['"', "\\", "/", "\b", "\f", "\n", "\r", "\t", "\x00", "\x1f", "\x7f", "\u2028", "\ue000",
     "\uffff", "\U00010000", "\U0001f600", "\ud800", "\udfff", "é", "ß"]
)  # fmt: skip
CHARS = st.one_of(SPECIAL, st.characters(codec=None, exclude_categories=()))
TEXT = st.text(CHARS, max_size=12)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.sampled_from([2**53 - 1, -(2**53) + 1, 2**53, -(2**53)]),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(TEXT, inner, max_size=5)),
    max_leaves=30,
)


def reference(value: Any) -> str | None:
    try:
        return rfc8785.dumps(value).decode("utf-8")
    except (rfc8785.CanonicalizationError, TypeError, UnicodeError):
        return None


def ours(value: Any) -> str | None:
    try:
        return canonical_json(value)
    except JcsError:
        return None


@settings(max_examples=1500, derandomize=True, deadline=None)
@given(JSON)
def test_generated_json_gives_rfc8785s_text_or_its_refusal(value: Any) -> None:
    assert ours(value) == reference(value)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.dictionaries(TEXT, st.one_of(st.none(), TEXT), min_size=2, max_size=8))
def test_keys_are_sorted_by_utf16_code_units(value: dict[str, Any]) -> None:
    assert ours(value) == reference(value)


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        ({"a": [1, "x", True, None]}, True),
        ({"a": 1.0}, False),  # floats are written by rfc8785
        ({"a": 2**53}, False),
        ({"\U0001f600": 1, "\ue000": 2}, False),  # UTF-16 order differs from code point order
        ({1: "x"}, False),
        ((1, 2), False),
    ],
)
def test_what_takes_the_orjson_path(value: Any, plain: bool) -> None:
    assert _plain(value) is plain


def test_astral_keys_sort_as_utf16() -> None:
    # U+E000 < U+1F600 by code point, but 0xD83D (its high surrogate) < 0xE000 in UTF-16.
    assert canonical_json({"\ue000": 1, "\U0001f600": 2}) == '{"\U0001f600":2,"\ue000":1}'


def test_floats_in_ecmascript_form_and_refusals() -> None:
    assert canonical_json({"a": 1e21, "b": 1e-7, "c": 0.5}) == '{"a":1e+21,"b":1e-7,"c":0.5}'
    for bad in ({"a": float("nan")}, {"a": 2**60}, {"a": "\ud800"}, {"a": object()}):
        with pytest.raises(JcsError):
            canonical_json(bad)


def test_nesting_deeper_than_orjson_goes_is_left_to_rfc8785() -> None:
    deep: Any = "x"
    for _ in range(300):  # orjson stops at 254 levels
        deep = [deep]
    assert _plain(deep)
    assert canonical_json(deep) == reference(deep) == "[" * 300 + '"x"' + "]" * 300


def test_subclasses_of_json_types_are_left_to_rfc8785() -> None:
    class Name(str):
        pass

    value = {"b": Name("x"), "a": 1}
    assert not _plain(value)
    assert canonical_json(value) == reference(value)
