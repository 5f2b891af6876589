"""Plain functions that make test data through the public API."""

from __future__ import annotations

from typing import Any

import httpx

from app.credentials.examples import example_request
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


def microcredential_body(format: str = "edc", **overrides: Any) -> dict[str, Any]:
    """The documented example request (``app.credentials.examples``) without a holder DID."""
    body = example_request(format=format, **overrides)
    if "learner" not in overrides:
        del body["learner"]["id"]
    return body


def vc2_credential(issuer_did: str, **overrides: Any) -> dict[str, Any]:
    credential: dict[str, Any] = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/examples/v2",
        ],
        "type": ["VerifiableCredential", "ExampleAlumniCredential"],
        "issuer": issuer_did,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:learner", "alumniOf": "University of Zed"},
    }
    credential.update(overrides)
    return credential


async def issuer_with_key(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    slug: str,
    scopes: tuple[str, ...] = SCOPES,
    **overrides: Any,
) -> tuple[dict[str, Any], dict[str, str]]:
    """An issuer and the Authorization header of one of its API keys."""
    issuer = await make_issuer(client, admin, slug, **overrides)
    key = await make_api_key(client, admin, slug, scopes)
    return issuer, bearer(key)
