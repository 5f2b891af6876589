"""Admin API: issuers, their signing keys and API keys, the audit trail, the trust list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from app.api.auth import AdminDep
from app.api.deps import IssuingDep, SessionDep, SettingsDep
from app.db.models import utcnow
from app.schemas import (
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
from app.services import apikeys, audit, issuers, status, trust
from app.services.admin import (
    create_issuer_from,
    issuer_out,
    key_out,
    put_trusted_from,
    trust_entry_out,
)

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[AdminDep])


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


@router.put("/trust/{did}")
async def put_trusted_issuer(
    did: TrustedDid, body: TrustEntryRequest, session: SessionDep
) -> TrustEntryReply:
    """Put an issuer DID on the service's own trust list (or replace its entry)."""
    return await put_trusted_from(session, did, body)


@router.delete("/trust/{did}", status_code=204, responses={404: {"description": "Not on the list"}})
async def delete_trusted_issuer(did: TrustedDid, session: SessionDep) -> Response:
    await trust.remove_entry(session, did)
    return Response(status_code=204)


@router.get("/trust")
async def list_trusted_issuers(session: SessionDep) -> TrustListReply:
    return TrustListReply(entries=[trust_entry_out(e) for e in await trust.list_entries(session)])
