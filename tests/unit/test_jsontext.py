"""JSON text: orjson where it writes what the standard library would mean, else the latter."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from app.jsontext import dumps as json_serializer
from app.jsontext import loads as json_deserializer

SAME_MEANING: list[Any] = [
    {"name": "Zoë Ó Briain", "emoji": "🎓", "nested": [{"a": [1, 2.5, None, True]}]},
    {"b": 1, "a": {"c": "null"}},  # the text null, not a null
    [None, {"x": None}],
    2**63 - 1,
    -(2**63),
    "\u2028 line separator",
]
ONLY_THE_STANDARD_LIBRARY: list[Any] = [
    {"big": 2**70},  # beyond 64 bits: orjson refuses
    {1: "a non-string key"},
    {"nan": float("nan")},  # orjson would write null
    [1.0, {"deep": [float("inf")]}, None],
]


@pytest.mark.parametrize("value", SAME_MEANING)
def test_what_orjson_writes_reads_back_as_the_standard_library_would(value: Any) -> None:
    written = json_serializer(value)
    assert json.loads(written) == json.loads(json.dumps(value))
    assert json_deserializer(written) == json.loads(written)


@pytest.mark.parametrize("value", ONLY_THE_STANDARD_LIBRARY)
def test_what_orjson_cannot_write_exactly_is_written_by_the_standard_library(value: Any) -> None:
    assert json_serializer(value) == json.dumps(value)


def test_a_non_finite_number_reads_back_as_it_was_written() -> None:
    read = json_deserializer(json_serializer({"x": [float("-inf"), float("nan")]}))
    assert read["x"][0] == -math.inf
    assert math.isnan(read["x"][1])


def test_text_written_already_is_stored_as_is() -> None:
    from app.jsontext import Written

    written = Written('{"b": 1, "a": [2.50]}')  # not as orjson would write it
    assert json_serializer(written) is written
    as_string = json_serializer(str(written))  # a plain str is a JSON string
    assert json.loads(as_string) == str(written)
