"""Structured JSON logs with a request id on every line, Prometheus metrics, security headers."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# -- metrics -------------------------------------------------------------------------------------

REQUESTS = Counter("microcred_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "microcred_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CREDENTIALS_ISSUED = Counter("microcred_credentials_issued_total", "Credentials issued", ["format"])
CREDENTIALS_VERIFIED = Counter(
    "microcred_credentials_verified_total", "Verification requests", ["kind", "verified"]
)
STATUS_CHANGES = Counter(
    "microcred_status_changes_total", "Status changes (revoke, suspend, unsuspend)", ["action"]
)
STATUS_LISTS_SIGNED = Counter(
    "microcred_status_lists_signed_total", "Status list credentials (re-)signed"
)


def metrics_response() -> Response:
    """Prometheus text; with several workers set PROMETHEUS_MULTIPROC_DIR to aggregate them."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


# -- logging -------------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line; every line carries the current request id."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


_base_factory = logging.getLogRecordFactory()


def _record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Stamp each record with the request it was made in, whenever it is formatted later."""
    record = _base_factory(*args, **kwargs)
    record.request_id = request_id_var.get()
    return record


logging.setLogRecordFactory(_record_with_request_id)


def configure_logging(level: str) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_microcred", False) for h in root.handlers):
        root.setLevel(level.upper())
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._microcred = True  # type: ignore[attr-defined]
    root.handlers = [h for h in root.handlers if not isinstance(h, logging.StreamHandler)]
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Our access line replaces uvicorn's (which would log query strings verbatim).
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True


access_log = logging.getLogger("microcred.access")

# -- middleware ----------------------------------------------------------------------------------

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-site"),
]
API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
DOCS_PATHS = ("/docs", "/redoc")


#: An offer id gives its pre-authorized code away (app/services/oid4vci.py): never logged.
_OFFER_ID = re.compile(r"(/oid4vci/offers/)[^/]+")


def loggable_path(path: str) -> str:
    """A request path as log lines may show it: offer ids replaced by ``{offer_id}``."""
    return _OFFER_ID.sub(r"\1{offer_id}", path)


#: Answers an exception no handler took (app.api.problems.unexpected_error_response).
ErrorReply = Callable[[Request, Exception], Response]


def _route_of(scope: Scope) -> str:
    """The matched route template (``/credentials/{credential_id}``): bounded metric labels."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class ObservabilityMiddleware:
    """Request id, access log, metrics and security headers for every HTTP response."""

    def __init__(self, app: ASGIApp, *, hsts: bool, on_error: ErrorReply) -> None:
        self.app = app
        self.hsts = hsts
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        started_reply = False
        path = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            nonlocal status, started_reply
            if message["type"] == "http.response.start":
                started_reply = True
                status = message["status"]
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.append((b"x-request-id", request_id.encode()))
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in names)
                if not path.startswith(DOCS_PATHS) and API_CSP[0] not in names:
                    headers.append(API_CSP)
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            # Starlette answers an unhandled exception outside every middleware, so its 500
            # would lack the headers above: answer (and log) it here instead.
            if started_reply:
                raise
            reply = self.on_error(Request(scope), exc)
            await reply(scope, receive, send_with_headers)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_of(scope)
            method = scope.get("method", "")
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(elapsed)
            caller = scope.get("state", {}).get("caller")
            access_log.info(
                "%s %s %s",
                method,
                route,
                status,
                extra={
                    "fields": {
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                        "api_key": getattr(caller, "api_key_id", None),
                    }
                },
            )
            request_id_var.reset(token)


async def metrics_endpoint(request: Request) -> Response:
    return metrics_response()
