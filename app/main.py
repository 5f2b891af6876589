"""The application factory: settings, offline JSON-LD, signing core, database, routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta

import httpx
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app import __version__
from app.api import (
    admin,
    courses,
    credentials,
    did,
    health,
    jobs,
    joint,
    oid4vci,
    oid4vp,
    registry,
    sdjwt,
    sharing,
    status,
    verify,
    vocabularies,
)
from app.api.form_bodies import install_form_body_names
from app.api.problems import install_problem_handlers, unexpected_error_response
from app.config import Settings, get_settings
from app.crypto.dataintegrity import DataIntegrity
from app.db.engine import create_engine, session_factory
from app.docs import install_docs
from app.jsonld import (
    Canonicalizer,
    OfflineDocumentLoader,
    OxigraphCanonicalizer,
    PyldCanonicalizer,
)
from app.jsonld.form import PinnedForm
from app.limits import RequestLimits
from app.observability import ObservabilityMiddleware, configure_logging, metrics_endpoint
from app.ratelimit import (
    RateLimit,
    charge_routes_without_api_keys,
    counter_engine,
    redis_client,
)
from app.resources import MIGRATIONS_DIR
from app.services.issuance import Issuing
from app.services.jobs import Runner, RunningJobs
from app.services.keystore import KeyCache
from app.services.offload import offload_for
from app.services.status import StatusPolicy
from app.services.verification import build_verifier
from app.state import AppState
from app.web import asks, branding, catalogue, pages, shares

DESCRIPTION = """Issue EU micro-credentials as W3C Verifiable Credentials (Europass EDC / ELM v3
and Open Badges 3.0), deliver them to wallets, and verify credentials and presentations.
Errors are RFC 9457 `application/problem+json`."""


def _warm_up(di: DataIntegrity, form: PinnedForm) -> None:
    """Process the common contexts and compile the EDC shapes once, so that the first
    request does not pay for it."""
    from app.credentials.shacl import compiled_shapes

    compiled_shapes()
    for contexts in (
        ["https://www.w3.org/ns/credentials/v2"],
        ["https://www.w3.org/2018/credentials/v1", "https://w3id.org/security/data-integrity/v2"],
    ):
        document = {"@context": contexts, "type": ["VerifiableCredential"]}
        di.suites["eddsa-rdfc-2022"].canonicalizer.canonicalize(document)
        form.check(document)


def start_job_runner(state: AppState, settings: Settings) -> RunningJobs:
    """This process's job runner, polling until the lifespan ends (``AppState.job_runner``)."""
    runner = Runner(
        state.sessionmaker,
        services=state,
        lease=timedelta(seconds=settings.jobs_lease_seconds),
        poll_seconds=settings.jobs_poll_seconds,
    )
    return RunningJobs.start(runner)


def schema_head() -> str | None:
    """The newest Alembic revision shipped with this code (readiness compares the database)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    # Built (and every context file hashed) before serving: a tampered context stops start-up.
    loader = OfflineDocumentLoader(settings.contexts_dir)
    canonicalizer: Canonicalizer = (
        OxigraphCanonicalizer(
            loader,
            max_quads=settings.canonical_max_quads,
            max_blank_nodes=settings.canonical_max_blank_nodes,
        )
        if settings.canonicalizer == "oxigraph"
        else PyldCanonicalizer(loader)
    )
    data_integrity = DataIntegrity(canonicalizer)

    schema = schema_head()
    key_cache = KeyCache(settings.master_key_bytes if settings.master_key else None)
    issuing = Issuing(
        data_integrity=data_integrity,
        key_cache=key_cache,
        policy=StatusPolicy(
            public_url=settings.public_url,
            size=settings.status_list_size,
            fill_limit=settings.status_list_fill_limit,
            ttl=timedelta(seconds=settings.status_list_ttl_seconds),
        ),
        loader=loader,
        form=PinnedForm(loader),
        offload=offload_for(settings),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        sessionmaker = session_factory(engine)
        # Rate limits in Redis when configured, else on PostgreSQL in a pool of their own
        # (app/ratelimit.py).
        redis = redis_client(settings.redis_url.get_secret_value()) if settings.redis_url else None
        counters = None if redis is not None else counter_engine(settings.database_url)
        # One client for every remote fetch (did:web, status lists); no proxies from the
        # environment, so the fetch guard's address checks hold (app/net.py).
        http_client = httpx.AsyncClient(trust_env=False)
        verifier = build_verifier(
            settings,
            data_integrity=data_integrity,
            loader=loader,
            sessionmaker=sessionmaker,
            client=http_client,
            form=issuing.form,
            offload=issuing.offload,
        )
        # One typed state (app/state.py), reached by routes through app/api/deps.py. It is kept
        # on app.state rather than yielded as Starlette lifespan state: tests and tools that
        # run the app in process (httpx's ASGI transport) send no lifespan state with requests.
        state = AppState(
            settings=settings,
            schema_head=schema,
            document_loader=loader,
            data_integrity=data_integrity,
            key_cache=key_cache,
            issuing=issuing,
            engine=engine,
            sessionmaker=sessionmaker,
            http_client=http_client,
            verifier=verifier,
            rate_limit_engine=counters,
            rate_limit_redis=redis,
            rate_limit_redis_prefix=settings.redis_prefix + "ratelimit:",
        )
        running = start_job_runner(state, settings) if settings.jobs_runner else None
        app.state.services = (
            replace(state, job_runner=running.runner) if running is not None else state
        )
        _warm_up(data_integrity, issuing.form)
        try:
            yield
        finally:
            if running is not None:
                await running.close()
            await http_client.aclose()
            await engine.dispose()
            if counters is not None:
                await counters.dispose()
            if redis is not None:
                await redis.aclose()

    app = FastAPI(
        title="microcred",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by install_docs, without a CDN
        redoc_url=None,
        dependencies=[Depends(charge_routes_without_api_keys)],
    )
    install_problem_handlers(app)
    install_form_body_names(app)
    app.add_middleware(RequestLimits, max_bytes=settings.max_body_bytes, offload=issuing.offload)
    app.add_middleware(
        RateLimit,
        per_key_per_minute=settings.rate_limit_per_key_per_minute,
        public_per_minute=settings.rate_limit_public_per_minute,
    )
    if settings.cors_origins:  # closed unless origins are configured
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
        )
    app.add_middleware(
        ObservabilityMiddleware,
        hsts=settings.public_url.startswith("https://"),
        on_error=unexpected_error_response,
    )
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    install_docs(app)
    app.include_router(health.router)
    app.include_router(admin.router)
    app.include_router(did.router)
    app.include_router(registry.router)
    app.include_router(credentials.router)
    app.include_router(joint.router)
    app.include_router(jobs.router)
    app.include_router(courses.router)
    app.include_router(status.router)
    app.include_router(sdjwt.router)
    app.include_router(sdjwt.admin_router)
    app.include_router(oid4vci.router)
    app.include_router(verify.router)
    app.include_router(oid4vp.router)
    app.include_router(asks.router)
    app.include_router(vocabularies.router)
    app.include_router(sharing.router)
    app.include_router(sharing.admin_router)
    app.include_router(pages.router)
    app.include_router(catalogue.router)
    app.include_router(shares.router)
    app.include_router(branding.router)
    return app


def __getattr__(name: str) -> FastAPI:
    """``uvicorn app.main:app`` builds the app from the environment on first access."""
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
