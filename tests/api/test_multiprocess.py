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


#: The per-key limit of the services of ``limited_services``: a burst of 60 // 6 = 10.
PER_KEY_PER_MINUTE = 60


@pytest.fixture
def two_services(database_url: str, tmp_path: Path) -> Iterator[list[str]]:
    yield from _services(database_url, tmp_path, per_key_per_minute=0)


@pytest.fixture
def limited_services(database_url: str, tmp_path: Path) -> Iterator[list[str]]:
    yield from _services(database_url, tmp_path, per_key_per_minute=PER_KEY_PER_MINUTE)


def _services(database_url: str, tmp_path: Path, per_key_per_minute: int) -> Iterator[list[str]]:
    if not database_url.startswith("postgresql"):
        pytest.skip("two service processes need PostgreSQL (SQLite: see test_status.py)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICROCRED_")}
    env.update(
        MICROCRED_DATABASE_URL=database_url,
        MICROCRED_ADMIN_TOKEN=ADMIN_TOKEN,
        MICROCRED_MASTER_KEY=new_master_key(),
        MICROCRED_PUBLIC_URL="https://credentials.example.edu",
        MICROCRED_LOG_LEVEL="WARNING",
        MICROCRED_RATE_LIMIT_PER_KEY_PER_MINUTE=str(per_key_per_minute),
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


async def _issuer_and_key(
    http: httpx.AsyncClient, url: str, slug: str
) -> tuple[dict[str, Any], dict[str, str]]:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    issuer = (await http.post(url + "/admin/issuers", json=issuer_body(slug), headers=admin)).json()
    key = (
        await http.post(
            url + f"/admin/issuers/{slug}/api-keys",
            json={
                "name": "mp",
                "scopes": ["credentials:issue", "credentials:status", "credentials:read"],
            },
            headers=admin,
        )
    ).json()
    return issuer, {"Authorization": f"Bearer {key['key']}"}


def test_two_processes_share_one_rate_limit_per_key(limited_services: list[str]) -> None:
    """A burst of N requests of one key, whichever instance gets them, then 429: each process
    counting its own would let 2N through."""

    async def scenario() -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            _, auth = await _issuer_and_key(http, limited_services[0], "uni-rl")
            burst = PER_KEY_PER_MINUTE // 6
            replies = [
                await http.get(limited_services[n % 2] + "/credentials/x", headers=auth)
                for n in range(burst + 6)
            ]
            codes = [reply.status_code for reply in replies]
            # One token comes back every second: a slow machine may see one or two more.
            allowed = codes.count(404)
            assert codes[:burst] == [404] * burst, codes
            assert burst <= allowed <= burst + 1 and codes[-1] == 429, codes
            assert {codes[n] for n in range(burst + 2, len(codes))} == {429}, codes
            for reply in replies:
                if reply.status_code == 429:
                    assert 1 <= int(reply.headers["retry-after"]) <= 2

    asyncio.run(scenario())


def test_a_revocation_through_one_process_is_served_by_the_other_at_once(
    two_services: list[str],
) -> None:
    async def scenario() -> None:
        first, second = two_services
        async with httpx.AsyncClient(timeout=60) as http:
            issuer, auth = await _issuer_and_key(http, first, "uni-sl")
            body = {
                "credential": vc2_credential(issuer["did"]),
                "options": {"cryptosuite": "eddsa-jcs-2022"},
            }
            issued = await http.post(first + "/credentials/issue", json=body, headers=auth)
            assert issued.status_code == 201, issued.text
            vc = issued.json()["verifiableCredential"]
            entry = vc["credentialStatus"]
            entry = (
                entry
                if isinstance(entry, dict)
                else next(e for e in entry if e["statusPurpose"] == "revocation")
            )
            path = entry["statusListCredential"].removeprefix("https://credentials.example.edu")
            index = int(entry["statusListIndex"])

            async def bit(url: str) -> bool:
                published = (await http.get(url + path)).json()
                encoded = published["credentialSubject"]["encodedList"]
                return index in set(Bitstring.decode(encoded).set_indexes())

            # Both processes have served (and cached) the list before the change.
            assert not await bit(first) and not await bit(second)
            change = {
                "credentialId": vc["id"],
                "credentialStatus": {
                    "type": "BitstringStatusListEntry",
                    "statusPurpose": "revocation",
                },
                "status": True,
            }
            revoked = await http.post(second + "/credentials/status", json=change, headers=auth)
            assert revoked.status_code == 200, revoked.text
            assert await bit(first), "the other process served a stale status list"
            assert await bit(second)

    asyncio.run(scenario())
