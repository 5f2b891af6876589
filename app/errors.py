"""RFC 9457 problem details: one base class, small subclasses beside their raisers, one renderer."""

from __future__ import annotations

import copy
import json
import logging
import traceback
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope, Send

from app.crypto.errors import ProofError
from app.jsonld import JsonLdProcessingError
from app.observability import loggable_path

PROBLEM_JSON = "application/problem+json"
#: Our own problem types (where no specification defines one): a stable URN per problem.
PROBLEMS = "urn:microcred:problem:"
VC_DM = "https://www.w3.org/TR/vc-data-model#"

log = logging.getLogger("microcred.errors")


class Problem(Exception):
    type: ClassVar[str] = "about:blank"
    title: ClassVar[str] = "Bad Request"
    status: ClassVar[int] = 400

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.headers = headers


class NotFound(Problem):
    type = PROBLEMS + "NOT_FOUND"
    title, status = "Not found", 404


class Conflict(Problem):
    type = PROBLEMS + "CONFLICT"
    title, status = "Conflict", 409


class Unauthorized(Problem):
    type = PROBLEMS + "UNAUTHORIZED"
    title, status = "Unauthorized", 401

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(Problem):
    type = PROBLEMS + "FORBIDDEN"
    title, status = "Forbidden", 403


class ValidationFailed(Problem):
    type = PROBLEMS + "VALIDATION_ERROR"
    title, status = "The request is not valid", 422


class ParsingError(Problem):
    """VC DM 2.0 PARSING_ERROR: the body is not the JSON-LD document expected."""

    type = VC_DM + "PARSING_ERROR"
    title, status = "Parsing error", 400


class MalformedValue(Problem):
    """VC DM 2.0 MALFORMED_VALUE_ERROR."""

    type = VC_DM + "MALFORMED_VALUE_ERROR"
    title, status = "Malformed value", 422


class PayloadTooLarge(Problem):
    type = PROBLEMS + "PAYLOAD_TOO_LARGE"
    title, status = "Request body too large", 413


class ServiceUnavailable(Problem):
    type = PROBLEMS + "SERVICE_UNAVAILABLE"
    title, status = "Service unavailable", 503


class UnstorableValue(ValidationFailed):
    type = PROBLEMS + "UNSTORABLE_VALUE"
    title = "A value in the request cannot be stored"


#: Seconds a client should wait before retrying after the database was unreachable.
DATABASE_RETRY_AFTER = 5


def _driver_error(exc: sa_exc.DBAPIError) -> BaseException | None:
    """The driver's own exception (SQLAlchemy's asyncpg adapter wraps it once more)."""
    orig = exc.orig
    return orig.__cause__ if orig is not None and orig.__cause__ is not None else orig


def database_refused_value(exc: BaseException) -> bool:
    """Whether the database refused a value sent with the request, not the request's shape.

    PostgreSQL text cannot hold U+0000 and its integers are bounded (SQLSTATE class 22, "data
    exception"; asyncpg checks some arguments itself and raises a ``ValueError``). SQLite takes
    both, so input that passed validation can still fail here, on one backend only.
    """
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if isinstance(exc, sa_exc.DataError):
        return True
    driver = _driver_error(exc)
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return isinstance(driver, ValueError) or (
        isinstance(sqlstate, str) and sqlstate.startswith("22")
    )


def database_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached (or is too busy) right now.

    Connection-level failures only: a lost or refused connection, no pooled connection free in
    time, an operational error (SQLite "database is locked", a server shutting down). Errors in
    what was asked (constraint violations, bad SQL, refused values) stay what they are.
    """
    if isinstance(exc, sa_exc.TimeoutError):  # the pool had no connection to give in time
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or isinstance(exc, sa_exc.OperationalError):
            return True
        return isinstance(exc, sa_exc.InterfaceError) and not database_refused_value(exc)
    # A driver's connect failure (refused, unknown host, "too many clients") reaches us
    # unwrapped; it is recognized by having been raised while the pool opened a connection.
    return any(
        str(frame.f_globals.get("__name__", "")).startswith("sqlalchemy.pool")
        for frame, _ in traceback.walk_tb(exc.__traceback__)
    )


def json_pointer(location: Sequence[int | str]) -> str:
    """A pydantic error location as an RFC 6901 JSON Pointer into the request body."""
    parts = [part for part in location if part != "[key]"]  # pydantic marks dict-key errors
    if parts and parts[0] == "body":
        parts = parts[1:]
    escaped = (str(part).replace("~", "~0").replace("/", "~1") for part in parts)
    return "/" + "/".join(escaped) if parts else ""


def problem_response(
    *,
    type_: str,
    title: str,
    status: int,
    detail: str | None,
    instance: str | None = None,
    errors: Sequence[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = list(errors)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def send_problem(scope: Scope, send: Send, problem: Problem) -> None:
    """Answer with ``problem`` from ASGI middleware (before any route or handler runs)."""
    body = json.dumps(
        {
            "type": problem.type,
            "title": problem.title,
            "status": problem.status,
            "detail": problem.detail,
            "instance": scope.get("path", ""),
        }
    ).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in (problem.headers or {}).items()]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _render(request: Request, problem: Problem) -> JSONResponse:
    return problem_response(
        type_=problem.type,
        title=problem.title,
        status=problem.status,
        detail=problem.detail,
        instance=request.url.path,
        errors=problem.errors,
        headers=problem.headers,
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for error in exc.errors():
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        errors.append({"pointer": json_pointer(error.get("loc", ())), "detail": message})
    return errors


def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # Messages may carry SQL and its parameters: only the error classes are logged, and the
    # client learns nothing of the driver.
    driver = _driver_error(exc) if isinstance(exc, sa_exc.DBAPIError) else None
    log.warning(
        "database unavailable on %s %s: %s%s",
        request.method,
        loggable_path(request.url.path),
        type(exc).__name__,
        f" ({type(driver).__name__})" if driver is not None else "",
    )
    problem = ServiceUnavailable(
        "the database is unavailable; retry later",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
    )
    return _render(request, problem)


def _internal_error(request: Request) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, loggable_path(request.url.path))
    return problem_response(
        type_=PROBLEMS + "INTERNAL_ERROR",
        title="Internal Server Error",
        status=500,
        detail="an unexpected error occurred; it has been logged",
        instance=request.url.path,
    )


#: The problem details every error reply carries (RFC 9457), as an OpenAPI schema.
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "a specification's URL or our URN"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "the request path"},
        "errors": {
            "type": "array",
            "description": "one entry per offending field (validation failures)",
            "items": {
                "type": "object",
                "required": ["pointer", "detail"],
                "properties": {
                    "pointer": {"type": "string", "description": "JSON Pointer into the body"},
                    "detail": {"type": "string"},
                },
            },
        },
    },
}
_PROBLEM_REF = {"schema": {"$ref": "#/components/schemas/Problem"}}
_FASTAPI_422 = "#/components/schemas/HTTPValidationError"


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Say in the OpenAPI document what the handlers below answer: problem+json errors.

    FastAPI documents its own validation reply (``HTTPValidationError``, ``application/json``),
    which this service never sends; error replies documented without a body get the problem
    schema; and every operation gets a ``default`` reply for the errors any route may give
    (401, 403, 404, 413, 503 ...). Bodies a route documents itself (OAuth errors, verification
    results) are left as they are.
    """
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, reply in responses.items():
                if code[:1] not in ("4", "5"):
                    continue
                bodies = [media.get("schema", {}) for media in reply.get("content", {}).values()]
                if not bodies or any(body.get("$ref") == _FASTAPI_422 for body in bodies):
                    reply["content"] = {PROBLEM_JSON: copy.deepcopy(_PROBLEM_REF)}
            responses.setdefault(
                "default",
                {
                    "description": "An error (RFC 9457 problem details)",
                    "content": {PROBLEM_JSON: copy.deepcopy(_PROBLEM_REF)},
                },
            )
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["Problem"] = PROBLEM_SCHEMA
    return document


def install_problem_handlers(app: FastAPI) -> None:
    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:  # built once, then FastAPI keeps it
            app.openapi_schema = document_problems(generate_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(Problem)
    async def handle_problem(request: Request, exc: Problem) -> JSONResponse:
        return _render(request, exc)

    @app.exception_handler(RequestValidationError)
    async def handle_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        if any(e["detail"].startswith("JSON decode error") for e in errors):
            problem: Problem = ParsingError("the request body is not valid JSON")
        else:
            count = len(errors)
            problem = ValidationFailed(
                f"{count} field{'s' if count != 1 else ''} missing or invalid", errors=errors
            )
        return _render(request, problem)

    @app.exception_handler(StarletteHTTPException)
    async def handle_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = exc.status_code
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
        return problem_response(
            type_="about:blank",
            title=phrase,
            status=status,
            detail=detail,
            instance=request.url.path,
            headers=dict(exc.headers) if exc.headers else None,
        )

    @app.exception_handler(JsonLdProcessingError)
    async def handle_jsonld(request: Request, exc: JsonLdProcessingError) -> JSONResponse:
        return _render(request, MalformedValue(str(exc)))

    @app.exception_handler(ProofError)
    async def handle_proof(request: Request, exc: ProofError) -> JSONResponse:
        return problem_response(
            type_=exc.type,
            title=exc.title,
            status=422,
            detail=exc.detail,
            instance=request.url.path,
        )

    async def handle_database_error(request: Request, exc: Exception) -> JSONResponse:
        if database_refused_value(exc):
            path = loggable_path(request.url.path)
            log.info("database refused a value on %s %s", request.method, path)
            detail = "the database cannot store a value of this request (e.g. text with U+0000)"
            return _render(request, UnstorableValue(detail))
        if database_unreachable(exc):
            return _database_unavailable(request, exc)
        return _internal_error(request)

    # SQLAlchemy's errors and a driver's unwrapped connect errors (OSError: refused, DNS);
    # anything else a driver raises while connecting is caught by handle_unexpected below.
    for kind in (sa_exc.DBAPIError, sa_exc.TimeoutError, OSError):
        app.add_exception_handler(kind, handle_database_error)

    @app.exception_handler(Exception)
    async def handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
        return unexpected_error_response(request, exc)


def unexpected_error_response(request: Request, exc: Exception) -> JSONResponse:
    """The reply to an exception no handler took: 503 when the database is out of reach, else a
    500 (logged with its traceback)."""
    if database_unreachable(exc):
        return _database_unavailable(request, exc)
    return _internal_error(request)
