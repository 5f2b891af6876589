"""Administration the admin API and the ``microcred`` command share: creating issuers, putting
issuers on the trust list, and the replies that describe issuers, keys and trust entries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.db.models import Issuer, SigningKey, TrustedIssuer
from app.schemas import (
    IssuerCreateRequest,
    IssuerReply,
    KeyReply,
    TrustEntryReply,
    TrustEntryRequest,
)
from app.services import issuers, trust


def key_out(key: SigningKey) -> KeyReply:
    return KeyReply(
        id=issuers.fragment(key),
        verificationMethod=key.key_id,
        publicKeyMultibase=key.public_key_multibase,
        status=key.status,
        created=key.created_at,
    )


def issuer_out(issuer: Issuer, keys: Sequence[SigningKey]) -> IssuerReply:
    return IssuerReply(
        slug=issuer.slug,
        did=issuer.did,
        name=issuer.name,
        country=issuer.country,
        legalIdentifier=issuer.legal_identifier,
        homepage=issuer.homepage,
        didMethod=issuer.did_method,
        suspensionEnabled=issuer.suspension_enabled,
        keys=[key_out(k) for k in keys],
    )


async def create_issuer_from(
    session: AsyncSession, body: IssuerCreateRequest, settings: Settings
) -> IssuerReply:
    """Create an issuer from an admin request ."""
    issuer, keys = await issuers.create_issuer(
        session,
        slug=body.slug,
        name=body.name,
        country=body.country,
        legal_identifier=body.legalIdentifier,
        homepage=body.homepage,
        did_method=body.didMethod,
        suspension_enabled=body.suspensionEnabled,
        public_url=settings.public_url,
        master_key=settings.master_key_bytes,
    )
    return issuer_out(issuer, keys)


def trust_entry_out(entry: TrustedIssuer) -> TrustEntryReply:
    return TrustEntryReply(
        did=entry.did,
        legalName=entry.legal_name,
        country=entry.country,
        legalIdentifier=entry.legal_identifier,
        accreditation=entry.accreditation,
        note=entry.note,
        updated=entry.updated_at,
    )


async def put_trusted_from(
    session: AsyncSession, did: str, body: TrustEntryRequest
) -> TrustEntryReply:
    """Put ``did`` on the trust list from an admin request."""
    entry = await trust.put_entry(
        session,
        did,
        legal_name=body.legalName,
        country=body.country,
        legal_identifier=body.legalIdentifier,
        accreditation=body.accreditation,
        note=body.note,
    )
    return trust_entry_out(entry)
