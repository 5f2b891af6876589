"""Background jobs: work in rows, claimed by exactly one service instance at a time, resumed
after that instance dies.

A job (``jobs``) has rows (``job_rows``), each pending, done or failed. A :class:`Runner` (one
per process: the app's lifespan starts it, and ``microcred worker`` runs one alone) polls for a
job that is queued, or running under a lease that expired, and takes its lease: on PostgreSQL
with ``SELECT … FOR UPDATE SKIP LOCKED`` (concurrent runners skip each other's candidates), on
SQLite with one conditional ``UPDATE`` (SQLite has one writer at a time). The lease is renewed
by the holder's row transactions (the heartbeat); a runner that was killed stops renewing, and
after ``lease`` another runner claims the job and goes on with its pending rows. On PostgreSQL
a runner with no job to claim helps with the oldest job of a :attr:`JobKind.batched` kind held
by another (:meth:`Runner.help`): it does pending rows too, so that one large job (a cohort)
keeps every worker busy; the holder alone renews the lease and ends the job.

Each row is processed exactly once: its effect, its completion (``state`` pending → done or
failed, a conditional UPDATE) and the job's counts are one transaction, which reads the row
with ``FOR UPDATE SKIP LOCKED`` (a row is in one transaction at a time) and, for the holder,
checks last that this runner still holds the lease. A runner killed mid-row leaves nothing of
that row; a runner that lost its lease (paused past it) finds the lease taken and rolls back.
On PostgreSQL a batched kind's rows go :data:`ROWS_PER_TRANSACTION` to a transaction (each
row's effect in a savepoint of its own, so a failing row leaves the others' work): one commit
and one count update for all of them, the commit being much of a row's database time
(bench/README.md, "Cohort"); other kinds', and on SQLite every kind's, one a transaction (its
single writer would make every other writer wait for them all).
A kind whose effect cannot share the row's transaction must make it idempotent under
:attr:`RowContext.idempotency_key` (issuing: the credentials' idempotency key).

Kinds are registered by name (:func:`register`): a kind is a function processing one row. The
job ends ``done`` when no row is pending (rows may have failed: the job's ``failed`` count and
its results say which); ``failed`` when the job as a whole cannot run (an unknown kind, or
claimed :data:`MAX_ATTEMPTS` times without finishing: a row that kills its process).

Instances compare ``lease_until`` with their own clocks: keep them in sync (NTP) to well within
the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, or_, true, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.engine import on_postgresql
from app.db.models import Issuer, Job, JobRow, utcnow
from app.problems import JOB_NOT_FOUND, NotFound

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
PENDING = "pending"
#: Times a job may be claimed before it counts as failed (each claim after the first follows a
#: runner that died or lost its lease while holding it).
MAX_ATTEMPTS = 5
#: Rows read per query while a job is processed.
ROWS_PER_READ = 50
#: Rows processed per transaction on PostgreSQL (a row's effect in a savepoint of its own):
#: fewer commits and count updates. On SQLite one: its one writer at a time would hold the
#: database for all of them, and every other writer (HTTP requests) would wait that long.
ROWS_PER_TRANSACTION = 20
#: How long a holder waits when every pending row of its job is in a helper's transaction.
HELPED_WAIT_SECONDS = 0.05
#: Rows inserted per statement when a job is created.
ROWS_PER_INSERT = 500

log = logging.getLogger("microcred.jobs")


class JobNotFound(NotFound):
    type = JOB_NOT_FOUND
    title = "Job not found"


class RowFailed(Exception):
    """Raised by a kind for a row that cannot be done: ``errors`` are ``{column, message}`` in
    the person's words. The row's effects are rolled back; the job goes on."""

    def __init__(self, errors: Sequence[dict[str, Any]]) -> None:
        super().__init__("; ".join(str(e.get("message")) for e in errors))
        self.errors = [dict(e) for e in errors]


@dataclass
class RowContext:
    """What a kind gets for one row; its database work goes through ``session`` (the row's
    transaction: the framework commits it with the row's completion)."""

    session: AsyncSession
    job: Job
    issuer: Issuer
    number: int
    input: dict[str, Any]
    #: the application's state (``app.state``): settings, the issuing core...
    services: Any
    #: shared by the rows of one transaction: what a kind reads once for all of them (read in
    #: ``session``, so it is as consistent as the rows' own work)
    shared: dict[str, Any] = field(default_factory=dict)
    #: run in ``session`` after the transaction's rows, just before it commits: writes that
    #: lock a row other transactions write too (issuing: the status lists' counts), so that
    #: it stays locked for a moment, not for all the transaction's rows
    before_commit: list[Callable[[AsyncSession], Awaitable[None]]] = field(default_factory=list)

    @property
    def idempotency_key(self) -> str:
        return f"job:{self.job.id}:{self.number}"


@dataclass(frozen=True)
class JobKind:
    name: str
    process: Callable[[RowContext], Awaitable[dict[str, Any]]]
    #: the result's keys, in the order the results file shows them
    result_columns: tuple[str, ...] = ()
    #: input values repeated in the results file (to recognise each row)
    echo_columns: tuple[str, ...] = ()
    #: rows per transaction on PostgreSQL (up to :data:`ROWS_PER_TRANSACTION`), and whether
    #: runners with nothing to claim help with a held job of this kind: for kinds whose rows'
    #: writes cannot wait on each other in a cycle (a deadlock would fail a row), e.g. issuing,
    #: whose shared rows (the status lists' counts) are written last in a fixed order
    batched: bool = False


KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    KINDS[kind.name] = kind
    return kind


@dataclass(frozen=True)
class NewRow:
    """A row of a new job; ``errors`` already found (a spreadsheet's checks) make it failed from
    the start, so nothing is done for it."""

    number: int
    input: dict[str, Any]
    errors: list[dict[str, Any]] | None = None


async def create(
    session: AsyncSession,
    issuer: Issuer,
    kind: str,
    rows: Iterable[NewRow],
    *,
    params: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Job:
    """Queue a job (in the caller's transaction: it is claimable once that commits)."""
    if kind not in KINDS:
        raise ValueError(f"no job kind {kind!r}")
    assert issuer.id is not None
    now = now or utcnow()
    job = Job(
        id=str(uuid.uuid4()),
        issuer_id=issuer.id,
        kind=kind,
        state=QUEUED,
        params=params or {},
        created_at=now,
    )
    session.add(job)
    await session.flush()
    batch: list[dict[str, Any]] = []
    total = failed = 0
    table = JobRow.__table__  # type: ignore[attr-defined]
    for row in rows:
        total += 1
        failed += bool(row.errors)
        batch.append(
            {
                "job_id": job.id,
                "number": row.number,
                "input": row.input,
                "state": FAILED if row.errors else PENDING,
                "result": None,
                "errors": row.errors or None,
                "finished_at": now if row.errors else None,
            }
        )
        if len(batch) == ROWS_PER_INSERT:
            await session.exec(insert(table), params=batch)
            batch = []
    if batch:
        await session.exec(insert(table), params=batch)
    job.total, job.failed = total, failed
    if total == failed:
        job.state, job.finished_at = DONE, now
    session.add(job)
    await session.flush()
    return job


async def find(session: AsyncSession, issuer: Issuer, job_id: str) -> Job:
    """The issuer's job; another issuer's answers as unknown."""
    query = (
        select(Job)
        .where(Job.id == job_id, Job.issuer_id == issuer.id)
        .execution_options(populate_existing=True)
    )
    job = (await session.exec(query)).first()
    if job is None:
        raise JobNotFound(f"no job {job_id!r}")
    return job


async def rows_of(session: AsyncSession, job: Job) -> Sequence[JobRow]:
    query = select(JobRow).where(JobRow.job_id == job.id).order_by(col(JobRow.number))
    return (await session.exec(query)).all()


def results_table(job: Job, rows: Sequence[JobRow]) -> tuple[list[str], list[list[str]]]:
    """The results file: per row its number, outcome, the kind's echoed inputs and result, or
    (one line per error) the column and message of what went wrong."""
    kind = KINDS.get(job.kind) or JobKind(job.kind, _unknown_kind)
    header = ["row", "outcome", *kind.echo_columns, *kind.result_columns, "column", "error"]
    lines: list[list[str]] = []
    for row in rows:
        echoed = [str(row.input.get(name, "")) for name in kind.echo_columns]
        result = row.result or {}
        produced = [_text(result.get(name)) for name in kind.result_columns]
        if row.state == FAILED:
            for error in row.errors or [{"column": "", "message": "failed"}]:
                blank = [""] * len(produced)
                lines.append(
                    [
                        str(row.number),
                        FAILED,
                        *echoed,
                        *blank,
                        str(error.get("column") or ""),
                        str(error.get("message") or ""),
                    ]
                )
        else:
            lines.append([str(row.number), row.state, *echoed, *produced, "", ""])
    return header, lines


def _text(value: Any) -> str:
    return "" if value is None else str(value)


async def _unknown_kind(context: RowContext) -> dict[str, Any]:
    raise RowFailed([{"column": "", "message": f"this service has no job kind {context.job.kind}"}])


def instance_name() -> str:
    """This runner's name in ``lease_owner``: host, process, and a random part."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Runner:
    """Claims jobs and processes their rows, one job at a time."""

    sessionmaker: async_sessionmaker[AsyncSession]
    services: Any = None
    lease: timedelta = timedelta(seconds=60)
    poll_seconds: float = 1.0
    owner: str = field(default_factory=instance_name)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _stopping: bool = False

    def wake(self) -> None:
        """A job was queued here: look now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run_forever(self) -> None:
        """Poll until :meth:`stop`; a database fault is logged and the poll goes on."""
        while not self._stopping:
            try:
                worked = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a lost database, a bug in a kind: keep the runner alive
                log.exception("job runner %s: a poll failed", self.owner)
                worked = False
            if worked or self._stopping:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            except TimeoutError:
                pass

    async def run_once(self) -> bool:
        """Claim one job and work on it until it ends or the lease is lost, or else help with
        a job another runner holds (:meth:`help`); whether there was work."""
        job_id = await self.claim()
        if job_id is None:
            return await self.help()
        await self.process(job_id)
        return True

    async def help(self, now: datetime | None = None) -> bool:
        """On PostgreSQL, do pending rows of the oldest job another live runner holds, until
        none is left that no one has locked; whether any was done.

        The holder alone renews the lease and ends the job. A helper takes rows with ``FOR
        UPDATE SKIP LOCKED`` (as the holder does), so a row is in one transaction at a time,
        and a helper killed mid-way leaves its rows pending for the others. It stops at a job
        whose lease expired: that one is claimed again (and counted as an attempt).
        """
        now = now or utcnow()
        async with self.sessionmaker() as session, session.begin():
            if not on_postgresql(session):
                return False  # one writer at a time: nothing to gain
            batched = [name for name, kind in KINDS.items() if kind.batched]
            query = (
                select(Job)
                .where(
                    Job.state == RUNNING,
                    col(Job.lease_until) > now,
                    col(Job.lease_owner) != self.owner,
                    col(Job.kind).in_(batched),
                )
                .order_by(col(Job.created_at))
                .limit(1)
            )
            job = (await session.exec(query)).first()
            issuer = await session.get(Issuer, job.issuer_id) if job is not None else None
        kind = KINDS.get(job.kind) if job is not None else None
        if job is None or issuer is None or kind is None:
            return False
        helped = False
        while not self._stopping:
            done = await self._process_rows(job, issuer, kind, None)
            if not done:  # none left unlocked, or the job is no longer running
                break
            helped = True
        return helped

    async def claim(self, now: datetime | None = None, job_id: str | None = None) -> str | None:
        """The oldest claimable job (or ``job_id`` if it is claimable), leased to this runner."""
        now = now or utcnow()
        claimable = and_(
            col(Job.state).in_((QUEUED, RUNNING)),
            or_(col(Job.lease_until).is_(None), col(Job.lease_until) < now),
            true() if job_id is None else col(Job.id) == job_id,
        )
        values = {
            "state": RUNNING,
            "lease_owner": self.owner,
            "lease_until": now + self.lease,
            "attempts": col(Job.attempts) + 1,
        }
        async with self.sessionmaker() as session, session.begin():
            if on_postgresql(session):
                candidate = select(Job.id).where(claimable).order_by(col(Job.created_at)).limit(1)
                job_id = (await session.exec(candidate.with_for_update(skip_locked=True))).first()
                if job_id is not None:
                    await session.exec(update(Job).where(col(Job.id) == job_id).values(**values))
            else:
                # One writer at a time (BEGIN IMMEDIATE): the conditional UPDATE cannot race.
                first = (
                    select(Job.id)
                    .where(claimable)
                    .order_by(col(Job.created_at))
                    .limit(1)
                    .scalar_subquery()
                )
                claimed = await session.exec(
                    update(Job)
                    .where(col(Job.id) == first, claimable)
                    .values(**values)
                    .returning(col(Job.id))
                )
                job_id = claimed.scalar_one_or_none()
        if job_id is not None:
            log.info("job %s claimed by %s", job_id, self.owner)
        return job_id

    async def process(self, job_id: str) -> None:
        """Work on a claimed job: its pending rows, each in a transaction of its own."""
        async with self.sessionmaker() as session, session.begin():
            job = await session.get(Job, job_id)
            assert job is not None
            issuer = await session.get(Issuer, job.issuer_id)
            assert issuer is not None
        # Both stay loaded (expire_on_commit=False): the kinds read them in each row's session.
        kind = KINDS.get(job.kind)
        if kind is None or job.attempts > MAX_ATTEMPTS:
            reason = (
                f"no job kind {job.kind!r} in this service"
                if kind is None
                else f"claimed {job.attempts - 1} times without finishing"
            )
            await self._finish(job_id, FAILED, error=reason)
            return
        while not self._stopping:
            async with self.sessionmaker() as session, session.begin():
                pending = (
                    await session.exec(
                        select(JobRow.number)
                        .where(JobRow.job_id == job_id, JobRow.state == PENDING)
                        .order_by(col(JobRow.number))
                        .limit(ROWS_PER_READ)
                    )
                ).all()
                postgresql = on_postgresql(session)
            if not pending:
                await self._finish(job_id, DONE)
                return
            progressed = False
            step = ROWS_PER_TRANSACTION if postgresql and kind.batched else 1
            for start in range(0, len(pending), step):
                if self._stopping:
                    break
                numbers = list(pending[start : start + step])
                done = await self._process_rows(job, issuer, kind, numbers)
                if done is None:
                    return
                progressed = progressed or done > 0
            if not progressed:  # every pending row is in a helper's transaction
                await asyncio.sleep(HELPED_WAIT_SECONDS)
        await self.release(job_id)

    @staticmethod
    async def _run_kind(
        kind: JobKind, context: RowContext
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]] | None]:
        """The row's effect in a savepoint: its result, or its errors (the savepoint undone)."""
        try:
            async with context.session.begin_nested():
                return await kind.process(context), None
        except RowFailed as failure:
            return None, failure.errors
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug in the kind: the row fails, the job goes on
            log.exception(
                "job %s row %s: the %s kind failed", context.job.id, context.number, kind.name
            )
            return None, [{"column": "", "message": "an internal error; the row was not done"}]

    async def _process_row(self, job: Job, issuer: Issuer, kind: JobKind, number: int) -> bool:
        """One row in one transaction; False when the lease is no longer this runner's."""
        return await self._process_rows(job, issuer, kind, [number]) is not None

    async def _process_rows(
        self, job: Job, issuer: Issuer, kind: JobKind, numbers: list[int] | None
    ) -> int | None:
        """Pending rows in one transaction: of ``numbers`` as the lease holder, or (``None``)
        the next ones as a helper (:meth:`help`); how many were done, or None when the lease is
        no longer this runner's (a helper: the job is no longer running).

        The rows are locked as they are read (``FOR UPDATE SKIP LOCKED`` on PostgreSQL: a row
        another transaction holds is left to it; SQLite has one writer at a time). Each row's
        effect runs in a savepoint, its completion is conditional on its being pending, and
        the job's counts are updated last, with the holder's lease renewal, which fails if
        the lease changed hands meanwhile: any such outcome rolls all of it back.
        """
        condition = and_(
            col(JobRow.job_id) == job.id,
            col(JobRow.state) == PENDING,
            true() if numbers is None else col(JobRow.number).in_(numbers),
        )
        query = (
            select(JobRow)
            .where(condition)
            .order_by(col(JobRow.number))
            .limit(ROWS_PER_TRANSACTION if kind.batched else 1)
            .with_for_update(skip_locked=True)
        )
        try:
            async with self.sessionmaker() as session, session.begin():
                rows = (await session.exec(query)).all()
                if not rows:
                    return 0
                shared: dict[str, Any] = {}
                before_commit: list[Callable[[AsyncSession], Awaitable[None]]] = []
                outcomes = []
                for row in rows:
                    context = RowContext(
                        session,
                        job,
                        issuer,
                        row.number,
                        dict(row.input),
                        self.services,
                        shared,
                        before_commit,
                    )
                    outcomes.append((row.number, *await self._run_kind(kind, context)))
                for number, result, errors in outcomes:
                    completed = await session.exec(
                        update(JobRow)
                        .where(
                            col(JobRow.job_id) == job.id,
                            col(JobRow.number) == number,
                            col(JobRow.state) == PENDING,
                        )
                        .values(
                            state=FAILED if errors else DONE,
                            result=result,
                            errors=errors,
                            finished_at=utcnow(),
                        )
                    )
                    if not completed.rowcount:
                        raise _RowTaken
                failed = sum(1 for _, _, errors in outcomes if errors)
                for deferred in before_commit:
                    await deferred(session)
                counts: dict[str, Any] = {
                    "done": col(Job.done) + len(outcomes) - failed,
                    "failed": col(Job.failed) + failed,
                }
                if numbers is None:
                    ours = col(Job.state) == RUNNING
                else:
                    ours = col(Job.lease_owner) == self.owner
                    counts["lease_until"] = utcnow() + self.lease
                counted = await session.exec(
                    update(Job).where(col(Job.id) == job.id, ours).values(**counts)
                )
                if not counted.rowcount:
                    raise _LeaseLost
        except _LeaseLost:
            log.warning("job %s: %s lost its lease", job.id, self.owner)
            return None
        except _RowTaken:
            return 0
        return len(outcomes)

    async def release(self, job_id: str) -> None:
        """Give the lease back (stopping mid-job): another runner may claim it at once."""
        async with self.sessionmaker() as session, session.begin():
            await session.exec(
                update(Job)
                .where(col(Job.id) == job_id, col(Job.lease_owner) == self.owner)
                .values(lease_owner=None, lease_until=None)
            )

    async def _finish(self, job_id: str, state: str, error: str | None = None) -> None:
        async with self.sessionmaker() as session, session.begin():
            await session.exec(
                update(Job)
                .where(col(Job.id) == job_id, col(Job.lease_owner) == self.owner)
                .values(
                    state=state,
                    error=error,
                    finished_at=utcnow(),
                    lease_owner=None,
                    lease_until=None,
                )
            )
        log.info("job %s %s%s", job_id, state, f": {error}" if error else "")


class _LeaseLost(Exception):
    """Rolls a row's transaction back: another runner holds the job now."""


class _RowTaken(Exception):
    """Rolls a row's transaction back: the row is no longer pending."""


@dataclass
class RunningJobs:
    """A runner polling in a task of the running event loop."""

    runner: Runner
    task: asyncio.Task[None]

    @classmethod
    def start(cls, runner: Runner) -> RunningJobs:
        return cls(runner, asyncio.create_task(runner.run_forever(), name="microcred-jobs"))

    async def close(self, grace: float = 10.0) -> None:
        """Stop after the row in hand (its lease given back); cancel after ``grace`` seconds."""
        self.runner.stop()
        try:
            await asyncio.wait_for(asyncio.shield(self.task), grace)
        except TimeoutError:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
