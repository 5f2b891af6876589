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
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlmodel import SQLModel

from app.cli import migrate
from app.config import Settings, new_master_key
from app.db import models as _models  # noqa: F401  (registers tables)
from app.db.engine import create_engine
from app.main import create_app

ADMIN_TOKEN = "test-admin-token-" + "x" * 32
POSTGRES_URL = os.environ.get("MICROCRED_TEST_DATABASE_URL", "")
REQUIRE_POSTGRES = os.environ.get("MICROCRED_REQUIRE_POSTGRES") == "1"
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


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


async def _drop_everything(url: str) -> None:
    """A PostgreSQL test database starts empty, whatever an earlier run left in it."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


def _reset_schema(url: str) -> None:
    if url.startswith("postgresql"):
        asyncio.run(_drop_everything(url))
    migrate(url)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
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
        url = POSTGRES_URL
    _reset_schema(url)
    return url


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
