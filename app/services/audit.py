"""The audit trail: one row per change, in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.models import AuditEvent, utcnow

ADMIN = "admin"


def api_key_actor(api_key_id: str) -> str:
    return f"api-key:{api_key_id}"


def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    issuer_id: int | None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add the event to the session: written with the session's next flush."""
    event = AuditEvent(**event_values(actor, action, issuer_id, target, details))
    session.add(event)
    return event


_INSERT = insert(AuditEvent.__table__)  # type: ignore[attr-defined]


async def write(session: AsyncSession, event: dict[str, Any]) -> None:
    """Insert ``event`` (:func:`event_values`) now, without the session's unit of work (the
    issuing path's way)."""
    await session.exec(_INSERT, params=event)


def event_values(
    actor: str,
    action: str,
    issuer_id: int | None,
    target: str | None,
    details: dict[str, Any] | None,
) -> dict[str, Any]:
    """The ``audit_events`` row of one event, stamped now."""
    return {
        "at": utcnow(),
        "actor": actor,
        "issuer_id": issuer_id,
        "action": action,
        "target": target,
        "details": details or {},
    }


async def events(
    session: AsyncSession,
    *,
    issuer_id: int | None = None,
    limit: int = 100,
    before: int | None = None,
) -> Sequence[AuditEvent]:
    query = select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(limit)
    if issuer_id is not None:
        query = query.where(AuditEvent.issuer_id == issuer_id)
    if before is not None:
        query = query.where(col(AuditEvent.id) < before)
    return (await session.exec(query)).all()
