"""Reply of the liveness and readiness checks."""

from __future__ import annotations

from pydantic import BaseModel, Field


class HealthReply(BaseModel):
    status: str = Field(
        description="``ok`` (GET /health: the process answers) or ``ready`` (GET "
        "/ready: the database answers)"
    )
