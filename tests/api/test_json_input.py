"""JSON no route can take: non-finite numbers, lone surrogates, nesting without end.

Each is a 4xx (an RFC 9457 problem, or an OAuth error body at the wallet endpoints), never a 500.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.api.test_oid4vci import offered
from tests.conftest import problem_of
from tests.factories import issuer_body, issuer_with_key, microcredential_body, vc2_credential

pytestmark = pytest.mark.anyio

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
async def test_issue_refuses_numbers_that_are_not_finite_doubles(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str, number: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    credential = vc2_credential(issuer["did"])
    text = json.dumps({"credential": credential}).replace(
        '"University of Zed"', f'{{"credits": {number}}}'
    )
    assert number in text
    response = await client.post("/credentials/issue", content=text, headers={**auth, **JSON})
    assert response.status_code == 400, response.text
    assert "finite" in problem_of(response)["detail"]


def _with_lone_surrogate(body: dict[str, Any], needle: str) -> str:
    text = json.dumps(body)
    assert needle in text
    return text.replace(needle, needle + "\\ud800", 1)


async def test_a_lone_surrogate_is_a_4xx_problem_on_every_json_route(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    credential = vc2_credential(issuer["did"])
    bodies: dict[str, tuple[dict[str, Any], str]] = {
        "/credentials/issue": ({"credential": credential}, "University of Zed"),
        "/credentials/verify": ({"verifiableCredential": credential}, "University of Zed"),
        "/presentations/verify": (
            {
                "verifiablePresentation": {
                    "@context": ["https://www.w3.org/ns/credentials/v2"],
                    "type": ["VerifiablePresentation"],
                    "holder": "did:example:holder",
                }
            },
            "did:example:holder",
        ),
        "/microcredentials": (microcredential_body(), "Ireland"),
        "/microcredentials/offers": (microcredential_body(), "Ireland"),
    }
    bodies["/microcredentials/batch"] = ({"items": [microcredential_body()]}, "Ireland")
    bodies["/credentials/status"] = (
        {"credentialId": "urn:uuid:x", "credentialStatus": [], "status": True},
        "urn:uuid:x",
    )
    for path, (body, needle) in bodies.items():
        if needle not in json.dumps(body):
            needle = body_string(body)
        text = _with_lone_surrogate(body, needle)
        response = await client.post(path, content=text, headers={**auth, **JSON})
        assert response.status_code == 400, (path, response.status_code, response.text)
        assert problem_of(response)["type"].endswith("#PARSING_ERROR")
    admin = await client.post(
        "/admin/issuers",
        content=_with_lone_surrogate(issuer_body(random_slug + "-2"), "Zed"),
        headers={**admin_headers, **JSON},
    )
    assert admin.status_code == 400, admin.text


def body_string(body: Any) -> str:
    """Some string value in ``body`` (to put a lone surrogate after)."""
    if isinstance(body, str):
        return body
    values = body.values() if isinstance(body, dict) else body if isinstance(body, list) else []
    for value in values:
        found = body_string(value)
        if found:
            return found
    return ""


async def test_a_lone_surrogate_at_the_credential_endpoint_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, _, reply = await offered(client, admin_headers, random_slug)
    code = reply["credential_offer"]["grants"][
        "urn:ietf:params:oauth:grant-type:pre-authorized_code"
    ]["pre-authorized_code"]
    token = await client.post(
        f"/issuers/{random_slug}/oid4vci/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
            "pre-authorized_code": code,
        },
    )
    assert token.status_code == 200, token.text
    access = {"Authorization": f"Bearer {token.json()['access_token']}"}
    text = '{"proofs": {"jwt": ["a\\ud800"]}}'
    endpoint = f"/issuers/{random_slug}/oid4vci/credential"
    refused = await client.post(endpoint, content=text, headers={**access, **JSON})
    assert refused.status_code == 400, refused.text  # before any route: a problem
    assert problem_of(refused)["type"].endswith("#PARSING_ERROR")
    other_type = {**access, "Content-Type": "text/plain"}
    response = await client.post(endpoint, content=text, headers=other_type)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_credential_request"
    assert "surrogate" in response.json()["error_description"]


async def test_deeply_nested_authorization_details_are_a_4xx(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, _, reply = await offered(client, admin_headers, random_slug)
    code = reply["credential_offer"]["grants"][
        "urn:ietf:params:oauth:grant-type:pre-authorized_code"
    ]["pre-authorized_code"]
    response = await client.post(
        f"/issuers/{random_slug}/oid4vci/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
            "pre-authorized_code": code,
            "authorization_details": "[" * 5000 + "]" * 5000,
        },
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
async def test_issue_refuses_an_undefined_term_with_either_suite(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str, suite: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    credential = vc2_credential(issuer["did"])
    credential["@context"] = ["https://www.w3.org/ns/credentials/v2"]  # no @vocab
    credential["credentialSubject"] = {"id": "did:example:learner", "grade": "A+"}
    response = await client.post(
        "/credentials/issue",
        json={"credential": credential, "options": {"cryptosuite": suite}},
        headers=auth,
    )
    assert response.status_code == 422, response.text
    assert "grade" in problem_of(response)["detail"]
