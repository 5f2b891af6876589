"""The service's own issuer trust list: DIDs an admin vouches for, with their legal identity.

An issuer hosted here is not trusted for being hosted here: only an admin's entry on this list
(or a configured registry) makes a verdict say that someone vouches for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.models import TrustedIssuer, utcnow
from app.problems import TRUST_ENTRY_NOT_FOUND, NotFound
from app.services import audit


class TrustEntryNotFound(NotFound):
    type = TRUST_ENTRY_NOT_FOUND
    title = "Not on the trust list"


async def put_entry(
    session: AsyncSession,
    did: str,
    *,
    legal_name: str,
    country: str,
    legal_identifier: str,
    accreditation: dict[str, Any] | None,
    note: str | None,
) -> TrustedIssuer:
    """Put ``did`` on the list, or replace its entry (PUT semantics); audited."""
    now = utcnow()
    entry = await session.get(TrustedIssuer, did)
    if entry is None:
        entry = TrustedIssuer(
            did=did,
            legal_name=legal_name,
            country=country,
            legal_identifier=legal_identifier,
            created_at=now,
            updated_at=now,
        )
    entry.legal_name = legal_name
    entry.country = country
    entry.legal_identifier = legal_identifier
    entry.accreditation = accreditation
    entry.note = note
    entry.updated_at = now
    session.add(entry)
    await audit.record(
        session,
        actor=audit.ADMIN,
        action="trust.put",
        issuer_id=None,
        target=did,
        details={"legalName": legal_name, "country": country},
    )
    await session.flush()
    return entry


async def remove_entry(session: AsyncSession, did: str) -> None:
    entry = await session.get(TrustedIssuer, did)
    if entry is None:
        raise TrustEntryNotFound(f"{did!r} is not on the trust list")
    await session.delete(entry)
    await audit.record(
        session, actor=audit.ADMIN, action="trust.delete", issuer_id=None, target=did
    )
    await session.flush()


async def list_entries(session: AsyncSession) -> Sequence[TrustedIssuer]:
    return (await session.exec(select(TrustedIssuer).order_by(col(TrustedIssuer.did)))).all()


async def find_entry(session: AsyncSession, did: str) -> TrustedIssuer | None:
    return await session.get(TrustedIssuer, did)


def entry_json(entry: TrustedIssuer) -> dict[str, Any]:
    """An entry as the API shows it (the admin list and a verdict's ``sources``)."""
    body: dict[str, Any] = {
        "did": entry.did,
        "legalName": entry.legal_name,
        "country": entry.country,
        "legalIdentifier": entry.legal_identifier,
        "accreditation": entry.accreditation,
        "note": entry.note,
    }
    return body
