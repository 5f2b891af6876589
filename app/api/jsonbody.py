"""JSON request bodies the service cannot take, refused (400) before a route sees them.

Python's parser lets through what I-JSON (RFC 7493) excludes: ``NaN``, ``Infinity``, numbers
beyond a double (``1e999`` reads as ``inf``) and strings with lone surrogates (``"\\ud800"``).
None of them can be canonicalized, stored or written back in a reply, so each route would fail
further on (a 500, or a credential signed over ``NaN``). :class:`StrictJsonRoute` refuses them
for every route with a JSON body model, as a VC DM ``PARSING_ERROR``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from app.errors import ParsingError

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
#: What any of those needs in the JSON text: the constants, a surrogate escape, an exponent of
#: 100 or more, 300 digits in a row. A body without any of them (nearly all) is not parsed twice.
_SUSPECT = re.compile(rb"NaN|Infinity|\\u[dD][89a-fA-F]|[eE]\+?0*[1-9][0-9]{2}|[0-9]{300}")


def refuse_unwritable_json(value: Any) -> None:
    """Raise :class:`ParsingError` for a non-finite number or a lone surrogate in ``value``."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            raise ParsingError("the body holds a number that is not a finite double (I-JSON)")
        if isinstance(node, str) and _LONE_SURROGATE.search(node):
            raise ParsingError("the body holds a string with a lone surrogate (not I-JSON)")
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def refuse_unwritable_json_text(raw: bytes) -> None:
    """:func:`refuse_unwritable_json` on JSON text (text that is not JSON is let through: the
    route's own parser answers it)."""
    if not _SUSPECT.search(raw):
        return
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return
    refuse_unwritable_json(value)


class StrictJsonRoute(APIRoute):
    """A route whose JSON body model never sees what :func:`refuse_unwritable_json` refuses."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:  # the route reads its body itself (form, OAuth JSON)
            return handler

        async def route(request: Request) -> Response:
            refuse_unwritable_json_text(await request.body())
            return await handler(request)

        return route
