"""Single-use presentation challenges with an expiry, kept in the ``nonces`` table.

A challenge is consumed by one conditional ``UPDATE`` (unused, not expired), so of two concurrent
verifications presenting the same challenge only one succeeds, whichever process runs them.
Our challenges carry a prefix: one that has the prefix but no row (never issued, or cleaned up
long after it expired) fails like an expired one instead of passing as a caller-managed value,
so deleting old rows never turns a used challenge into a usable one.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.models import Nonce

PURPOSE = "challenge"
PREFIX = "mcc_"
#: Expired challenges are deleted this long after they expire (when new ones are made).
RETENTION = timedelta(days=1)

ChallengeState = Literal["accepted", "used", "expired", "unknown"]


def is_ours(value: str) -> bool:
    """Whether ``value`` has the form of a challenge this service issues."""
    return value.startswith(PREFIX)


async def create_challenge(session: AsyncSession, *, ttl: timedelta, now: datetime) -> Nonce:
    """A new random challenge valid for ``ttl``; long-expired ones are removed meanwhile."""
    await session.exec(
        delete(Nonce).where(col(Nonce.purpose) == PURPOSE, col(Nonce.expires_at) < now - RETENTION)
    )
    nonce = Nonce(
        value=PREFIX + secrets.token_urlsafe(32),
        purpose=PURPOSE,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(nonce)
    await session.flush()
    return nonce


async def consume(session: AsyncSession, value: str, *, now: datetime) -> ChallengeState:
    """Mark ``value`` used if it is an unused, unexpired challenge; say why not otherwise."""
    changed = await session.exec(
        update(Nonce)
        .where(
            col(Nonce.value) == value,
            col(Nonce.purpose) == PURPOSE,
            col(Nonce.used_at).is_(None),
            col(Nonce.expires_at) > now,
        )
        .values(used_at=now)
    )
    if changed.rowcount == 1:
        return "accepted"
    row = await session.get(Nonce, value)
    if row is None or row.purpose != PURPOSE:
        return "expired" if is_ours(value) else "unknown"
    return "used" if row.used_at is not None else "expired"


async def consume_and_commit(
    sessionmaker: async_sessionmaker[AsyncSession], value: str, *, now: datetime
) -> ChallengeState:
    """:func:`consume` in a transaction of its own, committed before this returns: a named
    exception to the rule that only the request's session commits (:mod:`app.db.session`).

    The verifier runs outside any request's transaction, and a challenge must be spent for good
    once a verification has accepted it, whatever happens to the request afterwards.
    """
    async with sessionmaker() as session:
        state = await consume(session, value, now=now)
        await session.commit()
    return state
