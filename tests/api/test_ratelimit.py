"""Rate limits per API key and per client address on public endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.config import Settings
from app.db.engine import create_engine
from app.main import create_app
from app.ratelimit import SWEEP_EVERY, SharedBuckets, TokenBuckets
from tests.conftest import _empty_tables, problem_of
from tests.factories import issuer_with_key

pytestmark = pytest.mark.anyio


def test_token_bucket_refills_at_its_rate() -> None:
    buckets = TokenBuckets(per_minute=60, burst=2)
    assert buckets.take("a", 0.0) == 0 and buckets.take("a", 0.0) == 0
    assert buckets.take("a", 0.0) == pytest.approx(1.0)  # empty: one token a second
    assert buckets.take("b", 0.0) == 0  # keys are independent
    assert buckets.take("a", 1.0) == 0


@pytest.fixture
async def tight_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    tight = settings.model_copy(
        update={"rate_limit_per_key_per_minute": 6, "rate_limit_public_per_minute": 6}
    )
    application: FastAPI = create_app(tight)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    await _empty_tables(settings.database_url)


async def test_public_endpoint_answers_429_with_retry_after(
    tight_client: httpx.AsyncClient,
) -> None:
    statuses = [(await tight_client.post("/challenges")).status_code for _ in range(3)]
    assert statuses[0] == 201 and statuses[-1] == 429
    limited = await tight_client.post("/challenges")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert problem_of(limited)["type"].endswith("RATE_LIMITED")
    assert (await tight_client.get("/health")).status_code == 200  # not limited


async def test_each_api_key_has_its_own_budget(
    tight_client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, first = await issuer_with_key(tight_client, admin_headers, random_slug)
    _, second = await issuer_with_key(tight_client, admin_headers, random_slug + "-2")
    codes = [
        (await tight_client.get("/credentials/x", headers=first)).status_code for _ in range(3)
    ]
    assert codes[:1] == [404] and codes[-1] == 429
    assert (await tight_client.get("/credentials/x", headers=second)).status_code == 404


def made_up_key(number: int) -> dict[str, str]:
    return {"Authorization": f"Bearer mck_{number:016x}_not-a-secret"}


async def test_made_up_api_keys_are_charged_to_the_client_address(
    tight_client: httpx.AsyncClient,
) -> None:
    """A key that does not authenticate is no key: each made-up id used to get a fresh bucket."""
    codes = [
        (await tight_client.post("/credentials/issue", json={}, headers=made_up_key(i))).status_code
        for i in range(3)
    ]
    assert codes == [401, 429, 429]
    public = [
        (await tight_client.post("/challenges", headers=made_up_key(10 + i))).status_code
        for i in range(2)
    ]
    assert public == [429, 429]  # the same address, whatever the token


async def test_made_up_api_keys_do_not_escape_the_limit_of_public_routes(
    tight_client: httpx.AsyncClient,
) -> None:
    codes = [
        (await tight_client.post("/challenges", headers=made_up_key(i))).status_code
        for i in range(3)
    ]
    assert codes[0] == 201 and codes[1:] == [429, 429]


async def test_knowing_a_key_id_does_not_let_anyone_spend_its_budget(
    tight_client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(tight_client, admin_headers, random_slug)
    key_id = auth["Authorization"].split("_")[1]
    wrong = {"Authorization": f"Bearer mck_{key_id}_guessed-secret"}
    codes = [
        (await tight_client.get("/credentials/x", headers=wrong)).status_code for _ in range(3)
    ]
    assert codes == [401, 429, 429]  # charged to the address that sent them
    # The key's own budget is whole, and the key does not share the address's (spent above).
    assert (await tight_client.get("/credentials/x", headers=auth)).status_code == 404
    assert (await tight_client.get("/credentials/x", headers=auth)).status_code == 429


async def test_with_no_per_key_limit_keyed_requests_do_not_spend_the_address_budget(
    settings: Settings, admin_headers: dict[str, str], random_slug: str
) -> None:
    only_public = settings.model_copy(
        update={"rate_limit_per_key_per_minute": 0, "rate_limit_public_per_minute": 6}
    )
    application: FastAPI = create_app(only_public)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            _, auth = await issuer_with_key(http, admin_headers, random_slug)
            for _ in range(3):
                assert (await http.get("/credentials/x", headers=auth)).status_code == 404
            assert (await http.post("/challenges")).status_code == 201
    await _empty_tables(settings.database_url)


async def test_two_apps_on_one_postgresql_share_a_key_budget_and_sqlite_apps_do_not(
    settings: Settings, admin_headers: dict[str, str], random_slug: str
) -> None:
    """Two applications (as two instances would be) on one database: on PostgreSQL a key's
    burst is spent once in total; with SQLite each process keeps its own buckets."""
    tight = settings.model_copy(update={"rate_limit_per_key_per_minute": 6})
    first, second = create_app(tight), create_app(tight)
    async with (
        first.router.lifespan_context(first),
        second.router.lifespan_context(second),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://a") as a,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://b") as b,
    ):
        _, auth = await issuer_with_key(a, admin_headers, random_slug)
        assert (await a.get("/credentials/x", headers=auth)).status_code == 404  # the burst: 1
        from_b = await b.get("/credentials/x", headers=auth)
        if settings.database_url.startswith("postgresql"):
            assert from_b.status_code == 429
            assert int(from_b.headers["retry-after"]) in (9, 10)  # one token in 10 s
        else:
            assert from_b.status_code == 404
    await _empty_tables(settings.database_url)


async def test_shared_buckets_that_filled_up_again_are_deleted(settings: Settings) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("shared buckets live in PostgreSQL")
    engine = create_engine(settings.database_url)
    try:
        buckets = SharedBuckets(engine, per_minute=60, prefix="key:")
        assert await buckets.charge("key:old") == 0
        assert await buckets.charge("ip:other") == 0  # another limit's bucket: not this sweep's
        async with engine.begin() as connection:  # idle for 11 s: full again (10 in 10 s)
            await connection.execute(
                text("UPDATE rate_limit_buckets SET updated_at = updated_at - 11")
            )
        buckets.swept -= SWEEP_EVERY + 1
        assert await buckets.charge("key:new") == 0
        async with engine.connect() as connection:
            left = (await connection.execute(text("SELECT bucket FROM rate_limit_buckets"))).all()
        assert sorted(bucket for (bucket,) in left) == ["ip:other", "key:new"]
    finally:
        await engine.dispose()
        await _empty_tables(settings.database_url)
