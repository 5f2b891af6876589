"""Status changes (issuer API key) and the public, signed status lists."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.api.auth import StatusCaller
from app.api.deps import SessionDep
from app.problems import ValidationFailed
from app.services import issuance, status

router = APIRouter()

EntryType = Literal["BitstringStatusListEntry"]
Reason = Annotated[str, StringConstraints(max_length=500)]


class StatusPurposeRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: EntryType = "BitstringStatusListEntry"
    statusPurpose: Literal["revocation", "suspension"]


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: EntryType = "BitstringStatusListEntry"
    status: Literal["revoked", "suspended", "unsuspended"]


class StatusUpdate(BaseModel):
    """VC-API form (``credentialStatus`` object + ``status`` boolean) or the named-change form."""

    model_config = ConfigDict(extra="forbid")
    credentialId: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
    credentialStatus: (
        StatusPurposeRef | Annotated[list[StatusChange], Field(min_length=1, max_length=3)]
    )
    status: bool | None = None
    reason: Reason | None = None


class StatusReply(BaseModel):
    credentialId: str
    revoked: bool
    suspended: bool


CHANGES: dict[str, tuple[str, bool]] = {
    "revoked": (status.REVOCATION, True),
    "suspended": (status.SUSPENSION, True),
    "unsuspended": (status.SUSPENSION, False),
}


@router.post(
    "/credentials/status",
    tags=["issuing"],
    responses={
        404: {"description": "Unknown credential"},
        409: {"description": "Revocation cannot be undone"},
    },
)
async def update_status(
    body: StatusUpdate, session: SessionDep, caller: StatusCaller
) -> StatusReply:
    """Revoke (final), suspend or unsuspend a credential of the calling issuer."""
    if isinstance(body.credentialStatus, StatusPurposeRef):
        if body.status is None:
            raise ValidationFailed(
                "status is required with a credentialStatus object",
                errors=[{"pointer": "/status", "detail": "a boolean is required"}],
            )
        changes: list[tuple[str, bool]] = [(body.credentialStatus.statusPurpose, body.status)]
    else:
        changes = [CHANGES[change.status] for change in body.credentialStatus]
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
    request: Request,
    session: SessionDep,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    """A signed ``BitstringStatusListCredential`` (VC 2.0) of at least 131,072 entries."""
    issuing: issuance.Issuing = request.app.state.issuing
    published = await status.published_list(
        session,
        list_id,
        policy=issuing.policy,
        data_integrity=issuing.data_integrity,
        key_cache=issuing.key_cache,
    )
    max_age = int(issuing.policy.ttl.total_seconds())
    headers = {"ETag": published.etag, "Cache-Control": f"public, max-age={max_age}"}
    if if_none_match is not None and published.etag in {
        tag.strip() for tag in if_none_match.split(",")
    }:
        return Response(status_code=304, headers=headers)
    return JSONResponse(published.document, headers=headers, media_type="application/vc+ld+json")
