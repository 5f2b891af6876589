"""Jobs: rows processed exactly once under a lease, resumed by another runner when the lease
expires, tenant-isolated progress and result files."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from typing import Any

import httpx
import openpyxl
import pytest
from fastapi import FastAPI
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.db.models import AuditEvent, Issuer, Job, JobRow, utcnow
from app.services import jobs
from tests import jobkinds
from tests.conftest import problem_of
from tests.factories import issuer_with_key

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No runner in the app: each test drives its runners itself."""
    return settings.model_copy(update={"jobs_runner": False})


async def issuer_row(app: FastAPI, slug: str) -> Issuer:
    session: AsyncSession
    async with app.state.services.sessionmaker() as session:
        return (await session.exec(select(Issuer).where(Issuer.slug == slug))).one()


async def queue(app: FastAPI, issuer: Issuer, inputs: list[dict[str, Any]], **params: Any) -> str:
    async with app.state.services.sessionmaker() as session:
        rows = [jobs.NewRow(n, value) for n, value in enumerate(inputs, start=2)]
        job = await jobs.create(session, issuer, jobkinds.RECORD, rows, params=params)
        await session.commit()
        return job.id


async def effects(app: FastAPI, job_id: str) -> dict[str, int]:
    """Row target -> how many times its effect was written."""
    async with app.state.services.sessionmaker() as session:
        query = (
            select(AuditEvent.target, func.count())
            .where(AuditEvent.action == "test.row", col(AuditEvent.target).startswith(job_id))
            .group_by(col(AuditEvent.target))
        )
        return {str(target): int(count) for target, count in (await session.exec(query)).all()}


def runner(app: FastAPI, **options: Any) -> jobs.Runner:
    return jobs.Runner(app.state.services.sessionmaker, services=app.state.services, **options)


async def test_a_job_runs_each_row_once_and_reports_by_row(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    issuer = await issuer_row(app, random_slug)
    inputs: list[dict[str, Any]] = [{"name": f"learner {n}"} for n in range(7)]
    inputs[3]["fail"] = "the name is not in the register"
    job_id = await queue(app, issuer, inputs)
    before = (await client.get(f"/jobs/{job_id}", headers=auth)).json()
    assert before == {
        "id": job_id,
        "kind": "test.record",
        "state": "queued",
        "total": 7,
        "done": 0,
        "failed": 0,
        "error": None,
    }
    assert await runner(app).run_once() is True
    assert await runner(app).run_once() is False  # nothing left to claim
    after = (await client.get(f"/jobs/{job_id}", headers=auth)).json()
    assert (after["state"], after["done"], after["failed"]) == ("done", 6, 1)
    assert await effects(app, job_id) == {f"{job_id}:{n}": 1 for n in range(2, 9) if n != 5}

    results = await client.get(f"/jobs/{job_id}/results.csv", headers=auth)
    assert results.status_code == 200
    assert results.headers["content-type"].startswith("text/csv")
    lines = results.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "row,outcome,name,echo,key,column,error"
    assert lines[1] == f"2,done,learner 0,learner 0,job:{job_id}:2,,"
    assert lines[4] == "5,failed,learner 3,,,name,the name is not in the register"
    assert len(lines) == 8
    xlsx = await client.get(f"/jobs/{job_id}/results.xlsx", headers=auth)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    assert [cell.value for cell in sheet[5]][:3] == ["5", "failed", "learner 3"]


async def test_another_issuer_cannot_see_a_job(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    await issuer_with_key(client, admin_headers, random_slug)
    _, other = await issuer_with_key(client, admin_headers, random_slug + "-b")
    job_id = await queue(app, await issuer_row(app, random_slug), [{"name": "x"}])
    for path in (f"/jobs/{job_id}", f"/jobs/{job_id}/results.csv", "/jobs/nope"):
        answer = await client.get(path, headers=other)
        assert answer.status_code == 404
        assert problem_of(answer)["title"] == "Job not found"
    assert (await client.get(f"/jobs/{job_id}")).status_code == 401


async def test_a_lease_is_exclusive_until_it_expires_then_another_runner_resumes(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    await issuer_with_key(client, admin_headers, random_slug)
    issuer = await issuer_row(app, random_slug)
    job_id = await queue(app, issuer, [{"name": str(n)} for n in range(5)])
    first, second = runner(app), runner(app)
    assert await first.claim() == job_id
    # Held: the other runner finds nothing to claim.
    assert await second.claim() is None
    # The first runner "dies" holding the lease; once it expires, the second takes over.
    later = utcnow() + first.lease + timedelta(seconds=1)
    assert await second.claim(now=later) == job_id
    # The first wakes up: its lease is gone, it does nothing.
    await first.process(job_id)
    assert await effects(app, job_id) == {}
    await second.process(job_id)
    assert await effects(app, job_id) == {f"{job_id}:{n}": 1 for n in range(2, 7)}
    async with app.state.services.sessionmaker() as session:
        job = await session.get(Job, job_id)
        assert job is not None
        assert (job.state, job.done, job.attempts, job.lease_owner) == ("done", 5, 2, None)


async def test_a_row_done_by_the_lease_holder_before_it_died_is_not_done_again(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    await issuer_with_key(client, admin_headers, random_slug)
    issuer = await issuer_row(app, random_slug)
    job_id = await queue(app, issuer, [{"name": str(n)} for n in range(4)])
    first = runner(app)
    assert await first.claim() == job_id
    # Two rows done, then the process stops holding the lease (a stop gives it back).
    first.stop()
    async with app.state.services.sessionmaker() as session:
        job = await session.get(Job, job_id)
        issuer_loaded = await session.get(Issuer, issuer.id)
        assert job is not None and issuer_loaded is not None
    kind = jobs.KINDS[jobkinds.RECORD]
    for number in (2, 3):
        assert await first._process_row(job, issuer_loaded, kind, number)
    await first.release(job_id)
    second = runner(app)
    assert await second.run_once() is True
    assert await effects(app, job_id) == {f"{job_id}:{n}": 1 for n in range(2, 6)}


async def test_a_job_that_keeps_killing_its_runner_fails_and_an_unknown_kind_fails(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    issuer = await issuer_row(app, random_slug)
    job_id = await queue(app, issuer, [{"name": "x"}])
    now = utcnow()
    for attempt in range(jobs.MAX_ATTEMPTS):
        claimed = await runner(app).claim(now=now + attempt * timedelta(minutes=5))
        assert claimed == job_id
    last = runner(app)
    assert await last.claim(now=now + timedelta(hours=1)) == job_id
    await last.process(job_id)
    reply = (await client.get(f"/jobs/{job_id}", headers=auth)).json()
    assert reply["state"] == "failed"
    assert reply["error"] == f"claimed {jobs.MAX_ATTEMPTS} times without finishing"
    assert await effects(app, job_id) == {}

    unknown = await queue(app, issuer, [{"name": "y"}])
    async with app.state.services.sessionmaker() as session:
        row = await session.get(Job, unknown)
        assert row is not None
        row.kind = "no.such.kind"
        session.add(row)
        await session.commit()
    assert await runner(app).run_once() is True
    reply = (await client.get(f"/jobs/{unknown}", headers=auth)).json()
    assert (reply["state"], reply["error"]) == (
        "failed",
        "no job kind 'no.such.kind' in this service",
    )


async def test_rows_already_failed_when_queued_are_never_processed(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    issuer = await issuer_row(app, random_slug)
    async with app.state.services.sessionmaker() as session:
        bad = [{"column": "awarded on", "message": "not a date"}]
        job = await jobs.create(
            session,
            issuer,
            jobkinds.RECORD,
            [jobs.NewRow(2, {"name": "a"}, errors=bad), jobs.NewRow(3, {"name": "b"})],
        )
        await session.commit()
    assert await runner(app).run_once() is True
    assert await effects(app, job.id) == {f"{job.id}:3": 1}
    reply = (await client.get(f"/jobs/{job.id}", headers=auth)).json()
    assert (reply["state"], reply["done"], reply["failed"]) == ("done", 1, 1)
    async with app.state.services.sessionmaker() as session:
        rows = (await session.exec(select(JobRow).where(JobRow.job_id == job.id))).all()
        assert {row.number: row.state for row in rows} == {2: "failed", 3: "done"}


async def test_a_runner_with_nothing_to_claim_helps_with_a_held_job_on_postgresql(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    await issuer_with_key(client, admin_headers, random_slug)
    issuer = await issuer_row(app, random_slug)
    job_id = await queue(app, issuer, [{"name": str(n)} for n in range(60)], delay=0.01)
    holder, helper = runner(app), runner(app)
    assert await holder.claim() == job_id
    assert await helper.claim() is None

    async def help_once_under_way() -> bool:
        await asyncio.sleep(0.05)
        return await helper.help()

    _, helped = await asyncio.gather(holder.process(job_id), help_once_under_way())
    # SQLite has one writer at a time: a helper would only wait
    assert helped is app.state.services.settings.database_url.startswith("postgresql")
    assert await effects(app, job_id) == {f"{job_id}:{n}": 1 for n in range(2, 62)}
    async with app.state.services.sessionmaker() as session:
        job = await session.get(Job, job_id)
        assert job is not None
        assert (job.state, job.done, job.failed, job.attempts) == ("done", 60, 0, 1)
        assert job.lease_owner is None
    assert await helper.help() is False  # nothing left
