"""Request limits, enforced before any route runs: body size (413), JSON shape (422), one
reading (400).

The body is read as it streams in and refused past ``max_bytes``; a JSON body is then parsed once
here and refused when nested deeper, or holding longer arrays or more values, than any credential
needs, so pyld's recursive processing can never be driven to exhaustion. An object with a member
name twice is refused: parsers disagree on which one counts (first, last, or an error).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PROBLEMS, ParsingError, PayloadTooLarge, Problem, send_problem


class JsonTooComplex(Problem):
    type = PROBLEMS + "JSON_TOO_COMPLEX"
    title, status = "JSON body beyond the limits", 422


class _TooLarge(HTTPException):
    """Raised from ``receive``; an HTTPException so FastAPI's body parsing passes it on."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body exceeds {max_bytes} bytes")


@dataclass(frozen=True)
class JsonLimits:
    max_depth: int = 48
    max_array: int = 10_000
    max_values: int = 250_000


def json_shape_problem(value: Any, limits: JsonLimits) -> str | None:
    """Why ``value`` is out of bounds, or None; iterative, so depth cannot exhaust the stack."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > limits.max_values:
            return f"the JSON body holds more than {limits.max_values} values"
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            if len(node) > limits.max_array:
                return f"a JSON array holds more than {limits.max_array} items"
            children = node
        else:
            continue
        if depth >= limits.max_depth and node:
            return f"the JSON body is nested deeper than {limits.max_depth} levels"
        stack.extend((child, depth + 1) for child in children)
    return None


class DuplicateMember(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"the member name {name!r} appears twice in one JSON object")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise DuplicateMember(name)
            seen.add(name)
    return members


def parse_json_document(body: bytes | str, limits: JsonLimits | None = None) -> Any:
    """``body`` parsed as the API parses JSON bodies: duplicate member names and documents out of
    ``limits`` refused (``ValueError``, with why), as is text that is not JSON."""
    try:
        parsed = json.loads(body, object_pairs_hook=_unique_members)
    except RecursionError:
        raise ValueError("the JSON text is nested too deeply") from None
    problem = json_shape_problem(parsed, limits or JsonLimits())
    if problem is not None:
        raise ValueError(problem)
    return parsed


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
#: What a value :func:`unwritable_json_problem` refuses needs in the JSON text: the constants, a
#: surrogate escape, an exponent of 100 or more, 300 digits in a row. A body with none of them
#: (nearly every one) is not walked.
_SUSPECT = re.compile(rb"NaN|Infinity|\\u[dD][89a-fA-F]|[eE]\+?0*[1-9][0-9]{2}|[0-9]{300}")


def unwritable_json_problem(text: bytes, value: Any) -> str | None:
    """Why the JSON ``value`` (parsed from ``text``) is not I-JSON (RFC 7493), or None.

    Python's parser takes ``NaN``, ``Infinity``, numbers beyond a double (``1e999`` reads as
    ``inf``) and strings with lone surrogates (``"\\ud800"``); none of them can be
    canonicalized, stored or written back in a reply.
    """
    if not _SUSPECT.search(text):
        return None
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return "the body holds a number that is not a finite double (I-JSON)"
        if isinstance(node, str) and _LONE_SURROGATE.search(node):
            return "the body holds a string with a lone surrogate (not I-JSON)"
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None


class RequestLimits:
    def __init__(self, app: ASGIApp, max_bytes: int, json_limits: JsonLimits | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.json_limits = json_limits or JsonLimits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await send_problem(scope, send, PayloadTooLarge(self._too_large()))
                return
        if _is_json(scope) and scope.get("method") in ("POST", "PUT", "PATCH"):
            await self._checked_json(scope, receive, send)
            return
        await self._streamed(scope, receive, send)

    def _too_large(self) -> str:
        return f"the request body exceeds {self.max_bytes} bytes"

    async def _checked_json(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await send_problem(scope, send, PayloadTooLarge(self._too_large()))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            parsed = json.loads(body, object_pairs_hook=_unique_members)
        except DuplicateMember as exc:
            await send_problem(scope, send, ParsingError(str(exc)))
            return
        except (ValueError, RecursionError):
            parsed = None  # not JSON: the route answers with its own 400 problem
        else:
            problem = json_shape_problem(parsed, self.json_limits)
            if problem is not None:
                await send_problem(scope, send, JsonTooComplex(problem))
                return
        unwritable = unwritable_json_problem(body, parsed)
        if unwritable is not None:
            await send_problem(scope, send, ParsingError(unwritable))
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _streamed(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not response_started:
                await send_problem(scope, send, PayloadTooLarge(self._too_large()))
