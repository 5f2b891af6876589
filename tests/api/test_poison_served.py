"""``microcred serve --workers 2`` under poison graphs: eight in flight at once are all refused
with 4xx, and health checks answer in under 100 ms meanwhile."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import new_master_key
from app.crypto.dataintegrity import DataIntegrity
from app.crypto.keys import KeyPair
from app.did.key import did_key_from_public_key, did_key_verification_method_id
from app.jsonld import OfflineDocumentLoader, PyldCanonicalizer
from app.resources import CONTEXTS_DIR
from tests import processes
from tests.api.test_serve import LISTEN, free_port, socket_inodes
from tests.conftest import ADMIN_TOKEN
from tests.factories import clique_credential, vc2_credential

ROOT = Path(__file__).resolve().parents[2]
POISON_REQUESTS = 8
HEALTH_WITHIN = 0.1  # a responsiveness bound, with margin over the ~2 ms a health check takes

pytestmark = pytest.mark.skipif(
    not Path("/proc/net/tcp").exists(), reason="reads the sockets of the workers from /proc"
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICROCRED_")}
    env.update(
        MICROCRED_ENV="production",
        MICROCRED_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/serve.db",
        MICROCRED_ADMIN_TOKEN=ADMIN_TOKEN,
        MICROCRED_MASTER_KEY=new_master_key(),
        MICROCRED_PUBLIC_URL="https://credentials.example.edu",
        MICROCRED_LOG_LEVEL="WARNING",
        MICROCRED_RATE_LIMIT_PUBLIC_PER_MINUTE="0",
    )
    command = ["-m", "app.cli", "serve", "--port", str(port), "--workers", "2"]
    with (tmp_path / "serve.log").open("wb") as log:
        process = processes.start(  # its own process group, stopped as a whole
            [sys.executable, *command],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            deadline = time.monotonic() + 60
            while len(socket_inodes(port, LISTEN)) < 2:
                assert process.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "the two workers did not both listen"
                time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            processes.stop(process, grace=20)


def poison_body() -> dict[str, Any]:
    """A clique of 9 blank nodes (67 s of pyoxigraph's time unguarded) carrying the proof of a
    small credential signed by a fresh did:key."""
    pair = KeyPair.generate()
    did = did_key_from_public_key(pair.public_key)
    method_id = did_key_verification_method_id(did)
    data_integrity = DataIntegrity(PyldCanonicalizer(OfflineDocumentLoader(CONTEXTS_DIR)))
    created = datetime(2026, 1, 1, tzinfo=UTC)
    signed = data_integrity.add_proof(vc2_credential(did), pair, method_id, created=created)
    poison = {**clique_credential(9, did), "proof": signed["proof"]}
    return {"verifiableCredential": poison}


async def _health_while_refusing(url: str, body: dict[str, Any]) -> tuple[list[int], list[float]]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        # A worker's first verification costs some 70 ms more (first use of the proof code
        # paths): warm both. Each request on a new connection, which the kernel gives either
        # worker, so 16 leave one cold with a chance of 2^-15.
        for _ in range(16):
            warm = await http.post(
                "/credentials/verify", json=body, headers={"Connection": "close"}
            )
            assert warm.status_code == 422
        pending = [
            asyncio.create_task(http.post("/credentials/verify", json=body))
            for _ in range(POISON_REQUESTS)
        ]
        health_times = []
        while True:
            started = time.perf_counter()
            reply = await http.get("/health")
            health_times.append(time.perf_counter() - started)
            assert reply.status_code == 200
            if all(task.done() for task in pending):
                break
        statuses = [response.status_code for response in await asyncio.gather(*pending)]
    return statuses, health_times


def test_health_answers_while_poison_graphs_are_refused(served: str) -> None:
    statuses, health_times = asyncio.run(_health_while_refusing(served, poison_body()))
    assert statuses == [422] * POISON_REQUESTS
    assert max(health_times) < HEALTH_WITHIN, health_times
