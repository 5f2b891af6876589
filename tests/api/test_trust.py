"""Issuer trust (issue 24): the service's own trust list and what verdicts say about it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.crypto.keys import KeyPair
from tests.api.test_verify import (
    client_without_rate_limits,
    did_key_method,
    errors_of,
    sign,
    types_of,
    verify,
)
from tests.api.test_verify_issued import issue
from tests.conftest import problem_of
from tests.factories import issuer_with_key, vc2_credential

pytestmark = pytest.mark.anyio

DID = "did:web:uni-zed.example"
PROBLEM = "urn:microcred:problem:"
NOT_TRUSTED = PROBLEM + "ISSUER_NOT_TRUSTED"
NAME_MISMATCH = PROBLEM + "ISSUER_NAME_MISMATCH"


def entry_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "legalName": "University of Zed",
        "country": "IRL",
        "legalIdentifier": "IE1234567X",
        "accreditation": {"body": "QQI", "decision": "https://qqi.example/decisions/42"},
    }
    body.update(overrides)
    return body


async def test_the_own_list_is_managed_by_the_admin(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    assert (await client.get("/admin/trust", headers=admin_headers)).json() == {"entries": []}
    response = await client.put(f"/admin/trust/{DID}", json=entry_body(), headers=admin_headers)
    assert response.status_code == 200, response.text
    assert response.json()["legalName"] == "University of Zed"
    replaced = await client.put(
        f"/admin/trust/{DID}", json=entry_body(note="renamed"), headers=admin_headers
    )
    assert replaced.json()["note"] == "renamed"
    [entry] = (await client.get("/admin/trust", headers=admin_headers)).json()["entries"]
    assert entry["did"] == DID and entry["note"] == "renamed"
    assert entry["accreditation"] == entry_body()["accreditation"]
    audit = (await client.get("/admin/audit", headers=admin_headers)).json()["events"]
    assert [e["action"] for e in audit] == ["trust.put", "trust.put"]
    deleted = await client.delete(f"/admin/trust/{DID}", headers=admin_headers)
    assert deleted.status_code == 204
    assert (await client.get("/admin/trust", headers=admin_headers)).json() == {"entries": []}
    again = await client.delete(f"/admin/trust/{DID}", headers=admin_headers)
    assert problem_of(again)["type"] == "urn:microcred:problem:TRUST_ENTRY_NOT_FOUND"


async def test_the_trust_list_needs_the_admin_token_and_a_did(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    assert (await client.put(f"/admin/trust/{DID}", json=entry_body())).status_code == 401
    assert (await client.get("/admin/trust")).status_code == 401
    not_a_did = await client.put("/admin/trust/uni-zed", json=entry_body(), headers=admin_headers)
    assert not_a_did.status_code == 422
    bad_country = await client.put(
        f"/admin/trust/{DID}", json=entry_body(country="XXX"), headers=admin_headers
    )
    assert bad_country.status_code == 422


def did_key_credential(app: FastAPI, **overrides: Any) -> tuple[str, dict[str, Any]]:
    """A did:key issuer's signed credential (verified offline, no trust source knows it)."""
    pair = KeyPair.generate()
    did, method_id = did_key_method(pair)
    credential = vc2_credential(did, **overrides)
    if isinstance(credential["issuer"], dict):
        credential["issuer"] = {"id": did, **credential["issuer"]}
    return did, sign(app, credential, pair, method_id)


async def test_an_issuer_on_no_list_verifies_untrusted_with_a_warning(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    did, credential = did_key_credential(app)
    status, reply = await verify(client, credential)
    assert status == 200, reply["errors"]
    assert reply["results"]["proof"]["verified"] is True
    trust = reply["results"]["issuerTrust"]
    assert trust["trusted"] is False and trust["sources"] == []
    assert "legalName" not in trust
    assert types_of(trust["warnings"]) == [NOT_TRUSTED]
    assert types_of(reply["warnings"]) == [NOT_TRUSTED]
    assert reply["warnings"][0]["pointer"] == "/verifiableCredential/issuer"
    assert did in reply["warnings"][0]["detail"]
    # Asked for trust, the same credential fails (the full result, 422).
    status, reply = await verify(client, credential, trust="required")
    assert status == 422
    assert errors_of(reply) == [NOT_TRUSTED]
    assert reply["results"]["proof"]["verified"] is True
    assert reply["warnings"] == []
    assert (await verify(client, credential, trust="optional"))[0] == 200


async def test_the_own_list_makes_an_issuer_trusted(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    did, credential = did_key_credential(app)
    put = await client.put(f"/admin/trust/{did}", json=entry_body(), headers=admin_headers)
    assert put.status_code == 200, put.text
    status, reply = await verify(client, credential, trust="required")
    assert status == 200, reply["errors"]
    assert reply["warnings"] == []
    trust = reply["results"]["issuerTrust"]
    assert trust["trusted"] is True
    assert trust["legalName"] == "University of Zed"
    [source] = trust["sources"]
    assert source["name"] == "microcred"
    assert source["entry"]["legalIdentifier"] == "IE1234567X"
    assert source["entry"]["accreditation"] == entry_body()["accreditation"]
    # Taken off the list, it is untrusted again.
    await client.delete(f"/admin/trust/{did}", headers=admin_headers)
    status, reply = await verify(client, credential, trust="required")
    assert status == 422 and errors_of(reply) == [NOT_TRUSTED]


async def test_an_issuer_hosted_here_is_trusted_only_once_an_admin_lists_it(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc = await issue(client, auth, vc2_credential(issuer["did"]))
    status, reply = await verify(client, vc, trust="required")
    assert status == 422 and errors_of(reply) == [NOT_TRUSTED]
    listed = await client.put(
        f"/admin/trust/{issuer['did']}", json=entry_body(), headers=admin_headers
    )
    assert listed.status_code == 200, listed.text
    status, reply = await verify(client, vc, trust="required")
    assert status == 200, reply["errors"]
    assert reply["results"]["issuerTrust"]["trusted"] is True


@pytest.mark.parametrize(
    ("shown", "warned"),
    [
        ("University of Zed", True),
        ([{"@value": "University of Zed", "@language": "en"}], True),
        ("Institute  of  Other Things", False),
        ([{"@value": "institute of other things", "@language": "en"}], False),
    ],
)
async def test_a_name_other_than_the_registered_one_is_a_warning(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    shown: Any,
    warned: bool,
) -> None:
    """Signed by a trusted issuer, the credential calls itself another body."""
    did, credential = did_key_credential(app, issuer={"name": shown})
    body = entry_body(legalName="Institute of Other Things")
    assert (await client.put(f"/admin/trust/{did}", json=body, headers=admin_headers)).is_success
    status, reply = await verify(client, credential, trust="required")
    assert status == 200, reply["errors"]
    trust = reply["results"]["issuerTrust"]
    assert trust["trusted"] is True and trust["legalName"] == "Institute of Other Things"
    expected = [NAME_MISMATCH] if warned else []
    assert types_of(reply["warnings"]) == expected
    assert types_of(trust["warnings"]) == expected
    if warned:
        assert reply["warnings"][0]["pointer"] == "/verifiableCredential/issuer/name"


async def test_the_deployment_may_require_trust_by_default(
    app: FastAPI, settings: Settings
) -> None:
    _, credential = did_key_credential(app)
    async with client_without_rate_limits(
        settings.model_copy(update={"trust_required": True})
    ) as strict:
        status, reply = await verify(strict, credential)
        assert status == 422 and errors_of(reply) == [NOT_TRUSTED]
        status, reply = await verify(strict, credential, trust="optional")
        assert status == 200 and types_of(reply["warnings"]) == [NOT_TRUSTED]
