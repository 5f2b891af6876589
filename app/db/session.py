"""The request's database session: repositories add/flush, only this dependency commits.

Work that must commit on its own does so through named entry points: issuing
(``issuance.issue`` in commit mode: no transaction spans the signing) and bulk status changes
(``bulk_status.change_and_commit``: a transaction per chunk). The job runner (``jobs.Runner``)
opens sessions of its own, each a whole unit of work in ``session.begin()`` (a claim, a row).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from sqlmodel.ext.asyncio.session import AsyncSession


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
        except Exception:
            await session.rollback()
            raise
        else:
            await session.commit()
