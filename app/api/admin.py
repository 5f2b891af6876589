"""Admin API: issuers, their signing keys and API keys, the audit trail, the trust list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from app.api.auth import AdminDep
from app.api.deps import IssuingDep, SessionDep, SettingsDep
from app.api.schemas.admin import (
    ApiKeyCreatedReply,
    ApiKeyCreateRequest,
    ApiKeyListReply,
    ApiKeyReply,
    AuditEventReply,
    AuditListReply,
    Did,
    IssuerCreateRequest,
    IssuerListReply,
    IssuerReply,
    KeyReply,
    TrustEntryReply,
    TrustEntryRequest,
    TrustListReply,
)
from app.config import Settings
from app.db.models import Issuer, SigningKey, TrustedIssuer, utcnow
from app.services import apikeys, audit, issuers, status, trust

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[AdminDep])


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
    """Create an issuer from an admin request (the HTTP API and the CLI share this)."""
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


@router.post("/issuers", status_code=201, responses={409: {"description": "Slug taken"}})
async def create_issuer(
    body: IssuerCreateRequest, session: SessionDep, settings: SettingsDep, response: Response
) -> IssuerReply:
    created = await create_issuer_from(session, body, settings)
    response.headers["Location"] = f"/admin/issuers/{created.slug}"
    return created


@router.get("/issuers")
async def list_issuers(session: SessionDep) -> IssuerListReply:
    found = await issuers.list_issuers(session)
    return IssuerListReply(
        issuers=[issuer_out(i, await issuers.keys_of(session, i.id or 0)) for i in found]
    )


@router.get("/issuers/{slug}", responses={404: {"description": "No such issuer"}})
async def get_issuer(slug: str, session: SessionDep) -> IssuerReply:
    issuer = await issuers.get_issuer(session, slug)
    return issuer_out(issuer, await issuers.keys_of(session, issuer.id or 0))


@router.post(
    "/issuers/{slug}/keys/rotate",
    status_code=201,
    responses={409: {"description": "did:key issuers cannot rotate"}},
)
async def rotate_key(slug: str, session: SessionDep, settings: SettingsDep) -> KeyReply:
    issuer = await issuers.get_issuer(session, slug)
    key = await issuers.rotate_key(session, issuer, master_key=settings.master_key_bytes)
    return key_out(key)


@router.post("/issuers/{slug}/keys/{key_id}/revoke", responses={404: {"description": "No key"}})
async def revoke_key(slug: str, key_id: str, session: SessionDep, issuing: IssuingDep) -> KeyReply:
    """Revoke a key (compromise); the status lists it signed are re-signed with the active key
    at once, or withdrawn (503) until a key is rotated in."""
    issuer = await issuers.get_issuer(session, slug)
    key = await issuers.revoke_key(session, issuer, key_id, key_cache=issuing.key_cache)
    await status.replace_lists_signed_by(
        session,
        issuer,
        key.key_id,
        policy=issuing.policy,
        data_integrity=issuing.data_integrity,
        key_cache=issuing.key_cache,
        now=utcnow(),
    )
    return key_out(key)


@router.post("/issuers/{slug}/api-keys", status_code=201)
async def create_api_key(
    slug: str, body: ApiKeyCreateRequest, session: SessionDep
) -> ApiKeyCreatedReply:
    issuer = await issuers.get_issuer(session, slug)
    row, key = await apikeys.create_api_key(session, issuer, name=body.name, scopes=body.scopes)
    return ApiKeyCreatedReply(
        id=row.id, name=row.name, scopes=row.scopes, created=row.created_at, key=key
    )


@router.get("/issuers/{slug}/api-keys")
async def list_api_keys(slug: str, session: SessionDep) -> ApiKeyListReply:
    issuer = await issuers.get_issuer(session, slug)
    rows = await apikeys.list_api_keys(session, issuer)
    return ApiKeyListReply(
        apiKeys=[
            ApiKeyReply(id=r.id, name=r.name, scopes=r.scopes, created=r.created_at) for r in rows
        ]
    )


@router.delete("/issuers/{slug}/api-keys/{key_id}", status_code=204)
async def delete_api_key(slug: str, key_id: str, session: SessionDep) -> Response:
    issuer = await issuers.get_issuer(session, slug)
    await apikeys.delete_api_key(session, issuer, key_id)
    return Response(status_code=204)


@router.get("/audit")
async def read_audit(
    session: SessionDep,
    issuer: Annotated[str | None, Query(description="only this issuer's events")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[int | None, Query(description="events older than this id")] = None,
) -> AuditListReply:
    issuer_row = await issuers.get_issuer(session, issuer) if issuer else None
    rows = await audit.events(
        session, issuer_id=issuer_row.id if issuer_row else None, limit=limit, before=before
    )
    slugs = {i.id: i.slug for i in await issuers.list_issuers(session)}
    return AuditListReply(
        events=[
            AuditEventReply(
                id=row.id or 0,
                at=row.at,
                actor=row.actor,
                issuer=slugs.get(row.issuer_id) if row.issuer_id else None,
                action=row.action,
                target=row.target,
                details=row.details,
            )
            for row in rows
        ]
    )


TrustedDid = Annotated[
    Did, Path(description="the issuer's DID", examples=["did:web:uni-zed.example"])
]


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


@router.put("/trust/{did}")
async def put_trusted_issuer(
    did: TrustedDid, body: TrustEntryRequest, session: SessionDep
) -> TrustEntryReply:
    """Put an issuer DID on the service's own trust list (or replace its entry)."""
    return await put_trusted_from(session, did, body)


async def put_trusted_from(
    session: AsyncSession, did: str, body: TrustEntryRequest
) -> TrustEntryReply:
    """Put ``did`` on the trust list from an admin request (the HTTP API and the CLI share this)."""
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


@router.delete("/trust/{did}", status_code=204, responses={404: {"description": "Not on the list"}})
async def delete_trusted_issuer(did: TrustedDid, session: SessionDep) -> Response:
    await trust.remove_entry(session, did)
    return Response(status_code=204)


@router.get("/trust")
async def list_trusted_issuers(session: SessionDep) -> TrustListReply:
    return TrustListReply(entries=[trust_entry_out(e) for e in await trust.list_entries(session)])
