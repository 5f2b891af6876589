"""Annotated dependencies: how a route reaches the running service (:class:`app.state.AppState`).

Dependencies that do no I/O are ``async def`` all the same: FastAPI runs a plain ``def``
dependency in its thread pool, a thread handoff on every request for an attribute lookup.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.db.session import get_session
from app.services.issuance import Issuing
from app.services.verification import Verifier
from app.state import AppState, state_of


async def get_services(request: Request) -> AppState:
    return state_of(request.app)


ServicesDep = Annotated[AppState, Depends(get_services)]


async def get_app_settings(services: ServicesDep) -> Settings:
    return services.settings


async def get_issuing(services: ServicesDep) -> Issuing:
    return services.issuing


async def get_verifier(services: ServicesDep) -> Verifier:
    return services.verifier


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
IssuingDep = Annotated[Issuing, Depends(get_issuing)]
VerifierDep = Annotated[Verifier, Depends(get_verifier)]


def services_of(request: Request) -> AppState:
    """The running service's state, for a helper that holds the request rather than taking a
    dependency of its own."""
    return state_of(request.app)
