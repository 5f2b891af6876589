"""Job kinds for the tests: importing this module registers them (also in worker processes
that the tests start).

``test.record`` writes one audit event per row (target ``<job>:<row>``) in the row's
transaction, after ``delay`` seconds (the job's ``params``), so a test counts how often each
row's effect happened; a row whose input has ``fail`` fails with that message.
"""

from __future__ import annotations

import asyncio
from typing import Any

from app.services import audit, jobs

RECORD = "test.record"


async def _record(context: jobs.RowContext) -> dict[str, Any]:
    await asyncio.sleep(float(context.job.params.get("delay", 0)))
    if context.input.get("fail"):
        raise jobs.RowFailed([{"column": "name", "message": str(context.input["fail"])}])
    await audit.record(
        context.session,
        actor="test",
        action="test.row",
        issuer_id=context.issuer.id,
        target=f"{context.job.id}:{context.number}",
    )
    return {"echo": context.input.get("name", ""), "key": context.idempotency_key}


jobs.register(
    jobs.JobKind(
        RECORD, _record, result_columns=("echo", "key"), echo_columns=("name",), batched=True
    )
)
