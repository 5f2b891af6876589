"""Where the time of one ``POST /microcredentials`` (format edc) goes.

    python -m bench.profile OUT.json [--requests N] [--database-url URL]

The real application (``create_app``, a migrated database, an issuer made through the admin API)
answers in this process through httpx's ASGI transport, one request at a time, so every wall-clock
second belongs to that request. Two views:

* stages: wall time inside page rendering, building the EDC, the Data Integrity proof
  (canonicalization of the document and of the proof options, JSON-LD expansion, URDNA2015, the
  signature), SHACL validation and the database driver (each statement and commit, waiting
  included); what is left is HTTP/ASGI, request validation, authentication, status allocation
  logic and JSON encoding of the reply;
* cProfile: own CPU time per package, and the most expensive functions.

Run as its own process: the stage clocks replace functions of the application and its libraries.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import io
import os
import pstats
import secrets
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from bench.common import Json, write_json

ADMIN_TOKEN = "bench-profile-" + secrets.token_urlsafe(32)

#: Package of a function's file -> the group its own time is shown under.
PACKAGE_GROUPS = {
    "pyld": "pyld (JSON-LD, URDNA2015)",
    "c14n": "pyld (JSON-LD, URDNA2015)",
    "pyshacl": "pyshacl / rdflib (SHACL)",
    "rdflib": "pyshacl / rdflib (SHACL)",
    "PIL": "Pillow (page rendering)",
    "qrcode": "Pillow (page rendering)",
    "sqlalchemy": "SQLAlchemy / drivers",
    "sqlmodel": "SQLAlchemy / drivers",
    "aiosqlite": "SQLAlchemy / drivers",
    "asyncpg": "SQLAlchemy / drivers",
    "pydantic": "pydantic",
    "pydantic_core": "pydantic",
    "fastapi": "FastAPI / Starlette / httpx",
    "starlette": "FastAPI / Starlette / httpx",
    "httpx": "FastAPI / Starlette / httpx",
    "httpcore": "FastAPI / Starlette / httpx",
    "anyio": "asyncio / anyio",
    "asyncio": "asyncio / anyio",
    "json": "json / orjson",
    "orjson": "json / orjson",
    "rfc8785": "rfc8785 (JCS)",
    "nacl": "PyNaCl (Ed25519)",
    "app": "app (our code)",
}


class StageClock:
    """Wall time spent inside wrapped functions, keyed by the path of enclosing stages."""

    def __init__(self) -> None:
        self.totals: defaultdict[str, float] = defaultdict(float)
        self.counts: Counter[str] = Counter()
        self.stack: list[str] = []
        self.enabled = False

    def reset(self) -> None:
        self.totals.clear()
        self.counts.clear()

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if not self.enabled or (self.stack and self.stack[-1] == name):
                return function(*args, **kwargs)
            self.stack.append(name)
            key = " > ".join(self.stack)
            self.totals.setdefault(key, 0.0)  # keys in the order stages start: parents first
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.totals[key] += time.perf_counter() - started
                self.counts[key] += 1
                self.stack.pop()

        return timed

    def patch(self, owner: Any, attribute: str, name: str) -> None:
        raw = vars(owner).get(attribute)
        if isinstance(raw, staticmethod):
            setattr(owner, attribute, staticmethod(self.wrap(name, raw.__func__)))
        elif raw is not None:
            setattr(owner, attribute, self.wrap(name, raw))


def install_clocks(clock: StageClock) -> None:
    import pyld.canon
    from sqlalchemy.connectors import asyncio as sa_asyncio
    from sqlalchemy.dialects.postgresql import asyncpg as sa_asyncpg
    from sqlalchemy.dialects.sqlite import aiosqlite as sa_aiosqlite

    import app.credentials.edc
    import app.credentials.render
    import app.credentials.shacl
    import app.crypto.cryptosuites
    import app.crypto.keys
    import app.jsonld.canonical
    import app.jsonld.oxigraph

    clock.patch(app.credentials.render, "render_pages", "render pages")
    clock.patch(app.credentials.edc, "build_edc", "build EDC")
    clock.patch(app.credentials.shacl, "validate_edc", "SHACL validation")
    suite = app.crypto.cryptosuites.Cryptosuite
    clock.patch(suite, "create_proof", "Data Integrity proof")
    clock.patch(suite, "transform", "canonicalize document")
    clock.patch(suite, "proof_configuration", "canonicalize proof options")
    clock.patch(app.crypto.keys.KeyPair, "sign", "Ed25519 signature")
    clock.patch(app.jsonld.canonical.StrictProcessor, "expand", "JSON-LD expansion (pyld)")
    clock.patch(pyld.canon.URDNA2015, "main", "URDNA2015 + N-Quads (pyld)")
    oxigraph = app.jsonld.oxigraph.OxigraphCanonicalizer
    clock.patch(oxigraph, "canonicalize_fast", "pyoxigraph fast path")
    clock.patch(oxigraph, "_inline_contexts", "checks, contexts inlined")
    clock.patch(oxigraph, "_parse", "pyoxigraph JSON-LD parse")
    clock.patch(oxigraph, "_canonicalize_with_pyld", "pyld fallback")
    for cursor in (sa_asyncio.AsyncAdapt_dbapi_cursor, sa_asyncpg.AsyncAdapt_asyncpg_cursor):
        clock.patch(cursor, "execute", "database")
        clock.patch(cursor, "executemany", "database")
    for connection in (
        sa_asyncio.AsyncAdapt_dbapi_connection,
        sa_aiosqlite.AsyncAdapt_aiosqlite_connection,
        sa_asyncpg.AsyncAdapt_asyncpg_connection,
    ):
        clock.patch(connection, "commit", "database")
        clock.patch(connection, "rollback", "database")


def _group(filename: str) -> str:
    parts = Path(filename).parts
    if "site-packages" in parts:
        index = parts.index("site-packages")
        if index + 1 < len(parts):
            package = parts[index + 1].removesuffix(".py")
            return PACKAGE_GROUPS.get(package, f"other: {package}")
    if "app" in parts:
        return PACKAGE_GROUPS["app"]
    for package in ("asyncio", "json"):
        if package in parts:
            return PACKAGE_GROUPS[package]
    return "Python standard library"


def cprofile_summary(
    profile: cProfile.Profile, requests: int, top: int = 15, idle: tuple[str, ...] = ()
) -> Json:
    """Own CPU time per package; a built-in's time goes to the package of its caller. Functions
    named in ``idle`` (waiting, e.g. ``epoll``'s poll) are left out."""
    stats = pstats.Stats(profile, stream=io.StringIO())
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    groups: defaultdict[str, float] = defaultdict(float)
    functions = []
    for (filename, line, name), (_, calls, own, cumulative, callers) in raw.items():
        if name in idle:
            continue
        if filename == "~" and callers:
            for (caller_file, _, _), (_, _, caller_own, _) in callers.items():
                groups[_group(caller_file)] += caller_own
        else:
            groups[_group(filename)] += own
        functions.append((own, cumulative, calls, f"{Path(filename).name}:{line}({name})"))
    total = sum(groups.values())
    functions.sort(reverse=True)
    return {
        "own_cpu_ms_per_request": total * 1000 / requests,
        "packages": {
            name: {"ms": seconds * 1000 / requests, "share": seconds / total}
            for name, seconds in sorted(groups.items(), key=lambda item: -item[1])
            if seconds * 1000 / requests >= 0.05
        },
        "top_functions": [
            {
                "function": where,
                "own_ms": own * 1000 / requests,
                "cumulative_ms": cumulative * 1000 / requests,
                "calls": calls / requests,
            }
            for own, cumulative, calls, where in functions[:top]
        ],
    }


def _body(cryptosuite: str, number: int) -> Json:
    from app.credentials.examples import example_request

    body = example_request(cryptosuite=cryptosuite)
    body["learner"]["identifier"]["value"] = f"P{number:07d}"
    return body


async def profile_app(database_url: str, canonicalizer: str, requests: int) -> Json:
    """Stages of ``requests`` issues per suite, then a cProfile of ``requests`` rdfc issues."""
    from app.config import Settings
    from app.main import create_app

    clock = _CLOCK
    settings = Settings(
        env="production",
        database_url=database_url,
        admin_token=ADMIN_TOKEN,
        master_key=secrets.token_urlsafe(32),
        public_url="http://127.0.0.1:8000",
        log_level="WARNING",
        canonicalizer=canonicalizer,
    )
    application = create_app(settings)
    report: Json = {}
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
            admin = {"authorization": f"Bearer {ADMIN_TOKEN}"}
            slug = f"uni-{canonicalizer}"
            made = await c.post(
                "/admin/issuers",
                headers=admin,
                json={
                    "slug": slug,
                    "name": {"en": "University of Zed"},
                    "country": "IRL",
                    "legalIdentifier": "IE1234567X",
                },
            )
            made.raise_for_status()
            key = await c.post(
                f"/admin/issuers/{slug}/api-keys",
                headers=admin,
                json={"name": "profile", "scopes": ["credentials:issue"]},
            )
            key.raise_for_status()
            auth = {"authorization": f"Bearer {key.json()['key']}"}

            async def issue(cryptosuite: str, number: int) -> float:
                started = time.perf_counter()
                reply = await c.post(
                    "/microcredentials", headers=auth, json=_body(cryptosuite, number)
                )
                elapsed = time.perf_counter() - started
                if reply.status_code != 201:
                    raise RuntimeError(f"issue answered {reply.status_code}: {reply.text[:500]}")
                return elapsed

            for number in range(3):  # warm caches: contexts, SHACL shapes, fonts, keys
                await issue("eddsa-rdfc-2022", number)
                await issue("eddsa-jcs-2022", number)
            suites = [("rdfc", "eddsa-rdfc-2022")]
            if canonicalizer == "oxigraph":  # eddsa-jcs-2022 uses no RDF canonicalizer
                suites.append(("jcs", "eddsa-jcs-2022"))
            for short, cryptosuite in suites:
                clock.reset()
                clock.enabled = True
                total = 0.0
                for number in range(requests):
                    total += await issue(cryptosuite, 1000 + number)
                clock.enabled = False
                stages = {key: value * 1000 / requests for key, value in clock.totals.items()}
                top_level = sum(v for k, v in stages.items() if " > " not in k)
                request_ms = total * 1000 / requests
                label = f"{short} ({canonicalizer})" if short == "rdfc" else short
                report[label] = {
                    "request_ms": request_ms,
                    "stages_ms": stages,
                    "rest_ms": request_ms - top_level,
                }
            if canonicalizer == "oxigraph":
                profiler = cProfile.Profile()
                profiler.enable()
                for number in range(requests):
                    await issue("eddsa-rdfc-2022", 5000 + number)
                profiler.disable()
                report["cprofile"] = cprofile_summary(profiler, requests)
    return report


_CLOCK = StageClock()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("out", type=Path)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--database-url", help="default: a new SQLite file")
    args = parser.parse_args(argv)
    from app.cli_db import migrate

    for name in [name for name in os.environ if name.startswith("MICROCRED_")]:
        del os.environ[name]
    install_clocks(_CLOCK)
    requests = max(1, min(args.requests, 500))
    database = make_url(args.database_url).get_backend_name() if args.database_url else "sqlite"
    report: Json = {"requests": requests, "database": database, "stages": {}}
    with tempfile.TemporaryDirectory(prefix="microcred-profile-") as directory:
        for canonicalizer in ("oxigraph", "pyld"):
            url = args.database_url or f"sqlite+aiosqlite:///{directory}/{canonicalizer}.db"
            migrate(url)
            found = asyncio.run(profile_app(url, canonicalizer, requests))
            if "cprofile" in found:
                report["cprofile_rdfc"] = found.pop("cprofile")
            report["stages"].update(found)
    write_json(args.out, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
