"""Reply of the liveness and readiness checks."""

from __future__ import annotations

from pydantic import BaseModel


class HealthReply(BaseModel):
    status: str
