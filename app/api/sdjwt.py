"""SD-JWT VC public documents: Type Metadata at each ``vct`` URL and Token Status List tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse

from app.api.auth import AdminDep
from app.api.deps import IssuingDep, SessionDep, services_of
from app.api.schemas.sdjwt import (
    DisclosurePolicyReply,
    DisclosurePolicyRequest,
)
from app.api.status import not_modified, published_list
from app.sdjwt.microcredential import CLAIM_ORDER, DisclosurePolicy
from app.services import issuance, issuers, sdjwt, status
from app.status.tokenstatus import MEDIA_TYPE

router = APIRouter(tags=["public"])
admin_router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[AdminDep])


def _policy_out(selectable: list[str] | None) -> DisclosurePolicyReply:
    policy = DisclosurePolicy.of(selectable)
    return DisclosurePolicyReply(
        selectable=sorted(policy.selectable),
        default=selectable is None,
        always=[claim for claim in CLAIM_ORDER if claim not in policy.selectable],
    )


@admin_router.get(
    "/issuers/{slug}/sd-jwt-policy", responses={404: {"description": "No such issuer"}}
)
async def get_disclosure_policy(slug: str, session: SessionDep) -> DisclosurePolicyReply:
    """The issuer's SD-JWT VC disclosure policy."""
    issuer = await issuers.get_issuer(session, slug)
    return _policy_out(issuer.sd_jwt_selectable)


@admin_router.put(
    "/issuers/{slug}/sd-jwt-policy",
    responses={
        404: {"description": "No such issuer"},
        422: {"description": "A mandatory or unknown claim"},
    },
)
async def set_disclosure_policy(
    slug: str, body: DisclosurePolicyRequest, session: SessionDep
) -> DisclosurePolicyReply:
    """Which claims of the issuer's SD-JWT VCs a holder may leave out (issuer, title, level,
    workload and award date are always disclosed); applies to credentials issued from now on."""
    issuer = await issuers.get_issuer(session, slug)
    await sdjwt.set_policy(session, issuer, body.selectable)
    return _policy_out(issuer.sd_jwt_selectable)


@router.get(
    "/vct/{issuer_slug}/{kind}",
    responses={
        200: {"description": "SD-JWT VC Type Metadata"},
        404: {"description": "Unknown issuer or credential type"},
    },
)
async def get_type_metadata(
    issuer_slug: str, kind: str, request: Request, session: SessionDep
) -> JSONResponse:
    """The Type Metadata of an issuer's SD-JWT VC type (display names, claim metadata)."""
    issuing: issuance.Issuing = services_of(request).issuing
    document = await sdjwt.metadata(session, issuer_slug, kind, issuing.policy.public_url)
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=3600"})


@router.get(
    "/token-status-lists/{list_id}",
    responses={
        200: {
            "content": {MEDIA_TYPE: {"schema": {"type": "string"}}},
            "description": "The signed Status List Token (IETF Token Status List)",
        },
        304: {"description": "Not modified (If-None-Match)"},
        404: {"description": "Unknown status list"},
    },
)
async def get_token_status_list(
    list_id: str,
    session: SessionDep,
    issuing: IssuingDep,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    """A ``statuslist+jwt`` of 1 or 2 bits per entry (0 valid, 1 revoked, 2 suspended)."""
    published, headers = await published_list(session, issuing, list_id, kind=status.TOKEN)
    if not_modified(published, if_none_match):
        return Response(status_code=304, headers=headers)
    token = published.document[status.TOKEN_KEY]
    return Response(token, headers=headers, media_type=MEDIA_TYPE)
