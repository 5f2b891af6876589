"""Status entries on ``POST /credentials/issue`` (issue 17, item 3).

A caller's own ``credentialStatus`` entries are kept and signed, whatever their type (VC Data
Model 2.0 §4.10); any object typed ``BitstringStatusListEntry``, under any property name, must
follow the Bitstring Status List rules (§2.1) or the credential is refused (422, a pointer at the
fault); VC-API ``options.credentialStatus`` chooses the entries the service adds.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.crypto.dataintegrity import DataIntegrity
from tests.api.test_issuing import resolver_for
from tests.conftest import problem_of
from tests.factories import issuer_with_key, vc2_credential

pytestmark = pytest.mark.anyio

OTHER_LIST = "https://status.elsewhere.example/lists/7"
GOOD_ENTRY = {
    "id": OTHER_LIST + "#42",
    "type": "BitstringStatusListEntry",
    "statusPurpose": "refresh",
    "statusListIndex": "42",
    "statusListCredential": OTHER_LIST,
}
UNKNOWN_ENTRY = {
    "id": "https://status.elsewhere.example/registry/abc",
    "type": "ExampleLedgerStatus2026",
    "ledger": "https://ledger.example/entries/abc",
}
VC11 = "https://www.w3.org/2018/credentials/v1"
STATUS_V1 = "https://www.w3.org/ns/credentials/status/v1"


async def issue(
    client: httpx.AsyncClient, auth: dict[str, str], credential: Any, options: Any = None
) -> httpx.Response:
    body: dict[str, Any] = {"credential": credential}
    if options is not None:
        body["options"] = options
    return await client.post("/credentials/issue", json=body, headers=auth)


def entries(vc: dict[str, Any]) -> list[dict[str, Any]]:
    status = vc.get("credentialStatus", [])
    return status if isinstance(status, list) else [status]


async def test_a_caller_entry_of_an_unknown_type_is_kept_and_signed(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    credential = vc2_credential(issuer["did"], credentialStatus=UNKNOWN_ENTRY)
    response = await issue(client, auth, credential)
    assert response.status_code == 201, response.text
    vc = response.json()["verifiableCredential"]
    kept, added = entries(vc)
    assert kept == UNKNOWN_ENTRY
    assert added["type"] == "BitstringStatusListEntry" and added["statusPurpose"] == "revocation"
    di: DataIntegrity = app.state.services.data_integrity
    resolve = await resolver_for(client, random_slug)
    assert di.verify(vc, resolve).verified
    # The entry is under the signature: changed, the proof fails.
    tampered = copy.deepcopy(vc)
    tampered["credentialStatus"][0]["ledger"] = "https://ledger.example/entries/other"
    assert not di.verify(tampered, resolve).verified
    # Without the service's entry, the caller's stays as given (one object).
    alone = await issue(client, auth, credential, {"credentialStatus": []})
    assert alone.status_code == 201, alone.text
    assert alone.json()["verifiableCredential"]["credentialStatus"] == UNKNOWN_ENTRY


async def test_a_well_formed_caller_bitstring_entry_is_kept(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    response = await issue(
        client, auth, vc2_credential(issuer["did"], credentialStatus=[GOOD_ENTRY])
    )
    assert response.status_code == 201, response.text
    kept, added = entries(response.json()["verifiableCredential"])
    assert kept == GOOD_ENTRY
    assert added["statusListCredential"].startswith("https://credentials.example.edu/status-lists/")
    # The service's own entry still works: revoking the credential through it.
    revoke = {
        "credentialId": response.json()["verifiableCredential"]["id"],
        "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"},
        "status": True,
    }
    assert (await client.post("/credentials/status", json=revoke, headers=auth)).status_code == 200


def _placed(where: str, entry: dict[str, Any], did: str) -> tuple[dict[str, Any], str]:
    """A credential holding ``entry`` at ``where``, and the pointer to it."""
    if where == "credentialStatus":
        return vc2_credential(did, credentialStatus=entry), "/credential/credentialStatus"
    if where == "credentialStatus-list":
        return (
            vc2_credential(did, credentialStatus=[UNKNOWN_ENTRY, entry]),
            "/credential/credentialStatus/1",
        )
    if where == "subject":
        subject = {"id": "did:example:learner", "alumniOf": "Zed", "status": entry}
        return vc2_credential(
            did, credentialSubject=subject
        ), "/credential/credentialSubject/status"
    if where == "evidence":
        evidence = [{"type": ["Evidence"], "nested": {"deeper": [entry]}}]
        return vc2_credential(did, evidence=evidence), "/credential/evidence/0/nested/deeper/0"
    raise AssertionError(where)


FAULTS: dict[str, tuple[dict[str, Any], str]] = {
    "index-not-decimal": ({"statusListIndex": "0x2a"}, "/statusListIndex"),
    "index-a-number": ({"statusListIndex": 42}, "/statusListIndex"),
    "index-negative": ({"statusListIndex": "-1"}, "/statusListIndex"),
    "list-not-a-url": ({"statusListCredential": "https ://lists/7"}, "/statusListCredential"),
    "purpose-missing": ({"statusPurpose": None}, "/statusPurpose"),
    "purpose-not-a-string": ({"statusPurpose": ["revocation"]}, "/statusPurpose"),
    "size-zero": ({"statusSize": 0}, "/statusSize"),
    "size-a-string": ({"statusSize": "2"}, "/statusSize"),
    "size-2-without-messages": ({"statusSize": 2}, "/statusMessage"),
    "messages-too-few": (
        {
            "statusSize": 2,
            "statusMessage": [
                {"status": "0x0", "message": "valid"},
                {"status": "0x1", "message": "revoked"},
            ],
        },
        "/statusMessage",
    ),
    "message-status-not-hex": (
        {
            "statusSize": 1,
            "statusMessage": [
                {"status": "0", "message": "valid"},
                {"status": "0x1", "message": "revoked"},
            ],
        },
        "/statusMessage/0/status",
    ),
    "id-not-a-url": ({"id": "not a url"}, "/id"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize(
    "where", ["credentialStatus", "credentialStatus-list", "subject", "evidence"]
)
async def test_a_malformed_bitstring_entry_is_refused_under_any_property(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    where: str,
    fault: str,
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    change, suffix = FAULTS[fault]
    entry = {k: v for k, v in {**GOOD_ENTRY, **change}.items() if v is not None}
    credential, pointer = _placed(where, entry, issuer["did"])
    # The same placement with the well-formed entry passes (the control).
    good, _ = _placed(where, dict(GOOD_ENTRY), issuer["did"])
    assert (await issue(client, auth, good)).status_code == 201
    response = await issue(client, auth, credential)
    assert response.status_code == 422, response.text
    pointers = [e["pointer"] for e in problem_of(response)["errors"]]
    assert pointer + suffix in pointers, pointers


async def test_status_messages_for_a_two_bit_status_are_accepted(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    entry = {
        **GOOD_ENTRY,
        "statusPurpose": "message",
        "statusSize": 2,
        "statusMessage": [
            {"status": f"0x{value}", "message": text}
            for value, text in enumerate(["pending", "accepted", "rejected", "undefined"])
        ],
        "statusReference": "https://status.elsewhere.example/messages",
    }
    response = await issue(client, auth, vc2_credential(issuer["did"], credentialStatus=entry))
    assert response.status_code == 201, response.text
    assert entries(response.json()["verifiableCredential"])[0] == entry


@pytest.mark.parametrize(
    ("option", "purposes"),
    [
        (None, ["revocation"]),
        ({"type": "BitstringStatusListEntry"}, ["revocation"]),
        ({"type": "BitstringStatusListEntry", "statusPurpose": "suspension"}, ["suspension"]),
        (
            [
                {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"},
                {"type": "BitstringStatusListEntry", "statusPurpose": "suspension"},
            ],
            ["revocation", "suspension"],
        ),
        ([], []),
    ],
)
async def test_options_choose_the_status_the_service_adds(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    option: Any,
    purposes: list[str],
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    options = None if option is None else {"credentialStatus": option}
    response = await issue(client, auth, vc2_credential(issuer["did"]), options)
    assert response.status_code == 201, response.text
    vc = response.json()["verifiableCredential"]
    assert [e["statusPurpose"] for e in entries(vc)] == purposes
    if not purposes:
        assert "credentialStatus" not in vc
    verified = await client.post("/credentials/verify", json={"verifiableCredential": vc})
    assert verified.status_code == 200, verified.text
    if "suspension" in purposes:
        suspend = {
            "credentialId": vc["id"],
            "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "suspension"},
            "status": True,
        }
        assert (
            await client.post("/credentials/status", json=suspend, headers=auth)
        ).status_code == 200
        refused = await client.post("/credentials/verify", json={"verifiableCredential": vc})
        assert refused.status_code == 422


@pytest.mark.parametrize(
    "option",
    [
        {"type": "StatusList2021Entry"},
        {"type": "BitstringStatusListEntry", "statusPurpose": "message"},
        {"type": "BitstringStatusListEntry", "extra": 1},
        "revocation",
    ],
)
async def test_an_unsupported_status_option_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str, option: Any
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    response = await issue(
        client, auth, vc2_credential(issuer["did"]), {"credentialStatus": option}
    )
    assert response.status_code == 422, response.text
    assert all(
        e["pointer"].startswith("/options/credentialStatus") for e in problem_of(response)["errors"]
    )


def vc11_credential(did: str) -> dict[str, Any]:
    return {
        "@context": [VC11],
        "type": ["VerifiableCredential"],
        "issuer": {"id": did},
        "issuanceDate": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:learner"},
    }


async def test_a_vc_1_1_credential_gets_the_status_context_only_with_a_status(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    """Verifiers that know only the VC 1.1 and Data Integrity contexts can load a VC 1.1
    credential issued without a status: it names no other context."""
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    plain = await issue(client, auth, vc11_credential(issuer["did"]), {"credentialStatus": []})
    assert plain.status_code == 201, plain.text
    vc = plain.json()["verifiableCredential"]
    assert vc["@context"] == [VC11, "https://w3id.org/security/data-integrity/v2"]
    assert "credentialStatus" not in vc
    verified = await client.post("/credentials/verify", json={"verifiableCredential": vc})
    assert verified.status_code == 200, verified.text
    with_status = await issue(client, auth, vc11_credential(issuer["did"]))
    assert with_status.status_code == 201, with_status.text
    assert STATUS_V1 in with_status.json()["verifiableCredential"]["@context"]
