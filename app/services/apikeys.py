"""Issuer API keys: shown once, stored as a hash, scoped, revocable at once.

A key reads ``mck_<id>_<secret>``: the id finds the row, the secret is compared in constant time
with the stored SHA-256 (the secret is 256 random bits, so a plain hash is not guessable).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.models import ApiKey, Issuer, utcnow
from app.problems import API_KEY_NOT_FOUND, NotFound
from app.services import audit

SCOPES = (
    "credentials:issue",
    "credentials:status",
    "credentials:read",
    "courses:write",
    "courses:read",
    "presentations:request",
)
PREFIX = "mck"


class ApiKeyNotFound(NotFound):
    type = API_KEY_NOT_FOUND
    title = "API key not found"


@dataclass(frozen=True)
class Caller:
    """Who is calling with an API key: the issuer it belongs to and what it may do."""

    issuer: Issuer
    api_key_id: str
    scopes: frozenset[str]

    @property
    def actor(self) -> str:
        return audit.api_key_actor(self.api_key_id)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def split_key(presented: str) -> tuple[str, str] | None:
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


async def create_api_key(
    session: AsyncSession,
    issuer: Issuer,
    *,
    name: str,
    scopes: Sequence[str],
    actor: str = audit.ADMIN,
) -> tuple[ApiKey, str]:
    """Make a key; the full key string is returned here and never again."""
    assert issuer.id is not None
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    row = ApiKey(
        id=key_id,
        issuer_id=issuer.id,
        name=name,
        secret_hash=hash_secret(secret),
        scopes=sorted(set(scopes)),
        created_at=utcnow(),
    )
    session.add(row)
    await audit.record(
        session,
        actor=actor,
        action="api_key.created",
        issuer_id=issuer.id,
        target=key_id,
        details={"name": name, "scopes": row.scopes},
    )
    await session.flush()
    return row, f"{PREFIX}_{key_id}_{secret}"


async def list_api_keys(session: AsyncSession, issuer: Issuer) -> Sequence[ApiKey]:
    query = select(ApiKey).where(ApiKey.issuer_id == issuer.id, col(ApiKey.revoked_at).is_(None))
    return (await session.exec(query.order_by(col(ApiKey.created_at)))).all()


async def delete_api_key(
    session: AsyncSession, issuer: Issuer, key_id: str, *, actor: str = audit.ADMIN
) -> None:
    query = select(ApiKey).where(
        ApiKey.id == key_id, ApiKey.issuer_id == issuer.id, col(ApiKey.revoked_at).is_(None)
    )
    row = (await session.exec(query)).first()
    if row is None:
        raise ApiKeyNotFound(f"issuer {issuer.slug!r} has no API key {key_id!r}")
    row.revoked_at = utcnow()
    session.add(row)
    await audit.record(
        session, actor=actor, action="api_key.deleted", issuer_id=issuer.id, target=key_id
    )
    await session.flush()


#: Built once: every authenticated request runs it.
_CALLER = (
    select(ApiKey, Issuer)
    .join(Issuer, col(Issuer.id) == col(ApiKey.issuer_id))
    .where(col(ApiKey.id) == bindparam("key_id"), col(ApiKey.revoked_at).is_(None))
)


async def authenticate(session: AsyncSession, presented: str) -> Caller | None:
    """The caller behind a presented key, or None (unknown, deleted or wrong secret)."""
    parts = split_key(presented)
    if parts is None:
        return None
    key_id, secret = parts
    found = (await session.exec(_CALLER, params={"key_id": key_id})).first()
    # Compare even when nothing was found, so timing does not tell whether the id exists.
    expected = found[0].secret_hash if found else hash_secret(secrets.token_urlsafe(32))
    if not hmac.compare_digest(expected, hash_secret(secret)) or found is None:
        return None
    row, issuer = found
    return Caller(issuer=issuer, api_key_id=row.id, scopes=frozenset(row.scopes))
