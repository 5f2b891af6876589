"""RFC 9457 problem details: one base class, small subclasses beside their raisers, one renderer."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.crypto.errors import ProofError
from app.jsonld import JsonLdProcessingError

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


def install_problem_handlers(app: FastAPI) -> None:
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

    @app.exception_handler(Exception)
    async def handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            type_=PROBLEMS + "INTERNAL_ERROR",
            title="Internal Server Error",
            status=500,
            detail="an unexpected error occurred; it has been logged",
            instance=request.url.path,
        )
