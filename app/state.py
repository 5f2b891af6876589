"""What the running service holds, in one typed object: built by :func:`app.main.create_app`
(what needs no connection) and its lifespan (the database engines, the HTTP client, the
verifier), kept as ``app.state.services``. Routes reach it through the dependencies of
:mod:`app.api.deps`, never through ``app.state`` attributes of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.crypto.dataintegrity import DataIntegrity
from app.jsonld import OfflineDocumentLoader
from app.services.issuance import Issuing
from app.services.jobs import Runner
from app.services.keystore import KeyCache
from app.services.verification import Verifier


@dataclass(frozen=True)
class AppState:
    settings: Settings
    #: the newest migration shipped with this code (readiness compares the database's)
    schema_head: str | None
    document_loader: OfflineDocumentLoader
    data_integrity: DataIntegrity
    key_cache: KeyCache
    issuing: Issuing
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    #: the one client of every remote fetch (did:web, status lists, trust registries)
    http_client: httpx.AsyncClient
    verifier: Verifier
    #: the rate limits' own pool on PostgreSQL (None on SQLite, or when Redis counts them)
    rate_limit_engine: AsyncEngine | None
    #: the rate limits' shared store when ``MICROCRED_REDIS_URL`` is set, and its key prefix
    rate_limit_redis: Any = None
    rate_limit_redis_prefix: str = "microcred:ratelimit:"
    #: this process's background job runner (``MICROCRED_JOBS_RUNNER``), to wake it
    job_runner: Runner | None = None


def state_of(app: Any) -> AppState:
    """The running service's state (set by the lifespan; an AttributeError before it ran)."""
    services: AppState = app.state.services
    return services
