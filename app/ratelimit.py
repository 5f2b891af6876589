"""Rate limits: per issuer API key, and per client address for everyone else.

Token buckets held in this process (with several workers each keeps its own, so the effective
limit is per worker). Reading endpoints that verifiers poll (status lists, DID documents) and
health/metrics are not limited here: they are cheap and cached.

A request is charged to its API key only once the key has authenticated (the route's
dependency calls :func:`charge_api_key`): anyone may know a key's id, and a made-up key must
not get a bucket of its own. Everything else is charged to the client address: POST requests
without an API key before they run; a request with one when its key does not authenticate
(:func:`charge_unauthenticated`) or, on a route that takes no API key, before the route runs
(:func:`charge_routes_without_api_keys`, an app-wide dependency).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import PROBLEMS, Problem, send_problem

MAX_TRACKED = 100_000
EXEMPT_PREFIXES = ("/health", "/ready", "/metrics", "/docs", "/redoc", "/openapi.json", "/admin")
_STATE_KEY = "rate_limit"
_F = TypeVar("_F", bound=Callable[..., Any])
#: The dependencies that authenticate an API key (marked with :func:`authenticates_api_key`).
_API_KEY_DEPENDENCIES: set[Callable[..., Any]] = set()


class RateLimited(Problem):
    type = PROBLEMS + "RATE_LIMITED"
    title, status = "Too many requests", 429

    @classmethod
    def after(cls, wait: float) -> RateLimited:
        retry_after = math.ceil(wait)
        return cls(
            f"rate limit reached; retry after {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


@dataclass
class Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """``rate`` requests a minute with bursts up to ``burst``, per key; bounded in memory."""

    def __init__(self, per_minute: int, burst: int | None = None) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst if burst is not None else max(1, per_minute // 6))
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()

    def take(self, key: str, now: float) -> float:
        """0 when allowed, else the seconds until a token is there."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = Bucket(self.burst, now)
            self._buckets[key] = bucket
            if len(self._buckets) > MAX_TRACKED:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate


def authenticates_api_key(dependency: _F) -> _F:
    """Mark a route dependency that authenticates an API key and then calls
    :func:`charge_api_key` or :func:`charge_unauthenticated`."""
    _API_KEY_DEPENDENCIES.add(dependency)
    return dependency


def _has_api_key(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            token: str = value.decode("latin-1").strip()
            return token[:7].lower() == "bearer " and token[7:].strip().startswith("mck_")
    return False


def _client_address(scope: Scope) -> str:
    client = scope.get("client")
    return "ip:" + (client[0] if client else "unknown")


class _Pending:
    """A request with an API key, on a route that authenticates it: not charged yet."""

    def __init__(self, limits: RateLimit, scope: Scope) -> None:
        self.limits = limits
        self.scope = scope
        self.charged = False

    def charge(self, bucket: str, buckets: TokenBuckets | None) -> float:
        """Charge ``bucket`` (the first charge only; nothing when that limit is off)."""
        if self.charged:
            return 0.0
        self.charged = True
        return buckets.take(bucket, time.monotonic()) if buckets is not None else 0.0


def charge_api_key(state: Any, api_key_id: str) -> None:
    """Charge a request to the API key it authenticated with; :class:`RateLimited` when spent.

    ``state`` is the request's ``request.state``."""
    pending = getattr(state, _STATE_KEY, None)
    if isinstance(pending, _Pending):
        wait = pending.charge("key:" + api_key_id, pending.limits.keys)
        if wait > 0:
            raise RateLimited.after(wait)


def charge_unauthenticated(state: Any) -> None:
    """Charge a request whose API key did not authenticate to its client address;
    :class:`RateLimited` when the address has spent its budget."""
    pending = getattr(state, _STATE_KEY, None)
    if isinstance(pending, _Pending):
        wait = pending.charge(_client_address(pending.scope), pending.limits.public)
        if wait > 0:
            raise RateLimited.after(wait)


class RateLimit:
    def __init__(self, app: ASGIApp, *, per_key_per_minute: int, public_per_minute: int) -> None:
        self.app = app
        self.keys = TokenBuckets(per_key_per_minute) if per_key_per_minute > 0 else None
        self.public = TokenBuckets(public_per_minute) if public_per_minute > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        if _has_api_key(scope):
            pending = _Pending(self, scope)
            scope.setdefault("state", {})[_STATE_KEY] = pending
            try:
                await self.app(scope, receive, send)
            finally:
                # Answered before any route dependency ran (no such route, a body that is not
                # JSON): charged to the address now, for the requests that follow.
                if not pending.charged:
                    pending.charge(_client_address(scope), self.public)
            return
        if self.public is not None and scope.get("method") == "POST":
            wait = self.public.take(_client_address(scope), time.monotonic())
            if wait > 0:
                await send_problem(scope, send, RateLimited.after(wait))
                return
        await self.app(scope, receive, send)


def _route_takes_api_key(route: Any) -> bool:
    """Whether one of the route's dependencies is marked by :func:`authenticates_api_key` (a
    walk over a few dependencies, for requests that carry an API key only)."""
    stack = [getattr(route, "dependant", None)]
    while stack:
        current = stack.pop()
        if current is None:
            continue
        if current.call in _API_KEY_DEPENDENCIES:
            return True
        stack.extend(current.dependencies)
    return False


async def charge_routes_without_api_keys(request: Request) -> None:
    """An app-wide dependency: a request with an API key on a route that takes none (a public
    one) is an anonymous request, charged to its address before the route runs."""
    pending = getattr(request.state, _STATE_KEY, None)
    if (
        isinstance(pending, _Pending)
        and not pending.charged
        and not _route_takes_api_key(request.scope.get("route"))
    ):
        charge_unauthenticated(request.state)
