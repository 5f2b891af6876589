"""Revocation and suspension with Bitstring Status Lists kept in SQL."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from app.crypto.dataintegrity import DataIntegrity
from app.crypto.resolvers import method_from_document
from app.db.models import AuditEvent
from app.status.bitstring import Bitstring
from tests.conftest import problem_of
from tests.factories import issuer_with_key, vc2_credential

pytestmark = pytest.mark.anyio

REVOKE = {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"}
SUSPEND = {"type": "BitstringStatusListEntry", "statusPurpose": "suspension"}


async def issue(client: httpx.AsyncClient, auth: dict[str, str], did: str) -> dict[str, Any]:
    response = await client.post(
        "/credentials/issue", json={"credential": vc2_credential(did)}, headers=auth
    )
    assert response.status_code == 201, response.text
    vc: dict[str, Any] = response.json()["verifiableCredential"]
    return vc


def entries(vc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    status = vc["credentialStatus"]
    return {e["statusPurpose"]: e for e in (status if isinstance(status, list) else [status])}


async def fetch_list(client: httpx.AsyncClient, url: str) -> httpx.Response:
    path = url.removeprefix("https://credentials.example.edu")
    return await client.get(path)


async def decoded_bits(client: httpx.AsyncClient, url: str) -> set[int]:
    published = (await fetch_list(client, url)).json()
    bits = Bitstring.decode(published["credentialSubject"]["encodedList"])
    return set(bits.set_indexes())


async def test_suspension_entry_only_when_the_issuer_enables_it(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    plain, plain_auth = await issuer_with_key(client, admin_headers, random_slug)
    both, both_auth = await issuer_with_key(
        client, admin_headers, random_slug + "-s", suspensionEnabled=True
    )
    assert set(entries(await issue(client, plain_auth, plain["did"]))) == {"revocation"}
    vc = await issue(client, both_auth, both["did"])
    assert set(entries(vc)) == {"revocation", "suspension"}
    lists = {e["statusListCredential"] for e in entries(vc).values()}
    assert len(lists) == 2  # one list per purpose


async def test_published_list_shows_exactly_the_revoked_and_suspended_bits(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug, suspensionEnabled=True)
    vcs = [await issue(client, auth, issuer["did"]) for _ in range(6)]
    revoked, suspended = vcs[:2], vcs[2:5]
    for vc in revoked:
        body = {"credentialId": vc["id"], "credentialStatus": REVOKE, "status": True}
        response = await client.post("/credentials/status", json=body, headers=auth)
        assert response.status_code == 200, response.text
        assert response.json() == {"credentialId": vc["id"], "revoked": True, "suspended": False}
    for vc in suspended:
        body = {"credentialId": vc["id"], "credentialStatus": [{"status": "suspended"}]}
        response = await client.post("/credentials/status", json=body, headers=auth)
        assert response.json()["suspended"] is True
    revocation_url = entries(vcs[0])["revocation"]["statusListCredential"]
    suspension_url = entries(vcs[0])["suspension"]["statusListCredential"]
    assert await decoded_bits(client, revocation_url) == {
        int(entries(vc)["revocation"]["statusListIndex"]) for vc in revoked
    }
    assert await decoded_bits(client, suspension_url) == {
        int(entries(vc)["suspension"]["statusListIndex"]) for vc in suspended
    }
    # Lifting one suspension clears exactly its bit.
    body = {"credentialId": suspended[0]["id"], "credentialStatus": SUSPEND, "status": False}
    assert (await client.post("/credentials/status", json=body, headers=auth)).status_code == 200
    assert await decoded_bits(client, suspension_url) == {
        int(entries(vc)["suspension"]["statusListIndex"]) for vc in suspended[1:]
    }
    shown = await client.get(f"/credentials/{revoked[0]['id']}", headers=auth)
    assert shown.json()["status"] == {"revoked": True, "suspended": False}
    async with app.state.services.sessionmaker() as session:
        actions = [e.action for e in (await session.exec(select(AuditEvent))).all()]
    assert actions.count("credential.revoked") == 2
    assert actions.count("credential.suspended") == 3
    assert actions.count("credential.unsuspended") == 1


async def test_revocation_cannot_be_undone(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc = await issue(client, auth, issuer["did"])
    revoke = {"credentialId": vc["id"], "credentialStatus": REVOKE, "status": True, "reason": "x"}
    assert (await client.post("/credentials/status", json=revoke, headers=auth)).status_code == 200
    undo = {**revoke, "status": False}
    response = await client.post("/credentials/status", json=undo, headers=auth)
    assert response.status_code == 409
    assert problem_of(response)["type"].endswith("REVOCATION_IS_FINAL")
    again = await client.post("/credentials/status", json=revoke, headers=auth)
    assert again.status_code == 200 and again.json()["revoked"] is True


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"credentialId": "urn:uuid:unknown", "credentialStatus": REVOKE, "status": True}, 404),
        ({"credentialId": "x", "credentialStatus": REVOKE}, 422),
        ({"credentialId": "x", "credentialStatus": [{"status": "deleted"}]}, 422),
        ({"credentialStatus": REVOKE, "status": True}, 422),
        (
            {"credentialId": "x", "credentialStatus": {"statusPurpose": "message"}, "status": True},
            422,
        ),
    ],
)
async def test_bad_status_requests(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    body: dict[str, Any],
    status: int,
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    response = await client.post("/credentials/status", json=body, headers=auth)
    assert response.status_code == status
    problem_of(response)


async def test_suspending_without_a_suspension_entry_is_409(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc = await issue(client, auth, issuer["did"])
    body = {"credentialId": vc["id"], "credentialStatus": SUSPEND, "status": True}
    response = await client.post("/credentials/status", json=body, headers=auth)
    assert response.status_code == 409


async def test_status_changes_need_the_status_scope(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(
        client, admin_headers, random_slug, scopes=("credentials:issue",)
    )
    vc = await issue(client, auth, issuer["did"])
    body = {"credentialId": vc["id"], "credentialStatus": REVOKE, "status": True}
    assert (await client.post("/credentials/status", json=body, headers=auth)).status_code == 403


async def test_status_list_credential_is_signed_cached_and_conditional(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc = await issue(client, auth, issuer["did"])
    url = entries(vc)["revocation"]["statusListCredential"]
    first = await fetch_list(client, url)
    assert first.status_code == 200
    published = first.json()
    assert published["id"] == url and published["issuer"] == issuer["did"]
    assert "BitstringStatusListCredential" in published["type"]
    assert published["credentialSubject"]["statusPurpose"] == "revocation"
    assert Bitstring.decode(published["credentialSubject"]["encodedList"]).size >= 131072
    assert first.headers["cache-control"] == "public, max-age=300"
    etag = first.headers["etag"]
    from datetime import datetime

    valid_from = datetime.fromisoformat(published["validFrom"].replace("Z", "+00:00"))
    valid_until = datetime.fromisoformat(published["validUntil"].replace("Z", "+00:00"))
    assert (valid_until - valid_from).total_seconds() == 300

    did_document = (await client.get(f"/issuers/{random_slug}/did.json")).json()
    di: DataIntegrity = app.state.services.data_integrity
    result = di.verify(published, lambda m, p: method_from_document(did_document, m, p))
    assert result.verified, result.errors

    second = await fetch_list(client, url)
    assert second.json() == published  # not re-signed without a change
    not_modified = await client.get(
        url.removeprefix("https://credentials.example.edu"), headers={"If-None-Match": etag}
    )
    assert not_modified.status_code == 304 and not_modified.content == b""

    body = {"credentialId": vc["id"], "credentialStatus": REVOKE, "status": True}
    await client.post("/credentials/status", json=body, headers=auth)
    changed = await client.get(
        url.removeprefix("https://credentials.example.edu"), headers={"If-None-Match": etag}
    )
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert (await client.get("/status-lists/no-such-list")).status_code == 404


async def test_concurrent_issuing_and_revoking_in_one_process(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    vcs = await asyncio.gather(*(issue(client, auth, issuer["did"]) for _ in range(40)))
    indexes = [
        (e["statusListCredential"], e["statusListIndex"])
        for vc in vcs
        for e in [entries(vc)["revocation"]]
    ]
    assert len(set(indexes)) == len(indexes) == 40

    async def revoke(vc: dict[str, Any]) -> int:
        body = {"credentialId": vc["id"], "credentialStatus": REVOKE, "status": True}
        return (await client.post("/credentials/status", json=body, headers=auth)).status_code

    assert set(await asyncio.gather(*(revoke(vc) for vc in vcs[:25]))) == {200}
    url = entries(vcs[0])["revocation"]["statusListCredential"]
    assert await decoded_bits(client, url) == {
        int(entries(vc)["revocation"]["statusListIndex"]) for vc in vcs[:25]
    }


async def test_an_edc_and_a_badge_keep_a_single_revocation_entry_with_suspension_enabled(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    from tests.factories import microcredential_body

    _, auth = await issuer_with_key(client, admin_headers, random_slug, suspensionEnabled=True)
    edc = await client.post("/microcredentials", json=microcredential_body("edc"), headers=auth)
    assert edc.status_code == 201, edc.text
    assert set(entries(edc.json()["verifiableCredential"])) == {"revocation"}
    badge = await client.post("/microcredentials", json=microcredential_body("obv3"), headers=auth)
    assert set(entries(badge.json()["verifiableCredential"])) == {"revocation"}
