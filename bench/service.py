"""The service under test: a throwaway database, ``microcred serve`` as a real process, set-up.

The service runs as in production (``MICROCRED_ENV=production``, secrets from the environment,
migrations applied by ``microcred serve``) on a free loopback port; the issuer and its API key
are made through the admin API, as an operator would.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from bench.common import PROJECT_ROOT, Json

#: Where the bench creates (and drops) its own PostgreSQL database; any database on the server
#: serves for the CREATE/DROP connection.
POSTGRES_ADMIN_URL = os.environ.get(
    "MICROCRED_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
READY_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0


class ServiceError(RuntimeError):
    """The service did not start, or its set-up through the admin API failed."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def sqlite_database(directory: Path) -> Iterator[str]:
    path = directory / f"microcred-bench-{secrets.token_hex(4)}.db"
    try:
        yield f"sqlite+aiosqlite:///{path}"
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


async def _postgres_admin(statement: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def postgres_available() -> str | None:
    """None when the server answers, else why not."""
    try:
        asyncio.run(_postgres_admin("SELECT 1"))
    except Exception as exc:  # whatever the driver raised: report it, skip PostgreSQL
        return f"{type(exc).__name__}: {exc}"
    return None


def postgres_version() -> str | None:
    async def query() -> str:
        import asyncpg

        connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=10)
        try:
            version: str = await connection.fetchval("SHOW server_version")
            return version
        finally:
            await connection.close()

    try:
        return asyncio.run(query())
    except Exception:  # informational only
        return None


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new database ``microcred_bench_<random>``, dropped afterwards (even on failure)."""
    name = f"microcred_bench_{secrets.token_hex(4)}"
    asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+asyncpg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _serve_command(port: int, workers: int) -> list[str]:
    script = Path(sys.executable).with_name("microcred")
    arguments = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    if script.exists():
        return [str(script), *arguments]
    return [sys.executable, "-c", "from app.cli import main; raise SystemExit(main())", *arguments]


@dataclass
class Tenant:
    """The issuer the load runs as: its DID and an API key with every issuer scope."""

    slug: str
    did: str
    api_key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api_key}"}


class Service:
    """``microcred serve`` with ``workers`` worker processes over ``database_url``."""

    def __init__(self, database_url: str, workers: int, log_path: Path) -> None:
        self.database_url = database_url
        self.workers = workers
        self.log_path = log_path
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.admin_token = secrets.token_urlsafe(32)
        master_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
        environment = {k: v for k, v in os.environ.items() if not k.startswith("MICROCRED_")}
        environment.update(
            {
                "MICROCRED_ENV": "production",
                "MICROCRED_ADMIN_TOKEN": self.admin_token,
                "MICROCRED_MASTER_KEY": master_key,
                "MICROCRED_DATABASE_URL": database_url,
                "MICROCRED_PUBLIC_URL": self.base_url,
                # No access log: one line per request would be part of every figure.
                "MICROCRED_LOG_LEVEL": "WARNING",
                # All the load comes from one address and one API key: the per-address and
                # per-key rate limits (600 and 6,000 a minute by default) would be the figure.
                "MICROCRED_RATE_LIMIT_PER_KEY_PER_MINUTE": "0",
                "MICROCRED_RATE_LIMIT_PUBLIC_PER_MINUTE": "0",
            }
        )
        self.environment = environment
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Service:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                _serve_command(self.port, self.workers),
                cwd=PROJECT_ROOT,
                env=self.environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() ends it and its workers
            )
        deadline = time.monotonic() + READY_TIMEOUT
        with httpx.Client(base_url=self.base_url, timeout=5, trust_env=False) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise ServiceError(f"the service exited at start-up:\n{self.log_tail()}")
                try:
                    if client.get("/ready").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.25)
            else:
                raise ServiceError(f"the service was not ready in {READY_TIMEOUT:.0f} s")
            # Every worker answers once before any figure is taken.
            for _ in range(8 * self.workers):
                client.get("/ready")

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        group = os.getpgid(process.pid)
        os.killpg(group, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(group, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT)

    def log_tail(self, characters: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-characters:]
        except OSError:
            return ""

    def admin(self, client: httpx.Client, path: str, body: Json) -> Json:
        response = client.post(
            path, json=body, headers={"authorization": f"Bearer {self.admin_token}"}
        )
        if response.status_code != 201:
            raise ServiceError(
                f"POST {path} answered {response.status_code}: {response.text[:1000]}"
            )
        reply: Json = response.json()
        return reply

    def create_tenant(self) -> Tenant:
        slug = f"bench-{secrets.token_hex(3)}"
        with httpx.Client(base_url=self.base_url, timeout=30, trust_env=False) as client:
            issuer = self.admin(
                client,
                "/admin/issuers",
                {
                    "slug": slug,
                    "name": {"en": "University of Zed", "ga": "Ollscoil Zed"},
                    "country": "IRL",
                    "legalIdentifier": "IE1234567X",
                    "homepage": "https://www.uni-zed.example",
                    "didMethod": "web",
                },
            )
            key = self.admin(
                client,
                f"/admin/issuers/{slug}/api-keys",
                {
                    "name": "bench",
                    "scopes": ["credentials:issue", "credentials:status", "credentials:read"],
                },
            )
        return Tenant(slug=slug, did=issuer["did"], api_key=key["key"])

    def post(self, tenant: Tenant | None, path: str, body: Any) -> httpx.Response:
        headers = tenant.auth if tenant is not None else {}
        with httpx.Client(base_url=self.base_url, timeout=120, trust_env=False) as client:
            return client.post(path, json=body, headers=headers)
