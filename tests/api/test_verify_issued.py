"""Credentials issued by this service verify; revoked, suspended, expired, not-yet-valid,
re-signed and revoked-key credentials do not. Our issuers resolve from the database."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from app.crypto.keys import KeyPair
from app.db.models import Issuer
from app.services import issuers
from tests.api.test_verify import (
    INVALID_VERIFICATION_METHOD,
    ISSUER_NOT_TRUSTED,
    PROOF_VERIFICATION_ERROR,
    VC_DM,
    did_key_method,
    errors_of,
    sign,
    types_of,
    verify,
)
from tests.factories import issuer_with_key, microcredential_body, vc2_credential

pytestmark = pytest.mark.anyio

REVOKED = "urn:microcred:problem:CREDENTIAL_REVOKED"
SUSPENDED = "urn:microcred:problem:CREDENTIAL_SUSPENDED"
EXPIRED = "urn:microcred:problem:CREDENTIAL_EXPIRED"
NOT_YET_VALID = "urn:microcred:problem:CREDENTIAL_NOT_YET_VALID"
STATUS_LIST = "https://www.w3.org/ns/credentials/status-list#"
EU_INCOMPLETE = "urn:microcred:problem:EU_MICROCREDENTIAL_INCOMPLETE"


async def issue(
    client: httpx.AsyncClient, auth: dict[str, str], credential: dict[str, Any], **options: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"credential": credential}
    if options:
        body["options"] = options
    response = await client.post("/credentials/issue", json=body, headers=auth)
    assert response.status_code == 201, response.text
    vc: dict[str, Any] = response.json()["verifiableCredential"]
    return vc


async def issue_microcredential(
    client: httpx.AsyncClient, auth: dict[str, str], format: str
) -> dict[str, Any]:
    response = await client.post(
        "/microcredentials", json=microcredential_body(format), headers=auth
    )
    assert response.status_code == 201, response.text
    vc: dict[str, Any] = response.json()["verifiableCredential"]
    return vc


async def change_status(
    client: httpx.AsyncClient, auth: dict[str, str], vc: dict[str, Any], purpose: str, value: bool
) -> None:
    response = await client.post(
        "/credentials/status",
        json={
            "credentialId": vc["id"],
            "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": purpose},
            "status": value,
        },
        headers=auth,
    )
    assert response.status_code == 200, response.text


async def issuer_key(app: FastAPI, did: str) -> tuple[KeyPair, str]:
    """The issuer's active key pair, as the service itself would sign with it."""
    async with app.state.services.sessionmaker() as session:
        issuer = (await session.exec(select(Issuer).where(Issuer.did == did))).one()
        key = await issuers.active_key(session, issuer)
    return app.state.services.key_cache.key_pair(key.key_id, key.encrypted_seed), key.key_id


@pytest.mark.parametrize("cryptosuite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
async def test_a_credential_we_issued_verifies_from_the_database(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str, cryptosuite: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc = await issue(client, auth, vc2_credential(issuer["did"]), cryptosuite=cryptosuite)
    # The public_url host (credentials.example.edu) does not resolve: no network is involved.
    status, reply = await verify(client, vc)
    assert status == 200, reply["errors"]
    # Hosted here is not vouched for: only the admin's trust list would be (test_trust.py).
    assert types_of(reply["warnings"]) == [ISSUER_NOT_TRUSTED]
    results = reply["results"]
    assert results["proof"]["proofs"][0]["controller"] == issuer["did"]
    assert results["proof"]["proofs"][0]["resolvedFrom"] == "database"
    assert results["proof"]["issuer"] == {
        "id": issuer["did"],
        "controllers": [issuer["did"]],
        "matches": True,
    }
    status_result = results["credentialStatus"]
    assert status_result["verified"] is True
    assert status_result["revoked"] is False
    [entry] = status_result["entries"]
    assert entry["source"] == "database" and entry["set"] is False
    assert entry["statusListCredential"] == vc["credentialStatus"]["statusListCredential"]
    assert reply["checks"] == ["proof", "validFrom", "credentialStatus"]


async def test_a_vc_1_1_credential_we_issued_verifies(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    credential = {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential"],
        "issuer": {"id": issuer["did"]},
        "issuanceDate": "2026-01-01T00:00:00Z",
        "expirationDate": "2099-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:learner"},
    }
    status, reply = await verify(client, await issue(client, auth, credential))
    assert status == 200, reply["errors"]
    assert reply["results"]["validFrom"] == {"verified": True, "value": "2026-01-01T00:00:00Z"}
    assert reply["results"]["validUntil"] == {"verified": True, "value": "2099-01-01T00:00:00Z"}


async def test_an_edc_micro_credential_verifies_with_shapes_and_eu_elements(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc = await issue_microcredential(client, auth, "edc")
    status, reply = await verify(client, vc)
    assert status == 200, reply["errors"]
    schema = reply["results"]["credentialSchema"]
    assert schema["verified"] is True and schema["violations"] == []
    assert schema["schemas"] == [
        {
            "id": "http://data.europa.eu/snb/model/ap/edc-generic-full",
            "type": "ShaclValidator2017",
            "checked": True,
        }
    ]
    assert reply["results"]["euMicroCredential"] == {
        "complete": True,
        "profile": "edc",
        "missing": [],
    }
    assert "credentialSchema" in reply["checks"]


async def test_an_open_badge_micro_credential_verifies(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    status, reply = await verify(client, await issue_microcredential(client, auth, "obv3"))
    assert status == 200, reply["errors"]
    assert reply["results"]["credentialSchema"]["verified"] is None
    assert reply["results"]["euMicroCredential"]["profile"] == "obv3"
    assert reply["results"]["euMicroCredential"]["complete"] is True


async def test_an_edc_that_breaks_the_shapes_fails_even_when_properly_signed(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc = await issue_microcredential(client, auth, "edc")
    del vc["displayParameter"]
    pair, method_id = await issuer_key(app, issuer["did"])
    status, reply = await verify(client, sign(app, vc, pair, method_id))
    assert status == 422
    assert reply["results"]["proof"]["verified"] is True
    assert errors_of(reply) == [VC_DM + "MALFORMED_VALUE_ERROR"]
    problem = reply["errors"][0]
    assert problem["pointer"] == "/verifiableCredential/credentialSchema"
    assert any("displayParameter" in e["detail"] for e in problem["errors"])
    schema = reply["results"]["credentialSchema"]
    assert schema["verified"] is False
    assert any(v["path"].endswith("displayParameter") for v in schema["violations"])


async def test_an_incomplete_micro_credential_is_reported_but_not_refused(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc = await issue_microcredential(client, auth, "obv3")
    vc["credentialSubject"]["achievement"].pop("alignment", None)
    pair, method_id = await issuer_key(app, issuer["did"])
    status, reply = await verify(client, sign(app, vc, pair, method_id))
    assert status == 200, reply["errors"]
    eu = reply["results"]["euMicroCredential"]
    assert eu["complete"] is False and eu["missing"]
    assert types_of(reply["warnings"]) == [EU_INCOMPLETE, ISSUER_NOT_TRUSTED]
    assert all(name in reply["warnings"][0]["detail"] for name in eu["missing"])


async def test_a_revoked_credential_is_not_verified(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc = await issue(client, auth, vc2_credential(issuer["did"]))
    assert (await verify(client, vc))[0] == 200
    await change_status(client, auth, vc, "revocation", True)
    status, reply = await verify(client, vc)
    assert status == 422
    assert errors_of(reply) == [REVOKED]
    assert reply["errors"][0]["pointer"] == "/verifiableCredential/credentialStatus"
    result = reply["results"]["credentialStatus"]
    assert result["revoked"] is True and result["verified"] is False
    assert result["entries"][0]["set"] is True
    assert reply["results"]["proof"]["verified"] is True


async def test_a_suspended_credential_is_not_verified_until_unsuspended(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug, suspensionEnabled=True)
    vc = await issue(client, auth, vc2_credential(issuer["did"]))
    assert len(vc["credentialStatus"]) == 2
    await change_status(client, auth, vc, "suspension", True)
    status, reply = await verify(client, vc)
    assert status == 422
    assert errors_of(reply) == [SUSPENDED]
    assert reply["errors"][0]["pointer"] == "/verifiableCredential/credentialStatus/1"
    result = reply["results"]["credentialStatus"]
    assert (result["revoked"], result["suspended"]) == (False, True)
    await change_status(client, auth, vc, "suspension", False)
    status, reply = await verify(client, vc)
    assert status == 200, reply["errors"]
    assert [e["set"] for e in reply["results"]["credentialStatus"]["entries"]] == [False, False]


@pytest.mark.parametrize(
    ("dates", "problem_type", "pointer"),
    [
        (
            {"validFrom": "2020-01-01T00:00:00Z", "validUntil": "2021-01-01T00:00:00Z"},
            EXPIRED,
            "/validUntil",
        ),
        ({"validFrom": "2099-01-01T00:00:00Z"}, NOT_YET_VALID, "/validFrom"),
    ],
)
async def test_outside_its_validity_period_a_credential_is_not_verified(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    dates: dict[str, str],
    problem_type: str,
    pointer: str,
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc = await issue(client, auth, vc2_credential(issuer["did"], **dates))
    status, reply = await verify(client, vc)
    assert status == 422
    assert errors_of(reply) == [problem_type]
    assert reply["errors"][0]["pointer"] == "/verifiableCredential" + pointer
    assert reply["results"]["proof"]["verified"] is True
    key = pointer.removeprefix("/")
    assert reply["results"][key] == {"verified": False, "value": dates[key]}


async def test_re_signed_by_another_key_is_not_verified(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc = await issue(client, auth, vc2_credential(issuer["did"]))
    vc["credentialSubject"]["alumniOf"] = "A Diploma Mill"
    # Someone else's valid signature: the proof holds, but the issuer did not make it.
    other = KeyPair.generate()
    _, other_method = did_key_method(other)
    status, reply = await verify(client, sign(app, vc, other, other_method))
    assert status == 422
    assert errors_of(reply) == [INVALID_VERIFICATION_METHOD]
    assert reply["errors"][0]["pointer"] == "/verifiableCredential/issuer"
    assert reply["results"]["proof"]["verified"] is True
    # Another key claiming to be the issuer's method: the signature does not match.
    status, reply = await verify(client, sign(app, vc, other, issuer["did"] + "#key-1"))
    assert status == 422
    assert errors_of(reply) == [PROOF_VERIFICATION_ERROR]


async def test_a_rotated_out_key_verifies_until_it_is_revoked(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    old = await issue(client, auth, vc2_credential(issuer["did"]))
    rotated = await client.post(f"/admin/issuers/{random_slug}/keys/rotate", headers=admin_headers)
    assert rotated.status_code == 201, rotated.text
    new = await issue(client, auth, vc2_credential(issuer["did"]))
    assert old["proof"]["verificationMethod"] != new["proof"]["verificationMethod"]
    assert (await verify(client, old))[0] == 200
    assert (await verify(client, new))[0] == 200
    revoked = await client.post(
        f"/admin/issuers/{random_slug}/keys/key-1/revoke", headers=admin_headers
    )
    assert revoked.status_code == 200, revoked.text
    status, reply = await verify(client, old)
    assert status == 422
    assert errors_of(reply) == [INVALID_VERIFICATION_METHOD]
    assert "revoked" in reply["errors"][0]["detail"]
    assert reply["errors"][0]["pointer"] == "/verifiableCredential/proof"
    assert (await verify(client, new))[0] == 200


async def test_a_did_key_issuer_of_ours_resolves_from_the_database(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    """Offline did:key resolution would still accept a revoked key; the database does not."""
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug, didMethod="key")
    vc = await issue(client, auth, vc2_credential(issuer["did"]))
    status, reply = await verify(client, vc)
    assert status == 200, reply["errors"]
    assert reply["results"]["proof"]["proofs"][0]["resolvedFrom"] == "database"
    key_id = issuer["keys"][0]["id"]
    revoked = await client.post(
        f"/admin/issuers/{random_slug}/keys/{key_id}/revoke", headers=admin_headers
    )
    assert revoked.status_code == 200, revoked.text
    status, reply = await verify(client, vc)
    assert status == 422
    assert errors_of(reply) == [INVALID_VERIFICATION_METHOD]
    assert "revoked" in reply["errors"][0]["detail"]


async def test_an_unknown_issuer_under_our_host_fails_without_a_network_call(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    pair = KeyPair.generate()
    did = "did:web:credentials.example.edu:issuers:nobody"
    credential = vc2_credential(did)
    status, reply = await verify(client, sign(app, credential, pair, did + "#key-1"))
    assert status == 422
    assert errors_of(reply) == [INVALID_VERIFICATION_METHOD]
    assert "not an issuer of this service" in reply["errors"][0]["detail"]


def _entry(list_url: str, index: int, purpose: str = "revocation") -> dict[str, Any]:
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


async def test_status_entries_that_do_not_match_our_lists_fail(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    other, other_auth = await issuer_with_key(client, admin_headers, random_slug + "-b")
    ours = (await issue(client, auth, vc2_credential(issuer["did"])))["credentialStatus"]
    theirs = (await issue(client, other_auth, vc2_credential(other["did"])))["credentialStatus"]
    pair, method_id = await issuer_key(app, issuer["did"])
    list_url = ours["statusListCredential"]
    cases = [
        (_entry("https://credentials.example.edu/status-lists/nope", 7), "STATUS_RETRIEVAL_ERROR"),
        (_entry(theirs["statusListCredential"], 7), "STATUS_VERIFICATION_ERROR"),
        (_entry(list_url, 7, "suspension"), "STATUS_VERIFICATION_ERROR"),
        (_entry(list_url, 131_072), "RANGE_ERROR"),
        ({**_entry(list_url, 7), "type": "StatusList2021Entry"}, "STATUS_VERIFICATION_ERROR"),
        ({**_entry(list_url, 7), "statusListIndex": 7}, "MALFORMED_VALUE_ERROR"),
    ]
    for entry, name in cases:
        credential = vc2_credential(issuer["did"], credentialStatus=entry)
        status, reply = await verify(client, sign(app, credential, pair, method_id))
        assert status == 422, entry
        [problem_type] = errors_of(reply)
        assert problem_type.endswith("#" + name), (entry, reply["errors"])
        prefix = VC_DM if name in ("RANGE_ERROR", "MALFORMED_VALUE_ERROR") else STATUS_LIST
        assert problem_type == prefix + name
        assert reply["results"]["credentialStatus"]["entries"][0]["verified"] is False
