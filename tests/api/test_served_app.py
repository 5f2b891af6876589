"""The app as ``microcred serve`` runs it: the collector tuned once start-up completes."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from app.config import Settings
from app.main import create_app
from app.serve import GC_THRESHOLD, _TunedAfterStartup

pytestmark = pytest.mark.anyio


async def test_start_up_objects_are_frozen_once_the_app_has_started(settings: Settings) -> None:
    wrapped = _TunedAfterStartup(create_app(settings))
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    sent: list[str] = []
    seen_at_startup: list[tuple[int, int]] = []

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])
        if message["type"] == "lifespan.startup.complete":
            seen_at_startup.append((gc.get_freeze_count(), gc.get_threshold()[0]))
            await inbox.put({"type": "lifespan.shutdown"})

    threshold = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    try:
        await wrapped({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
        assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
        [(frozen, first_threshold)] = seen_at_startup
        assert frozen > 100_000  # the shapes, contexts and vocabularies built at start-up
        assert first_threshold == GC_THRESHOLD
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
