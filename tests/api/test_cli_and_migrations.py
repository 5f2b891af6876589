"""The ``microcred`` command and the Alembic migrations, on each database backend."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from app.cli import main
from app.cli_db import downgrade, migrate
from app.config import get_settings, new_master_key
from app.db.engine import create_engine
from tests import processes
from tests.conftest import ADMIN_TOKEN

TABLES = {"issuers", "signing_keys", "api_keys", "audit_events"}


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await engine.dispose()
    return set(names) - {"alembic_version"}


def test_migrations_downgrade_to_empty_and_upgrade_again(database_url: str) -> None:
    try:
        assert TABLES <= asyncio.run(_tables(database_url))
        downgrade(database_url, "base")
        assert asyncio.run(_tables(database_url)) == set()
    finally:
        migrate(database_url)
    assert TABLES <= asyncio.run(_tables(database_url))


async def _document_storage(url: str) -> tuple[str, str]:
    """PostgreSQL's storage strategy and compression method of ``credentials.document``."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            found = await connection.execute(
                text(
                    "SELECT attstorage::text, attcompression::text FROM pg_attribute "
                    "WHERE attrelid = 'credentials'::regclass AND attname = 'document'"
                )
            )
            storage, compression = found.one()
    finally:
        await engine.dispose()
    return str(storage), str(compression)


def test_a_credential_document_is_not_pglz_compressed_on_postgresql(database_url: str) -> None:
    """A signed EDC's PNG pages defeat pglz, which still spends ~1 ms a credential trying."""
    if not database_url.startswith("postgresql"):
        pytest.skip("TOAST compression is PostgreSQL's")
    storage, compression = asyncio.run(_document_storage(database_url))
    # lz4 (any server with lz4, as Debian's and the official images are), else no compression
    assert (compression, storage) == ("l", "x") or storage == "e"
    try:
        downgrade(database_url, "e01ff18ab6eb")
        assert asyncio.run(_document_storage(database_url)) == ("x", "")
    finally:
        migrate(database_url)
    assert asyncio.run(_document_storage(database_url)) == (storage, compression)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("MICROCRED_DATABASE_URL", url)
    monkeypatch.setenv("MICROCRED_ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("MICROCRED_MASTER_KEY", new_master_key())
    monkeypatch.setenv("MICROCRED_ENV", "production")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_cli_manages_issuers_and_api_keys(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert (
        main(
            [
                "issuer",
                "create",
                "uni-cli",
                "--name",
                "en=University of Cli",
                "--country",
                "IRL",
                "--legal-identifier",
                "IE999",
            ]
        )
        == 0
    )
    created = json.loads(capsys.readouterr().out)
    assert created["did"].endswith(":issuers:uni-cli") and created["keys"][0]["id"] == "key-1"

    assert main(["issuer", "rotate-key", "uni-cli"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == "key-2"
    assert main(["issuer", "revoke-key", "uni-cli", "key-1"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "revoked"

    assert (
        main(["api-key", "create", "uni-cli", "--name", "sis", "--scope", "credentials:issue"]) == 0
    )
    key = json.loads(capsys.readouterr().out)
    assert key["key"].startswith("mck_") and key["scopes"] == ["credentials:issue"]
    assert main(["api-key", "delete", "uni-cli", key["id"]]) == 0
    capsys.readouterr()

    assert main(["issuer", "list"]) == 0
    [shown] = json.loads(capsys.readouterr().out)
    assert [(k["id"], k["status"]) for k in shown["keys"]] == [
        ("key-1", "revoked"),
        ("key-2", "active"),
    ]


def test_cli_reports_bad_input_and_unknown_issuers(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    assert (
        main(
            [
                "issuer",
                "create",
                "uni-x",
                "--name",
                "en=X",
                "--country",
                "XXX",
                "--legal-identifier",
                "IE1",
            ]
        )
        == 1
    )
    assert "country" in capsys.readouterr().err
    assert main(["issuer", "rotate-key", "nobody"]) == 1
    assert "Issuer not found" in capsys.readouterr().err


def test_serve_without_secrets_in_production_says_what_is_missing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICROCRED_")}
    env["MICROCRED_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    result = processes.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", "0"], 60, cwd=tmp_path, env=env
    )
    assert result.returncode == 2
    assert "MICROCRED_MASTER_KEY" in result.stderr and "production" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_sqlite_file_gets_one_pooled_connection_per_process(tmp_path: Path) -> None:
    # Every SQLite transaction takes the write lock: requests queue for the one connection
    # (first come, first served) instead of sleeping in SQLite's busy handler.
    from sqlalchemy.pool import NullPool

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/one.db")
    unpooled = create_engine(f"sqlite+aiosqlite:///{tmp_path}/one.db", poolclass=NullPool)
    try:
        assert engine.pool.size() == 1  # type: ignore[attr-defined]
        assert engine.pool._max_overflow == 0  # type: ignore[attr-defined]
        assert isinstance(unpooled.pool, NullPool)
    finally:
        asyncio.run(engine.dispose())
        asyncio.run(unpooled.dispose())


def test_cli_manages_the_trust_list(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    capsys.readouterr()
    did = "did:web:uni-zed.example"
    put = ["trust", "put", did, "--legal-name", "University of Zed", "--country", "IRL"]
    put += ["--legal-identifier", "IE1234567X", "--accreditation", '{"body": "QQI"}']
    assert main(put) == 0
    entry = json.loads(capsys.readouterr().out)
    assert (entry["did"], entry["accreditation"]) == (did, {"body": "QQI"})
    assert main(["trust", "list"]) == 0
    assert [e["legalName"] for e in json.loads(capsys.readouterr().out)] == ["University of Zed"]
    assert main(["trust", "put", "not-a-did", *put[3:]]) == 1
    assert main([*put[:-1], "{not json"]) == 2
    assert main(["trust", "remove", did]) == 0
    assert main(["trust", "remove", did]) == 1
    assert "Not on the trust list" in capsys.readouterr().err
    assert main(["trust", "list"]) == 0
    assert json.loads(capsys.readouterr().out) == []
