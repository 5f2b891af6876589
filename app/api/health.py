"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text

from app.errors import ServiceUnavailable

router = APIRouter(tags=["health"])


class HealthReply(BaseModel):
    status: str


@router.get("/health")
async def health() -> HealthReply:
    """Liveness: the process answers."""
    return HealthReply(status="ok")


@router.get("/ready", responses={503: {"description": "The database cannot be reached"}})
async def ready(request: Request) -> HealthReply:
    """Readiness: the database answers a query."""
    try:
        async with request.app.state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database means "not ready"
        raise ServiceUnavailable(
            "the database is not reachable", headers={"Retry-After": "5"}
        ) from exc
    return HealthReply(status="ready")
