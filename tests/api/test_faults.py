"""Faults: the database going away mid-request, a process killed mid-batch, a list that cannot
be re-signed.

* The database lost in the middle of a request (PostgreSQL: the server terminates every
  connection of the app, as ``pg_terminate_backend`` from an admin session does; SQLite, which
  has no server to lose: the driver fails the statement with an I/O error) answers 503
  problem+json with ``Retry-After``, says nothing of the driver, and leaves no half-written
  credential or status change; the same request retried afterwards succeeds once.
* A real service process SIGKILLed in the middle of a 200-item batch, restarted, and the batch
  retried with the same ``Idempotency-Key``: every item's credential exists exactly once.
* A status list whose re-signing fails (the issuer's only key revoked; a sealed key that does
  not open) is still served as last signed, with its old ETag; never signed, it answers 503.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, func, text, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings, new_master_key
from app.credentials.vcapi import issuer_id
from app.db.engine import create_engine
from app.db.errors import database_refused_value, database_unreachable
from app.db.models import AuditEvent, Credential, SigningKey, StatusEntry, StatusList
from app.main import create_app
from app.status.bitstring import Bitstring
from tests import processes
from tests.api.test_multiprocess import free_port
from tests.conftest import ADMIN_TOKEN, _admin_sql, _empty_tables, problem_of
from tests.factories import issuer_with_key, microcredential_body, vc2_credential

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_URL = "https://credentials.example.edu"
REVOKE = {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"}
#: Words of the drivers' and the database's own messages: none may reach a client.
DRIVER_WORDS = ("asyncpg", "sqlite", "terminat", "i/o", "sql", "connection", "127.0.0.1")


# -- helpers ------------------------------------------------------------------------------------


async def count(app: FastAPI, model: type[SQLModel]) -> int:
    async with app.state.services.sessionmaker() as session:
        found: int = (await session.exec(select(func.count()).select_from(model))).one()
        return found


async def rows(app: FastAPI, model: type[Any]) -> list[Any]:
    async with app.state.services.sessionmaker() as session:
        return list((await session.exec(select(model))).all())


def _terminate_connections(database_url: str) -> None:
    """As an admin would: end every other session on the app's database, and wait for it.

    Runs in a thread of its own (with its own event loop), as the app's loop is blocked in the
    statement hook that calls this.
    """
    statement = (
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    with ThreadPoolExecutor(1) as executor:
        executor.submit(asyncio.run, _admin_sql(database_url, statement)).result()


def _lose_database(database_url: str, dbapi_connection: Any = None) -> None:
    """PostgreSQL: the server really ends the app's connections. SQLite has no server to lose:
    the statement (or commit) on ``dbapi_connection`` fails as on a failing disk."""
    if database_url.startswith("postgresql"):
        _terminate_connections(database_url)
        return
    if dbapi_connection is not None:
        # What SQLite does when an I/O error hits a transaction: it rolls it back itself.
        dbapi_connection.rollback()
    raise sqlite3.OperationalError("disk I/O error")


@contextmanager
def database_lost_before(
    app: FastAPI, database_url: str, statement: Callable[[str], bool]
) -> Iterator[list[str]]:
    """Lose the database just before the first statement matching ``statement`` runs."""
    engine = app.state.services.engine.sync_engine
    seen: list[str] = []

    def before(
        conn: Connection, cursor: Any, sql: str, params: Any, context: Any, many: bool
    ) -> None:
        if not seen and statement(sql):
            seen.append(sql)
            _lose_database(database_url)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


@contextmanager
def database_lost_at_commit(
    app: FastAPI, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[str]]:
    """Lose the database when the next transaction commits, after all its statements ran."""
    dialect = app.state.services.engine.sync_engine.dialect
    real_commit = dialect.do_commit
    seen: list[str] = []

    def do_commit(dbapi_connection: Any) -> None:
        if not seen:
            seen.append("COMMIT")
            _lose_database(database_url, dbapi_connection)
        real_commit(dbapi_connection)

    monkeypatch.setattr(dialect, "do_commit", do_commit)
    yield seen


def assert_503(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    problem = problem_of(response)
    assert problem["title"] == "Service unavailable"
    assert int(response.headers["Retry-After"]) > 0
    text = response.text.lower()
    assert not [word for word in DRIVER_WORDS if word in text], response.text


def starts(prefix: str) -> Callable[[str], bool]:
    return lambda sql: sql.lstrip().upper().startswith(prefix)


# -- (a) the database going away mid-request ----------------------------------------------------


async def test_database_lost_while_issuing_is_503_and_writes_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    database_url: str,
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    headers = {**auth, "Idempotency-Key": "attempt-1"}
    body = {"credential": vc2_credential(issuer["did"])}
    # Counting the allocation comes last in the store step: on SQLite after the credential's row
    # and status entry were written in the transaction; on PostgreSQL the store step is one
    # statement, which holds the count. The issuer's first list was opened (and committed)
    # before signing: it stays, empty, and the retry uses it.
    counting = lambda sql: "UPDATE STATUS_LISTS" in sql.upper()  # noqa: E731
    with database_lost_before(app, database_url, counting) as lost:
        response = await client.post("/credentials/issue", json=body, headers=headers)
    assert lost, "the fault was never injected"
    assert_503(response)
    assert await count(app, Credential) == 0
    assert await count(app, StatusEntry) == 0
    [opened] = await rows(app, StatusList)
    assert opened.allocated == 0
    assert "credential.issued" not in {e.action for e in await rows(app, AuditEvent)}

    retried = await client.post("/credentials/issue", json=body, headers=headers)
    assert retried.status_code == 201, retried.text
    again = await client.post("/credentials/issue", json=body, headers=headers)
    assert again.json() == retried.json()
    assert await count(app, Credential) == 1
    [entry] = await rows(app, StatusEntry)
    [status_list] = await rows(app, StatusList)
    assert entry.list_id == status_list.id == opened.id
    assert status_list.allocated == 1


async def test_database_lost_at_commit_is_503_and_writes_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    body = microcredential_body("obv3")
    with database_lost_at_commit(app, database_url, monkeypatch) as lost:
        response = await client.post("/microcredentials", json=body, headers=auth)
    assert lost, "the fault was never injected"
    assert_503(response)
    assert await count(app, Credential) == 0
    assert await count(app, StatusEntry) == 0
    retried = await client.post("/microcredentials", json=body, headers=auth)
    assert retried.status_code == 201, retried.text
    assert await count(app, Credential) == 1


async def test_database_lost_while_revoking_is_503_and_changes_no_status(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    database_url: str,
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    issued = await client.post(
        "/credentials/issue", json={"credential": vc2_credential(issuer["did"])}, headers=auth
    )
    vc = issued.json()["verifiableCredential"]
    list_path = vc["credentialStatus"]["statusListCredential"].removeprefix(PUBLIC_URL)
    before = await client.get(list_path)
    assert before.status_code == 200
    body = {"credentialId": vc["id"], "credentialStatus": REVOKE, "status": True}
    # The list's version is bumped after the entry's bit was set in the transaction.
    with database_lost_before(app, database_url, starts("UPDATE STATUS_LISTS")) as lost:
        response = await client.post("/credentials/status", json=body, headers=auth)
    assert lost, "the fault was never injected"
    assert_503(response)
    [entry] = await rows(app, StatusEntry)
    assert entry.is_set is False
    [status_list] = await rows(app, StatusList)
    assert status_list.version == 0
    assert "credential.revoked" not in {e.action for e in await rows(app, AuditEvent)}
    read = await client.get(issued.headers["Location"], headers=auth)
    assert read.json()["status"] == {"revoked": False, "suspended": False}
    unchanged = await client.get(list_path)
    assert unchanged.headers["ETag"] == before.headers["ETag"]

    retried = await client.post("/credentials/status", json=body, headers=auth)
    assert retried.status_code == 200, retried.text
    assert retried.json()["revoked"] is True
    bits = Bitstring.decode(
        (await client.get(list_path)).json()["credentialSubject"]["encodedList"]
    )
    assert set(bits.set_indexes()) == {int(vc["credentialStatus"]["statusListIndex"])}


async def test_pooled_connections_the_server_ended_are_replaced(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Idle in the pool past IDLE_PING_SECONDS: pinged, and a dead one replaced unseen. In steady
    use (no ping): the first statement fails, the pool is invalidated, the next one works."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to end a connection")
    import app.db.engine as db_engine

    engine = create_engine(database_url, pool_size=2)

    async def backend() -> int:
        async with engine.connect() as connection:
            pid: int = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            return pid

    try:
        first = await backend()
        await asyncio.to_thread(_terminate_connections, database_url)
        monkeypatch.setattr(db_engine, "IDLE_PING_SECONDS", 0.0)
        replaced = await backend()  # no error: the ping found the connection dead
        assert replaced != first

        monkeypatch.setattr(db_engine, "IDLE_PING_SECONDS", 3600.0)
        await asyncio.to_thread(_terminate_connections, database_url)
        with pytest.raises(sa_exc.DBAPIError) as failed:
            await backend()
        assert failed.value.connection_invalidated
        assert await backend() not in (first, replaced)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("where", ["postgresql", "sqlite"])
async def test_an_unreachable_database_is_503_not_401_or_500(where: str, tmp_path: Path) -> None:
    url = {
        # nothing listens on port 1: every connection is refused
        "postgresql": "postgresql+asyncpg://postgres@127.0.0.1:1/none",
        # a directory where the database file should be: it cannot be opened
        "sqlite": f"sqlite+aiosqlite:///{tmp_path}",
    }[where]
    settings = Settings.model_validate(
        {
            "env": "production",
            "database_url": url,
            "admin_token": ADMIN_TOKEN,
            "master_key": new_master_key(),
            "public_url": PUBLIC_URL,
        }
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            replies = [
                await client.post(
                    "/credentials/issue",
                    json={"credential": vc2_credential("did:example:x")},
                    headers={"Authorization": "Bearer mck_0123456789abcdef_secret"},
                ),
                await client.get(
                    "/admin/issuers", headers={"Authorization": "Bearer " + ADMIN_TOKEN}
                ),
                await client.get("/status-lists/some-list"),
            ]
    for response in replies:
        assert_503(response)
    # The failed connections sit in reference cycles (through their exceptions); collect them
    # while this event loop still runs, not at exit when their worker threads find it closed.
    gc.collect()


def test_only_connection_level_database_errors_are_503() -> None:
    class DriverError(Exception):
        sqlstate: str | None = None

    def wrapped(kind: type[sa_exc.DBAPIError], orig: Exception, **kw: Any) -> sa_exc.DBAPIError:
        return kind("SELECT 1", None, orig, **kw)

    lost = wrapped(sa_exc.DBAPIError, DriverError("closed"), connection_invalidated=True)
    nul = DriverError("invalid byte sequence for encoding UTF8: 0x00")
    nul.sqlstate = "22021"
    assert database_unreachable(sa_exc.TimeoutError("QueuePool limit reached"))
    assert database_unreachable(wrapped(sa_exc.OperationalError, DriverError("locked")))
    assert database_unreachable(wrapped(sa_exc.InterfaceError, DriverError("closed")))
    assert database_unreachable(lost)
    assert not database_unreachable(wrapped(sa_exc.IntegrityError, DriverError("unique")))
    assert not database_unreachable(wrapped(sa_exc.ProgrammingError, DriverError("syntax")))
    assert not database_unreachable(ValueError("not a database error"))
    assert database_refused_value(wrapped(sa_exc.DBAPIError, nul))
    assert not database_unreachable(wrapped(sa_exc.DBAPIError, nul))
    assert database_refused_value(wrapped(sa_exc.InterfaceError, ValueError("out of int64")))
    assert not database_unreachable(wrapped(sa_exc.InterfaceError, ValueError("out of int64")))


# -- (b) a process killed in the middle of a batch ----------------------------------------------

BATCH = 1000  # the most a batch may hold: issuing got fast enough to finish 200 before the kill
BATCH_KEY = "nightly-2026-06-30"


@asynccontextmanager
async def service(
    database_url: str, master_key: str, log: Path
) -> AsyncIterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real ``uvicorn`` process on the test database; stopped with its process group."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICROCRED_")}
    env.update(
        MICROCRED_DATABASE_URL=database_url,
        MICROCRED_ADMIN_TOKEN=ADMIN_TOKEN,
        MICROCRED_MASTER_KEY=master_key,
        MICROCRED_PUBLIC_URL=PUBLIC_URL,
        MICROCRED_LOG_LEVEL="WARNING",
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as stderr:
        process = processes.start(
            [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
            + ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as http:
            while True:
                assert process.poll() is None, f"the service exited: see {log}"
                try:
                    if (await http.get(url + "/health", timeout=1)).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the service did not start"
                await asyncio.sleep(0.1)
        yield url, process
    finally:
        processes.stop(process)


async def committed(database_url: str, model: type[SQLModel]) -> int:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        async with AsyncSession(engine) as session:
            found: int = (await session.exec(select(func.count()).select_from(model))).one()
            return found
    finally:
        await engine.dispose()


def batch_items() -> list[dict[str, Any]]:
    items = []
    for index in range(BATCH):
        item = microcredential_body("obv3")
        item["learner"]["identifier"]["value"] = f"S{index:04d}"
        items.append(item)
    return items


async def test_a_batch_cut_short_by_sigkill_and_retried_issues_each_item_exactly_once(
    database_url: str, tmp_path: Path
) -> None:
    master_key = new_master_key()
    log = tmp_path / "service.log"
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    body = {"items": batch_items()}
    try:
        async with service(database_url, master_key, log) as (url, process):
            async with httpx.AsyncClient(base_url=url, timeout=120) as http:
                issuer, auth = await issuer_with_key(http, admin, "uni-kill")
                headers = {**auth, "Idempotency-Key": BATCH_KEY}
                batch = asyncio.create_task(
                    http.post("/microcredentials/batch", json=body, headers=headers)
                )
                while (done := await committed(database_url, Credential)) < 10:
                    assert not batch.done(), "the batch ended before it could be cut short"
                    await asyncio.sleep(0.01)
                # SIGKILL: no shutdown, no rollback by the service, mid-transaction.
                process.send_signal(signal.SIGKILL)
                with pytest.raises(httpx.TransportError):
                    await batch

        async with service(database_url, master_key, log) as (url, _):
            # Counted once the killed process's connections are long gone.
            cut_at = await committed(database_url, Credential)
            assert done <= cut_at < BATCH, f"{cut_at} of {BATCH} were issued before the kill"
            async with httpx.AsyncClient(base_url=url, timeout=120) as http:
                retried = await http.post("/microcredentials/batch", json=body, headers=headers)
                assert retried.status_code == 200, retried.text
                results = retried.json()["results"]
                statuses = [result["status"] for result in results]
                assert statuses == [200] * cut_at + [201] * (BATCH - cut_at)
                again = await http.post("/microcredentials/batch", json=body, headers=headers)
                assert [r["status"] for r in again.json()["results"]] == [200] * BATCH
                assert again.json()["results"] == [{**result, "status": 200} for result in results]
                for result in results[cut_at - 2 : cut_at + 2]:
                    found = await http.get(
                        "/credentials/" + result["verifiableCredential"]["id"], headers=auth
                    )
                    assert found.status_code == 200, found.text
        await _assert_each_item_once(database_url, issuer["did"])
    finally:
        await _empty_tables(database_url)


async def _assert_each_item_once(database_url: str, did: str) -> None:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        async with AsyncSession(engine) as session:
            credentials = (await session.exec(select(Credential))).all()
            entries = (await session.exec(select(StatusEntry))).all()
            lists = (await session.exec(select(StatusList))).all()
    finally:
        await engine.dispose()
    assert len(credentials) == BATCH
    assert sorted(c.idempotency_key or "" for c in credentials) == sorted(
        f"{BATCH_KEY}#{index}" for index in range(BATCH)
    )
    for credential in credentials:
        index = int((credential.idempotency_key or "").rsplit("#", 1)[1])
        assert credential.learner_ref == f"student-number:S{index:04d}"
        assert credential.document["proof"] and issuer_id(credential.document) == did
    assert sorted(e.credential_id for e in entries) == sorted(c.id for c in credentials)
    assert sum(status_list.allocated for status_list in lists) == BATCH


# -- (c) a status list re-sign that fails -------------------------------------------------------


async def _issue_and_publish(
    client: httpx.AsyncClient, auth: dict[str, str], did: str
) -> tuple[dict[str, Any], str, httpx.Response]:
    issued = await client.post(
        "/credentials/issue", json={"credential": vc2_credential(did)}, headers=auth
    )
    assert issued.status_code == 201, issued.text
    vc: dict[str, Any] = issued.json()["verifiableCredential"]
    path = vc["credentialStatus"]["statusListCredential"].removeprefix(PUBLIC_URL)
    published = await client.get(path)
    assert published.status_code == 200, published.text
    return vc, path, published


async def _revoke(client: httpx.AsyncClient, auth: dict[str, str], vc: dict[str, Any]) -> None:
    body = {"credentialId": vc["id"], "credentialStatus": REVOKE, "status": True}
    response = await client.post("/credentials/status", json=body, headers=auth)
    assert response.status_code == 200, response.text


def assert_served_as_before(response: httpx.Response, before: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == before.headers["ETag"]
    assert response.json() == before.json()
    bits = Bitstring.decode(response.json()["credentialSubject"]["encodedList"])
    assert not list(bits.set_indexes()), "the revocation is not in the last signed list"


async def test_a_list_whose_only_key_was_revoked_is_withdrawn_until_a_key_is_rotated_in(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc, path, before = await _issue_and_publish(client, auth, issuer["did"])
    await _revoke(client, auth, vc)  # the list changed: it must be re-signed ...
    revoked = await client.post(
        f"/admin/issuers/{random_slug}/keys/key-1/revoke", headers=admin_headers
    )
    assert revoked.status_code == 200, revoked.text  # ... and no key may sign it
    # The last signed list carries the revoked key's proof: it is not served any more.
    for headers in ({}, {"If-None-Match": before.headers["ETag"]}):
        withdrawn = await client.get(path, headers=headers)
        assert withdrawn.status_code == 503, withdrawn.text
        assert problem_of(withdrawn)["type"] == "urn:microcred:problem:STATUS_LIST_UNAVAILABLE"

    rotated = await client.post(f"/admin/issuers/{random_slug}/keys/rotate", headers=admin_headers)
    assert rotated.status_code == 201, rotated.text
    after = await client.get(path)
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    bits = Bitstring.decode(after.json()["credentialSubject"]["encodedList"])
    assert set(bits.set_indexes()) == {int(vc["credentialStatus"]["statusListIndex"])}


async def test_a_list_whose_sealed_key_does_not_open_is_served_as_last_signed(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc, path, before = await _issue_and_publish(client, auth, issuer["did"])
    await _revoke(client, auth, vc)
    [key] = await rows(app, SigningKey)
    async with app.state.services.sessionmaker() as session:
        corrupted = bytes([key.encrypted_seed[0]]) + bytes(len(key.encrypted_seed) - 1)
        await session.exec(
            update(SigningKey).where(col(SigningKey.id) == key.id).values(encrypted_seed=corrupted)
        )
        await session.commit()
    app.state.services.key_cache.forget(key.key_id)  # as in a process that has not opened it yet
    assert_served_as_before(await client.get(path), before)


async def test_a_list_never_signed_that_cannot_be_signed_is_503(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    issued = await client.post(
        "/credentials/issue", json={"credential": vc2_credential(issuer["did"])}, headers=auth
    )
    path = issued.json()["verifiableCredential"]["credentialStatus"]["statusListCredential"]
    revoked = await client.post(
        f"/admin/issuers/{random_slug}/keys/key-1/revoke", headers=admin_headers
    )
    assert revoked.status_code == 200, revoked.text
    response = await client.get(path.removeprefix(PUBLIC_URL))
    assert response.status_code == 503, response.text
    assert problem_of(response)["type"] == "urn:microcred:problem:STATUS_LIST_UNAVAILABLE"
    assert int(response.headers["Retry-After"]) > 0
