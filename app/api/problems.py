"""Problems over HTTP: the exception handlers, the ASGI reply of middleware, the OpenAPI
document's error replies, and the OAuth error shape of the wallet endpoints.

Every problem+json reply is a :class:`app.problems.ProblemDetails` written once here; problem
types and the base exception are defined in :mod:`app.problems`, database errors are classified
in :mod:`app.db.errors`.
"""

from __future__ import annotations

import copy
import json
import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope, Send

from app.crypto.errors import ProofError
from app.db.errors import (
    DATABASE_RETRY_AFTER,
    database_refused_value,
    database_unreachable,
    driver_error,
)
from app.jsonld import JsonLdProcessingError
from app.observability import loggable_path
from app.problems import (
    INTERNAL_ERROR,
    PROBLEM_JSON,
    MalformedValue,
    ParsingError,
    Problem,
    ProblemDetails,
    ServiceUnavailable,
    UnstorableValue,
    ValidationFailed,
    json_pointer,
)
from app.services.oid4vci import OAuthError

log = logging.getLogger("microcred.errors")


def problem_response(
    problem: ProblemDetails, headers: dict[str, str] | None = None
) -> JSONResponse:
    status = problem.status or 500
    return JSONResponse(
        problem.to_json(), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


async def send_problem(scope: Scope, send: Send, problem: Problem) -> None:
    """Answer with ``problem`` from ASGI middleware (before any route or handler runs)."""
    body = json.dumps(problem.details(instance=scope.get("path", "")).to_json()).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in (problem.headers or {}).items()]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _render(request: Request, problem: Problem) -> JSONResponse:
    return problem_response(problem.details(instance=request.url.path), problem.headers)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for error in exc.errors():
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        errors.append({"pointer": json_pointer(error.get("loc", ())), "detail": message})
    return errors


def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # Messages may carry SQL and its parameters: only the error classes are logged, and the
    # client learns nothing of the driver.
    driver = driver_error(exc) if isinstance(exc, sa_exc.DBAPIError) else None
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
        ProblemDetails(
            INTERNAL_ERROR,
            "Internal Server Error",
            status=500,
            detail="an unexpected error occurred; it has been logged",
            instance=request.url.path,
        )
    )


#: The problem details every error reply carries (RFC 9457), as an OpenAPI schema.
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "a specification's URL or our URN"},
        "title": {
            "type": "string",
            "description": "a short summary of the problem type, the same for every occurrence",
        },
        "status": {"type": "integer", "description": "the HTTP status code of the reply"},
        "detail": {
            "type": "string",
            "description": "what went wrong with this request, for a human; absent when the "
            "title says it all",
        },
        "instance": {"type": "string", "description": "the request path"},
        "errors": {
            "type": "array",
            "description": "one entry per offending field (validation failures)",
            "items": {
                "type": "object",
                "required": ["pointer", "detail"],
                "properties": {
                    "pointer": {"type": "string", "description": "JSON Pointer into the body"},
                    "detail": {
                        "type": "string",
                        "description": "what is wrong with that field, for a human",
                    },
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
        problem = ProblemDetails(
            "about:blank", phrase, status=status, detail=detail or None, instance=request.url.path
        )
        return problem_response(problem, dict(exc.headers) if exc.headers else None)

    @app.exception_handler(JsonLdProcessingError)
    async def handle_jsonld(request: Request, exc: JsonLdProcessingError) -> JSONResponse:
        return _render(request, MalformedValue(str(exc)))

    @app.exception_handler(ProofError)
    async def handle_proof(request: Request, exc: ProofError) -> JSONResponse:
        problem = ProblemDetails(
            exc.type, exc.title, status=422, detail=exc.detail or None, instance=request.url.path
        )
        return problem_response(problem)

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


# -- OAuth errors (wallet endpoints: OAuth clients read {error, error_description}) --------------

NO_STORE = {"Cache-Control": "no-store"}


class OAuthErrorReply(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"error": "invalid_proof"}})

    error: str = Field(
        description="the OAuth 2.0 / OpenID4VCI error code (e.g. `invalid_grant`, "
        "`invalid_proof`, `invalid_nonce`)"
    )
    error_description: str | None = Field(
        default=None, description="what went wrong, for a developer (printable ASCII, RFC 6749 5.2)"
    )


class MissingToken(OAuthError):
    """No access token at all: the challenge then names no error code (RFC 6750 section 3)."""

    def __init__(self) -> None:
        super().__init__(
            "invalid_token", "an access token is required (Authorization: Bearer)", 401
        )


def oauth_error_response(exc: OAuthError, *, realm: str | None = None) -> JSONResponse:
    headers = dict(NO_STORE)
    if exc.status in (401, 403) and realm is not None:
        challenge = f'Bearer realm="{realm}"'
        if not isinstance(exc, MissingToken):  # RFC 6750 3: no error code when none was sent
            challenge += f', error="{exc.error}", error_description="{exc.description}"'
        headers["WWW-Authenticate"] = challenge
    body = {"error": exc.error, "error_description": exc.description}
    return JSONResponse(body, status_code=exc.status, headers=headers)
