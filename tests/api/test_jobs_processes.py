"""A job survives the death of the process running it: a worker is killed (SIGKILL) mid-job,
two others poll meanwhile, one of them resumes after the lease expires, and every row is done
exactly once (real ``microcred worker`` processes on one database)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.db.models import AuditEvent, Job
from app.services import jobs
from tests import jobkinds, processes
from tests.api.test_jobs import issuer_row
from tests.conftest import ADMIN_TOKEN
from tests.factories import issuer_with_key

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
ROWS = 120
#: Seconds per row: the job lasts long enough to be killed mid-way.
DELAY = 0.05
LEASE_SECONDS = 5
WORKER = "import sys, tests.jobkinds; from app.cli import main; sys.exit(main(['worker']))"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"jobs_runner": False})


def start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICROCRED_")}
    assert settings.master_key is not None
    env.update(
        MICROCRED_DATABASE_URL=settings.database_url,
        MICROCRED_ADMIN_TOKEN=ADMIN_TOKEN,
        MICROCRED_MASTER_KEY=settings.master_key.get_secret_value(),
        MICROCRED_PUBLIC_URL=settings.public_url,
        MICROCRED_LOG_LEVEL="WARNING",
        MICROCRED_OFFLOAD_WORKERS="0",
        MICROCRED_JOBS_LEASE_SECONDS=str(LEASE_SECONDS),
        MICROCRED_JOBS_POLL_SECONDS="0.2",
    )
    with log.open("ab") as out:
        return processes.start(
            [sys.executable, "-c", WORKER], cwd=ROOT, env=env, stdout=out, stderr=out
        )


async def job_state(app: FastAPI, job_id: str) -> Job:
    session: AsyncSession
    async with app.state.services.sessionmaker() as session:
        job = await session.get(Job, job_id)
        assert job is not None
        return job


async def wait_for(app: FastAPI, job_id: str, done: int, within: float, log: Path) -> Job:
    deadline = time.monotonic() + within
    while True:
        job = await job_state(app, job_id)
        if job.done >= done:
            return job
        assert time.monotonic() < deadline, f"job at {job.done}/{job.total}: {log.read_text()}"
        await asyncio.sleep(0.05)


async def wait_until_done(app: FastAPI, job_id: str, within: float, log: Path) -> Job:
    """The job once it has ended: after its rows, the holder's end, or (its holder dead) the
    end by whoever claims it once the lease expired (the rows may be done before that by
    runners helping)."""
    deadline = time.monotonic() + within
    while True:
        job = await job_state(app, job_id)
        if job.state in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, f"job {job.state} at {job.done}: {log.read_text()}"
        await asyncio.sleep(0.05)


def polling(log: Path) -> bool:
    return b"polling" in log.read_bytes()


async def test_a_killed_worker_s_job_is_resumed_by_another_each_row_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    settings: Settings,
    tmp_path: Path,
) -> None:
    await issuer_with_key(client, admin_headers, random_slug)
    issuer = await issuer_row(app, random_slug)
    async with app.state.services.sessionmaker() as session:
        rows = [jobs.NewRow(n, {"name": f"row {n}"}) for n in range(1, ROWS + 1)]
        job = await jobs.create(session, issuer, jobkinds.RECORD, rows, params={"delay": DELAY})
        await session.commit()
    logs = [tmp_path / f"worker-{n}.log" for n in range(3)]
    workers = [start_worker(settings, log) for log in logs]
    try:
        # All three poll; one holds the job. Kill that one mid-job.
        deadline = time.monotonic() + 90
        while not all(polling(log) for log in logs):
            assert all(w.poll() is None for w in workers), [log.read_text() for log in logs]
            assert time.monotonic() < deadline, "the workers did not start"
            await asyncio.sleep(0.1)
        running = await wait_for(app, job.id, 10, within=60, log=logs[0])
        owner = running.lease_owner
        assert owner is not None
        holder = next(w for w in workers if f":{w.pid}:" in owner)
        os.killpg(holder.pid, signal.SIGKILL)
        processes.stop(holder)
        killed = await job_state(app, job.id)
        assert killed.state == "running" and killed.done < ROWS
        assert killed.lease_owner == owner  # the dead worker's lease runs out by itself

        finished = await wait_until_done(app, job.id, within=120, log=logs[0])
    finally:
        for worker in workers:
            processes.stop(worker)
    for _ in range(100):  # the last row's transaction is committed before the job's end
        finished = await job_state(app, job.id)
        if finished.state == "done":
            break
        await asyncio.sleep(0.05)
    assert (finished.state, finished.done, finished.failed) == ("done", ROWS, 0)
    assert finished.attempts == 2  # the killed worker's claim and one resumption
    async with app.state.services.sessionmaker() as session:
        query = (
            select(AuditEvent.target, func.count())
            .where(AuditEvent.action == "test.row", col(AuditEvent.target).startswith(job.id))
            .group_by(col(AuditEvent.target))
        )
        counts = dict((await session.exec(query)).all())
    assert counts == {f"{job.id}:{n}": 1 for n in range(1, ROWS + 1)}
