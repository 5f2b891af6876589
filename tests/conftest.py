"""Shared fixtures: settings, a migrated database per backend, the ASGI app and an HTTP client.

The suite runs on SQLite; when ``MICROCRED_TEST_DATABASE_URL`` names a PostgreSQL database the
database-backed tests run on both backends (``MICROCRED_REQUIRE_POSTGRES=1`` in CI turns an
unreachable server into a failure instead of a skip).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from app.cli_db import migrate
from app.config import Settings, new_master_key
from app.db import models as _models  # noqa: F401  (registers tables)
from app.db.engine import create_engine
from app.main import create_app
from tests import processes

ADMIN_TOKEN = "test-admin-token-" + "x" * 32
POSTGRES_URL = os.environ.get("MICROCRED_TEST_DATABASE_URL", "")
REQUIRE_POSTGRES = os.environ.get("MICROCRED_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind() -> Iterator[None]:
    """After the run (this teardown is the last), no process the suite started is alive: no
    descendant of pytest (a subreaper, so orphans stay its descendants), and no member of a
    process group that ``tests.processes`` started."""
    processes.become_subreaper()
    yield
    groups = processes.survivors()
    children = processes.descendants(os.getpid())
    assert not groups and not children, (
        f"processes left behind: groups {groups}, children of pytest {children}"
    )


async def _can_connect(url: str) -> str | None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # report why, whatever the driver raised
        return f"{type(exc).__name__}: {exc}"
    finally:
        await engine.dispose()
    return None


async def _admin_sql(url: str, statement: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@contextmanager
def _fresh_postgres_database(url: str) -> Iterator[str]:
    """A new, empty database on the server for this run (parallel runs do not collide)."""
    parsed = make_url(url)
    name = f"{parsed.database}_{secrets.token_hex(4)}"
    asyncio.run(_admin_sql(url, f'CREATE DATABASE "{name}"'))
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin_sql(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        migrate(url)
        yield url
    else:
        if not POSTGRES_URL:
            if REQUIRE_POSTGRES:
                pytest.fail("MICROCRED_REQUIRE_POSTGRES=1 but MICROCRED_TEST_DATABASE_URL is unset")
            pytest.skip("PostgreSQL tests skipped: MICROCRED_TEST_DATABASE_URL is not set")
        problem = asyncio.run(_can_connect(POSTGRES_URL))
        if problem:
            if REQUIRE_POSTGRES:
                pytest.fail(f"PostgreSQL required but unreachable: {problem}")
            pytest.skip(f"PostgreSQL tests skipped: cannot connect ({problem})")
        with _fresh_postgres_database(POSTGRES_URL) as url:
            migrate(url)
            yield url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings.model_validate(
        {
            "env": "production",
            "database_url": database_url,
            "admin_token": ADMIN_TOKEN,
            "master_key": new_master_key(),
            "public_url": "https://credentials.example.edu",
        }
    )


async def _empty_tables(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for table in reversed(SQLModel.metadata.sorted_tables):
                await connection.execute(table.delete())
    finally:
        await engine.dispose()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
    await _empty_tables(settings.database_url)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def random_slug() -> Iterator[str]:
    yield "uni-" + secrets.token_hex(4)


def problem_of(response: httpx.Response) -> dict[str, Any]:
    """The problem+json body of an error response (asserting that it is one)."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code
    assert {"type", "title", "status"} <= body.keys()
    return body
