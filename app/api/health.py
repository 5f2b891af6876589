"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from app.api.deps import ServicesDep
from app.api.schemas.health import HealthReply
from app.problems import ServiceUnavailable

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> HealthReply:
    """Liveness: the process answers."""
    return HealthReply(status="ok")


@router.get(
    "/ready",
    responses={503: {"description": "The database cannot be reached or is not migrated"}},
)
async def ready(services: ServicesDep) -> HealthReply:
    """Readiness: the database answers and its schema is at the latest migration."""
    try:
        async with services.engine.connect() as connection:
            version = (
                await connection.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar()
    except Exception as exc:  # any failure to reach the database means "not ready"
        raise ServiceUnavailable(
            "the database is not reachable (or was never migrated: run `microcred migrate`)",
            headers={"Retry-After": "5"},
        ) from exc
    if version != services.schema_head:
        raise ServiceUnavailable(
            f"the database schema is at {version!r}, not the latest migration: "
            "run `microcred migrate`",
            headers={"Retry-After": "5"},
        )
    return HealthReply(status="ready")
