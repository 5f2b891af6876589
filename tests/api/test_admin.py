"""Issuers, signing keys, API keys and the audit trail through the admin API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from app.db.models import ApiKey, AuditEvent, Issuer, SigningKey
from app.services.keystore import open_seed
from tests.conftest import problem_of
from tests.factories import issuer_body, make_api_key, make_issuer

pytestmark = pytest.mark.anyio


async def count_rows(app: FastAPI, model: type[Any]) -> int:
    async with app.state.services.sessionmaker() as session:
        return len((await session.exec(select(model))).all())


async def test_create_did_web_issuer(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer = await make_issuer(client, admin_headers, random_slug)
    assert issuer["did"] == f"did:web:credentials.example.edu:issuers:{random_slug}"
    assert issuer["name"] == {"en": "University of Zed", "ga": "Ollscoil Zed"}
    assert issuer["country"] == "IRL" and issuer["legalIdentifier"] == "IE1234567X"
    [key] = issuer["keys"]
    assert key["status"] == "active" and key["id"] == "key-1"
    assert key["verificationMethod"] == issuer["did"] + "#key-1"
    assert key["publicKeyMultibase"].startswith("z6Mk")

    again = await client.get(f"/admin/issuers/{random_slug}", headers=admin_headers)
    assert again.json() == issuer
    listing = await client.get("/admin/issuers", headers=admin_headers)
    assert [i["slug"] for i in listing.json()["issuers"]] == [random_slug]


async def test_create_did_key_issuer(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer = await make_issuer(client, admin_headers, random_slug, didMethod="key")
    [key] = issuer["keys"]
    assert issuer["did"] == f"did:key:{key['publicKeyMultibase']}"
    assert key["verificationMethod"] == f"{issuer['did']}#{key['publicKeyMultibase']}"


async def test_did_document_is_served_for_did_web(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer = await make_issuer(client, admin_headers, random_slug)
    response = await client.get(f"/issuers/{random_slug}/did.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/did+json")
    document = response.json()
    assert document["id"] == issuer["did"]
    [method] = document["verificationMethod"]
    assert method == {
        "id": issuer["did"] + "#key-1",
        "type": "Multikey",
        "controller": issuer["did"],
        "publicKeyMultibase": issuer["keys"][0]["publicKeyMultibase"],
    }
    assert document["assertionMethod"] == [method["id"]]
    assert (await client.get("/issuers/nobody/did.json")).status_code == 404


async def test_duplicate_slug_is_409_and_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    await make_issuer(client, admin_headers, random_slug)
    before = [await count_rows(app, m) for m in (Issuer, SigningKey, AuditEvent)]
    response = await client.post(
        "/admin/issuers", json=issuer_body(random_slug, country="FRA"), headers=admin_headers
    )
    assert response.status_code == 409
    assert problem_of(response)["type"].endswith("ISSUER_EXISTS")
    assert [await count_rows(app, m) for m in (Issuer, SigningKey, AuditEvent)] == before


@pytest.mark.parametrize(
    ("override", "pointer"),
    [
        ({"country": "XYZ"}, "/country"),
        ({"country": "ie"}, "/country"),
        ({"slug": "Not A Slug"}, "/slug"),
        ({"slug": "-leading-dash"}, "/slug"),
        ({"slug": "x" * 65}, "/slug"),
        ({"name": {"en": "x" * 301}}, "/name/en"),
        ({"name": {}}, "/name"),
        ({"name": {"english": "University"}}, "/name/english"),
        ({"name": {"xx": "University"}}, "/name/xx"),
        ({"legalIdentifier": ""}, "/legalIdentifier"),
        ({"homepage": "javascript:alert(1)"}, "/homepage"),
        ({"didMethod": "ebsi"}, "/didMethod"),
        ({"unexpected": True}, "/unexpected"),
    ],
)
async def test_bad_issuer_input_is_422_naming_the_field_and_stores_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    override: dict[str, Any],
    pointer: str,
) -> None:
    response = await client.post(
        "/admin/issuers", json=issuer_body(random_slug, **override), headers=admin_headers
    )
    assert response.status_code == 422, response.text
    body = problem_of(response)
    assert pointer in [e["pointer"] for e in body["errors"]]
    assert await count_rows(app, Issuer) == 0
    assert await count_rows(app, AuditEvent) == 0


async def test_missing_fields_are_each_named(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post("/admin/issuers", json={}, headers=admin_headers)
    assert response.status_code == 422
    pointers = {e["pointer"] for e in problem_of(response)["errors"]}
    assert pointers == {"/slug", "/name", "/country", "/legalIdentifier"}


async def test_body_that_is_not_json_is_a_400_problem(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/admin/issuers",
        content=b"{not json",
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert problem_of(response)["type"].endswith("PARSING_ERROR")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Basic abc"}],
)
async def test_admin_endpoints_need_the_admin_token(
    client: httpx.AsyncClient, headers: dict[str, str], random_slug: str
) -> None:
    for method, path in [
        ("GET", "/admin/issuers"),
        ("POST", "/admin/issuers"),
        ("POST", f"/admin/issuers/{random_slug}/api-keys"),
        ("GET", "/admin/audit"),
    ]:
        response = await client.request(
            method, path, json=issuer_body(random_slug), headers=headers
        )
        assert response.status_code == 401, (method, path)
        assert problem_of(response)["title"] == "Unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"


async def test_an_issuer_api_key_is_not_an_admin_token(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    await make_issuer(client, admin_headers, random_slug)
    key = await make_api_key(client, admin_headers, random_slug)
    response = await client.get("/admin/issuers", headers={"Authorization": f"Bearer {key['key']}"})
    assert response.status_code == 401


async def test_private_keys_are_stored_as_ciphertext_and_never_shown(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer = await make_issuer(client, admin_headers, random_slug)
    async with app.state.services.sessionmaker() as session:
        [row] = (await session.exec(select(SigningKey))).all()
    seed = open_seed(app.state.services.settings.master_key_bytes, row.encrypted_seed, row.key_id)
    assert len(seed) == 32
    assert seed not in row.encrypted_seed  # the stored bytes are not the seed
    from app.crypto.keys import KeyPair

    pair = KeyPair(seed)
    assert pair.public_key_multibase == issuer["keys"][0]["publicKeyMultibase"]
    # Neither the seed nor its multibase form appears in any admin reply.
    replies = [
        (await client.get(f"/admin/issuers/{random_slug}", headers=admin_headers)).text,
        (await client.get("/admin/audit", headers=admin_headers)).text,
        (await client.get(f"/issuers/{random_slug}/did.json")).text,
    ]
    for text in replies:
        assert pair.secret_key_multibase not in text and seed.hex() not in text


async def test_a_sealed_key_does_not_open_under_another_key_id(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    from app.services.keystore import KeyUnsealError

    await make_issuer(client, admin_headers, random_slug)
    async with app.state.services.sessionmaker() as session:
        [row] = (await session.exec(select(SigningKey))).all()
    with pytest.raises(KeyUnsealError):
        open_seed(
            app.state.services.settings.master_key_bytes, row.encrypted_seed, row.key_id + "x"
        )
    with pytest.raises(KeyUnsealError):
        open_seed(bytes(32), row.encrypted_seed, row.key_id)


async def test_rotation_retires_the_old_key_and_keeps_it_in_the_did_document(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer = await make_issuer(client, admin_headers, random_slug)
    response = await client.post(f"/admin/issuers/{random_slug}/keys/rotate", headers=admin_headers)
    assert response.status_code == 201
    new_key = response.json()
    assert new_key["id"] == "key-2" and new_key["status"] == "active"
    shown = (await client.get(f"/admin/issuers/{random_slug}", headers=admin_headers)).json()
    assert [(k["id"], k["status"]) for k in shown["keys"]] == [
        ("key-1", "retired"),
        ("key-2", "active"),
    ]
    document = (await client.get(f"/issuers/{random_slug}/did.json")).json()
    assert document["assertionMethod"] == [issuer["did"] + "#key-1", issuer["did"] + "#key-2"]
    assert document["authentication"] == [issuer["did"] + "#key-2"]


async def test_did_key_issuer_cannot_rotate(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    await make_issuer(client, admin_headers, random_slug, didMethod="key")
    response = await client.post(f"/admin/issuers/{random_slug}/keys/rotate", headers=admin_headers)
    assert response.status_code == 409
    assert problem_of(response)["type"].endswith("KEY_ROTATION_REFUSED")


async def test_revoking_a_key_removes_it_from_the_did_document(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer = await make_issuer(client, admin_headers, random_slug)
    await client.post(f"/admin/issuers/{random_slug}/keys/rotate", headers=admin_headers)
    response = await client.post(
        f"/admin/issuers/{random_slug}/keys/key-1/revoke", headers=admin_headers
    )
    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    document = (await client.get(f"/issuers/{random_slug}/did.json")).json()
    assert [m["id"] for m in document["verificationMethod"]] == [issuer["did"] + "#key-2"]
    assert document["assertionMethod"] == [issuer["did"] + "#key-2"]
    missing = await client.post(
        f"/admin/issuers/{random_slug}/keys/key-9/revoke", headers=admin_headers
    )
    assert missing.status_code == 404


async def test_api_key_is_shown_once_and_stored_hashed(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    await make_issuer(client, admin_headers, random_slug)
    created = await make_api_key(client, admin_headers, random_slug)
    assert created["key"].startswith(f"mck_{created['id']}_")
    assert created["scopes"] == sorted(created["scopes"])
    listing = await client.get(f"/admin/issuers/{random_slug}/api-keys", headers=admin_headers)
    [shown] = listing.json()["apiKeys"]
    assert "key" not in shown and shown["id"] == created["id"]
    async with app.state.services.sessionmaker() as session:
        [row] = (await session.exec(select(ApiKey))).all()
    secret = created["key"].split("_", 2)[2]
    assert secret not in row.secret_hash and len(row.secret_hash) == 64


async def test_unknown_scope_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    await make_issuer(client, admin_headers, random_slug)
    response = await client.post(
        f"/admin/issuers/{random_slug}/api-keys",
        json={"name": "x", "scopes": ["credentials:everything"]},
        headers=admin_headers,
    )
    assert response.status_code == 422
    assert problem_of(response)["errors"][0]["pointer"] == "/scopes/0"


async def test_deleting_an_api_key_of_another_issuer_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    await make_issuer(client, admin_headers, random_slug)
    await make_issuer(client, admin_headers, random_slug + "-b")
    key = await make_api_key(client, admin_headers, random_slug)
    response = await client.delete(
        f"/admin/issuers/{random_slug}-b/api-keys/{key['id']}", headers=admin_headers
    )
    assert response.status_code == 404
    response = await client.delete(
        f"/admin/issuers/{random_slug}/api-keys/{key['id']}", headers=admin_headers
    )
    assert response.status_code == 204
    again = await client.delete(
        f"/admin/issuers/{random_slug}/api-keys/{key['id']}", headers=admin_headers
    )
    assert again.status_code == 404


async def test_audit_trail_records_each_change(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer = await make_issuer(client, admin_headers, random_slug)
    key = await make_api_key(client, admin_headers, random_slug)
    await client.post(f"/admin/issuers/{random_slug}/keys/rotate", headers=admin_headers)
    await client.post(f"/admin/issuers/{random_slug}/keys/key-1/revoke", headers=admin_headers)
    await client.delete(f"/admin/issuers/{random_slug}/api-keys/{key['id']}", headers=admin_headers)
    response = await client.get(f"/admin/audit?issuer={random_slug}", headers=admin_headers)
    events = response.json()["events"]
    assert [e["action"] for e in events] == [
        "api_key.deleted",
        "key.revoked",
        "key.rotated",
        "api_key.created",
        "issuer.created",
    ]
    assert all(e["actor"] == "admin" and e["issuer"] == random_slug for e in events)
    assert events[-1]["target"] == issuer["did"]
    assert key["key"] not in response.text
