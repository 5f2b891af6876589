"""Issuing through the HTTP API: VC-API, EU micro-credentials, idempotency, tenant isolation."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel import select

from app.credentials.microcredential import MicroCredentialIn
from app.crypto.dataintegrity import DataIntegrity, VerificationMethod
from app.crypto.errors import InvalidVerificationMethodError
from app.db.models import AuditEvent, Credential, Issuer, StatusEntry, StatusList
from app.services import issuance
from tests.conftest import problem_of
from tests.factories import (
    bearer,
    issuer_with_key,
    make_api_key,
    microcredential_body,
    vc2_credential,
)

pytestmark = pytest.mark.anyio


async def resolver_for(client: httpx.AsyncClient, slug: str) -> Any:
    """Resolve our own did:web issuer's methods from its served DID document."""
    document = (await client.get(f"/issuers/{slug}/did.json")).json()

    def resolve(method_id: str, purpose: str) -> VerificationMethod:
        from app.crypto.resolvers import method_from_document

        return method_from_document(document, method_id, purpose)

    return resolve


async def rows(app: FastAPI, model: type[Any]) -> list[Any]:
    async with app.state.services.sessionmaker() as session:
        return list((await session.exec(select(model))).all())


async def count(app: FastAPI, model: type[Any]) -> int:
    return len(await rows(app, model))


@pytest.mark.parametrize("cryptosuite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
async def test_vc_api_issue_signs_with_status_and_verifies(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    cryptosuite: str,
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    response = await client.post(
        "/credentials/issue",
        json={"credential": vc2_credential(issuer["did"]), "options": {"cryptosuite": cryptosuite}},
        headers=auth,
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == {"verifiableCredential"}
    vc = response.json()["verifiableCredential"]
    assert vc["id"].startswith("urn:uuid:")
    assert response.headers["Location"] == f"/credentials/{vc['id'].removeprefix('urn:uuid:')}"
    stored = await client.get(response.headers["Location"], headers=auth)
    assert stored.json()["verifiableCredential"] == vc  # what was stored is what was returned
    assert vc["proof"]["cryptosuite"] == cryptosuite
    assert vc["proof"]["verificationMethod"] == issuer["did"] + "#key-1"
    entry = vc["credentialStatus"]
    assert entry["type"] == "BitstringStatusListEntry" and entry["statusPurpose"] == "revocation"
    assert entry["statusListCredential"].startswith("https://credentials.example.edu/status-lists/")
    assert 0 <= int(entry["statusListIndex"]) < 131072
    di: DataIntegrity = app.state.services.data_integrity
    result = di.verify(vc, await resolver_for(client, random_slug))
    assert result.verified, result.errors
    tampered = {**vc, "credentialSubject": {**vc["credentialSubject"], "alumniOf": "Elsewhere"}}
    assert not di.verify(tampered, await resolver_for(client, random_slug)).verified


async def test_vc_1_1_credential_gets_data_integrity_and_status_contexts(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    credential = {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential"],
        "issuer": {"id": issuer["did"]},
        "issuanceDate": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:learner"},
    }
    response = await client.post(
        "/credentials/issue", json={"credential": credential}, headers=auth
    )
    assert response.status_code == 201, response.text
    vc = response.json()["verifiableCredential"]
    assert vc["@context"] == [
        "https://www.w3.org/2018/credentials/v1",
        "https://www.w3.org/ns/credentials/status/v1",
        "https://w3id.org/security/data-integrity/v2",
    ]
    di: DataIntegrity = app.state.services.data_integrity
    assert di.verify(vc, await resolver_for(client, random_slug)).verified


@pytest.mark.parametrize(
    ("credential", "pointer"),
    [
        ({"@context": "https://www.w3.org/ns/credentials/v2"}, "/credential/@context"),
        ({"type": "VerifiableCredential"}, "/credential/type"),
        ({"issuer": None}, "/credential/issuer"),
        ({"issuer": "did:web:someone.else"}, "/credential/issuer"),
        ({"credentialSubject": "a string"}, "/credential/credentialSubject"),
        ({"validFrom": "yesterday"}, "/credential/validFrom"),
        ({"proof": {"type": "DataIntegrityProof"}}, "/credential/proof"),
    ],
)
async def test_vc_api_issue_rejects_malformed_credentials_with_422(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    credential: dict[str, Any],
    pointer: str,
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    body = vc2_credential(issuer["did"], **credential)
    if body["issuer"] is None:
        del body["issuer"]
    response = await client.post("/credentials/issue", json={"credential": body}, headers=auth)
    assert response.status_code == 422, response.text
    assert pointer in [e["pointer"] for e in problem_of(response)["errors"]]
    assert await count(app, Credential) == 0


@pytest.mark.parametrize(
    "body",
    [{}, {"credential": "not an object"}, {"credential": ["a", "list"]}, {"options": {}}],
)
async def test_vc_api_issue_without_a_credential_object_is_4xx(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str, body: Any
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    response = await client.post("/credentials/issue", json=body, headers=auth)
    assert response.status_code in (400, 422)
    problem_of(response)


async def test_undefined_terms_are_refused_and_nothing_is_stored(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    credential = vc2_credential(issuer["did"])
    credential["@context"] = ["https://www.w3.org/ns/credentials/v2"]
    credential["credentialSubject"] = {"id": "did:example:x", "undefinedClaim": "unsigned?"}
    response = await client.post(
        "/credentials/issue", json={"credential": credential}, headers=auth
    )
    assert response.status_code == 422, response.text
    assert "undefinedClaim" in problem_of(response)["detail"] or "not defined" in response.text
    assert await count(app, Credential) == 0
    assert await count(app, StatusEntry) == 0


async def test_issue_needs_a_key_with_the_issue_scope(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, read_only = await issuer_with_key(
        client, admin_headers, random_slug, scopes=("credentials:read",)
    )
    body = {"credential": vc2_credential(issuer["did"])}
    assert (await client.post("/credentials/issue", json=body)).status_code == 401
    bad = await client.post("/credentials/issue", json=body, headers=bearer("mck_nope_nope"))
    assert bad.status_code == 401
    forbidden = await client.post("/credentials/issue", json=body, headers=read_only)
    assert forbidden.status_code == 403
    assert problem_of(forbidden)["title"] == "Forbidden"


async def test_a_deleted_api_key_fails_at_once(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, _ = await issuer_with_key(client, admin_headers, random_slug)
    key = await make_api_key(client, admin_headers, random_slug)
    body = {"credential": vc2_credential(issuer["did"])}
    assert (
        await client.post("/credentials/issue", json=body, headers=bearer(key))
    ).status_code == 201
    deleted = await client.delete(
        f"/admin/issuers/{random_slug}/api-keys/{key['id']}", headers=admin_headers
    )
    assert deleted.status_code == 204
    assert (
        await client.post("/credentials/issue", json=body, headers=bearer(key))
    ).status_code == 401


async def test_tenants_cannot_see_or_touch_each_others_credentials(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer_a, auth_a = await issuer_with_key(client, admin_headers, random_slug)
    issuer_b, auth_b = await issuer_with_key(client, admin_headers, random_slug + "-b")
    response = await client.post(
        "/credentials/issue", json={"credential": vc2_credential(issuer_a["did"])}, headers=auth_a
    )
    credential_id = response.headers["location"].rsplit("/", 1)[1]
    assert (await client.get(f"/credentials/{credential_id}", headers=auth_a)).status_code == 200
    other = await client.get(f"/credentials/{credential_id}", headers=auth_b)
    assert other.status_code == 404
    revoke = {
        "credentialId": credential_id,
        "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"},
        "status": True,
    }
    assert (
        await client.post("/credentials/status", json=revoke, headers=auth_b)
    ).status_code == 404
    # B cannot issue in A's name either.
    forged = await client.post(
        "/credentials/issue", json={"credential": vc2_credential(issuer_a["did"])}, headers=auth_b
    )
    assert forged.status_code == 422
    still = await client.get(f"/credentials/{credential_id}", headers=auth_a)
    assert still.json()["status"] == {"revoked": False, "suspended": False}


async def test_idempotent_replay_and_conflict(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    headers = {**auth, "Idempotency-Key": "batch-7-item-1"}
    body = {"credential": vc2_credential(issuer["did"])}
    first = await client.post("/credentials/issue", json=body, headers=headers)
    again = await client.post("/credentials/issue", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert await count(app, Credential) == 1
    assert await count(app, StatusEntry) == 1
    changed = {"credential": vc2_credential(issuer["did"], validFrom="2027-01-01T00:00:00Z")}
    conflict = await client.post("/credentials/issue", json=changed, headers=headers)
    assert conflict.status_code == 409
    assert problem_of(conflict)["type"].endswith("IDEMPOTENCY_KEY_REUSED")
    assert await count(app, Credential) == 1


async def test_options_credential_id_is_idempotent_and_addresses_status(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    body = {"credential": vc2_credential(issuer["did"]), "options": {"credentialId": "sis-42"}}
    first = await client.post("/credentials/issue", json=body, headers=auth)
    again = await client.post("/credentials/issue", json=body, headers=auth)
    assert first.json() == again.json() and await count(app, Credential) == 1
    shown = await client.get("/credentials/sis-42", headers=auth)
    assert shown.status_code == 200
    assert shown.json()["verifiableCredential"] == first.json()["verifiableCredential"]


@pytest.mark.parametrize("format", ["edc", "obv3"])
async def test_microcredential_is_issued_signed_and_stored(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    format: str,
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    response = await client.post(
        "/microcredentials", json=microcredential_body(format), headers=auth
    )
    assert response.status_code == 201, response.text
    vc = response.json()["verifiableCredential"]
    expected_type = "EuropeanDigitalCredential" if format == "edc" else "OpenBadgeCredential"
    assert expected_type in vc["type"]
    location = response.headers["location"]
    stored = await client.get(location, headers=auth)
    assert stored.json()["verifiableCredential"] == vc
    di: DataIntegrity = app.state.services.data_integrity
    assert di.verify(vc, await resolver_for(client, random_slug)).verified
    async with app.state.services.sessionmaker() as session:
        [row] = (await session.exec(select(Credential))).all()
        actions = [e.action for e in (await session.exec(select(AuditEvent))).all()]
    assert row.format == format and row.learner_ref == "student-number:S1234567"
    assert "credential.issued" in actions


async def test_an_edc_is_canonicalized_once_for_its_shapes_and_its_proof(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    # The SHACL check runs on the unsigned EDC; the rdfc signer then finds those N-Quads in the
    # canonicalizer's memory instead of canonicalizing the 50 KB document a second time.
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    canonicalizer = app.state.services.data_integrity.canonicalizer
    before = canonicalizer.reused
    response = await client.post("/microcredentials", json=microcredential_body(), headers=auth)
    assert response.status_code == 201, response.text
    assert canonicalizer.reused == before + 1
    vc = response.json()["verifiableCredential"]
    assert app.state.services.data_integrity.verify(
        vc, await resolver_for(client, random_slug)
    ).verified


def open_transactions(database_url: str) -> int:
    """Transactions of other connections open now: on SQLite, whether one holds the write lock
    (every transaction of the service does); on PostgreSQL, the sessions idle in one."""

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        probe = sqlite3.connect(str(url.database), timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return 0
        except sqlite3.OperationalError:
            return 1
        finally:
            probe.close()

    async def idle_in_transaction() -> int:
        engine = create_async_engine(database_url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                count = await connection.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
                    )
                )
                return int(count)
        finally:
            await engine.dispose()

    # Its own thread and event loop: the probe runs from inside the signing step.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, idle_in_transaction()).result()


async def test_no_transaction_is_open_while_a_credential_is_signed(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every SQLite transaction holds the write lock: one that spanned the signing (an EDC takes
    # ~20 ms) would queue every other request, and the other workers, behind it.
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    open_while_signing: list[int] = []
    build_and_sign = issuance.build_and_sign

    def probed(*args: Any, **kwargs: Any) -> dict[str, Any]:
        open_while_signing.append(open_transactions(database_url))
        return build_and_sign(*args, **kwargs)

    monkeypatch.setattr(issuance, "build_and_sign", probed)
    requests = [
        ("/microcredentials", microcredential_body()),
        ("/credentials/issue", {"credential": vc2_credential(issuer["did"])}),
        ("/microcredentials/batch", {"items": [microcredential_body("obv3")] * 2}),
    ]
    for path, body in requests:
        response = await client.post(path, json=body, headers=auth)
        assert response.status_code in (200, 201), response.text
    assert open_while_signing == [0, 0, 0, 0]
    assert await count(app, Credential) == 4


def in_another_connection(database_url: str, write: Callable[[AsyncConnection], Any]) -> None:
    """Run ``write`` in a transaction of its own, committed, from a thread and event loop of its
    own: another request's writes landing while this one signs."""

    async def run() -> None:
        engine = create_async_engine(database_url, poolclass=NullPool)
        try:
            async with engine.begin() as connection:
                await write(connection)
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, run()).result()


def credential_row(issuer_id: int, **values: Any) -> dict[str, Any]:
    credential_id = str(uuid.uuid4())
    return {
        "id": credential_id,
        "issuer_id": issuer_id,
        "format": "vc",
        "document": {"id": f"urn:uuid:{credential_id}", "issued by": "the other request"},
        "credential_uri": f"urn:uuid:{credential_id}",
        "request_hash": "0" * 64,
        "created_at": datetime.now(UTC),
        **values,
    }


def take_index(database_url: str, entry: dict[str, Any]) -> None:
    """Store ``entry``'s status index for another credential, as a concurrent issue would."""
    list_id = entry["statusListCredential"].rsplit("/", 1)[1]
    lists = StatusList.__table__  # type: ignore[attr-defined]

    async def write(connection: AsyncConnection) -> None:
        query = select(lists.c.issuer_id).where(lists.c.id == list_id)
        issuer_id = (await connection.execute(query)).scalar_one()
        other = credential_row(issuer_id)
        await connection.execute(insert(Credential.__table__), other)  # type: ignore[attr-defined]
        await connection.execute(
            insert(StatusEntry.__table__),  # type: ignore[attr-defined]
            {
                "list_id": list_id,
                "index": int(entry["statusListIndex"]),
                "credential_id": other["id"],
                "is_set": False,
                "updated_at": datetime.now(UTC),
            },
        )

    in_another_connection(database_url, write)


@pytest.mark.parametrize("taken", [1, issuance.STORE_ATTEMPTS - 1, issuance.STORE_ATTEMPTS])
async def test_a_status_index_taken_while_signing_is_drawn_again(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    taken: int,
) -> None:
    """The index drawn is stored by another request before this one stores it: the insert
    fails, the read runs again and the credential is signed with a new index; after
    STORE_ATTEMPTS such losses the answer is 503 ISSUING_CONTENDED and nothing of it is kept."""
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    stolen: list[int] = []
    build_and_sign = issuance.build_and_sign

    def racing(*args: Any, **kwargs: Any) -> dict[str, Any]:
        entries = args[4]
        if len(stolen) < taken:
            take_index(database_url, entries[0])
            stolen.append(int(entries[0]["statusListIndex"]))
        return build_and_sign(*args, **kwargs)

    monkeypatch.setattr(issuance, "build_and_sign", racing)
    response = await client.post("/microcredentials", json=microcredential_body(), headers=auth)
    assert len(stolen) == taken
    entries = await rows(app, StatusEntry)
    assert {e.index for e in entries} >= set(stolen)
    if taken == issuance.STORE_ATTEMPTS:
        assert response.status_code == 503
        assert problem_of(response)["type"].endswith("ISSUING_CONTENDED")
        assert len(entries) == await count(app, Credential) == taken  # the other requests' only
        monkeypatch.setattr(issuance, "build_and_sign", build_and_sign)
        response = await client.post("/microcredentials", json=microcredential_body(), headers=auth)
        entries = await rows(app, StatusEntry)
    assert response.status_code == 201, response.text
    [status] = response.json()["verifiableCredential"]["credentialStatus"]  # an EDC lists it
    index = int(status["statusListIndex"])
    assert index not in stolen
    [own] = [e for e in entries if e.credential_id == response.headers["Location"].split("/")[-1]]
    assert own.index == index
    assert len(entries) == await count(app, Credential) == len(stolen) + 1


async def test_an_idempotency_key_used_while_signing_replays_the_other_credential(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two requests with one Idempotency-Key: the one that stores second replays the first's
    credential (the same body) or is refused with 409 (another body); it stores nothing."""
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    body = microcredential_body()
    body_hash = issuance.request_hash(
        MicroCredentialIn.model_validate(body).model_dump(mode="json")
    )
    async with app.state.services.sessionmaker() as session:
        found = await session.exec(select(Issuer.id).where(Issuer.slug == random_slug))
        issuer_id = found.one()
    other_rows: list[dict[str, Any]] = []
    build_and_sign = issuance.build_and_sign

    def racing(*args: Any, **kwargs: Any) -> dict[str, Any]:
        key = f"race-{len(other_rows)}"
        other = credential_row(
            issuer_id,
            idempotency_key=key,
            request_hash=body_hash if key == "race-0" else "f" * 64,
        )
        other_rows.append(other)

        async def write(connection: AsyncConnection) -> None:
            await connection.execute(insert(Credential.__table__), other)  # type: ignore[attr-defined]

        in_another_connection(database_url, write)
        return build_and_sign(*args, **kwargs)

    monkeypatch.setattr(issuance, "build_and_sign", racing)
    same = await client.post(
        "/microcredentials", json=body, headers={**auth, "Idempotency-Key": "race-0"}
    )
    assert same.status_code == 201, same.text
    assert same.json()["verifiableCredential"] == other_rows[0]["document"]
    assert same.headers["Location"].endswith(other_rows[0]["id"])

    different = await client.post(
        "/microcredentials", json=body, headers={**auth, "Idempotency-Key": "race-1"}
    )
    assert different.status_code == 409
    assert len(other_rows) == 2
    assert await count(app, Credential) == 2
    assert await count(app, StatusEntry) == 0


async def test_missing_microcredential_elements_are_each_named(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    body = microcredential_body()
    for name in ("title", "learningOutcomes", "workload", "assessment", "qualityAssurance"):
        del body[name]
    response = await client.post("/microcredentials", json=body, headers=auth)
    assert response.status_code == 422
    pointers = {e["pointer"] for e in problem_of(response)["errors"]}
    assert pointers == {
        "/title",
        "/learningOutcomes",
        "/workload",
        "/assessment",
        "/qualityAssurance",
    }
    assert await count(app, Credential) == 0


async def test_rotated_key_signs_new_credentials_and_old_ones_still_verify(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    body = {"credential": vc2_credential(issuer["did"])}
    old = (await client.post("/credentials/issue", json=body, headers=auth)).json()
    await client.post(f"/admin/issuers/{random_slug}/keys/rotate", headers=admin_headers)
    new = (await client.post("/credentials/issue", json=body, headers=auth)).json()
    old_vc, new_vc = old["verifiableCredential"], new["verifiableCredential"]
    assert old_vc["proof"]["verificationMethod"].endswith("#key-1")
    assert new_vc["proof"]["verificationMethod"].endswith("#key-2")
    di: DataIntegrity = app.state.services.data_integrity
    resolve = await resolver_for(client, random_slug)
    assert di.verify(old_vc, resolve).verified and di.verify(new_vc, resolve).verified

    # Compromise of key-1: it leaves the DID document and what it signed stops verifying.
    await client.post(f"/admin/issuers/{random_slug}/keys/key-1/revoke", headers=admin_headers)
    resolve = await resolver_for(client, random_slug)
    result = di.verify(old_vc, resolve)
    assert not result.verified
    assert isinstance(result.errors[0], InvalidVerificationMethodError)
    assert di.verify(new_vc, resolve).verified


async def test_a_credential_re_signed_by_another_key_does_not_verify(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    from app.crypto.keys import KeyPair

    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    vc = (
        await client.post(
            "/credentials/issue", json={"credential": vc2_credential(issuer["did"])}, headers=auth
        )
    ).json()["verifiableCredential"]
    di: DataIntegrity = app.state.services.data_integrity
    unsigned = {k: v for k, v in vc.items() if k != "proof"}
    forged = di.add_proof(
        unsigned,
        KeyPair.generate(),
        vc["proof"]["verificationMethod"],
        created=__import__("datetime").datetime.now(__import__("datetime").UTC),
    )
    result = di.verify(forged, await resolver_for(client, random_slug))
    assert not result.verified
    assert result.errors[0].detail == "the signature does not match the document"


async def test_an_issue_makes_few_database_round_trips(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    database_url: str,
) -> None:
    """The statements of one EDC issue: reads (API key, the issuer's branding, open list, free
    indices, active key), then the store step, on PostgreSQL one statement in autocommit (no
    BEGIN, no COMMIT)."""
    from sqlalchemy import event

    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    first = await client.post("/microcredentials", json=microcredential_body(), headers=auth)
    assert first.status_code == 201  # the issuer's list is open now
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        statements.append(sql.split(None, 1)[0].upper())

    engine = app.state.services.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        response = await client.post("/microcredentials", json=microcredential_body(), headers=auth)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert response.status_code == 201, response.text
    if database_url.startswith("postgresql"):
        assert statements == ["SELECT"] * 5 + ["WITH"]
    else:
        # every SQLite transaction opens with BEGIN IMMEDIATE (app/db/engine.py)
        reads, store = ["BEGIN"] + ["SELECT"] * 5, ["BEGIN", "INSERT", "INSERT", "INSERT", "UPDATE"]
        assert statements == reads + store
    assert await count(app, Credential) == 2
    assert len(await rows(app, StatusEntry)) == 2
    issued = [e for e in await rows(app, AuditEvent) if e.action == "credential.issued"]
    assert len(issued) == 2
