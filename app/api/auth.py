"""Bearer authentication: the admin token for ``/admin/*``, issuer API keys elsewhere."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from app.api.deps import SessionDep, SettingsDep, services_of
from app.problems import Forbidden, Unauthorized
from app.ratelimit import authenticates_api_key, charge_api_key, charge_unauthenticated
from app.services.apikeys import Caller, authenticate

bearer = HTTPBearer(auto_error=False, description="Admin token or issuer API key")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def require_admin(credentials: BearerDep, settings: SettingsDep) -> None:
    expected = settings.admin_token.get_secret_value() if settings.admin_token else None
    presented = credentials.credentials if credentials else None
    if expected is None or presented is None:
        raise Unauthorized("an admin bearer token is required")
    if not hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8")):
        raise Unauthorized("the admin token is not valid")


async def _caller(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    session: AsyncSession,
    scopes: tuple[str, ...],
) -> Caller:
    if credentials is None:
        raise Unauthorized("an issuer API key is required (Authorization: Bearer <key>)")
    caller = await authenticate(session, credentials.credentials)
    if caller is None:
        await charge_unauthenticated(request.state)
        raise Unauthorized("the API key is not valid")
    await charge_api_key(request.state, caller.api_key_id)
    if not set(scopes) & set(caller.scopes):
        wanted = " or ".join(repr(name) for name in scopes)
        raise Forbidden(f"this API key lacks the {wanted} scope")
    request.state.caller = caller
    return caller


def require_scope(scope: str, *others: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency resolving the calling issuer from its API key, which must carry ``scope``
    (or one of ``others``)."""

    @authenticates_api_key
    async def dependency(request: Request, credentials: BearerDep, session: SessionDep) -> Caller:
        return await _caller(request, credentials, session, (scope, *others))

    return dependency


@authenticates_api_key
async def optional_issue_caller(request: Request, credentials: BearerDep) -> Caller | None:
    """The calling issuer when an API key (scope ``credentials:issue``) is presented, else None:
    for a route a body elsewhere may call without a key (a joint credential's proof made
    elsewhere). The key is looked up in a short read-only session of its own, so the route may
    have the verifier (whose lookups use sessions of their own) run before its own session
    begins: on SQLite one connection serves the process."""
    if credentials is None:
        await charge_unauthenticated(request.state)
        return None
    async with services_of(request).sessionmaker() as session:
        return await _caller(request, credentials, session, ("credentials:issue",))


AdminDep = Depends(require_admin)
IssueCaller = Annotated[Caller, Depends(require_scope("credentials:issue"))]
StatusCaller = Annotated[Caller, Depends(require_scope("credentials:status"))]
ReadCaller = Annotated[Caller, Depends(require_scope("credentials:read"))]
#: Jobs are read with any key of the issuer that can start one.
JobsCaller = Annotated[
    Caller,
    Depends(
        require_scope(
            "credentials:read",
            "credentials:status",
            "credentials:issue",
            "courses:write",
            "courses:read",
        )
    ),
]
CoursesWriteCaller = Annotated[Caller, Depends(require_scope("courses:write"))]
CoursesReadCaller = Annotated[Caller, Depends(require_scope("courses:read"))]
MaybeIssueCaller = Annotated[Caller | None, Depends(optional_issue_caller)]
