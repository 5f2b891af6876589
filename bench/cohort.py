"""``python -m bench cohort``: a course's cohort from upload to last credential stored.

    python -m bench cohort [--rows 10000] [--workers 2] [--profile-rows 300] [--format edc]

On a new PostgreSQL database (``microcred_bench_<random>``, dropped afterwards):
``microcred serve`` (1 HTTP worker, its own job runner off) and ``--workers`` ``microcred
worker`` processes, all as deployed. An issuer, an API key and a course are made over the API;
a CSV of ``--rows`` learners is uploaded (``POST /courses/{id}/cohorts``) and ``GET /jobs/{id}``
polled every 0.1 s until the job is done. The clock runs from just before the upload to the
poll that sees the job done (its last row committed: the last credential stored), so it
includes reading and checking the file. Every row must be done, and the database must hold one
credential per row.

Then where the time goes: a second service with one worker under clocks (and with
``--cprofile`` cProfile; :mod:`bench.cohort_worker`) issues a small cohort (warm-up), then one
of ``--profile-rows`` (0: none) with the clocks on, and its stages (and packages) are reported
per credential (the worker's idle polling left out).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from app.credentials.course import LEARNER_FIELDS
from app.credentials.examples import example_request
from bench.common import PROJECT_ROOT, RESULTS_DIR, Json, read_json, write_json
from bench.machine import describe
from bench.neighbours import Neighbours
from bench.service import Service, ServiceError, Tenant, postgres_database, postgres_version

HEADER = ["identifier scheme", "identifier value", "given name", "family name", "awarded on"]
SCOPES = ["credentials:issue", "credentials:read", "courses:write", "courses:read"]
POLL_SECONDS = 0.1
STOP_TIMEOUT = 30.0


def _log(message: str) -> None:
    print(f"bench cohort: {message}", file=sys.stderr, flush=True)


def course_body() -> Json:
    body = {k: v for k, v in example_request().items() if k not in LEARNER_FIELDS}
    body.update({"published": True, "languages": ["en"], "subjects": ["0613"]})
    return body


def cohort_csv(rows: int, tag: str) -> bytes:
    """``rows`` different learners (``tag`` keeps two runs' learners apart)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for number in range(rows):
        writer.writerow(
            ["student-number", f"{tag}{number:06d}", "Ana", f"Learner {number}", "2026-06-30"]
        )
    return out.getvalue().encode("utf-8")


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Workers:
    """``count`` ``microcred worker`` processes (or, with ``profile_out``, one under clocks)."""

    def __init__(
        self,
        service: Service,
        count: int,
        logs: Path,
        profile_out: Path | None = None,
        cprofile: bool = False,
    ) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []
        self.service, self.count, self.logs, self.profile_out = service, count, logs, profile_out
        self.cprofile = cprofile

    def __enter__(self) -> Workers:
        environment = dict(self.service.environment)
        script = Path(sys.executable).with_name("microcred")
        for index in range(self.count):
            if self.profile_out is not None:
                command = [
                    sys.executable,
                    "-m",
                    "bench.cohort_worker",
                    str(self.profile_out),
                    *(["--cprofile"] if self.cprofile else []),
                ]
            else:
                command = [str(script), "worker"]
            log = (self.logs / f"worker-{index}.log").open("wb")
            self.processes.append(
                subprocess.Popen(
                    command,
                    cwd=PROJECT_ROOT,
                    env=environment,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            log.close()
        return self

    def cpu_seconds(self) -> list[float]:
        """Each worker's CPU time so far (user and system), from ``/proc``."""
        return [_cpu_seconds(process.pid) for process in self.processes]

    def __exit__(self, *exc_info: object) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(os.getpgid(process.pid), signal.SIGKILL)
                process.wait(timeout=STOP_TIMEOUT)


def make_tenant(service: Service) -> tuple[Tenant, str]:
    """An issuer, a key with the course and issue scopes, and a course: over the API."""
    with httpx.Client(base_url=service.base_url, timeout=30, trust_env=False) as client:
        slug = f"bench-{os.urandom(3).hex()}"
        issuer = service.admin(
            client,
            "/admin/issuers",
            {
                "slug": slug,
                "name": {"en": "University of Zed"},
                "country": "IRL",
                "legalIdentifier": "IE1234567X",
                "homepage": "https://www.uni-zed.example",
                "didMethod": "web",
            },
        )
        key = service.admin(
            client, f"/admin/issuers/{slug}/api-keys", {"name": "bench", "scopes": SCOPES}
        )
        tenant = Tenant(slug=slug, did=issuer["did"], api_key=key["key"])
        created = client.post("/courses", json=course_body(), headers=tenant.auth)
        if created.status_code != 201:
            raise ServiceError(f"POST /courses answered {created.status_code}: {created.text}")
        course_id: str = created.json()["id"]
    return tenant, course_id


def run_cohort(
    service: Service, tenant: Tenant, course_id: str, rows: int, format: str, timeout: float
) -> Json:
    """Upload a cohort and wait for its job: the figures of one run."""
    data = cohort_csv(rows, f"S{os.urandom(2).hex()}-")
    with httpx.Client(base_url=service.base_url, timeout=300, trust_env=False) as client:
        started = time.monotonic()
        accepted = client.post(
            f"/courses/{course_id}/cohorts",
            files={"file": ("cohort.csv", data, "text/csv")},
            data={"format": format},
            headers=tenant.auth,
        )
        uploaded = time.monotonic()
        if accepted.status_code != 202:
            raise ServiceError(f"the upload answered {accepted.status_code}: {accepted.text}")
        job_url = accepted.headers["location"]
        progress: list[tuple[float, int]] = []
        while True:
            job = client.get(job_url, headers=tenant.auth).json()
            now = time.monotonic()
            progress.append((now - started, job["done"] + job["failed"]))
            if job["state"] in ("done", "failed"):
                break
            if now - started > timeout:
                raise ServiceError(f"the job was not done in {timeout:.0f} s: {job}")
            time.sleep(POLL_SECONDS)
        finished = time.monotonic()
    seconds = finished - started
    return {
        "rows": rows,
        "format": format,
        "job": {k: job[k] for k in ("state", "total", "done", "failed")},
        "upload_seconds": uploaded - started,
        "seconds": seconds,
        "credentials_per_second": job["done"] / seconds if seconds else 0.0,
        # after the upload's reply: the workers' part alone
        "issue_seconds": finished - uploaded,
        "progress": progress[:: max(1, len(progress) // 40)],
    }


async def _count_credentials(url: str) -> int:
    import asyncpg  # type: ignore[import-untyped]

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        count: int = await connection.fetchval("SELECT count(*) FROM credentials")
        return count
    finally:
        await connection.close()


def batch_runs(service: Service, tenant: Tenant, items: int) -> Json:
    """``POST /microcredentials/batch`` of ``items`` EDCs, answered in full, then with
    ``?reply=ids``: credentials/s and the reply's size, beside the cohort's figures."""
    from bench.scenarios import issue_body

    found: Json = {}
    with httpx.Client(base_url=service.base_url, timeout=1800, trust_env=False) as client:
        for offset, reply in ((0, "credentials"), (items, "ids")):
            body = {
                "items": [issue_body("eddsa-rdfc-2022", 900_000 + offset + n) for n in range(items)]
            }
            started = time.monotonic()
            answer = client.post(
                "/microcredentials/batch",
                params={"reply": reply},
                json=body,
                headers=tenant.auth,
            )
            seconds = time.monotonic() - started
            statuses = [item["status"] for item in answer.json().get("results", [])]
            found[reply] = {
                "items": items,
                "status": answer.status_code,
                "issued": statuses.count(201),
                "seconds": seconds,
                "credentials_per_second": statuses.count(201) / seconds,
                "reply_bytes": len(answer.content),
            }
    return found


def timed_run(args: argparse.Namespace, logs: Path) -> Json:
    with postgres_database() as url:
        service = Service(url, 1, logs / "serve.log")
        service.environment["MICROCRED_JOBS_RUNNER"] = "false"
        with service:
            tenant, course_id = make_tenant(service)
            with Workers(service, args.workers, logs) as workers:
                # a small cohort first: every worker has started and the course is prepared
                warm = run_cohort(service, tenant, course_id, 20, args.format, 120)
                _log(f"{args.rows} rows, {args.workers} worker(s)")
                before = workers.cpu_seconds()
                serve_before = _cpu_seconds(service.process.pid) if service.process else 0.0
                result = run_cohort(service, tenant, course_id, args.rows, args.format, 3600)
                used = [b - a for a, b in zip(before, workers.cpu_seconds(), strict=True)]
                serve_used = (
                    _cpu_seconds(service.process.pid) if service.process else 0.0
                ) - serve_before
            stored = asyncio.run(_count_credentials(url))
            if args.batch:
                _log(f"batch of {args.batch}, full reply then ?reply=ids (1 HTTP worker)")
                result["batch"] = batch_runs(service, tenant, args.batch)
    result["warmup"] = {k: warm[k] for k in ("rows", "seconds")}
    result["credentials_in_database"] = stored
    result["workers"] = args.workers
    # CPU time, which a busy machine inflates less than the wall clock
    result["worker_cpu_seconds"] = used
    result["worker_cpu_ms_per_credential"] = sum(used) * 1000 / max(1, result["job"]["done"])
    result["serve_cpu_seconds"] = serve_used
    expected = args.rows + warm["rows"]
    if result["job"]["done"] != args.rows or stored != expected:
        result["error"] = f"{result['job']} and {stored} credentials stored, {expected} expected"
    return result


def profile_run(args: argparse.Namespace, logs: Path, work: Path) -> Json:
    out = work / "cohort-profile.json"
    with postgres_database() as url:
        service = Service(url, 1, logs / "serve-profile.log")
        service.environment["MICROCRED_JOBS_RUNNER"] = "false"
        with service:
            tenant, course_id = make_tenant(service)
            with Workers(service, 1, logs, profile_out=out, cprofile=args.cprofile) as workers:
                run_cohort(service, tenant, course_id, 20, args.format, 120)
                workers.processes[0].send_signal(signal.SIGUSR1)  # the clocks start now
                time.sleep(0.5)
                run = run_cohort(service, tenant, course_id, args.profile_rows, args.format, 1800)
    found: Json = read_json(out)
    rows = run["job"]["done"]
    per_row = {stage: seconds * 1000 / rows for stage, seconds in found["stages_seconds"].items()}
    cprofile = found.get("cprofile", {})
    packages = {
        name: {"ms": figures["ms"] / rows, "share": figures["share"]}
        for name, figures in cprofile.get("packages", {}).items()
    }
    functions = [
        {**entry, "own_ms": entry["own_ms"] / rows, "cumulative_ms": entry["cumulative_ms"] / rows}
        for entry in cprofile.get("top_functions", [])
    ]
    return {
        "rows": rows,
        "run": {k: run[k] for k in ("seconds", "credentials_per_second")},
        "stages_ms_per_credential": per_row,
        "cprofile_cpu_ms_per_credential": cprofile.get("own_cpu_ms_per_request", 0) / rows,
        "packages": packages,
        "top_functions": functions,
    }


def render(results: Json) -> str:
    lines = [f"cohort bench {results['started']} · {results['machine_line']}"]
    timed = results.get("timed")
    if timed:
        lines.append(
            f"{timed['rows']:,} rows ({timed['format']}), PostgreSQL, {timed['workers']} "
            f"worker(s): {timed['seconds']:.1f} s upload→done = "
            f"{timed['credentials_per_second']:.1f} credentials/s "
            f"(upload and checks {timed['upload_seconds']:.2f} s; job {timed['job']})"
        )
        lines.append(
            f"  workers' CPU: {timed['worker_cpu_ms_per_credential']:.1f} ms per credential; "
            f"each worker's CPU seconds {[round(x, 1) for x in timed['worker_cpu_seconds']]}, "
            f"serve {timed['serve_cpu_seconds']:.1f} s"
        )
        for reply, batch in timed.get("batch", {}).items():
            lines.append(
                f"  batch of {batch['items']} (reply={reply}): {batch['issued']} issued in "
                f"{batch['seconds']:.1f} s = {batch['credentials_per_second']:.1f}/s, reply "
                f"{batch['reply_bytes']:,} bytes"
            )
        if "error" in timed:
            lines.append(f"ERROR: {timed['error']}")
    profile = results.get("profile")
    if profile:
        lines.append(
            f"profile, 1 worker under clocks, {profile['rows']} credentials "
            f"({profile['run']['credentials_per_second']:.1f}/s):"
        )
        lines.append("  stage (wall ms per credential, nested stages inside their parent):")
        for stage, ms in profile["stages_ms_per_credential"].items():
            depth = stage.count(" > ")
            lines.append(f"    {'  ' * depth}{stage.split(' > ')[-1]}: {ms:.2f}")
    if profile and profile["packages"]:
        lines.append(
            f"  cProfile own CPU per credential {profile['cprofile_cpu_ms_per_credential']:.2f} ms"
            " (cProfile inflates it), by package:"
        )
        for name, figures in profile["packages"].items():
            lines.append(f"    {name}: {figures['ms']:.2f} ms ({figures['share']:.0%})")
        lines.append("  top functions (own ms per credential):")
        for entry in profile["top_functions"][:15]:
            lines.append(
                f"    {entry['own_ms']:.3f} own, {entry['cumulative_ms']:.3f} cum  "
                f"{entry['function']}"
            )
    for name, load in results.get("machine_load", {}).items():
        shares = ", ".join(f"{k} {v:.2f}" for k, v in load.items() if k != "seconds")
        lines.append(f"machine load, {name} ({load['seconds']:.0f} s): {shares}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench cohort", description=__doc__)
    parser.add_argument("--rows", type=int, default=2000, help="learners (default 2000)")
    parser.add_argument("--workers", type=int, default=2, help="microcred worker processes")
    parser.add_argument("--profile-rows", type=int, default=300, help="0: no profile")
    parser.add_argument(
        "--cprofile",
        action="store_true",
        help="also a cProfile of the profiled worker (it inflates every stage several times)",
    )
    parser.add_argument("--format", choices=("edc", "obv3"), default="edc")
    parser.add_argument("--skip-timed", action="store_true")
    parser.add_argument(
        "--batch",
        type=int,
        default=0,
        help="after the cohort, also a POST /microcredentials/batch of this many, answered "
        "in full and with ?reply=ids (0: none)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    logs = args.out / f"cohort-{stamp}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    machine = describe()
    results: Json = {
        "started": stamp,
        "machine": {**machine, "postgres": postgres_version()},
        "machine_line": f"{machine.get('cpu_model')} · {machine.get('cores')} cores"
        f" · commit {machine.get('commit')}",
        "args": {k: v for k, v in vars(args).items() if k != "out"},
    }
    neighbours = Neighbours()
    neighbours.start()
    code = 0
    try:
        if not args.skip_timed:
            with neighbours.section("cohort timed"):
                results["timed"] = timed_run(args, logs)
            code = 1 if "error" in results["timed"] else 0
        if args.profile_rows > 0:
            _log(f"profile: {args.profile_rows} rows, 1 worker under clocks")
            with neighbours.section("cohort profile"):
                results["profile"] = profile_run(args, logs, logs)
    finally:
        neighbours.stop()
    results["machine_load"] = neighbours.sections
    out_file = args.out / f"cohort-{stamp}.json"
    write_json(out_file, results)
    print(render(results))
    print(f"raw figures: {out_file}")
    return code
