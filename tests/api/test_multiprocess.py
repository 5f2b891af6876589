"""Two real service processes on one PostgreSQL database: no duplicate index, no lost update."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import new_master_key
from app.status.bitstring import Bitstring
from tests import processes
from tests.conftest import ADMIN_TOKEN, _empty_tables
from tests.factories import issuer_body, vc2_credential

ROOT = Path(__file__).resolve().parents[2]
CREDENTIALS = 2000
REVOCATIONS = 400


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def two_services(database_url: str, tmp_path: Path) -> Iterator[list[str]]:
    if not database_url.startswith("postgresql"):
        pytest.skip("two service processes need PostgreSQL (SQLite: see test_status.py)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICROCRED_")}
    env.update(
        MICROCRED_DATABASE_URL=database_url,
        MICROCRED_ADMIN_TOKEN=ADMIN_TOKEN,
        MICROCRED_MASTER_KEY=new_master_key(),
        MICROCRED_PUBLIC_URL="https://credentials.example.edu",
        MICROCRED_LOG_LEVEL="WARNING",
        MICROCRED_RATE_LIMIT_PER_KEY_PER_MINUTE="0",
    )
    ports = [free_port(), free_port()]
    logs = [open(tmp_path / f"service-{port}.log", "wb") for port in ports]  # noqa: SIM115
    services = [
        processes.start(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                # A pooled connection idle past uvicorn's 5 s keep-alive is closed by the server
                # while the client may be sending on it (a ReadError for a POST): on a loaded
                # machine requests wait that long; what this test checks is the database.
                "--timeout-keep-alive",
                "300",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        for port, log in zip(ports, logs, strict=True)
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 60
        for url, process in zip(urls, services, strict=True):
            while True:
                assert process.poll() is None, "service exited: see its log in " + str(tmp_path)
                try:
                    if httpx.get(url + "/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "service did not start"
                time.sleep(0.2)
        yield urls
    finally:
        for process in services:
            processes.stop(process)
        for log in logs:
            log.close()
        asyncio.run(_empty_tables(database_url))


def test_two_processes_issue_and_revoke_concurrently(two_services: list[str]) -> None:
    asyncio.run(_scenario(two_services))


async def _scenario(urls: list[str]) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        issuer = (
            await http.post(urls[0] + "/admin/issuers", json=issuer_body("uni-mp"), headers=admin)
        ).json()
        key = (
            await http.post(
                urls[0] + "/admin/issuers/uni-mp/api-keys",
                json={"name": "mp", "scopes": ["credentials:issue", "credentials:status"]},
                headers=admin,
            )
        ).json()
        auth = {"Authorization": f"Bearer {key['key']}"}
        gate = asyncio.Semaphore(24)

        async def issue(n: int) -> dict[str, Any]:
            body = {
                "credential": vc2_credential(issuer["did"]),
                "options": {"cryptosuite": "eddsa-jcs-2022"},
            }
            async with gate:
                response = await http.post(
                    urls[n % 2] + "/credentials/issue", json=body, headers=auth
                )
            assert response.status_code == 201, response.text
            vc: dict[str, Any] = response.json()["verifiableCredential"]
            return vc

        vcs = await asyncio.gather(*(issue(n) for n in range(CREDENTIALS)))
        slots = [
            (
                vc["credentialStatus"]["statusListCredential"],
                vc["credentialStatus"]["statusListIndex"],
            )
            for vc in vcs
        ]
        assert len(set(slots)) == len(slots) == CREDENTIALS, "a status index was handed out twice"
        lists = {url for url, _ in slots}
        assert len(lists) == 1, (
            f"concurrent issuers opened {len(lists)} lists instead of sharing one"
        )

        async def revoke(n: int, vc: dict[str, Any]) -> None:
            body = {
                "credentialId": vc["id"],
                "credentialStatus": {
                    "type": "BitstringStatusListEntry",
                    "statusPurpose": "revocation",
                },
                "status": True,
            }
            async with gate:
                response = await http.post(
                    urls[n % 2] + "/credentials/status", json=body, headers=auth
                )
            assert response.status_code == 200, response.text

        revoked = vcs[:REVOCATIONS]
        await asyncio.gather(*(revoke(n, vc) for n, vc in enumerate(revoked)))
        [list_url] = lists
        path = list_url.removeprefix("https://credentials.example.edu")
        for url in urls:  # both processes publish the same bits
            published = (await http.get(url + path)).json()
            bits = Bitstring.decode(published["credentialSubject"]["encodedList"])
            assert set(bits.set_indexes()) == {
                int(vc["credentialStatus"]["statusListIndex"]) for vc in revoked
            }, "a concurrent revocation was lost"
