"""The application factory: settings, offline JSON-LD, signing core, database, routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from app import __version__
from app.api import admin, credentials, did, health, status
from app.config import Settings, get_settings
from app.crypto.dataintegrity import DataIntegrity
from app.db.engine import create_engine, session_factory
from app.errors import install_problem_handlers
from app.jsonld import OfflineDocumentLoader, PyldCanonicalizer
from app.limits import BodySizeLimit
from app.services.issuance import Issuing
from app.services.keystore import KeyCache
from app.services.status import StatusPolicy

DESCRIPTION = """Issue EU micro-credentials as W3C Verifiable Credentials (Europass EDC / ELM v3
and Open Badges 3.0), deliver them to wallets, and verify credentials and presentations.
Errors are RFC 9457 `application/problem+json`."""


def _warm_up(di: DataIntegrity) -> None:
    """Process the common contexts once so the first request does not pay for it."""
    for contexts in (
        ["https://www.w3.org/ns/credentials/v2"],
        ["https://www.w3.org/2018/credentials/v1", "https://w3id.org/security/data-integrity/v2"],
    ):
        di.suites["eddsa-rdfc-2022"].canonicalizer.canonicalize(
            {"@context": contexts, "type": ["VerifiableCredential"]}
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # Built (and every context file hashed) before serving: a tampered context stops start-up.
    loader = OfflineDocumentLoader(settings.contexts_dir)
    data_integrity = DataIntegrity(PyldCanonicalizer(loader))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        app.state.engine = engine
        app.state.sessionmaker = session_factory(engine)
        _warm_up(data_integrity)
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="microcred",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.document_loader = loader
    app.state.data_integrity = data_integrity
    key_cache = KeyCache(settings.master_key_bytes if settings.master_key else None)
    app.state.key_cache = key_cache
    app.state.issuing = Issuing(
        data_integrity=data_integrity,
        key_cache=key_cache,
        policy=StatusPolicy(
            public_url=settings.public_url,
            size=settings.status_list_size,
            fill_limit=settings.status_list_fill_limit,
            ttl=timedelta(seconds=settings.status_list_ttl_seconds),
        ),
        loader=loader,
    )
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.include_router(health.router)
    app.include_router(admin.router)
    app.include_router(did.router)
    app.include_router(credentials.router)
    app.include_router(status.router)
    return app


def __getattr__(name: str) -> FastAPI:
    """``uvicorn app.main:app`` builds the app from the environment on first access."""
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
