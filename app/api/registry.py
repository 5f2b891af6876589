"""Finding an issuer's credentials and changing the status of many at once."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime
from starlette.background import BackgroundTask

from app.api.auth import ReadCaller, StatusCaller
from app.api.deps import SessionDep, services_of
from app.api.schemas.registry import (
    BulkStatusReply,
    BulkStatusRequest,
    CourseRef,
    CredentialListReply,
    CredentialQuery,
    JobAcceptedReply,
    LearnerRef,
    ListedCredential,
    SearchText,
)
from app.limits import ParsedOnceRoute
from app.problems import ValidationFailed
from app.services import bulk_status, credential_search

router = APIRouter(tags=["issuing"], route_class=ParsedOnceRoute)


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
