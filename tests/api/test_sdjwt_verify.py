"""Verifying SD-JWT VC presentations at POST /credentials/verify: what is disclosed, key binding,
status, and each kind of tampering refused with a named problem."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from app.crypto import jws
from app.crypto.keys import KeyPair
from app.db.models import utcnow
from app.sdjwt import core
from app.services.verification.results import CredentialVerificationResult
from tests.api.test_sdjwt_issuing import HOLDER, issue_sd_jwt
from tests.factories import issuer_with_key

pytestmark = pytest.mark.anyio

AUDIENCE = "https://employer.example"
PROBLEM = "urn:microcred:problem:"


async def challenge(client: httpx.AsyncClient) -> str:
    response = await client.post("/challenges")
    assert response.status_code == 201
    value: str = response.json()["challenge"]
    return value


async def verify(
    client: httpx.AsyncClient, presentation: str, nonce: str | None, audience: str = AUDIENCE
) -> tuple[int, dict[str, Any]]:
    options = {"domain": audience} | ({"challenge": nonce} if nonce else {})
    response = await client.post(
        "/credentials/verify", json={"verifiableCredential": presentation, "options": options}
    )
    assert response.status_code in (200, 422), response.text
    body: dict[str, Any] = response.json()
    TypeAdapter(CredentialVerificationResult).validate_python(body)
    return response.status_code, body


def present(sd_jwt: str, disclose: set[str], nonce: str, **changes: Any) -> str:
    options: dict[str, Any] = {
        "holder_key": HOLDER,
        "audience": AUDIENCE,
        "nonce": nonce,
        "issued_at": utcnow(),
    }
    options.update(changes)
    return core.present(sd_jwt, disclose, **options)


def problem_types(body: dict[str, Any]) -> set[str]:
    return {p["type"].removeprefix(PROBLEM) for p in body["problemDetails"]}


async def test_the_reply_shows_only_the_disclosed_claims(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    _, sd_jwt = await issue_sd_jwt(client, auth)
    nonce = await challenge(client)
    status, body = await verify(
        client, present(sd_jwt, {"given_name", "family_name"}, nonce), nonce
    )
    assert status == 200, body["problemDetails"]
    credential = body["credential"]
    assert credential["given_name"] == "Aoife" and credential["family_name"] == "Byrne"
    assert "birthdate" not in credential and "grade" not in credential
    assert credential["iss"] == issuer["did"]
    assert {"title", "workload", "issuer_name"} <= credential.keys()
    results = body["results"]
    assert results["sdJwt"]["disclosed"] == ["family_name", "given_name"]
    assert results["sdJwt"]["keyBinding"] == {"verified": True, "bound": True}
    assert results["proof"]["proofs"][0]["resolvedFrom"] == "database"
    assert results["credentialStatus"]["verified"] is True
    # the nonce was ours and single-use: the same presentation again is refused
    status, body = await verify(client, present(sd_jwt, set(), nonce), nonce)
    assert status == 422 and body["results"]["sdJwt"]["keyBinding"]["verified"] is False
    assert [t.rsplit("#", 1)[-1] for t in problem_types(body)] == ["INVALID_CHALLENGE_ERROR"]
    # nothing selectively disclosed
    nonce = await challenge(client)
    status, body = await verify(client, present(sd_jwt, set(), nonce), nonce)
    assert status == 200 and body["results"]["sdJwt"]["disclosed"] == []
    assert "given_name" not in body["credential"]


async def test_tampering_is_refused_with_a_named_problem(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    _, sd_jwt = await issue_sd_jwt(client, auth)
    nonce = await challenge(client)
    honest = present(sd_jwt, {"grade"}, nonce)
    issuer_jwt, disclosure, kb = honest.split("~")
    # a changed disclosure (grade A -> A+), with a fresh KB-JWT over the changed presentation
    salt, name, _ = json.loads(jws.b64url_decode(disclosure))
    forged = jws.b64url_encode(jws.json_bytes([salt, name, "A+"]))
    status, body = await verify(client, present(f"{issuer_jwt}~{forged}~", {"grade"}, nonce), nonce)
    assert status == 422 and problem_types(body) == {"SD_JWT_DISCLOSURE_INVALID"}
    assert body["credential"] is None
    # a disclosure added after the holder signed
    extra = next(d for d in core.parse(sd_jwt).disclosures if d != disclosure)
    status, body = await verify(client, f"{issuer_jwt}~{disclosure}~{extra}~{kb}", nonce)
    assert problem_types(body) == {"SD_JWT_KEY_BINDING_INVALID"}
    # the KB-JWT signed by another key
    _, kb_payload, _ = kb.split(".")
    other = jws.sign({"typ": "kb+jwt"}, jws.b64url_decode(kb_payload), KeyPair.generate())
    status, body = await verify(client, f"{issuer_jwt}~{disclosure}~{other}", nonce)
    assert problem_types(body) == {"SD_JWT_KEY_BINDING_INVALID"}
    # an issuer-signed payload changed
    header, payload, signature = issuer_jwt.split(".")
    claims = json.loads(jws.b64url_decode(payload))
    claims["eqf_level"] = 8
    changed = ".".join([header, jws.b64url_encode(jws.json_bytes(claims)), signature])
    status, body = await verify(client, present(f"{changed}~", set(), nonce), nonce)
    assert problem_types(body) == {"SD_JWT_SIGNATURE_INVALID"}
    # no KB-JWT at all, another audience, an old KB-JWT
    status, body = await verify(client, core.present(sd_jwt, {"grade"}), nonce)
    assert problem_types(body) == {"SD_JWT_KEY_BINDING_INVALID"}
    status, body = await verify(client, honest, nonce, audience="https://other.example")
    assert problem_types(body) == {"SD_JWT_KEY_BINDING_INVALID"}
    old = present(sd_jwt, set(), nonce, issued_at=utcnow() - timedelta(hours=1))
    status, body = await verify(client, old, nonce)
    assert problem_types(body) == {"SD_JWT_KEY_BINDING_INVALID"}
    # none of the refused ones used up the nonce: the honest presentation still verifies
    status, body = await verify(client, honest, nonce)
    assert status == 200, body["problemDetails"]
    # not an SD-JWT at all: 400
    response = await client.post("/credentials/verify", json={"verifiableCredential": "nope"})
    assert response.status_code == 400


async def test_a_revoked_or_suspended_credential_fails(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug, suspensionEnabled=True)
    credential_id, sd_jwt = await issue_sd_jwt(client, auth)
    for change, problem in (
        ("suspended", "CREDENTIAL_SUSPENDED"),
        ("revoked", "CREDENTIAL_REVOKED"),
    ):
        body = {"credentialId": credential_id, "credentialStatus": [{"status": change}]}
        assert (
            await client.post("/credentials/status", json=body, headers=auth)
        ).status_code == 200
        nonce = await challenge(client)
        status, reply = await verify(client, present(sd_jwt, set(), nonce), nonce)
        assert status == 422 and problem in problem_types(reply)


async def test_odd_claims_are_results_not_server_errors(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    """An issuer key we hold signing odd values: each is a 200/422 result, never a 500."""
    issuer, _ = await issuer_with_key(client, admin_headers, random_slug, didMethod="key")
    key = KeyPair.generate()  # not the issuer's key: the signature fails, but after parsing
    for claims in (
        {"iss": issuer["did"], "exp": 1e300, "vct": "x"},
        {"iss": issuer["did"], "_sd": "not a list"},
        {"iss": "did:example:nobody"},
    ):
        token = jws.sign({"typ": "dc+sd-jwt", "kid": f"{claims['iss']}#k"}, claims, key)
        status, body = await verify(client, f"{token}~", None)
        assert status == 422 and problem_types(body) == {"SD_JWT_SIGNATURE_INVALID"}
    for bad in ("~", "a.b.c~", "x" * 10 + "~" + "y"):
        response = await client.post("/credentials/verify", json={"verifiableCredential": bad})
        assert response.status_code == 400, bad


async def test_the_verdict_says_who_vouches_for_the_sd_jwt_issuer(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    _, sd_jwt = await issue_sd_jwt(client, auth)

    async def verify_with(trust: str) -> tuple[int, dict[str, Any]]:
        nonce = await challenge(client)
        options = {"domain": AUDIENCE, "challenge": nonce, "trust": trust}
        body = {"verifiableCredential": present(sd_jwt, set(), nonce), "options": options}
        response = await client.post("/credentials/verify", json=body)
        assert response.status_code in (200, 422), response.text
        reply: dict[str, Any] = response.json()
        return response.status_code, reply

    status, body = await verify_with("optional")
    assert status == 200 and body["results"]["issuerTrust"]["trusted"] is False
    assert [p["type"] for p in body["warnings"]] == [PROBLEM + "ISSUER_NOT_TRUSTED"]
    status, body = await verify_with("required")
    assert status == 422 and [p["type"] for p in body["errors"]] == [PROBLEM + "ISSUER_NOT_TRUSTED"]

    entry = {"legalName": "Other Body", "country": "IRL", "legalIdentifier": "IE1"}
    did = issuer["did"]
    assert (await client.put(f"/admin/trust/{did}", json=entry, headers=admin_headers)).is_success
    status, body = await verify_with("required")
    trust = body["results"]["issuerTrust"]
    assert status == 200 and trust["trusted"] is True and trust["legalName"] == "Other Body"
    # the signed issuer_name is not the registered name
    assert [p["type"] for p in body["warnings"]] == [PROBLEM + "ISSUER_NAME_MISMATCH"]
    entry["legalName"] = issuer["name"]["en"]
    assert (await client.put(f"/admin/trust/{did}", json=entry, headers=admin_headers)).is_success
    status, body = await verify_with("required")
    assert status == 200 and body["warnings"] == [], body["warnings"]
