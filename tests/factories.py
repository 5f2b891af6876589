"""Plain functions that make test data through the public API."""

from __future__ import annotations

import copy
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


# A complete EU micro-credential request (API.md), with EU vocabulary URIs.
MICROCREDENTIAL: dict[str, Any] = {
    "format": "edc",
    "learner": {
        "givenName": "Aoife",
        "familyName": "Murphy",
        "dateOfBirth": "1999-04-02",
        "identifier": {"scheme": "student-number", "value": "S1234567"},
        "email": "aoife@example.org",
    },
    "title": {"en": "Digital micro-credential creation"},
    "description": {"en": "Designing and issuing verifiable digital credentials."},
    "awardedOn": "2026-06-30",
    "learningOutcomes": [
        {
            "title": {"en": "Design a digital credential"},
            "escoSkill": "http://data.europa.eu/esco/skill/5fd5c985-8ba7-4d56-a4a1-bf0f2b0e6fa7",
        }
    ],
    "workload": {"ects": 2, "hours": 60},
    "eqfLevel": 6,
    "assessment": {
        "type": "http://data.europa.eu/snb/assessment/de4d165a6c",
        "title": {"en": "Portfolio"},
    },
    "participation": {
        "mode": "http://data.europa.eu/snb/learning-assessment/e92d221e4d",
        "setting": "http://data.europa.eu/snb/learning-setting/e207a81fc7",
    },
    "qualityAssurance": {
        "type": "http://data.europa.eu/snb/accreditation/820101cba6",
        "title": {"en": "Programme review"},
        "agency": {"name": {"en": "QQI"}, "country": "IRL"},
    },
    "prerequisites": {"en": "None"},
    "supervision": "http://data.europa.eu/snb/supervision-verification/c598449d64",
    "grade": "Pass",
    "stackability": {
        "standalone": True,
        "partOf": [
            {
                "title": {"en": "Certificate in Digital Credentials"},
                "url": "https://www.uni-zed.example/cert",
            }
        ],
    },
    "furtherInformation": {"en": "See the programme page."},
}


def microcredential_body(format: str = "edc", **overrides: Any) -> dict[str, Any]:
    body = copy.deepcopy(MICROCREDENTIAL)
    body["format"] = format
    body.update(overrides)
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
