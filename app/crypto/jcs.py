"""RFC 8785 JSON Canonicalization (JCS), the transformation of ``eddsa-jcs-2022``.

- Fast path: ``orjson`` with sorted keys, for plain JSON (no float, no integer beyond
  ±(2**53 − 1), no object key outside the Basic Multilingual Plane).
- Reference: the ``rfc8785`` package (pure Python, writing byte by byte), for everything else.
- Proven by: ``tests/unit/test_jcs.py`` (the same bytes on generated JSON).

On plain JSON the two agree: keys sorted by UTF-8 bytes are sorted by UTF-16 code unit within the
BMP, non-ASCII text is written as UTF-8, and orjson's escapes (``\\"``, ``\\\\``, ``\\b``,
``\\f``, ``\\n``, ``\\r``, ``\\t``, ``\\u00xx`` in lowercase for the other control characters,
nothing else) are RFC 8785's. Everything else (floats, whose ECMAScript form differs; lone
surrogates; non-JSON types; subclasses of JSON types) goes to ``rfc8785``, errors included (what
each path costs: bench/README.md).
"""

from __future__ import annotations

import re
from typing import Any

import orjson
import rfc8785

_MAX_SAFE_INTEGER = 2**53 - 1
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class JcsError(ValueError):
    """The value cannot be canonicalized (a float out of range, a lone surrogate, not JSON)."""


def _plain(value: Any) -> bool:
    """Whether ``orjson`` with sorted keys writes ``value`` exactly as RFC 8785 does."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -_MAX_SAFE_INTEGER <= item <= _MAX_SAFE_INTEGER:
                continue
            return False
        if kind is dict:
            for key in item:
                if type(key) is not str or (not key.isascii() and _ASTRAL.search(key)):
                    return False
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        else:
            return False
    return True


def canonical_json(value: Any) -> str:
    """The RFC 8785 canonical text of ``value``; :class:`JcsError` when there is none."""
    if _plain(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")
        except orjson.JSONEncodeError:
            pass  # a lone surrogate, or nesting deeper than orjson goes: rfc8785 decides below
    try:
        return rfc8785.dumps(value).decode("utf-8")
    except (rfc8785.CanonicalizationError, TypeError, UnicodeError) as exc:  # lone surrogates
        raise JcsError(f"cannot canonicalize as RFC 8785 JSON: {exc}") from exc
