"""Courses (``courses:write`` / ``courses:read``) and issuing a learner's credential from one."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Body, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask

from app.api.auth import CoursesReadCaller, CoursesWriteCaller, IssueCaller
from app.api.credentials import IdempotencyKey, issued_reply
from app.api.deps import SessionDep, SettingsDep, VerifierDep, services_of
from app.api.joint import joint_reply
from app.api.schemas.courses import (
    CourseListReply,
    CourseReply,
)
from app.api.schemas.issuing import IssuedReply
from app.api.schemas.joint import JointCredentialReply
from app.api.schemas.registry import JobAcceptedReply
from app.credentials.course import LEARNER_FIELDS, CourseIn, LearnerFactsIn
from app.credentials.examples import example_request
from app.limits import ParsedOnceRoute
from app.services import cohorts, courses, issuance, joint, spreadsheets

router = APIRouter(tags=["courses"], route_class=ParsedOnceRoute)

_EXAMPLE = example_request(format="edc")
COURSE_EXAMPLE = {
    **{name: value for name, value in _EXAMPLE.items() if name not in LEARNER_FIELDS},
    "published": True,
    "languages": ["en"],
    "subjects": ["0613"],
}
FACTS_EXAMPLE = {name: value for name, value in _EXAMPLE.items() if name in LEARNER_FIELDS}


def _reply(request: Request, state: courses.CourseState) -> CourseReply:
    issuing: issuance.Issuing = services_of(request).issuing
    issuer = request.state.caller.issuer
    return CourseReply(**courses.describe(state, issuer, issuing.policy.public_url))


@router.post(
    "/courses",
    status_code=201,
    response_model=CourseReply,
    responses={422: {"description": "Missing or invalid course elements"}},
)
async def create_course(
    body: Annotated[CourseIn, Body(examples=[COURSE_EXAMPLE])],
    request: Request,
    response: Response,
    session: SessionDep,
    caller: CoursesWriteCaller,
) -> CourseReply:
    """Describe a course once: every element of a micro-credential that is not about the
    learner, plus `published` (listed in the public catalogue), `languages` (of instruction)
    and `subjects` (ISCED-F fields)."""
    state = await courses.create_course(session, caller.issuer, body, actor=caller.actor)
    response.headers["Location"] = f"/courses/{state.course.id}"
    return _reply(request, state)


@router.get("/courses", response_model=CourseListReply)
async def list_courses(
    request: Request, session: SessionDep, caller: CoursesReadCaller
) -> CourseListReply:
    """The caller's courses, each at its current version."""
    states = await courses.list_courses(session, caller.issuer)
    return CourseListReply(items=[_reply(request, state) for state in states])


@router.get(
    "/courses/{course_id}",
    response_model=CourseReply,
    responses={404: {"description": "No such course (or version) of this issuer"}},
)
async def read_course(
    course_id: str,
    request: Request,
    session: SessionDep,
    caller: CoursesReadCaller,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> CourseReply:
    """A course at its current version, or at `version`."""
    state = await courses.get_course(session, caller.issuer, course_id, version)
    return _reply(request, state)


@router.put(
    "/courses/{course_id}",
    response_model=CourseReply,
    responses={
        404: {"description": "No such course of this issuer"},
        422: {"description": "Missing or invalid course elements"},
    },
)
async def update_course(
    course_id: str,
    body: Annotated[CourseIn, Body(examples=[COURSE_EXAMPLE])],
    request: Request,
    session: SessionDep,
    caller: CoursesWriteCaller,
) -> CourseReply:
    """Replace the current version, or make version N+1 when credentials were issued from the
    current one (it stays as it was: its credentials keep pointing to it)."""
    state = await courses.update_course(session, caller.issuer, course_id, body, actor=caller.actor)
    return _reply(request, state)


@router.post(
    "/courses/{course_id}/credentials",
    response_model=IssuedReply,
    status_code=201,
    responses={
        202: {
            "model": JointCredentialReply,
            "description": "A jointly awarded course: the credential's draft, awaiting the "
            "other awarding bodies' proofs (`Location`: its /joint-credentials/{id})",
        },
        404: {"description": "No such course of this issuer"},
        409: {"description": "Idempotency key reused with another body"},
        422: {"description": "Missing or invalid learner facts"},
    },
)
async def issue_from_course(
    course_id: str,
    body: Annotated[LearnerFactsIn, Body(examples=[FACTS_EXAMPLE])],
    request: Request,
    session: SessionDep,
    verifier: VerifierDep,
    settings: SettingsDep,
    caller: IssueCaller,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Issue one learner's micro-credential from the course's current version (`format`,
    `cryptosuite`, `learner`, `awardedOn`, `grade`, `validUntil`, `stack`, and `supervision`
    to override the course's); the credential links to that version's public page. With
    `stack`, each part is verified first (a 422 names every bad part, `/stack/parts/<i>`).

    A jointly awarded course (`jointAwardingBodies`) makes a joint credential's draft instead,
    `edc` or `obv3`, signed by the caller's issuer (the lead): 202 with the draft as
    `GET /joint-credentials/{id}` shows it and `Location: /joint-credentials/{id}`. Each other
    body adds its proof (`POST /joint-credentials/{id}/proofs`); the last one releases the
    credential, which `GET /credentials?course=` then finds. A draft is not replayed: a retry
    drafts again (`Idempotency-Key` is not used)."""
    issuing: issuance.Issuing = services_of(request).issuing
    issued, _ = await courses.issue_from_course(
        session,
        caller.issuer,
        course_id,
        body,
        issuing,
        actor=caller.actor,
        idempotency_key=idempotency_key,
        verifier=verifier,
        joint_ttl=timedelta(seconds=settings.joint_draft_ttl_seconds),
    )
    if isinstance(issued, joint.JointView):
        return JSONResponse(
            joint_reply(issued).model_dump(mode="json", exclude_none=True),
            status_code=202,
            headers={"Location": f"/joint-credentials/{issued.row.id}"},
        )
    return issued_reply(issued)


@router.get(
    "/courses/{course_id}/template.{extension}",
    responses={
        200: {
            "content": {spreadsheets.CSV_MEDIA_TYPE: {}, spreadsheets.XLSX_MEDIA_TYPE: {}},
            "description": "The cohort spreadsheet: a header of the per-learner columns, each "
            "documented inside the file (CSV: `#` lines; XLSX: header notes and a `columns` "
            "sheet)",
        },
        404: {"description": "No such course of this issuer"},
    },
    response_class=Response,
)
async def cohort_template(
    course_id: str,
    extension: Literal["csv", "xlsx"],
    session: SessionDep,
    caller: CoursesReadCaller,
) -> Response:
    """The spreadsheet to fill in with a cohort of this course, one learner a row."""
    await courses.get_course(session, caller.issuer, course_id)
    if extension == "xlsx":
        content = spreadsheets.template_xlsx(cohorts.COLUMNS)
        media_type = spreadsheets.XLSX_MEDIA_TYPE
    else:
        content = spreadsheets.template_csv(cohorts.COLUMNS)
        media_type = spreadsheets.CSV_MEDIA_TYPE + "; charset=utf-8"
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="cohort-{course_id}.{extension}"'},
    )


@router.post(
    "/courses/{course_id}/cohorts",
    status_code=202,
    response_model=JobAcceptedReply,
    responses={
        404: {"description": "No such course of this issuer"},
        422: {
            "description": "The file cannot be read (its faults by row), a bad `format`, or "
            "a jointly awarded course"
        },
    },
)
async def issue_cohort(
    course_id: str,
    request: Request,
    session: SessionDep,
    caller: IssueCaller,
    file: Annotated[UploadFile, File(description="The cohort: CSV (UTF-8) or XLSX")],
    format: Annotated[
        Literal["edc", "obv3"],
        Form(description="The credentials to issue: `edc` (Europass) or `obv3` (Open Badge 3.0)"),
    ] = "edc",
    offers: Annotated[
        bool, Form(description="Make an OpenID4VCI offer with a PIN per learner")
    ] = False,
) -> JSONResponse:
    """Issue a credential (or, with `offers`, a wallet offer with a PIN) to every learner of a
    spreadsheet, from the course's current version, as a job: `Location` is its `/jobs/{id}`.

    Every row is checked before anything is signed; a row with errors fails (the results file
    names its row, column and fault) and the others go on. Rows are idempotent: a row uploaded
    again (same course version, format and values) gives back its first credential or offer.
    Needs the `credentials:issue` scope, as issuing one learner's credential from a course does.
    A jointly awarded course is refused (422): each of its credentials needs every awarding
    body's proof, drafted one learner at a time.
    """
    data = await file.read(spreadsheets.Limits().max_file_bytes + 1)
    cohort = await cohorts.create_cohort(
        session,
        caller.issuer,
        course_id,
        data,
        format=format,
        offers=offers,
        actor=caller.actor,
    )
    job = cohort.job
    runner = services_of(request).job_runner
    return JSONResponse(
        JobAcceptedReply(id=job.id, state=job.state).model_dump(),
        status_code=202,
        headers={"Location": f"/jobs/{job.id}"},
        # After the request's transaction committed: the job is there to claim.
        background=BackgroundTask(runner.wake) if runner is not None else None,
    )
