"""The audit trail: one row per change, in the same transaction as the change.

Every row is made by :func:`event_values` and inserted at once by :func:`record` (issuing inserts
the same row with its credential, :mod:`app.db.store`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import store
from app.db.models import AuditEvent, utcnow

ADMIN = "admin"


def api_key_actor(api_key_id: str) -> str:
    return f"api-key:{api_key_id}"


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    issuer_id: int | None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Insert the event now, in the session's transaction."""
    await store.insert_audit_event(session, event_values(actor, action, issuer_id, target, details))


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
