"""Status changes (issuer API key) and the public, signed status lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse
from sqlmodel.ext.asyncio.session import AsyncSession

from app.api.auth import StatusCaller
from app.api.deps import IssuingDep, SessionDep
from app.api.schemas.issuing import StatusPurposeRef, StatusReply, StatusUpdateRequest
from app.services import issuance, status

router = APIRouter()


@router.post(
    "/credentials/status",
    tags=["issuing"],
    responses={
        404: {"description": "Unknown credential"},
        409: {"description": "Revocation cannot be undone"},
    },
)
async def update_status(
    body: StatusUpdateRequest, session: SessionDep, caller: StatusCaller
) -> StatusReply:
    """Revoke (final), suspend or unsuspend a credential of the calling issuer."""
    if isinstance(body.credentialStatus, StatusPurposeRef):
        changes = status.requested_changes(body.credentialStatus.statusPurpose, body.status)
    else:
        named = [change.status for change in body.credentialStatus]
        changes = status.requested_changes(None, None, named)
    credential = await issuance.find_credential(session, caller.issuer, body.credentialId)
    flags = await status.current_status(session, credential.id)
    for purpose, value in changes:
        flags = await status.set_status(
            session, credential, purpose, value, actor=caller.actor, reason=body.reason
        )
    return StatusReply(credentialId=body.credentialId, **flags)


@router.get(
    "/status-lists/{list_id}",
    tags=["public"],
    responses={
        200: {
            "content": {"application/vc+ld+json": {}},
            "description": "The signed BitstringStatusListCredential",
        },
        304: {"description": "Not modified (If-None-Match)"},
        404: {"description": "Unknown status list"},
    },
)
async def get_status_list(
    list_id: str,
    session: SessionDep,
    issuing: IssuingDep,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    """A signed ``BitstringStatusListCredential`` (VC 2.0) of at least 131,072 entries."""
    published, headers = await published_list(session, issuing, list_id)
    if not_modified(published, if_none_match):
        return Response(status_code=304, headers=headers)
    return JSONResponse(published.document, headers=headers, media_type="application/vc+ld+json")


async def published_list(
    session: AsyncSession, issuing: issuance.Issuing, list_id: str, kind: str = status.BITSTRING
) -> tuple[status.PublishedList, dict[str, str]]:
    """A status list as served, with its caching headers (``ETag``, ``Cache-Control``)."""
    published = await status.published_list(
        session,
        list_id,
        policy=issuing.policy,
        data_integrity=issuing.data_integrity,
        key_cache=issuing.key_cache,
        kind=kind,
    )
    max_age = int(issuing.policy.ttl.total_seconds())
    return published, {"ETag": published.etag, "Cache-Control": f"public, max-age={max_age}"}


def not_modified(published: status.PublishedList, if_none_match: str | None) -> bool:
    """Whether ``If-None-Match`` names the list's current ETag (a 304)."""
    return if_none_match is not None and published.etag in {
        tag.strip() for tag in if_none_match.split(",")
    }
