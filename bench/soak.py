"""Soak: issue, revoke, suspend and verify at once from several processes against PostgreSQL.

``python -m bench.soak [--seconds 60] [--clients 3]`` starts ``microcred serve`` (2 workers) on a
throwaway PostgreSQL database, runs client processes on loopback for a bounded time, then checks
that every credential reads and verifies as its last status change says and that no status index
was handed out twice. It prints the figures and exits non-zero on any 5xx, duplicate or lost
update.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import PROJECT_ROOT, latency_summary
from bench.service import Service, postgres_available, postgres_database

REVOKE = {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"}
SUSPEND = {"type": "BitstringStatusListEntry", "statusPurpose": "suspension"}


@dataclass
class ClientReport:
    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    #: credential id -> expected (revoked, suspended) after this client's last change
    expected: dict[str, tuple[bool, bool]] = field(default_factory=dict)
    documents: dict[str, Any] = field(default_factory=dict)


def _credential(did: str, n: int) -> dict[str, Any]:
    return {
        "credential": {
            "@context": [
                "https://www.w3.org/ns/credentials/v2",
                "https://www.w3.org/ns/credentials/examples/v2",
            ],
            "type": ["VerifiableCredential", "ExampleAchievementCredential"],
            "issuer": did,
            "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {"id": f"did:example:learner-{n}", "achievement": "Soak"},
        },
        "options": {"cryptosuite": random.choice(["eddsa-rdfc-2022", "eddsa-jcs-2022"])},
    }


def client_loop(
    worker: int, base_url: str, did: str, key: str, seconds: float, max_requests: int
) -> dict[str, Any]:
    rng = random.Random(worker)
    report = ClientReport()
    auth = {"authorization": f"Bearer {key}"}
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=base_url, timeout=60, trust_env=False) as http:

        def call(kind: str, method: str, path: str, body: Any = None) -> httpx.Response:
            started = time.perf_counter()
            response = http.request(method, path, json=body, headers=auth)
            report.latencies.setdefault(kind, []).append(time.perf_counter() - started)
            report.requests[kind] += 1
            report.statuses[response.status_code] += 1
            return response

        n = 0
        while time.monotonic() < deadline and sum(report.requests.values()) < max_requests:
            n += 1
            ids = list(report.expected)
            roll = rng.random()
            if roll < 0.5 or not ids:
                response = call("issue", "POST", "/credentials/issue", _credential(did, n))
                if response.status_code == 201:
                    vc = response.json()["verifiableCredential"]
                    report.expected[vc["id"]] = (False, False)
                    report.documents[vc["id"]] = vc
            elif roll < 0.62:
                target = rng.choice(ids)
                body = {"credentialId": target, "credentialStatus": REVOKE, "status": True}
                if call("revoke", "POST", "/credentials/status", body).status_code == 200:
                    report.expected[target] = (True, report.expected[target][1])
            elif roll < 0.77:
                target = rng.choice(ids)
                value = not report.expected[target][1]
                body = {"credentialId": target, "credentialStatus": SUSPEND, "status": value}
                if call("suspend", "POST", "/credentials/status", body).status_code == 200:
                    report.expected[target] = (report.expected[target][0], value)
            else:
                target = rng.choice(ids)
                body = {"verifiableCredential": report.documents[target]}
                call("verify", "POST", "/credentials/verify", body)
    return {
        "requests": dict(report.requests),
        "statuses": {str(k): v for k, v in report.statuses.items()},
        "latencies": report.latencies,
        "expected": report.expected,
        "documents": report.documents,
    }


def _run_client(args: tuple[int, str, str, str, float, int]) -> dict[str, Any]:
    return client_loop(*args)


def check(
    base_url: str, key: str, expected: dict[str, tuple[bool, bool]], documents: dict[str, Any]
) -> dict[str, int]:
    """Every credential reads and verifies as its last change says; no index twice."""
    auth = {"authorization": f"Bearer {key}"}
    lost = wrong_verdict = server_errors = 0
    slots = Counter(
        (entry["statusListCredential"], entry["statusListIndex"])
        for vc in documents.values()
        for entry in (
            vc["credentialStatus"]
            if isinstance(vc["credentialStatus"], list)
            else [vc["credentialStatus"]]
        )
    )
    duplicates = sum(count - 1 for count in slots.values() if count > 1)
    with httpx.Client(base_url=base_url, timeout=60, trust_env=False) as http:
        for credential_id, (revoked, suspended) in expected.items():
            shown = http.get(f"/credentials/{credential_id}", headers=auth)
            if shown.status_code >= 500:
                server_errors += 1
                continue
            if shown.json()["status"] != {"revoked": revoked, "suspended": suspended}:
                lost += 1
            verdict = http.post(
                "/credentials/verify", json={"verifiableCredential": documents[credential_id]}
            )
            if verdict.status_code not in (200, 422):
                server_errors += verdict.status_code >= 500
                wrong_verdict += verdict.status_code < 500
            elif (verdict.status_code == 200) != (not revoked and not suspended):
                wrong_verdict += 1
    return {
        "credentials": len(expected),
        "duplicate_indexes": duplicates,
        "lost_status_updates": lost,
        "wrong_verdicts": wrong_verdict,
        "check_5xx": server_errors,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--max-requests", type=int, default=20_000, help="per client")
    args = parser.parse_args(argv)
    problem = postgres_available()
    if problem:
        print(f"soak needs PostgreSQL: {problem}", file=sys.stderr)
        return 2
    results_dir = PROJECT_ROOT / "bench" / "results"
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    with postgres_database() as url, tempfile.TemporaryDirectory() as tmp:
        service = Service(url, workers=2, log_path=Path(tmp) / "soak.log")
        # The soak measures the service, not its rate limits (all clients share one address).
        service.environment["MICROCRED_RATE_LIMIT_PER_KEY_PER_MINUTE"] = "0"
        service.environment["MICROCRED_RATE_LIMIT_PUBLIC_PER_MINUTE"] = "0"
        with service, httpx.Client(base_url=service.base_url, timeout=30) as http:
            issuer = service.admin(
                http,
                "/admin/issuers",
                {
                    "slug": "soak",
                    "name": {"en": "Soak University"},
                    "country": "IRL",
                    "legalIdentifier": "IE0000000S",
                    "suspensionEnabled": True,
                },
            )
            key = service.admin(
                http,
                "/admin/issuers/soak/api-keys",
                {
                    "name": "soak",
                    "scopes": ["credentials:issue", "credentials:status", "credentials:read"],
                },
            )["key"]
            started = time.monotonic()
            jobs = [
                (i, service.base_url, issuer["did"], key, args.seconds, args.max_requests)
                for i in range(args.clients)
            ]
            with multiprocessing.get_context("spawn").Pool(args.clients) as pool:
                reports = pool.map(_run_client, jobs)
            elapsed = time.monotonic() - started
            expected: dict[str, tuple[bool, bool]] = {}
            documents: dict[str, Any] = {}
            requests: Counter[str] = Counter()
            statuses: Counter[str] = Counter()
            latencies: dict[str, list[float]] = {}
            for report in reports:
                expected.update({k: tuple(v) for k, v in report["expected"].items()})
                documents.update(report["documents"])
                requests.update(report["requests"])
                statuses.update(report["statuses"])
                for kind, values in report["latencies"].items():
                    latencies.setdefault(kind, []).extend(values)
            verdict = check(service.base_url, key, expected, documents)
    server_errors = sum(v for k, v in statuses.items() if k.startswith("5"))
    summary = {
        "date": stamp,
        "seconds": round(elapsed, 1),
        "clients": args.clients,
        "service": "microcred serve, 2 workers, PostgreSQL",
        "requests": dict(requests),
        "total_requests": sum(requests.values()),
        "requests_per_second": round(sum(requests.values()) / elapsed, 1),
        "statuses": dict(statuses),
        "server_errors": server_errors,
        "latency": {kind: latency_summary(values) for kind, values in latencies.items()},
        **verdict,
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / f"soak-{stamp}.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    failed = (
        server_errors
        or verdict["check_5xx"]
        or verdict["duplicate_indexes"]
        or verdict["lost_status_updates"]
        or verdict["wrong_verdicts"]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
