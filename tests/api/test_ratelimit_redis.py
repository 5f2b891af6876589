"""Rate limits counted in Redis (``MICROCRED_REDIS_URL``): shared by instances on any database.

Runs against the Redis at ``MICROCRED_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``);
skipped, saying why, when none answers there, unless ``MICROCRED_REQUIRE_REDIS=1`` (CI), which
makes that a failure. Each test uses a key prefix of its own and deletes its keys afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest
import redis

from app.config import Settings, new_master_key
from app.ratelimit import REDIS_RETRY_AFTER, RedisBuckets, redis_client
from tests import processes
from tests.conftest import ADMIN_TOKEN, _empty_tables

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("MICROCRED_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_REDIS = os.environ.get("MICROCRED_REQUIRE_REDIS") == "1"
#: The public limit of the two services: a burst of 30 // 6 = 5 requests, then one in 2 s.
PUBLIC_PER_MINUTE = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _keys(prefix: str) -> list[bytes]:
    with redis.Redis.from_url(REDIS_URL) as client:
        return sorted(client.scan_iter(match=prefix + "*"))


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix for this test alone, on a Redis that answers; its keys deleted after."""
    try:
        with redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2) as client:
            client.ping()
    except redis.RedisError as exc:
        reason = f"Redis tests skipped: no Redis answers at {REDIS_URL} ({exc})"
        if REQUIRE_REDIS:
            pytest.fail("MICROCRED_REQUIRE_REDIS=1 but " + reason)
        pytest.skip(reason)
    prefix = f"microcred-test-{secrets.token_hex(6)}:"
    try:
        yield prefix
    finally:
        with redis.Redis.from_url(REDIS_URL) as client:
            keys = list(client.scan_iter(match=prefix + "*"))
            if keys:
                client.delete(*keys)


def test_one_bucket_in_redis_for_every_client(redis_prefix: str) -> None:
    """Two clients (as two processes would have) spend one burst; the bucket expires once it
    would be full again."""

    async def scenario() -> None:
        first, second = redis_client(REDIS_URL), redis_client(REDIS_URL)
        try:
            a = RedisBuckets(first, per_minute=60, prefix=redis_prefix)  # burst 10, 1 a second
            b = RedisBuckets(second, per_minute=60, prefix=redis_prefix)
            waits = [await (a if n % 2 else b).charge("key:k1") for n in range(10)]
            assert waits == [0.0] * 10
            wait = await a.charge("key:k1")
            assert 0.5 < wait <= 1.0  # empty: the next token comes within a second
            assert await b.charge("key:k1") > 0.5
            assert await b.charge("key:k2") == 0.0  # another bucket, its own burst
            assert _keys(redis_prefix) == [
                (redis_prefix + "key:k1").encode(),
                (redis_prefix + "key:k2").encode(),
            ]
            ttl = await first.pttl(redis_prefix + "key:k1")
            assert 9_000 < ttl <= 11_000  # ten tokens short: full again in ten seconds
            await asyncio.sleep(1.1)
            assert await a.charge("key:k1") == 0.0  # refilled by one
            assert await b.charge("key:k1") > 0.0
        finally:
            await first.aclose()
            await second.aclose()

    asyncio.run(scenario())


def test_an_unreachable_redis_leaves_the_limit_to_each_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Fail-open to the buckets of this process: requests are still limited, per process, and
    answered at once rather than held or refused."""

    async def scenario() -> None:
        client = redis_client(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
        try:
            buckets = RedisBuckets(client, per_minute=6, prefix="unused:")  # burst 1
            started = time.monotonic()
            with caplog.at_level(logging.WARNING, logger="microcred.ratelimit"):
                assert await buckets.charge("ip:x") == 0.0
                assert await buckets.charge("ip:x") > 5  # the local bucket is empty
            assert time.monotonic() - started < 2
            assert "Redis is out of reach" in caplog.text
            assert caplog.text.count("Redis is out of reach") == 1  # not tried again at once
            assert buckets.down_until - time.monotonic() <= REDIS_RETRY_AFTER
        finally:
            await client.aclose()

    asyncio.run(scenario())


def _serve(
    database_url: str, port: int, redis_prefix: str, log: BinaryIO
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICROCRED_")}
    env.update(
        MICROCRED_ENV="production",
        MICROCRED_DATABASE_URL=database_url,
        MICROCRED_ADMIN_TOKEN=ADMIN_TOKEN,
        MICROCRED_MASTER_KEY=new_master_key(),
        MICROCRED_PUBLIC_URL="https://credentials.example.edu",
        MICROCRED_LOG_LEVEL="WARNING",
        MICROCRED_RATE_LIMIT_PUBLIC_PER_MINUTE=str(PUBLIC_PER_MINUTE),
        MICROCRED_REDIS_URL=REDIS_URL,
        MICROCRED_REDIS_PREFIX=redis_prefix,
    )
    return processes.start(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


@pytest.fixture
def two_services(database_url: str, redis_prefix: str, tmp_path: Path) -> Iterator[list[str]]:
    """Two ``microcred serve`` processes sharing one Redis: on PostgreSQL one database too; on
    SQLite each its own database file, so that only Redis is shared."""
    urls: list[str] = []
    services: list[subprocess.Popen[bytes]] = []
    logs = ExitStack()
    try:
        for n in range(2):  # one after the other: each applies the migrations first
            url = database_url
            if database_url.startswith("sqlite"):
                url = f"sqlite+aiosqlite:///{tmp_path / f'service-{n}.db'}"
            port = free_port()
            log = tmp_path / f"service-{n}.log"
            services.append(_serve(url, port, redis_prefix, logs.enter_context(log.open("wb"))))
            urls.append(f"http://127.0.0.1:{port}")
            processes.wait_until_serving(urls[-1], services[-1], log)
        yield urls
    finally:
        for process in services:
            processes.stop(process)
        logs.close()
        if database_url.startswith("postgresql"):
            asyncio.run(_empty_tables(database_url))


def test_two_serve_processes_share_one_limit_through_redis(
    two_services: list[str], redis_prefix: str
) -> None:
    """A burst of N public requests from one address, alternating between the instances, then
    429 from both: each process counting its own would let 2N through."""
    burst, rate = PUBLIC_PER_MINUTE // 6, PUBLIC_PER_MINUTE / 60
    with httpx.Client(timeout=30) as http:
        started = time.monotonic()
        replies = [http.post(two_services[n % 2] + "/challenges") for n in range(2 * burst + 2)]
        elapsed = time.monotonic() - started
    codes = [reply.status_code for reply in replies]
    assert codes[:burst] == [201] * burst, codes
    # A token comes back every 1 / rate seconds: a slow machine sees those few more.
    assert burst <= codes.count(201) <= burst + int(elapsed * rate) + 1 < 2 * burst, codes
    limited_by = {n % 2 for n, code in enumerate(codes) if code == 429}
    assert limited_by == {0, 1}, codes  # both instances refuse
    for reply in replies:
        if reply.status_code == 429:
            assert 1 <= int(reply.headers["retry-after"]) <= int(1 / rate) + 1
    assert _keys(redis_prefix) == [(redis_prefix + "ratelimit:ip:127.0.0.1").encode()]


def test_the_redis_url_is_checked_and_kept_secret() -> None:
    base = {"env": "development"}
    with pytest.raises(ValueError, match="MICROCRED_REDIS_URL must start with redis://"):
        Settings.model_validate({**base, "redis_url": "http://cache.example:6379"})
    settings = Settings.model_validate({**base, "redis_url": "redis://:hunter2@cache:6379/0"})
    assert settings.redis_url is not None
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())
