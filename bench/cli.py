"""``python -m bench``: every benchmark in one run, a readable report, raw figures as JSON.

1. in-process: our code and the peer (Digital Bazaar's VC library, a Node process) sign and
   verify the same EDC micro-credential (rdfc, jcs) in alternating rounds; then the two verify
   each other's credentials (the run fails when they do not); then the other steps of an issue;
2. where one ``POST /microcredentials`` spends its time (stages and cProfile);
3. the service over HTTP, ``microcred serve`` with 1 and 2 workers on SQLite and PostgreSQL,
   loaded from another process over loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import peer, report
from bench.common import (
    BENCH_DIR,
    CONTEXTS_DIR,
    PROJECT_ROOT,
    RESULTS_DIR,
    Json,
    read_json,
    write_json,
)
from bench.document import CANONICALIZERS, Fixture, data_integrity, make_fixture
from bench.inprocess import (
    SUITES,
    BenchError,
    InProcess,
    LoopLimits,
    compare,
    issue_steps,
    oxigraph_fast_path,
    prepare,
    tamper,
    verify_document,
)
from bench.machine import describe
from bench.neighbours import Neighbours
from bench.peer import PeerProcess
from bench.scenarios import Plan, run_all
from bench.service import (
    Service,
    ServiceError,
    postgres_available,
    postgres_database,
    postgres_version,
    sqlite_database,
)

DATABASES = ("sqlite", "postgresql")
README = BENCH_DIR / "README.md"


def _log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of everything (~2 min)")
    parser.add_argument(
        "--databases",
        default=",".join(DATABASES),
        help="comma-separated: sqlite,postgresql (default: both)",
    )
    parser.add_argument("--workers", default="1,2", help="comma-separated (default: 1,2)")
    parser.add_argument(
        "--batch-size",
        type=int,
        help="items in the batch sent once, to PostgreSQL ×1 (default 1000; 0: no batch); the "
        "other database's 1-worker service gets a batch of 50",
    )
    parser.add_argument("--seconds", type=float, help="length of one timed HTTP run")
    parser.add_argument("--skip-peer", action="store_true", help="no Node peer, no interop")
    parser.add_argument("--skip-http", action="store_true", help="no service, no load")
    parser.add_argument("--skip-profile", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="where the JSON goes")
    parser.add_argument(
        "--write-readme",
        action="store_true",
        help="also put this run's tables into bench/README.md (between its figures markers)",
    )
    args = parser.parse_args(argv)
    args.database_list = [d for d in args.databases.split(",") if d]
    args.worker_list = [int(w) for w in args.workers.split(",") if w]
    unknown = set(args.database_list) - set(DATABASES)
    if unknown or not all(1 <= w <= 8 for w in args.worker_list):
        parser.error("databases are sqlite and postgresql; workers from 1 to 8")
    return args


def loop_limits(quick: bool) -> LoopLimits:
    if quick:
        return LoopLimits(
            rounds=2, seconds=0.25, max_iterations=500, warmup=2, peer_warmup_seconds=0.3
        )
    return LoopLimits(rounds=5, seconds=0.8, max_iterations=5000, warmup=5, peer_warmup_seconds=1.0)


def http_plan(args: argparse.Namespace) -> Plan:
    if args.quick:
        return Plan(
            warmup_seconds=0.5,
            runs=1,
            run_seconds=args.seconds or 1.5,
            batch_size=5 if args.batch_size is None else args.batch_size,
        )
    return Plan(
        warmup_seconds=2.0,
        runs=2,
        run_seconds=args.seconds or 4.0,
        batch_size=1000 if args.batch_size is None else args.batch_size,
    )


# -- in-process and the peer ------------------------------------------------------------------


def start_peer(fixture: Fixture, ours: InProcess, limits: LoopLimits, work: Path) -> PeerProcess:
    peer.ensure_installed()
    config: Json = {
        "contextsDir": str(CONTEXTS_DIR),
        "unsignedPath": str(work / "unsigned.json"),
        "seedHex": fixture.key.seed.hex(),
        "created": fixture.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "warmupSeconds": limits.peer_warmup_seconds,
        "ours": {},
        "outDir": str(work),
    }
    for short, document in ours.signed.items():
        path = work / f"ours-{short}.json"
        path.write_text(json.dumps(document))
        config["ours"][short] = str(path)
    start_timeout = 8 * limits.peer_warmup_seconds + 60
    return PeerProcess(config, work / "peer-config.json", start_timeout=start_timeout)


def interop_checks(peer_report: Json, ours: InProcess) -> list[Json]:
    """Both directions, each with a tampered copy that must be refused (no vacuous pass)."""
    checks = []
    for short in SUITES:
        theirs = peer_report["interop"][short]
        passed = theirs["ours"]["verified"] and not theirs["oursTampered"]["verified"]
        checks.append(
            {
                "name": f"peer verifies our {short} credential (and refuses it tampered)",
                "passed": passed,
                "detail": "; ".join(theirs["ours"]["errors"])[:300],
            }
        )
        signed = read_json(Path(peer_report["signed"][short]))
        for canonicalizer in CANONICALIZERS if short == "rdfc" else CANONICALIZERS[:1]:
            di = data_integrity(canonicalizer)
            mine = verify_document(di, signed)
            refused = not verify_document(di, tamper(signed))["verified"]
            checks.append(
                {
                    "name": f"we ({canonicalizer}) verify the peer's {short} credential "
                    "(and refuse it tampered)",
                    "passed": bool(mine["verified"]) and refused,
                    "detail": "; ".join(mine["errors"])[:300],
                }
            )
        same = signed["proof"].get("proofValue") == ours.signed[short]["proof"].get("proofValue")
        checks.append(
            {
                "name": f"same key and time give the same {short} proofValue (information)",
                "passed": same,
                "informational": True,
                "detail": "byte-identical signatures" if same else "the signatures differ",
            }
        )
    return checks


# -- profile ----------------------------------------------------------------------------------


def run_profile(requests: int, work: Path) -> Json:
    out = work / "profile.json"
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "bench.profile", str(out), "--requests", str(requests)],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": "the profile took more than 300 s"}
    if completed.returncode != 0:
        return {"error": completed.stderr[-1500:]}
    result: Json = read_json(out)
    return result


# -- HTTP -------------------------------------------------------------------------------------


def http_matrix(
    args: argparse.Namespace, work: Path, logs: Path, neighbours: Neighbours
) -> tuple[list[Json], list[str]]:
    plan = http_plan(args)
    configurations: list[Json] = []
    failures: list[str] = []
    databases = list(args.database_list)
    if "postgresql" in databases:
        why = postgres_available()
        if why is not None:
            _log(f"PostgreSQL is not reachable ({why}): skipped")
            configurations.append(
                {"database": "postgresql", "workers": 0, "error": f"unreachable: {why}"}
            )
            databases.remove("postgresql")
    # The full batch once (it is one request: a second worker adds nothing to it), on
    # PostgreSQL when there is one; a small batch on the other database's 1-worker service.
    full_batch_on = "postgresql" if "postgresql" in databases else "sqlite"
    small_batch = min(plan.batch_size, 5 if args.quick else 50)
    for database in databases:
        for workers in args.worker_list:
            label = f"{database}-{workers}w"
            batch_size = 0
            if workers == min(args.worker_list):
                batch_size = plan.batch_size if database == full_batch_on else small_batch
            this_plan = Plan(**{**asdict(plan), "batch_size": batch_size})
            _log(f"HTTP: {database}, {workers} worker(s)")
            started = time.monotonic()
            configuration: Json = {"database": database, "workers": workers}
            try:
                with neighbours.section(f"HTTP {database} ×{workers}"):
                    configuration["scenarios"] = _one_configuration(
                        database, workers, this_plan, work / label, logs / f"server-{label}.log"
                    )
            except (ServiceError, OSError) as exc:
                configuration["error"] = str(exc)
                failures.append(f"{database} ×{workers}: {exc}"[:600])
            configuration["wall_seconds"] = time.monotonic() - started
            configurations.append(configuration)
    return configurations, failures


def _one_configuration(
    database: str, workers: int, plan: Plan, work: Path, log_path: Path
) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    if database == "sqlite":
        manager = sqlite_database(work)
    else:
        manager = postgres_database()
    with manager as url, Service(url, workers, log_path) as service:
        return run_all(service, plan, work, with_batch=plan.batch_size > 0)


# -- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    neighbours = Neighbours()
    neighbours.start()
    try:
        return _run(args, neighbours)
    finally:
        neighbours.stop()


def _run(args: argparse.Namespace, neighbours: Neighbours) -> int:
    started = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    logs = args.out / f"{stamp}-logs"
    results: Json = {
        "machine": {**describe(), "load_average_at_start": os.getloadavg()},
        "quick": args.quick,
        "plan": asdict(http_plan(args)),
        "loop": asdict(loop_limits(args.quick)),
        "failures": [],
    }
    failures: list[str] = results["failures"]
    limits = loop_limits(args.quick)
    with tempfile.TemporaryDirectory(prefix="microcred-bench-") as directory:
        work = Path(directory)
        fixture = make_fixture()
        (work / "unsigned.json").write_text(json.dumps(fixture.unsigned))
        results["edc_bytes"] = len(json.dumps(fixture.unsigned).encode())
        engines = {name: data_integrity(name) for name in CANONICALIZERS}
        results["oxigraph_fast_path"] = oxigraph_fast_path(fixture, engines["oxigraph"])
        try:
            ours = prepare(fixture, engines)
        except BenchError as exc:
            failures.append(str(exc))
            ours = InProcess({}, {})
        failures += ours.problems
        inprocess: Json = {"cases": {}, "steps": {}}
        results["inprocess"] = inprocess
        if ours.cases and not args.skip_peer:
            _log("in-process, ours and the peer's (Node) in turns: the EDC micro-credential")
            try:
                with (
                    neighbours.section("in-process, ours and peer"),
                    start_peer(fixture, ours, limits, work) as node,
                ):
                    results["peer"] = node.ask({"op": "hello"}, timeout=30)
                    inprocess["cases"] = compare(ours, node, limits)
                    peer_report = node.ask({"op": "interop"}, timeout=120)
            except peer.PeerUnavailable as exc:
                failures.append(f"interop not checked: {exc}"[:2000])
                results["peer"] = {"error": str(exc)}
            else:
                results["interop"] = interop_checks(peer_report, ours)
                for check in results["interop"]:
                    if not check["passed"] and not check.get("informational"):
                        failures.append(f"interop failed: {check['name']}: {check['detail']}")
        if ours.cases and not inprocess["cases"]:
            _log("in-process: ours only")
            with neighbours.section("in-process, ours"):
                inprocess["cases"] = compare(ours, None, limits)
        if ours.signed:
            _log("in-process: the other steps of an EDC issue")
            with neighbours.section("in-process, issue steps"):
                inprocess["steps"] = issue_steps(fixture, ours.signed["rdfc"], limits)

        if not args.skip_profile:
            _log("profile: where one POST /microcredentials spends its time")
            with neighbours.section("profile"):
                results["profile"] = run_profile(3 if args.quick else 20, work)

        if not args.skip_http:
            if "postgresql" in args.database_list:
                results["postgres"] = postgres_version()
            results["http"], http_failures = http_matrix(args, work, logs, neighbours)
            failures += http_failures

    results["machine_load"] = neighbours.sections
    results["goals"] = report.goals(results)
    results["wall_seconds"] = time.monotonic() - started
    out_file = args.out / f"bench-{stamp}.json"
    write_json(out_file, results)
    markdown = report.render(results, markdown=True)
    (args.out / f"bench-{stamp}.md").write_text(markdown)
    if args.write_readme:
        report.write_readme(README, markdown)
    print(report.render(results, markdown=False))
    shown = (
        out_file.relative_to(PROJECT_ROOT) if out_file.is_relative_to(PROJECT_ROOT) else out_file
    )
    print(f"raw figures: {shown}")
    print(f"total time: {results['wall_seconds']:.0f} s")
    return 1 if failures else 0
