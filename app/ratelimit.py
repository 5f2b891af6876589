"""Rate limits: per issuer API key, and per client address for everyone else.

Token buckets: ``per_minute / 60`` tokens a second, up to a burst of ``per_minute // 6``. With
``MICROCRED_REDIS_URL`` set they live in Redis (:class:`RedisBuckets`: one Lua script, run by
EVALSHA, per charged request), shared by every instance that names that Redis; otherwise, on
PostgreSQL, in the ``rate_limit_buckets`` table, which every worker and every instance on that
database shares (:class:`SharedBuckets`: one atomic upsert, one round trip per charged request);
with the embedded SQLite default they are held in this process (:class:`TokenBuckets`). A shared
store that cannot be reached lets requests through (PostgreSQL) or falls back to the buckets of
this process (Redis), rather than answering 500: see SECURITY.md.
Reading endpoints that verifiers poll (status lists, DID documents) and
health/metrics are not limited here: they are cheap and cached.

A request is charged to its API key only once the key has authenticated (the route's
dependency calls :func:`charge_api_key`): anyone may know a key's id, and a made-up key must
not get a bucket of its own. Everything else is charged to the client address: POST requests
without an API key before they run; a request with one when its key does not authenticate
(:func:`charge_unauthenticated`) or, on a route that takes no API key, before the route runs
(:func:`charge_routes_without_api_keys`, an app-wide dependency).
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.problems import send_problem
from app.db.engine import create_engine
from app.problems import RATE_LIMITED, Problem

MAX_TRACKED = 100_000
EXEMPT_PREFIXES = ("/health", "/ready", "/metrics", "/docs", "/redoc", "/openapi.json", "/admin")
_STATE_KEY = "rate_limit"
_F = TypeVar("_F", bound=Callable[..., Any])
#: The dependencies that authenticate an API key (marked with :func:`authenticates_api_key`).
_API_KEY_DEPENDENCIES: set[Callable[..., Any]] = set()
#: Seconds between two deletions of full (idle) shared buckets, per process.
SWEEP_EVERY = 60.0

log = logging.getLogger("microcred.ratelimit")


class RateLimited(Problem):
    type = RATE_LIMITED
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


class Buckets(Protocol):
    async def charge(self, key: str) -> float:
        """0 when allowed, else the seconds until a token is there."""


class LocalBuckets:
    """:class:`TokenBuckets` of this process, behind the interface :class:`SharedBuckets` has."""

    def __init__(self, per_minute: int) -> None:
        self.buckets = TokenBuckets(per_minute)

    async def charge(self, key: str) -> float:
        return self.buckets.take(key, time.monotonic())


# One statement, one round trip: the bucket's tokens refilled at ``rate`` since its last charge
# (the database clock, which every instance shares), capped at ``burst``; one taken if there is
# one. ``allowed`` records which, for RETURNING (a denied charge leaves fewer than one token, an
# allowed one may too). A new bucket starts full, less this request's token.
_REFILLED = (
    "least(CAST(:burst AS float8), b.tokens"
    " + greatest(0, excluded.updated_at - b.updated_at) * CAST(:rate AS float8))"
)
_CHARGE = text(
    f"""
INSERT INTO rate_limit_buckets AS b (bucket, tokens, updated_at, allowed)
VALUES (:bucket, CAST(:burst AS float8) - 1, extract(epoch FROM clock_timestamp()), true)
ON CONFLICT (bucket) DO UPDATE SET
    tokens = CASE WHEN {_REFILLED} >= 1 THEN {_REFILLED} - 1 ELSE {_REFILLED} END,
    allowed = {_REFILLED} >= 1,
    updated_at = excluded.updated_at
RETURNING allowed, tokens
"""
)
# A bucket idle long enough to be full again is the same as none.
_SWEEP = text(
    """
DELETE FROM rate_limit_buckets
WHERE bucket LIKE :prefix
    AND updated_at < extract(epoch FROM clock_timestamp()) - CAST(:full_after AS float8)
"""
)


def counter_engine(database_url: str) -> AsyncEngine | None:
    """The engine the shared buckets use on PostgreSQL (None on SQLite), with a pool of its own.

    A request charges its API key while its session holds a connection of the application's
    pool: taking a second one from that pool would deadlock once every connection is held by a
    request waiting for another. A connection of this pool is held for one statement and waits
    for nothing else. Autocommit: no BEGIN or COMMIT round trip, and a bucket's row is locked
    for that one statement only.
    """
    if make_url(database_url).get_backend_name() != "postgresql":
        return None
    return create_engine(database_url, pool_size=5, max_overflow=15)


class SharedBuckets:
    """Token buckets in PostgreSQL, shared by every process on the database (same semantics as
    :class:`TokenBuckets`), on the connections of :func:`counter_engine`."""

    def __init__(self, engine: AsyncEngine, per_minute: int, prefix: str) -> None:
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.rate = per_minute / 60.0
        self.burst = float(max(1, per_minute // 6))
        self.prefix = prefix
        self.swept = time.monotonic()

    async def charge(self, key: str) -> float:
        parameters = {"bucket": key, "burst": self.burst, "rate": self.rate}
        try:
            async with self.engine.connect() as connection:
                allowed, tokens = (await connection.execute(_CHARGE, parameters)).one()
                if time.monotonic() - self.swept > SWEEP_EVERY:
                    self.swept = time.monotonic()
                    sweep = {"prefix": self.prefix + "%", "full_after": self.burst / self.rate}
                    await connection.execute(_SWEEP, sweep)
        except (SQLAlchemyError, OSError) as exc:
            # The database is out of reach: the request itself will say so (503); a rate limit
            # that cannot be counted lets it through rather than answering 500.
            log.warning("rate limit not counted (%s: %s)", type(exc).__name__, exc)
            return 0.0
        return 0.0 if allowed else max(0.0, (1 - float(tokens)) / self.rate)


# The bucket under KEYS[1], refilled at ARGV[1] tokens a second since its last charge (Redis's
# clock, which every instance shares), capped at the burst ARGV[2]; one token taken if there is
# one. A new bucket starts full. It expires once idle long enough to be full again (a missing
# bucket is a full one), so Redis holds only the buckets in use. Returns {allowed, tokens}, the
# tokens as a string (Lua numbers become integers on the way out).
_REDIS_CHARGE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = burst
if saved[1] then
    tokens = math.min(burst, tonumber(saved[1]) + math.max(0, now - tonumber(saved[2])) * rate)
end
local allowed = 0
if tokens >= 1 then
    tokens = tokens - 1
    allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return {allowed, tostring(tokens)}
"""
#: Seconds a process counts in its own buckets after Redis failed, before it tries Redis again.
REDIS_RETRY_AFTER = 5.0
#: Connect and read timeout towards Redis: a charge must not hold a request for long.
REDIS_TIMEOUT = 0.5


def redis_client(url: str) -> Redis:
    """The client the Redis buckets use (short timeouts; no retries: the fallback is local)."""
    return Redis.from_url(
        url,
        socket_timeout=REDIS_TIMEOUT,
        socket_connect_timeout=REDIS_TIMEOUT,
        retry=Retry(NoBackoff(), 0),
    )


class RedisBuckets:
    """Token buckets in Redis, shared by every process that uses it (same semantics as
    :class:`TokenBuckets`), under the keys ``<prefix><bucket>``.

    When Redis cannot be reached (or answers an error) the charge is counted in this process's
    own buckets instead, for :data:`REDIS_RETRY_AFTER` seconds before Redis is tried again: the
    limit then holds per process (at most N × instances in total), not not at all."""

    def __init__(self, client: Redis, per_minute: int, prefix: str) -> None:
        self.client = client
        self.rate = per_minute / 60.0
        self.burst = float(max(1, per_minute // 6))
        self.prefix = prefix
        self.script = client.register_script(_REDIS_CHARGE)
        self.local = LocalBuckets(per_minute)
        self.down_until = 0.0

    async def charge(self, key: str) -> float:
        if time.monotonic() < self.down_until:
            return await self.local.charge(key)
        try:
            allowed, tokens = await self.script(
                keys=[self.prefix + key], args=[self.rate, self.burst]
            )
        except (RedisError, OSError) as exc:
            log.warning(
                "rate limit counted in this process for %.0f s: Redis is out of reach (%s: %s)",
                REDIS_RETRY_AFTER,
                type(exc).__name__,
                exc,
            )
            self.down_until = time.monotonic() + REDIS_RETRY_AFTER
            return await self.local.charge(key)
        return 0.0 if int(allowed) else max(0.0, (1 - float(tokens)) / self.rate)


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

    async def charge(self, bucket: str, limit: str) -> float:
        """Charge ``bucket`` to ``limit`` (``"keys"`` or ``"public"``): the first charge only;
        nothing when that limit is off."""
        if self.charged:
            return 0.0
        self.charged = True
        buckets = self.limits.buckets(self.scope, limit)
        return await buckets.charge(bucket) if buckets is not None else 0.0


async def charge_api_key(state: Any, api_key_id: str) -> None:
    """Charge a request to the API key it authenticated with; :class:`RateLimited` when spent.

    ``state`` is the request's ``request.state``."""
    pending = getattr(state, _STATE_KEY, None)
    if isinstance(pending, _Pending):
        wait = await pending.charge("key:" + api_key_id, "keys")
        if wait > 0:
            raise RateLimited.after(wait)


async def charge_unauthenticated(state: Any) -> None:
    """Charge a request whose API key did not authenticate to its client address;
    :class:`RateLimited` when the address has spent its budget."""
    pending = getattr(state, _STATE_KEY, None)
    if isinstance(pending, _Pending):
        wait = await pending.charge(_client_address(pending.scope), "public")
        if wait > 0:
            raise RateLimited.after(wait)


class RateLimit:
    def __init__(self, app: ASGIApp, *, per_key_per_minute: int, public_per_minute: int) -> None:
        self.app = app
        self.per_minute = {"keys": per_key_per_minute, "public": public_per_minute}
        self._buckets: dict[str, Buckets | None] | None = None

    def buckets(self, scope: Scope, limit: str) -> Buckets | None:
        """The buckets of ``limit`` (None when it is off): chosen at the first request, once the
        application's lifespan has set the state's ``rate_limit_redis`` (Redis configured) or
        ``rate_limit_engine`` (PostgreSQL)."""
        if self._buckets is None:
            app_state = getattr(scope.get("app"), "state", None)
            state = getattr(app_state, "services", None)
            redis = getattr(state, "rate_limit_redis", None)
            engine = getattr(state, "rate_limit_engine", None)
            prefixes = {"keys": "key:", "public": "ip:"}

            def make(name: str, per_minute: int) -> Buckets | None:
                if per_minute <= 0:
                    return None
                if isinstance(redis, Redis):
                    prefix = getattr(state, "rate_limit_redis_prefix", "")
                    return RedisBuckets(redis, per_minute, prefix)
                if isinstance(engine, AsyncEngine):
                    return SharedBuckets(engine, per_minute, prefixes[name])
                return LocalBuckets(per_minute)

            self._buckets = {name: make(name, n) for name, n in self.per_minute.items()}
        return self._buckets[limit]

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
                    await pending.charge(_client_address(scope), "public")
            return
        public = self.buckets(scope, "public")
        if public is not None and scope.get("method") == "POST":
            wait = await public.charge(_client_address(scope))
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
        await charge_unauthenticated(request.state)
