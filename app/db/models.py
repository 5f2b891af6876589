"""SQLModel tables. Alembic migrations (``migrations/``) are the only way the schema is made.

Column types are portable across SQLite and PostgreSQL: JSON, timezone-aware timestamps,
LargeBinary for ciphertext.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Dialect, LargeBinary, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Issuer(SQLModel, table=True):
    __tablename__ = "issuers"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True, index=True)
    did: str = Field(max_length=512, unique=True)
    did_method: str = Field(max_length=8)
    name: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    country: str = Field(max_length=3)
    legal_identifier: str = Field(max_length=128)
    homepage: str | None = Field(default=None, max_length=2048)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SigningKey(SQLModel, table=True):
    """An issuer's Ed25519 key; the seed is stored only as authenticated ciphertext."""

    __tablename__ = "signing_keys"
    __table_args__ = (UniqueConstraint("issuer_id", "key_id"),)

    id: int | None = Field(default=None, primary_key=True)
    issuer_id: int = Field(foreign_key="issuers.id", index=True)
    #: the verification method id (``did#fragment``)
    key_id: str = Field(max_length=600)
    public_key_multibase: str = Field(max_length=64)
    encrypted_seed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    #: active (signs now) | retired (verifies older credentials) | revoked (compromised)
    status: str = Field(max_length=8)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class ApiKey(SQLModel, table=True):
    """An issuer's API key: only a hash of its secret is kept."""

    __tablename__ = "api_keys"

    id: str = Field(primary_key=True, max_length=32)
    issuer_id: int = Field(foreign_key="issuers.id", index=True)
    name: str = Field(max_length=200)
    secret_hash: str = Field(max_length=64)
    scopes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class AuditEvent(SQLModel, table=True):
    """Who did what, when: read by the admin."""

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    actor: str = Field(max_length=64)
    issuer_id: int | None = Field(default=None, foreign_key="issuers.id", index=True)
    action: str = Field(max_length=64)
    target: str | None = Field(default=None, max_length=600)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
