"""Rate limits: per issuer API key, and per client address on public POST endpoints.

Token buckets held in this process (with several workers each keeps its own, so the effective
limit is per worker). Reading endpoints that verifiers poll (status lists, DID documents) and
health/metrics are not limited here: they are cheap and cached.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import PROBLEMS, Problem, send_problem

MAX_TRACKED = 100_000
EXEMPT_PREFIXES = ("/health", "/ready", "/metrics", "/docs", "/redoc", "/openapi.json", "/admin")


class RateLimited(Problem):
    type = PROBLEMS + "RATE_LIMITED"
    title, status = "Too many requests", 429


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


def _api_key_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            token: str = value.decode("latin-1")
            if token[:7].lower() == "bearer ":
                parts = token[7:].strip().split("_", 2)
                if len(parts) == 3 and parts[0] == "mck":
                    key_id: str = parts[1][:32]
                    return key_id
    return None


class RateLimit:
    def __init__(self, app: ASGIApp, *, per_key_per_minute: int, public_per_minute: int) -> None:
        self.app = app
        self.keys = TokenBuckets(per_key_per_minute) if per_key_per_minute > 0 else None
        self.public = TokenBuckets(public_per_minute) if public_per_minute > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        wait = 0.0
        key_id = _api_key_id(scope)
        if key_id is not None and self.keys is not None:
            wait = self.keys.take("key:" + key_id, now)
        elif key_id is None and self.public is not None and scope.get("method") == "POST":
            client = scope.get("client")
            address = client[0] if client else "unknown"
            wait = self.public.take("ip:" + address, now)
        if wait > 0:
            retry_after = math.ceil(wait)
            problem = RateLimited(
                f"rate limit reached; retry after {retry_after} s",
                headers={"Retry-After": str(retry_after)},
            )
            await send_problem(scope, send, problem)
            return
        await self.app(scope, receive, send)
