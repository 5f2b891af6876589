"""Issuer trust (issue 24): the service's own trust list and what verdicts say about it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import problem_of

pytestmark = pytest.mark.anyio

DID = "did:web:uni-zed.example"


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
