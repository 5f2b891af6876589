"""A cohort survives the death of the worker issuing it: the worker is killed (SIGKILL) mid-job,
another resumes it after the lease expires, and every learner gets exactly one credential
(real ``microcred worker`` processes on one database, SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, func, select

from app.config import Settings
from app.db.models import Credential, Job
from tests import processes
from tests.api.test_cohorts import as_csv, cohort_rows, make_course, upload
from tests.api.test_jobs_processes import job_state, polling, start_worker, wait_until_done
from tests.factories import issuer_with_key

pytestmark = pytest.mark.anyio

ROWS = 200


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"jobs_runner": False})


async def first_rows_done(
    app: FastAPI, job_id: str, worker: subprocess.Popen[bytes], within: float, log: Path
) -> Job:
    """Stop ``worker`` (SIGSTOP) as soon as the job has a row done; the job as it then is."""
    deadline = time.monotonic() + within
    while True:
        job = await job_state(app, job_id)
        if job.done > 0:
            os.killpg(worker.pid, signal.SIGSTOP)
            return await job_state(app, job_id)
        assert worker.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"no row done: {log.read_text()}"
        await asyncio.sleep(0.005)


async def test_a_killed_worker_s_cohort_is_finished_by_another_each_learner_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    settings: Settings,
    tmp_path: Path,
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    course_id = await make_course(client, auth)
    logs = [tmp_path / f"worker-{n}.log" for n in range(2)]
    first = start_worker(settings, logs[0])
    second = None
    try:
        deadline = time.monotonic() + 90
        while not polling(logs[0]):
            assert first.poll() is None, logs[0].read_text()
            assert time.monotonic() < deadline, "the worker did not start"
            await asyncio.sleep(0.1)
        # A cohort is issued in a second or two: freeze the worker (SIGSTOP) the moment its
        # first learners are committed, so that it is killed mid-job however fast it runs.
        accepted = await upload(
            client, auth, course_id, as_csv(cohort_rows(ROWS)), "c.csv", format="obv3"
        )
        assert accepted.status_code == 202, accepted.text
        job_id = accepted.json()["id"]
        running = await first_rows_done(app, job_id, first, within=60, log=logs[0])
        assert running.lease_owner is not None and f":{first.pid}:" in running.lease_owner
        os.killpg(first.pid, signal.SIGKILL)
        processes.stop(first)
        killed = await job_state(app, job_id)
        assert killed.state == "running" and 0 < killed.done < ROWS, killed

        second = start_worker(settings, logs[1])
        finished = await wait_until_done(app, job_id, within=120, log=logs[1])
    finally:
        processes.stop(first)
        if second is not None:
            processes.stop(second)
    for _ in range(100):
        finished = await job_state(app, job_id)
        if finished.state == "done":
            break
        await asyncio.sleep(0.05)
    assert (finished.state, finished.done, finished.failed) == ("done", ROWS, 0)
    assert finished.attempts == 2
    async with app.state.services.sessionmaker() as session:
        query = (
            select(Credential.idempotency_key, func.count())
            .where(col(Credential.course_id) == course_id)
            .group_by(col(Credential.idempotency_key))
        )
        counts = dict((await session.exec(query)).all())
    assert len(counts) == ROWS and set(counts.values()) == {1}
