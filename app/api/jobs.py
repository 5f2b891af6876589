"""Background jobs of the calling issuer: progress, and the per-row results as a file."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response

from app.api.auth import JobsCaller
from app.api.deps import SessionDep
from app.api.schemas.jobs import (
    JobReply,
)
from app.services import jobs, spreadsheets

router = APIRouter(tags=["jobs"])


@router.get("/jobs/{job_id}", responses={404: {"description": "Unknown job"}})
async def read_job(job_id: str, session: SessionDep, caller: JobsCaller) -> JobReply:
    """A job's state and progress (a job of another issuer answers 404)."""
    job = await jobs.find(session, caller.issuer, job_id)
    return JobReply(
        id=job.id,
        kind=job.kind,
        state=job.state,
        total=job.total,
        done=job.done,
        failed=job.failed,
        error=job.error,
    )


@router.get(
    "/jobs/{job_id}/results.{extension}",
    responses={
        200: {
            "content": {
                spreadsheets.CSV_MEDIA_TYPE: {},
                spreadsheets.XLSX_MEDIA_TYPE: {},
            },
            "description": "Per row: its number, outcome, the kind's columns, or the column "
            "and message of each error (one line per error)",
        },
        404: {"description": "Unknown job"},
    },
    response_class=Response,
)
async def job_results(
    job_id: str, extension: Literal["csv", "xlsx"], session: SessionDep, caller: JobsCaller
) -> Response:
    """The job's results so far, as CSV (UTF-8) or XLSX."""
    job = await jobs.find(session, caller.issuer, job_id)
    header, lines = jobs.results_table(job, await jobs.rows_of(session, job))
    if extension == "xlsx":
        content = spreadsheets.write_xlsx(header, lines)
        media_type = spreadsheets.XLSX_MEDIA_TYPE
    else:
        content = spreadsheets.write_csv(header, lines)
        media_type = spreadsheets.CSV_MEDIA_TYPE + "; charset=utf-8"
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="job-{job.id}.{extension}"'},
    )
