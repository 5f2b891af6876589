"""POST /challenges: single-use presentation challenges with an expiry, kept in SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from app.db.models import Nonce
from app.services import challenges

pytestmark = pytest.mark.anyio


async def test_a_challenge_is_random_stored_and_expires(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    before = datetime.now(UTC)
    first = await client.post("/challenges")
    second = await client.post("/challenges")
    assert first.status_code == second.status_code == 201
    assert first.headers["cache-control"] == "no-store"
    body = first.json()
    assert set(body) == {"challenge", "expires"}
    assert body["challenge"] != second.json()["challenge"]
    assert body["challenge"].startswith("mcc_") and len(body["challenge"]) >= 40
    expires = datetime.fromisoformat(body["expires"].replace("Z", "+00:00"))
    ttl = timedelta(seconds=app.state.services.settings.challenge_ttl_seconds)
    assert before + ttl <= expires <= datetime.now(UTC) + ttl
    async with app.state.services.sessionmaker() as session:
        row = await session.get(Nonce, body["challenge"])
    assert row is not None
    assert row.purpose == "challenge" and row.used_at is None
    assert row.expires_at == expires


async def test_a_challenge_is_accepted_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    value = (await client.post("/challenges")).json()["challenge"]
    now = datetime.now(UTC)
    async with app.state.services.sessionmaker() as session:
        assert await challenges.consume(session, value, now=now) == "accepted"
        await session.commit()
    async with app.state.services.sessionmaker() as session:
        assert await challenges.consume(session, value, now=now) == "used"
        row = await session.get(Nonce, value)
        assert row is not None and row.used_at == now


async def test_an_expired_challenge_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    value = (await client.post("/challenges")).json()["challenge"]
    later = datetime.now(UTC) + timedelta(
        seconds=app.state.services.settings.challenge_ttl_seconds + 1
    )
    async with app.state.services.sessionmaker() as session:
        assert await challenges.consume(session, value, now=later) == "expired"
        row = await session.get(Nonce, value)
        assert row is not None and row.used_at is None


async def test_unknown_challenges_are_told_apart_from_ours(app: FastAPI) -> None:
    now = datetime.now(UTC)
    async with app.state.services.sessionmaker() as session:
        assert await challenges.consume(session, "chosen-by-the-caller", now=now) == "unknown"
        # Our form without a row: never issued, or removed long after it expired.
        assert await challenges.consume(session, "mcc_gone", now=now) == "expired"


async def test_a_nonce_of_another_purpose_is_not_a_challenge(app: FastAPI) -> None:
    now = datetime.now(UTC)
    async with app.state.services.sessionmaker() as session:
        session.add(
            Nonce(
                value="c-nonce-1",
                purpose="c_nonce",
                created_at=now,
                expires_at=now + timedelta(minutes=5),
            )
        )
        await session.commit()
    async with app.state.services.sessionmaker() as session:
        assert await challenges.consume(session, "c-nonce-1", now=now) == "unknown"
        row = await session.get(Nonce, "c-nonce-1")
        assert row is not None and row.used_at is None


async def test_long_expired_challenges_are_cleaned_up(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    now = datetime.now(UTC)
    rows = {
        "mcc_old": ("challenge", now - timedelta(days=2)),
        "mcc_recent": ("challenge", now - timedelta(hours=1)),
        "c-nonce-old": ("c_nonce", now - timedelta(days=2)),
    }
    async with app.state.services.sessionmaker() as session:
        for value, (purpose, expires) in rows.items():
            session.add(
                Nonce(
                    value=value,
                    purpose=purpose,
                    created_at=expires - timedelta(minutes=5),
                    expires_at=expires,
                )
            )
        await session.commit()
    assert (await client.post("/challenges")).status_code == 201
    async with app.state.services.sessionmaker() as session:
        left = set((await session.exec(select(Nonce.value))).all())
    assert "mcc_old" not in left
    assert {"mcc_recent", "c-nonce-old"} <= left
