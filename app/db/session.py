"""The request's database session: repositories add/flush, only this dependency commits.

Work that must commit on its own does so through named entry points: issuing
(``issuance.issue`` in commit mode: no transaction spans the signing), bulk status changes
(``bulk_status.change_committing``: a transaction per chunk), and the job runner
(``jobs.Runner``: its own sessions, a transaction per row).
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
