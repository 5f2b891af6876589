"""Plain functions that make test data through the public API."""

from __future__ import annotations

from typing import Any

import httpx

from app.services.apikeys import SCOPES


def issuer_body(default_slug: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "slug": default_slug,
        "name": {"en": "University of Zed", "ga": "Ollscoil Zed"},
        "country": "IRL",
        "legalIdentifier": "IE1234567X",
        "homepage": "https://www.uni-zed.example",
        "didMethod": "web",
    }
    body.update(overrides)
    return body


async def make_issuer(
    client: httpx.AsyncClient, admin: dict[str, str], slug: str, **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        "/admin/issuers", json=issuer_body(slug, **overrides), headers=admin
    )
    assert response.status_code == 201, response.text
    issuer: dict[str, Any] = response.json()
    return issuer


async def make_api_key(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    slug: str,
    scopes: tuple[str, ...] = SCOPES,
) -> dict[str, Any]:
    response = await client.post(
        f"/admin/issuers/{slug}/api-keys",
        json={"name": "records system", "scopes": list(scopes)},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    key: dict[str, Any] = response.json()
    return key


def bearer(key: dict[str, Any] | str) -> dict[str, str]:
    secret = key if isinstance(key, str) else key["key"]
    return {"Authorization": f"Bearer {secret}"}
