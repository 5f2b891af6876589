"""Finding an issuer's credentials and changing the status of many at once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from starlette.background import BackgroundTask

from app.api.auth import ReadCaller, StatusCaller
from app.api.deps import SessionDep, services_of
from app.limits import ParsedOnceRoute
from app.problems import ValidationFailed
from app.services import bulk_status, credential_search
from app.services.credential_search import CredentialFilter

router = APIRouter(tags=["issuing"], route_class=ParsedOnceRoute)

SearchText = Annotated[str, StringConstraints(min_length=1, max_length=300)]


class CourseRef(BaseModel):
    id: str = Field(description="The course id")
    version: int | None = Field(description="The course version it was issued from")


class LearnerRef(BaseModel):
    identifier: str | None = Field(
        description="The learner reference stored at issue time: `scheme:value` of the "
        "learner's identifier, else the e-mail address or DID"
    )
    name: str | None = Field(description="The learner's name as issued")


class ListedCredential(BaseModel):
    id: str = Field(description="The credential's id in this service (`/credentials/{id}`)")
    learner: LearnerRef = Field(
        description="who the credential was issued to, as recorded at issue time"
    )
    course: CourseRef | None = Field(description="The course version, for course credentials")
    format: str = Field(description="`edc`, `obv3`, or `vc` (VC-API issue)")
    issuedAt: datetime = Field(
        description="when the credential was issued (ISO 8601 date-time, UTC)"
    )
    revoked: bool = Field(description="whether the credential is revoked")
    suspended: bool = Field(description="whether the credential is suspended now")


class CredentialListReply(BaseModel):
    items: list[ListedCredential] = Field(description="the credentials of this page, newest first")
    next: str | None = Field(
        description="The cursor of the next page (pass it as `cursor`); null on the last page"
    )


class CredentialQuery(BaseModel):
    """The filters of `GET /credentials`, as an object."""

    model_config = ConfigDict(extra="forbid")

    learner: SearchText | None = Field(
        default=None,
        description="the learner's identifier value, e-mail address or DID (exact match)",
    )
    name: SearchText | None = Field(
        default=None, description="part of the learner's name; case and accents are ignored"
    )
    course: SearchText | None = Field(
        default=None, description="a course id: only credentials issued from that course"
    )
    courseVersion: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="with ``course``: only credentials issued from that version (from 1)",
    )
    status: Literal["active", "revoked", "suspended"] | None = Field(
        default=None,
        description="``active`` (neither revoked nor suspended), ``revoked``, or "
        "``suspended`` (leaves out revoked credentials)",
    )
    issuedFrom: AwareDatetime | None = Field(
        default=None, description="issued at or after this moment (RFC 3339 date-time with offset)"
    )
    issuedTo: AwareDatetime | None = Field(
        default=None, description="issued before this moment (RFC 3339 date-time with offset)"
    )

    def to_filter(self) -> CredentialFilter:
        return CredentialFilter(
            learner=self.learner,
            name=self.name,
            course=self.course,
            course_version=self.courseVersion,
            status=self.status,
            issued_from=self.issuedFrom,
            issued_to=self.issuedTo,
        )


@router.get("/credentials", response_model=CredentialListReply)
async def list_credentials(
    session: SessionDep,
    caller: ReadCaller,
    learner: Annotated[
        SearchText | None,
        Query(description="The learner's identifier value, e-mail or DID (exact)"),
    ] = None,
    name: Annotated[
        SearchText | None,
        Query(description="Part of the learner's name; case and accents are ignored"),
    ] = None,
    course: Annotated[SearchText | None, Query(description="A course id")] = None,
    courseVersion: Annotated[int | None, Query(ge=1, description="With `course`")] = None,
    status: Annotated[
        Literal["active", "revoked", "suspended"] | None,
        Query(description="`suspended` leaves out revoked credentials"),
    ] = None,
    issuedFrom: Annotated[
        AwareDatetime | None, Query(description="Issued at or after (RFC 3339)")
    ] = None,
    issuedTo: Annotated[AwareDatetime | None, Query(description="Issued before (RFC 3339)")] = None,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next` of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=credential_search.MAX_PAGE)] = 50,
) -> CredentialListReply:
    """The calling issuer's credentials, newest first, filtered; a page at a time."""
    page = await credential_search.search(
        session,
        caller.issuer,
        CredentialQuery(
            learner=learner,
            name=name,
            course=course,
            courseVersion=courseVersion,
            status=status,
            issuedFrom=issuedFrom,
            issuedTo=issuedTo,
        ).to_filter(),
        cursor=cursor,
        limit=limit,
    )
    return CredentialListReply(
        items=[
            ListedCredential(
                id=item.credential.id,
                learner=LearnerRef(
                    identifier=item.credential.learner_ref, name=item.credential.learner_name
                ),
                course=(
                    CourseRef(id=item.credential.course_id, version=item.credential.course_version)
                    if item.credential.course_id
                    else None
                ),
                format=item.credential.format,
                issuedAt=item.credential.created_at,
                revoked=item.revoked,
                suspended=item.suspended,
            )
            for item in page.items
        ],
        next=page.next,
    )


CredentialRef = Annotated[str, StringConstraints(min_length=1, max_length=2048)]


class BulkStatusRequest(BaseModel):
    """Either `credentialIds` or `filter`; `status: true` sets the bit of `statusPurpose`."""

    model_config = ConfigDict(extra="forbid")

    credentialIds: (
        Annotated[list[CredentialRef], Field(min_length=1, max_length=bulk_status.MAX_IDS)] | None
    ) = Field(
        default=None,
        description="Our ids, the credentials' `id`s or your `credentialId`s "
        f"(at most {bulk_status.MAX_IDS})",
    )
    filter: CredentialQuery | None = Field(
        default=None,
        description=f"The filters of GET /credentials; above {bulk_status.MAX_IDS} matches the "
        "change runs as a job (202)",
    )
    statusPurpose: Literal["revocation", "suspension"] = Field(
        description="which status to change: ``revocation`` (final) or ``suspension`` (reversible)"
    )
    status: bool = Field(description="true sets the bit (revoke, suspend), false clears it")
    reason: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        default=None,
        description="Kept with each status entry and in the audit trail; not part of the "
        "signed status list (README, 'Status reasons')",
    )


class BulkStatusReply(BaseModel):
    changed: list[str] = Field(
        description="the credentials whose status was changed, as named in the "
        "request (or our ids, for a filter)"
    )
    unchanged: list[str] = Field(description="Already in the requested state")
    notFound: list[str] = Field(description="Not a credential of the calling issuer")
    notApplicable: list[str] = Field(description="Issued without an entry for this status purpose")


class JobAcceptedReply(BaseModel):
    id: str = Field(
        description="the job's id: follow GET /jobs/{id} (the Location header) for its progress"
    )
    state: str = Field(description="the job's state when accepted: ``queued``")


@router.post(
    "/credentials/status/bulk",
    response_model=BulkStatusReply,
    responses={
        202: {
            "model": JobAcceptedReply,
            "description": "A filter matched many: the change is a job",
        },
        409: {"description": "Revocation cannot be undone"},
    },
)
async def change_status_in_bulk(
    body: BulkStatusRequest, request: Request, session: SessionDep, caller: StatusCaller
) -> Any:
    """Revoke, suspend or unsuspend many credentials of the calling issuer, with a reason."""
    if (body.credentialIds is None) == (body.filter is None):
        raise ValidationFailed(
            "give either credentialIds or filter",
            errors=[{"pointer": "", "detail": "exactly one of credentialIds, filter"}],
        )
    bulk_status.check_change(body.statusPurpose, body.status)
    ids = body.credentialIds
    if body.filter is not None:
        ids = await credential_search.matching_ids(
            session,
            caller.issuer,
            body.filter.to_filter(),
            limit=bulk_status.MAX_JOB_ROWS + 1,
        )
        if len(ids) > bulk_status.MAX_JOB_ROWS:
            raise ValidationFailed(
                f"the filter matches more than {bulk_status.MAX_JOB_ROWS:,} credentials",
                errors=[{"pointer": "/filter", "detail": "narrow the filter"}],
            )
        if len(ids) > bulk_status.MAX_IDS:
            job = await bulk_status.queue_job(
                session,
                caller.issuer,
                ids,
                body.statusPurpose,
                body.status,
                actor=caller.actor,
                reason=body.reason,
            )
            runner = services_of(request).job_runner
            return JSONResponse(
                JobAcceptedReply(id=job.id, state=job.state).model_dump(),
                status_code=202,
                headers={"Location": f"/jobs/{job.id}"},
                # After the request's transaction committed: the job is there to claim.
                background=BackgroundTask(runner.wake) if runner is not None else None,
            )
    assert ids is not None
    outcome = await bulk_status.change_and_commit(
        session,
        caller.issuer,
        ids,
        body.statusPurpose,
        body.status,
        actor=caller.actor,
        reason=body.reason,
    )
    return BulkStatusReply(
        changed=outcome.changed,
        unchanged=outcome.unchanged,
        notFound=outcome.not_found,
        notApplicable=outcome.not_applicable,
    )
