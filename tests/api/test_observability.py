"""Request ids, JSON access logs without secrets, metrics, security headers, CORS closed."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from tests.factories import issuer_with_key, vc2_credential

pytestmark = pytest.mark.anyio


async def test_every_response_has_a_request_id_and_security_headers(
    client: httpx.AsyncClient,
) -> None:
    for response in (await client.get("/health"), await client.get("/nowhere")):
        assert len(response.headers["x-request-id"]) == 32
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert response.headers["strict-transport-security"].startswith("max-age=")
    echoed = await client.get("/health", headers={"X-Request-ID": "trace-123"})
    assert echoed.headers["x-request-id"] == "trace-123"
    hostile = await client.get("/health", headers={"X-Request-ID": "a b<script>"})
    assert hostile.headers["x-request-id"] != "a b<script>"
    assert len(hostile.headers["x-request-id"]) == 32


async def test_cors_is_closed_by_default(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/credentials/verify",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in response.headers
    plain = await client.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in plain.headers


async def test_access_log_is_json_with_request_id_and_no_secrets(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from app.observability import JsonFormatter

    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    with caplog.at_level(logging.INFO, logger="microcred.access"):
        response = await client.post(
            "/credentials/issue", json={"credential": vc2_credential(issuer["did"])}, headers=auth
        )
    [record] = [
        r
        for r in caplog.records
        if r.name == "microcred.access" and "/credentials/issue" in r.getMessage()
    ]
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["route"] == "/credentials/issue" and line["status"] == 201
    assert line["api_key"] and line["duration_ms"] > 0
    text = JsonFormatter().format(record)
    secret = auth["Authorization"].removeprefix("Bearer ")
    assert secret not in text and admin_headers["Authorization"][7:] not in text


async def test_metrics_count_requests_and_issued_credentials(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    def value(text: str, prefix: str) -> float:
        return sum(
            float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix)
        )

    before = (await client.get("/metrics")).text
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    await client.post(
        "/credentials/issue", json={"credential": vc2_credential(issuer["did"])}, headers=auth
    )
    after = await client.get("/metrics")
    assert after.status_code == 200
    issued = 'microcred_credentials_issued_total{format="vc"}'
    assert value(after.text, issued) == value(before, issued) + 1
    route = 'microcred_http_requests_total{method="POST",route="/credentials/issue",status="201"}'
    assert value(after.text, route) == value(before, route) + 1
