"""The load generator: a separate process sending HTTP/1.1 requests over loopback.

    python -m bench.loadgen SPEC.json OUT.json

``SPEC`` names the base URL, the requests to send (cycled, or each sent once), how many
connections, a warm-up, and how many timed runs of how long; every loop is bounded by time and by
count. Each connection is its own keep-alive TCP connection driven by one task, and each run
opens new ones (uvicorn may put a few keep-alive connections all on one worker, so several runs
with many connections are needed for figures that hold). ``OUT`` gets the figures: rate, latency
percentiles, status counts, client CPU use, and the ids of what was issued.

The client is a minimal HTTP/1.1 one over asyncio streams: httpx's connection pool costs about
6 ms of client CPU per request at 64 connections here, which would make the client, not the
service, the bottleneck of every fast endpoint.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from bench.common import Json, latency_summary, read_json, write_json

#: Only loopback targets: this tool must never load anything else.
ALLOWED_HOSTS = ("127.0.0.1", "localhost", "::1")


class ProtocolError(Exception):
    """The server's reply is not HTTP/1.1 as this client reads it."""


class _StaleConnection(Exception):
    """A reused connection was closed by the server before it answered anything."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Request:
    raw: bytes  # the whole request, head and body, encoded once


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    collected: list[str] = field(default_factory=list)
    batch_items: Counter[str] = field(default_factory=Counter)
    sample_failure: str | None = None
    sent: int = 0


class Cursor:
    """Hands out request numbers: cycling, or each request once; never more than ``limit``."""

    def __init__(self, size: int, *, cycle: bool, limit: int) -> None:
        self.size, self.cycle, self.limit, self.next_number = size, cycle, limit, 0

    def take(self) -> int | None:
        if self.next_number >= self.limit or (not self.cycle and self.next_number >= self.size):
            return None
        number = self.next_number
        self.next_number += 1
        return number % self.size


class Connection:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closed it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None

    async def send(self, request: Request) -> Reply:
        try:
            return await self._exchange(request)
        except _StaleConnection:
            # The server had closed the idle keep-alive connection before reading the request.
            await self.close()
            return await self._exchange(request)

    async def _exchange(self, request: Request) -> Reply:
        reused = self.writer is not None
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        try:
            self.writer.write(request.raw)
            await self.writer.drain()
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError) as exc:
            nothing_read = not isinstance(exc, asyncio.IncompleteReadError) or not exc.partial
            if reused and nothing_read:
                raise _StaleConnection from exc
            raise
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise ProtocolError(lines[0][:100])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._chunked()
        else:
            body = await self.reader.read()
            await self.close()
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Reply(int(parts[1]), headers, body)

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        chunks: list[bytes] = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(chunks)
            chunks.append((await self.reader.readexactly(size + 2))[:-2])


def _requests(spec: Json, host_header: str) -> list[Request]:
    built = []
    for item in spec["requests"]:
        headers = {
            "host": host_header,
            "user-agent": "microcred-bench",
            "accept": "application/json",
            **{name.lower(): value for name, value in item.get("headers", {}).items()},
        }
        body = b""
        if "json" in item:
            body = orjson.dumps(item["json"])
            headers["content-type"] = "application/json"
        if body or item["method"] in ("POST", "PUT", "PATCH"):
            headers["content-length"] = str(len(body))
        head = f"{item['method']} {item['path']} HTTP/1.1\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in headers.items()
        )
        built.append(Request((head + "\r\n").encode("latin-1") + body))
    return built


def _shown(body: bytes) -> str:
    """A failed reply for the report: JSON without the (long) credential it echoes."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:2000].decode("utf-8", "replace")
    if isinstance(value, dict):
        for name in ("credential", "verifiableCredential"):
            if name in value:
                value[name] = "…"
    return orjson.dumps(value).decode()[:4000]


def _collect(kind: str | None, reply: Reply, tally: Tally) -> None:
    if kind == "location":
        location = reply.headers.get("location", "")
        if location.startswith("/credentials/"):
            tally.collected.append(location.removeprefix("/credentials/"))
    elif kind == "batch":
        for result in orjson.loads(reply.body).get("results", []):
            tally.batch_items[str(result.get("status"))] += 1
            credential = result.get("verifiableCredential")
            if result.get("status") == 201 and isinstance(credential, dict):
                tally.collected.append(str(credential.get("id")))


async def _worker(
    target: tuple[str, int],
    requests: list[Request],
    cursor: Cursor,
    deadline: float,
    spec: Json,
    tally: Tally | None,
) -> None:
    ok_statuses = set(spec["ok_status"])
    timeout = float(spec["timeout_seconds"])
    connection = Connection(*target)
    try:
        while time.perf_counter() < deadline:
            number = cursor.take()
            if number is None:
                return
            started = time.perf_counter()
            try:
                reply = await asyncio.wait_for(connection.send(requests[number]), timeout)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ProtocolError) as exc:
                await connection.close()
                if tally is not None:
                    tally.sent += 1
                    tally.errors[type(exc).__name__] += 1
                continue
            finished = time.perf_counter()
            if tally is None:
                continue
            tally.sent += 1
            tally.statuses[str(reply.status)] += 1
            if reply.status in ok_statuses:
                tally.latencies.append(finished - started)
                _collect(spec.get("collect"), reply, tally)
            elif tally.sample_failure is None:
                tally.sample_failure = f"{reply.status} {_shown(reply.body)}"
    finally:
        await connection.close()


async def _phase(
    spec: Json,
    target: tuple[str, int],
    requests: list[Request],
    cursor: Cursor,
    seconds: float,
    tally: Tally | None,
) -> float:
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(
            _worker(target, requests, cursor, deadline, spec, tally)
            for _ in range(int(spec["connections"]))
        )
    )
    return time.perf_counter() - started


async def run(spec: Json) -> Json:
    url = urlsplit(spec["base_url"])
    if url.scheme != "http" or url.hostname not in ALLOWED_HOSTS or url.port is None:
        raise SystemExit(f"loadgen: refusing {spec['base_url']!r}: http://<loopback>:<port> only")
    target = (url.hostname, url.port)
    requests = _requests(spec, url.netloc)
    cursor = Cursor(
        len(requests), cycle=bool(spec.get("cycle", True)), limit=int(spec["max_requests"])
    )
    if spec.get("warmup_seconds", 0) > 0:
        await _phase(spec, target, requests, cursor, float(spec["warmup_seconds"]), None)
    tally = Tally()
    runs = []
    measured = 0.0
    cpu_before = time.process_time()
    for _ in range(int(spec.get("runs", 1))):
        before_ok = len(tally.latencies)
        seconds = await _phase(spec, target, requests, cursor, float(spec["run_seconds"]), tally)
        ok = len(tally.latencies) - before_ok
        runs.append({"seconds": seconds, "ok": ok, "per_second": ok / seconds})
        measured += seconds
    cpu = time.process_time() - cpu_before
    return {
        "connections": spec["connections"],
        "runs": runs,
        "sent": tally.sent,
        "ok": len(tally.latencies),
        "seconds": measured,
        "per_second": len(tally.latencies) / measured if measured > 0 else 0.0,
        "latency": latency_summary(tally.latencies),
        "statuses": dict(tally.statuses),
        "errors": dict(tally.errors),
        "sample_failure": tally.sample_failure,
        "client_cpu": cpu / measured if measured > 0 else 0.0,
        "batch_items": dict(tally.batch_items),
        "collected": tally.collected,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m bench.loadgen SPEC.json OUT.json", file=sys.stderr)
        return 2
    spec = read_json(Path(argv[0]))
    try:
        import uvloop
    except ImportError:
        result: Any = asyncio.run(run(spec))
    else:
        result = uvloop.run(run(spec))
    write_json(Path(argv[1]), result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
