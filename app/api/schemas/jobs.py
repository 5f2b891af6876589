"""Request and reply bodies of ``app/api/jobs.py``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class JobReply(BaseModel):
    id: str = Field(description="the job's id")
    kind: str = Field(description="What the job does, e.g. `status.bulk`")
    state: Literal["queued", "running", "done", "failed"] = Field(
        description="`done` once every row was processed (some may have failed: see `failed`); "
        "`failed` when the job as a whole could not run (`error` says why)"
    )
    total: int = Field(description="Rows in the job")
    done: int = Field(description="Rows processed without error so far")
    failed: int = Field(description="Rows that failed (see the results file)")
    error: str | None = Field(
        default=None,
        description="why the job as a whole failed; null unless ``state`` is ``failed``",
    )
