"""A 500 reply carries what every reply carries; an offer id (it gives the pre-authorized code
away) never reaches a log line."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import col

from app.db.models import CredentialOffer
from app.observability import SECURITY_HEADERS, JsonFormatter
from tests.api.test_oid4vci import offered
from tests.conftest import problem_of

pytestmark = pytest.mark.anyio


async def test_a_500_carries_the_request_id_and_security_headers_and_no_offer_id_is_logged(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, _, reply = await offered(client, admin_headers, random_slug)
    offer_id = reply["id"]
    # A stored offer of a format this version does not know: reading it fails (a real 500).
    async with app.state.services.sessionmaker() as session:
        await session.exec(
            update(CredentialOffer).where(col(CredentialOffer.id) == offer_id).values(format="zzz")
        )
        await session.commit()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        response = await client.get(
            f"/issuers/{random_slug}/oid4vci/offers/{offer_id}",
            headers={"X-Request-ID": "trace-500"},
        )
    assert response.status_code == 500
    assert problem_of(response)["type"].endswith("INTERNAL_ERROR")
    assert response.headers["x-request-id"] == "trace-500"
    for name, value in SECURITY_HEADERS:
        assert response.headers[name.decode()] == value.decode()
    assert response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"

    # The service's log lines (the test's HTTP client logs its own requests too).
    lines = [JsonFormatter().format(r) for r in caplog.records if not r.name.startswith("httpx")]
    assert any("unhandled error" in line and "trace-500" in line for line in lines), lines
    assert any('"status": 500' in line for line in lines), lines
    assert not [line for line in lines if offer_id in line]
