"""Request limits, enforced before any route runs: body size (413), JSON shape (422), one
reading (400).

The body is read as it streams in and refused past ``max_bytes``; a JSON body is then parsed once
here and refused when nested deeper, or holding longer arrays or more values, than any credential
needs, so pyld's recursive processing can never be driven to exhaustion. An object with a member
name twice is refused: parsers disagree on which one counts (first, last, or an error).

Routes of :class:`ParsedOnceRoute` take that parsed body instead of parsing it again, and a large
body (:data:`LARGE_BODY_BYTES`) gives way to other requests between the
steps that read it whole (:func:`pause_if_large`), so that none of them holds the event loop long.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import send_problem
from app.problems import JSON_TOO_COMPLEX, ParsingError, PayloadTooLarge, Problem
from app.services.offload import Offload

#: scope keys: the JSON body as parsed here, and whether the body is large
PARSED_JSON = "microcred.parsed_json"
LARGE_BODY = "microcred.large_body"
NOT_I_JSON = "microcred.not_i_json"
PROBLEM_SENT = "microcred.problem_sent"
LARGE_BODY_BYTES = 256 * 1024
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_DETAIL = "the body holds a string with a lone surrogate (not I-JSON)"
_NON_FINITE_DETAIL = "the body holds a number that is not a finite double (I-JSON)"


class JsonTooComplex(Problem):
    type = JSON_TOO_COMPLEX
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
    return inspect_json(value, limits)[0]


def inspect_json(value: Any, limits: JsonLimits) -> tuple[str | None, str | None]:
    """Why ``value`` is out of bounds, and why it is not I-JSON (RFC 7493: a number that is not
    a finite double, a string with a lone surrogate, both of which Python's parser lets
    through); None for each that holds. One walk, iterative, so depth cannot exhaust the stack."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    count = 0
    not_i_json: str | None = None
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > limits.max_values:
            return f"the JSON body holds more than {limits.max_values} values", not_i_json
        if isinstance(node, str):
            # isascii() reads a flag: the regex only runs on the few strings that need it
            if not node.isascii() and _LONE_SURROGATE.search(node):
                not_i_json = not_i_json or _SURROGATE_DETAIL
            continue
        if isinstance(node, dict):
            children: Any = node.values()
            names = "".join(node)
            if not names.isascii() and _LONE_SURROGATE.search(names):
                not_i_json = not_i_json or _SURROGATE_DETAIL
        elif isinstance(node, list):
            if len(node) > limits.max_array:
                return f"a JSON array holds more than {limits.max_array} items", not_i_json
            children = node
        else:
            if isinstance(node, float) and not math.isfinite(node):
                not_i_json = not_i_json or _NON_FINITE_DETAIL
            continue
        if depth >= limits.max_depth and node:
            return f"the JSON body is nested deeper than {limits.max_depth} levels", not_i_json
        stack.extend((child, depth + 1) for child in children)
    return None, not_i_json


def i_json_problem(value: Any) -> str | None:
    """Why ``value`` is not I-JSON, or None."""
    return inspect_json(value, JsonLimits(max_depth=10**6, max_array=10**9, max_values=10**12))[1]


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


def unwritable_json_problem(text: bytes, value: Any) -> str | None:
    """Why the JSON ``value`` (parsed from ``text``) is not I-JSON (RFC 7493), or None: for a
    body the request limits did not parse (one sent under another content type)."""
    return i_json_problem(value)


def json_checks(body: bytes, limits: JsonLimits) -> tuple[str, str | None]:
    """The checks of a JSON body, as a worker process runs them for a large one that the
    service parsed with orjson: ``("duplicate" | "shape", why)`` to refuse it; ``("reparse",
    None)`` when orjson reads it otherwise than Python's parser (an integer beyond 64 bits
    orjson reads as a double); else ``("ok", why it is not I-JSON or None)``."""
    try:
        parsed = json.loads(body, object_pairs_hook=_unique_members)
    except DuplicateMember as exc:
        return "duplicate", str(exc)
    except (ValueError, RecursionError):
        return "reparse", None
    problem, not_i_json = inspect_json(parsed, limits)
    if problem is not None:
        return "shape", problem
    try:
        orjson.dumps(parsed)
    except TypeError:
        return "reparse", None
    return "ok", not_i_json


class RequestLimits:
    """``offload``: where a large body's checks run (the service parses it with orjson, about
    four times as fast as Python's parser with the duplicate-member hook); requests with large
    bodies are handled one at a time per process (:meth:`Offload.large_request`)."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        json_limits: JsonLimits | None = None,
        offload: Offload | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.json_limits = json_limits or JsonLimits()
        self.offload = offload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await send_problem(scope, send, PayloadTooLarge(self._too_large()))
                return
        if _is_json(scope) and scope.get("method") in ("POST", "PUT", "PATCH"):
            if self.offload is not None and _declared_length(scope) >= LARGE_BODY_BYTES:
                async with self.offload.large_request():
                    await self._checked_json(scope, receive, send)
                return
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
        large = len(body) >= LARGE_BODY_BYTES
        scope[LARGE_BODY] = large
        if large and self.offload is not None and self.offload.workers:
            if await self._checked_elsewhere(body, scope, send):
                await self._replayed(body, scope, receive, send)
                return
            if PROBLEM_SENT in scope:
                return
        try:
            parsed = json.loads(body, object_pairs_hook=_unique_members)
        except DuplicateMember as exc:
            await send_problem(scope, send, ParsingError(str(exc)))
            return
        except (ValueError, RecursionError):
            pass  # not JSON: the route answers with its own 400 problem
        else:
            if large:
                await asyncio.sleep(0)
            problem, not_i_json = inspect_json(parsed, self.json_limits)
            if problem is not None:
                await send_problem(scope, send, JsonTooComplex(problem))
                return
            if not_i_json is not None:  # every route: NaN, 1e999, lone surrogates
                await send_problem(scope, send, ParsingError(not_i_json))
                return
            scope[PARSED_JSON] = parsed
            scope[NOT_I_JSON] = not_i_json
            if large:
                await asyncio.sleep(0)
        await self._replayed(body, scope, receive, send)

    async def _checked_elsewhere(self, body: bytes, scope: Scope, send: Send) -> bool:
        """Parse a large body with orjson here and check it in a worker process: whether it was
        taken (a problem sent sets ``PROBLEM_SENT``; neither: parse it here as usual)."""
        assert self.offload is not None
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            return False  # what orjson refuses (NaN, lone surrogates): parsed here
        await asyncio.sleep(0)
        verdict = await self.offload.call("the JSON checks", json_checks, body, self.json_limits)
        if not isinstance(verdict, tuple) or verdict[0] == "reparse":
            return False
        kind, detail = verdict
        if kind == "duplicate" or (kind == "ok" and detail is not None):
            await send_problem(scope, send, ParsingError(detail))
        elif kind == "shape":
            await send_problem(scope, send, JsonTooComplex(detail))
        else:
            scope[PARSED_JSON] = parsed
            scope[NOT_I_JSON] = detail
            return True
        scope[PROBLEM_SENT] = True
        return False

    async def _replayed(self, body: bytes, scope: Scope, receive: Receive, send: Send) -> None:
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


async def pause_if_large(request: Request) -> None:
    """Let other requests run, when this one's body is large (between steps that read it)."""
    if request.scope.get(LARGE_BODY):
        await asyncio.sleep(0)


class ParsedOnceRoute(APIRoute):
    """A route that takes the JSON body :class:`RequestLimits` parsed and checked."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            if PARSED_JSON in request.scope:
                # Starlette's Request.json() answers this attribute once it is set
                request._json = request.scope[PARSED_JSON]
            return await handler(request)

        return route


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length" and value.isdigit():
            return int(value)
    return 0
