"""Annotated dependency aliases shared by the routers.

Dependencies that do no I/O are ``async def`` all the same: FastAPI runs a plain ``def``
dependency in its thread pool, a thread handoff on every request for a dictionary lookup.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.crypto.dataintegrity import DataIntegrity
from app.db.session import get_session


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_data_integrity(request: Request) -> DataIntegrity:
    di: DataIntegrity = request.app.state.data_integrity
    return di


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
DataIntegrityDep = Annotated[DataIntegrity, Depends(get_data_integrity)]
