"""JSON text of stored and returned documents: orjson where it is exact, else the standard library.

orjson is an order of magnitude faster than the standard library (bench/README.md). orjson
refuses what it cannot write exactly (an integer beyond 64 bits, a non-string key) and writes
``null`` for a NaN or an infinity; for those the standard library writes what it always did.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

from app.jsonwalk import json_values


class Written(str):
    """JSON text written already: :func:`dumps` (a JSON column's serializer) keeps it as is."""


def dumps(value: Any) -> str:
    if type(value) is Written:
        return value
    return dumps_bytes(value).decode("utf-8")


def dumps_bytes(value: Any) -> bytes:
    try:
        written = orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(value).encode("utf-8")
    if b"null" in written and _has_non_finite(value):
        return json.dumps(value).encode("utf-8")
    return written


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # what only the standard library's fallback writes


def _has_non_finite(value: Any) -> bool:
    return any(isinstance(node, float) and not math.isfinite(node) for node in json_values(value))
