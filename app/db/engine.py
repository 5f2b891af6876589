"""The async engine (aiosqlite by default, asyncpg for PostgreSQL) and per-request sessions."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from app import jsontext


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, open transactions (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    """Open every SQLite transaction with BEGIN IMMEDIATE.

    The driver's own transaction handling emits no BEGIN before a SAVEPOINT, so releasing the
    savepoint would commit; and a deferred transaction that reads and then writes fails at once
    with "database is locked" when another writer committed meanwhile. IMMEDIATE takes the write
    lock up front (waiting up to busy_timeout), so concurrent requests queue instead of failing.
    """
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def ensure_sqlite_directory(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # JSON columns written and read by orjson where it is exact (app/jsontext.py).
    kwargs.setdefault("json_serializer", jsontext.dumps)
    kwargs.setdefault("json_deserializer", jsontext.loads)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        ensure_sqlite_directory(url)
        if parsed.database not in (None, "", ":memory:") and "poolclass" not in kwargs:
            # One connection per process: every SQLite transaction takes the write lock
            # (_sqlite_begin), so a second connection would only wait in SQLite's busy handler,
            # which sleeps up to 100 ms between tries and serves waiters in no order. Waiting
            # for the pool's one connection instead is first come, first served: a much lower
            # p99 latency at the same throughput (bench/README.md).
            kwargs.setdefault("pool_size", 1)
            kwargs.setdefault("max_overflow", 0)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
    engine = create_async_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine.sync_engine.pool, "checkin", _note_checkin)
        event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
    return engine


#: A pooled PostgreSQL connection idle longer than this is pinged before use.
IDLE_PING_SECONDS = 5.0


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Ping a connection that sat idle in the pool; a dead one is replaced before use.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout, and for asyncpg a ping is three
    round trips (BEGIN, an empty query, ROLLBACK): with two checkouts per issue, six of its
    seventeen. A connection in steady use needs none: when the server ends it (a restart, an
    admin's ``pg_terminate_backend``) the statement fails, SQLAlchemy invalidates the whole pool
    and the request answers 503 like any lost database; connections left idle (a quiet night)
    are the ones likely stale, and those are pinged.
    """
    since = record.info.get("checked_in")
    if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
        return
    try:
        dbapi_connection.ping()
    except Exception as exc:  # whatever the driver raised: this connection is gone
        raise DisconnectionError(f"the idle connection failed its ping: {exc}") from exc


def on_postgresql(session: AsyncSession) -> bool:
    """Whether ``session`` talks to PostgreSQL (else SQLite)."""
    bind = session.bind
    return isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql"


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
