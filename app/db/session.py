"""The request's database session, and the rule of who commits.

The rule: services add, flush and execute in the session they are given; the transaction is the
request's, begun by this dependency and committed by it once the route returned (rolled back on
any exception). A service never commits or rolls back, with these named exceptions only (a test,
``tests/unit/test_architecture.py``, holds the list):

- ``app.services.issuance.issue_and_commit``: issuing commits its read step before signing and its
  store step right after, so no transaction (on SQLite, no write lock) spans the signing. For
  sessions that hold nothing else: HTTP issuing, each item of a batch. Its twin
  ``issue_within`` runs in the caller's transaction (OpenID4VCI redemption: the offer's update
  and the credential commit together; a cohort's row, :mod:`app.services.cohorts`, in the job
  runner's row transaction) and commits nothing.
- ``app.services.challenges.consume_and_commit``: the verifier spends a presentation's challenge
  in a session of its own, committed at once.
- ``app.services.bulk_status.change_and_commit``: a bulk status change commits a transaction per
  chunk of credentials, so one large change never holds every status row locked.
- ``app.services.stacks.resolve_and_commit``: a stacked credential's parts held here are read in
  the request's session, whose transaction (reads only) then ends before the parts are verified:
  the verifier reads in sessions of its own and may wait for remote servers.

Sessions opened elsewhere only read (the verifier's status, controller and trust-list lookups,
the public credential page) or are a whole unit of work in ``session.begin()`` (the CLI's
administration commands, as the HTTP admin API would run them, and ``microcred issue``'s
creation of a cohort's job; the job runner's claims and rows,
``app.services.jobs.Runner``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from sqlmodel.ext.asyncio.session import AsyncSession


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.services.sessionmaker() as session:
        try:
            yield session
        except Exception:
            await session.rollback()
            raise
        else:
            await session.commit()
