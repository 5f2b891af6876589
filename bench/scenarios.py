"""The HTTP scenarios, run against one started service by the load generator process."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.credentials.examples import example_request
from bench.common import PROJECT_ROOT, Json, read_json, write_json
from bench.inprocess import SUITES
from bench.service import Service, ServiceError, Tenant

#: Issue bodies cycled by the load (different learners, otherwise the example request).
VARIANTS = 64


@dataclass(frozen=True)
class Plan:
    """How long and how hard each scenario runs (every loop bounded by time and by count)."""

    warmup_seconds: float
    runs: int
    run_seconds: float
    batch_size: int
    issue_connections: int = 16
    verify_connections: int = 16
    status_list_connections: int = 64
    revoke_connections: int = 4
    max_requests: int = 200_000
    timeout_seconds: float = 60.0
    batch_timeout_seconds: float = 900.0


def issue_body(cryptosuite: str, number: int) -> Json:
    body = example_request(cryptosuite=cryptosuite)
    body["learner"]["identifier"]["value"] = f"S{number:07d}"
    body["learner"]["email"] = f"learner{number}@example.org"
    return body


class Runner:
    def __init__(self, service: Service, tenant: Tenant, plan: Plan, workdir: Path) -> None:
        self.service, self.tenant, self.plan, self.workdir = service, tenant, plan, workdir

    def load(self, name: str, spec: Json, *, timeout: float) -> Json:
        """Run the load generator in its own process; returns its figures."""
        slug = name.replace("/", "-")
        spec_path = self.workdir / f"{slug}-spec.json"
        out_path = self.workdir / f"{slug}-out.json"
        write_json(spec_path, {"base_url": self.service.base_url, **spec})
        limit = (
            spec.get("warmup_seconds", 0) + spec.get("runs", 1) * spec["run_seconds"] + timeout + 60
        )
        try:
            completed = subprocess.run(
                [sys.executable, "-m", "bench.loadgen", str(spec_path), str(out_path)],
                cwd=PROJECT_ROOT,
                capture_output=True,
                text=True,
                timeout=limit,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"the load generator ran over {limit:.0f} s"}
        if completed.returncode != 0:
            return {"error": f"the load generator failed: {completed.stderr[-1500:]}"}
        result: Json = read_json(out_path)
        return result

    def timed(self, spec: Json) -> Json:
        plan = self.plan
        return {
            "warmup_seconds": plan.warmup_seconds,
            "runs": plan.runs,
            "run_seconds": plan.run_seconds,
            "max_requests": plan.max_requests,
            "timeout_seconds": plan.timeout_seconds,
            **spec,
        }

    # -- scenarios ------------------------------------------------------------------------------

    def issue(self, short: str, cryptosuite: str) -> Json:
        requests = [
            {
                "method": "POST",
                "path": "/microcredentials",
                "json": issue_body(cryptosuite, number),
                "headers": self.tenant.auth,
            }
            for number in range(VARIANTS)
        ]
        spec = self.timed(
            {
                "requests": requests,
                "connections": self.plan.issue_connections,
                "ok_status": [201],
                "collect": "location",
            }
        )
        return self.load(f"issue/{short}", spec, timeout=self.plan.timeout_seconds)

    def batch(self) -> Json:
        size = self.plan.batch_size
        items = [issue_body(SUITES["rdfc"], 100_000 + number) for number in range(size)]
        spec = {
            "requests": [
                {
                    "method": "POST",
                    "path": "/microcredentials/batch",
                    "json": {"items": items},
                    "headers": self.tenant.auth,
                }
            ],
            "cycle": False,
            "connections": 1,
            "warmup_seconds": 0,
            "runs": 1,
            "run_seconds": 1,
            "max_requests": 1,
            "timeout_seconds": self.plan.batch_timeout_seconds,
            "ok_status": [200],
            "collect": "batch",
        }
        result = self.load("batch", spec, timeout=self.plan.batch_timeout_seconds)
        issued = result.get("batch_items", {}).get("201", 0)
        seconds = result.get("latency", {}).get("max_ms", 0) / 1000
        result["items"] = size
        result["credentials_per_second"] = issued / seconds if seconds else 0.0
        return result

    def verify_probe(self, credential: Json) -> tuple[bool, str]:
        """Whether ``POST /credentials/verify`` exists and verifies our fresh credential."""
        response = self.service.post(
            None, "/credentials/verify", {"verifiableCredential": credential}
        )
        if response.status_code in (404, 405):
            return False, f"endpoint missing ({response.status_code})"
        if response.status_code != 200:
            return False, (
                f"a credential the service just issued did not verify: "
                f"{response.status_code} {response.text[:1500]}"
            )
        return True, ""

    def verify(self, short: str, credential: Json) -> Json:
        ready, why = self.verify_probe(credential)
        if not ready:
            return {"not_measured": why}
        spec = self.timed(
            {
                "requests": [
                    {
                        "method": "POST",
                        "path": "/credentials/verify",
                        "json": {"verifiableCredential": credential},
                    }
                ],
                "connections": self.plan.verify_connections,
                "ok_status": [200],
            }
        )
        return self.load(f"verify/{short}", spec, timeout=self.plan.timeout_seconds)

    def status_list(self, path: str) -> Json:
        spec = self.timed(
            {
                "requests": [{"method": "GET", "path": path}],
                "connections": self.plan.status_list_connections,
                "ok_status": [200],
            }
        )
        return self.load("status-list", spec, timeout=self.plan.timeout_seconds)

    def revoke(self, credential_ids: list[str]) -> Json:
        if not credential_ids:
            return {"not_measured": "no issued credential to revoke"}
        spec = {
            "requests": [
                {
                    "method": "POST",
                    "path": "/credentials/status",
                    "json": {
                        "credentialId": credential_id,
                        "credentialStatus": {
                            "type": "BitstringStatusListEntry",
                            "statusPurpose": "revocation",
                        },
                        "status": True,
                    },
                    "headers": self.tenant.auth,
                }
                for credential_id in credential_ids
            ],
            "cycle": False,
            "connections": self.plan.revoke_connections,
            "warmup_seconds": 0,
            "runs": 1,
            "run_seconds": self.plan.run_seconds * self.plan.runs,
            "max_requests": len(credential_ids),
            "timeout_seconds": self.plan.timeout_seconds,
            "ok_status": [200],
        }
        return self.load("revoke", spec, timeout=self.plan.timeout_seconds)

    def first_fetch_after_change(self, path: str) -> Json:
        """One GET of a status list just changed (re-signed), then one served from the cache."""
        timings = {}
        with httpx.Client(base_url=self.service.base_url, timeout=60, trust_env=False) as client:
            for label in ("after_change_ms", "cached_ms"):
                started = time.perf_counter()
                response = client.get(path)
                timings[label] = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    return {"error": f"GET {path} answered {response.status_code}"}
        return timings


def run_all(service: Service, plan: Plan, workdir: Path, *, with_batch: bool) -> dict[str, Any]:
    """Every scenario against one service; set-up failures raise :class:`ServiceError`."""
    tenant = service.create_tenant()
    runner = Runner(service, tenant, plan, workdir)
    fixtures: dict[str, Json] = {}
    for short, cryptosuite in SUITES.items():
        response = service.post(tenant, "/microcredentials", issue_body(cryptosuite, 9_999_999))
        if response.status_code != 201:
            raise ServiceError(
                f"POST /microcredentials ({short}) answered {response.status_code}: "
                f"{response.text[:1500]}"
            )
        fixtures[short] = response.json()["verifiableCredential"]
    status = fixtures["rdfc"]["credentialStatus"]
    entry = status[0] if isinstance(status, list) else status
    list_path = urlsplit(entry["statusListCredential"]).path

    scenarios: dict[str, Any] = {}
    revocable: list[str] = []
    for short, cryptosuite in SUITES.items():
        result = runner.issue(short, cryptosuite)
        revocable += result.pop("collected", [])
        scenarios[f"issue/{short}"] = result
    if with_batch:
        result = runner.batch()
        revocable += result.pop("collected", [])
        scenarios["batch"] = result
    for short in SUITES:
        scenarios[f"verify/{short}"] = runner.verify(short, fixtures[short])
    scenarios["status-list"] = runner.status_list(list_path)
    scenarios["revoke"] = runner.revoke(revocable)
    scenarios["status-list/after-revoke"] = runner.first_fetch_after_change(list_path)
    for result in scenarios.values():
        result.pop("collected", None)
    return scenarios
