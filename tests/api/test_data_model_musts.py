"""Each MUST of VC Data Model 2.0 sections 4 and 5 (https://www.w3.org/TR/vc-data-model-2.0/),
on both sides: ``POST /credentials/issue`` refuses a document that breaks it (422, a pointer at
the value), and ``POST /credentials/verify`` does not verify one, correctly signed, that breaks
it (422, a ``MALFORMED_VALUE_ERROR`` pointing at the value). One rule set serves both
(app/credentials/datamodel.py); each case's id names its section."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import base58
import httpx
import pytest
from fastapi import FastAPI

from app.crypto.keys import KeyPair
from app.resources import CONTEXTS_DIR
from tests.api.test_verify import VC_DM, did_key_method, sign, verify
from tests.factories import issuer_with_key, vc2_credential

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.anyio

EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"
BAD_URL = "https ://not-a-url/x"
MALFORMED = VC_DM + "MALFORMED_VALUE_ERROR"


def examples_bytes() -> bytes:
    """The vendored bytes of the examples context (the service holds them)."""
    import json

    index = json.loads((CONTEXTS_DIR / "index.json").read_text())
    name: str = index[EXAMPLES]["file"]
    return (CONTEXTS_DIR / name).read_bytes()


def sri(data: bytes, algorithm: str = "sha384") -> str:
    return f"{algorithm}-" + base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


def multibase_sha256(data: bytes) -> str:
    return "z" + base58.b58encode(b"\x12\x20" + hashlib.sha256(data).digest()).decode()


Change = Callable[[dict[str, Any]], None]


def _set(**members: Any) -> Change:
    def change(credential: dict[str, Any]) -> None:
        credential.update(members)

    return change


def _subject(**members: Any) -> Change:
    def change(credential: dict[str, Any]) -> None:
        credential["credentialSubject"] = {**credential["credentialSubject"], **members}

    return change


def _issuer_object(**members: Any) -> Change:
    def change(credential: dict[str, Any]) -> None:
        credential["issuer"] = {"id": credential["issuer"], **members}

    return change


TYPED = {"type": "ExampleType"}

#: (section and MUST, the change that breaks it, the pointer at the value)
MUSTS: list[tuple[str, Change, str]] = [
    (
        "4.3 @context is an ordered set",
        _set(
            **{"@context": "https://www.w3.org/ns/credentials/v2"},
            type=["VerifiableCredential"],
            credentialSubject={"id": "did:example:learner"},
        ),
        "/@context",
    ),
    (
        "4.3 further contexts are URLs or objects",
        lambda c: c.update({"@context": [*c["@context"], "not a url"]}),
        "/@context/2",
    ),
    ("4.4 the credential id is a URL", _set(id=BAD_URL), "/id"),
    ("4.4 a subject id is a URL", _subject(id=BAD_URL), "/credentialSubject/id"),
    (
        "4.4 a status entry id is a URL",
        _set(credentialStatus={"id": BAD_URL, **TYPED}),
        "/credentialStatus/id",
    ),
    (
        "4.4 a schema id is a URL",
        _set(credentialSchema={"id": BAD_URL, **TYPED}),
        "/credentialSchema/id",
    ),
    (
        "4.4 a related resource id is a URL",
        _set(relatedResource=[{"id": BAD_URL, "digestSRI": sri(b"x")}]),
        "/relatedResource/0/id",
    ),
    ("4.6 name is a string or language values", _set(name=42), "/name"),
    (
        "4.6 description is a string or language values",
        _set(description=["plain", "strings"]),
        "/description",
    ),
    (
        "4.6 a language value has a well-formed tag",
        _set(name={"@value": "Zed", "@language": "not a tag"}),
        "/name",
    ),
    (
        "4.6 the issuer's name is a string or language values",
        _issuer_object(name=7),
        "/issuer/name",
    ),
    ("4.7 the issuer is a URL", _set(issuer=BAD_URL), "/issuer"),
    ("4.8 credentialSubject holds claims", _set(credentialSubject={}), "/credentialSubject"),
    ("4.9 validFrom is a dateTimeStamp", _set(validFrom="1 January 2026"), "/validFrom"),
    ("4.9 validFrom has a time zone offset", _set(validFrom="2026-01-01T00:00:00"), "/validFrom"),
    ("4.9 validUntil is a dateTimeStamp", _set(validUntil="2030-02-30T00:00:00Z"), "/validUntil"),
    (
        "4.9 validFrom is not after validUntil",
        _set(validFrom="2026-01-02T00:00:00Z", validUntil="2026-01-01T00:00:00Z"),
        "/validUntil",
    ),
    (
        "4.10 a status entry has a type",
        _set(credentialStatus={"id": "https://example.edu/status/1"}),
        "/credentialStatus/type",
    ),
    (
        "4.11 a schema has a type",
        _set(credentialSchema={"id": "https://example.edu/schema.json"}),
        "/credentialSchema/type",
    ),
    ("4.11 a schema has an id", _set(credentialSchema=TYPED), "/credentialSchema/id"),
    ("5.3 relatedResource holds one or more objects", _set(relatedResource=[]), "/relatedResource"),
    (
        "5.3 a related resource has an id",
        _set(relatedResource=[{"digestSRI": sri(b"x")}]),
        "/relatedResource/0/id",
    ),
    (
        "5.3 related resource ids are unique",
        _set(relatedResource=[{"id": "https://example.edu/a", "digestSRI": sri(b"a")}] * 2),
        "/relatedResource/1/id",
    ),
    (
        "5.3 a related resource has a digest",
        _set(relatedResource=[{"id": "https://example.edu/a"}]),
        "/relatedResource/0",
    ),
    (
        "5.3 digestSRI is an SRI digest",
        _set(relatedResource=[{"id": "https://example.edu/a", "digestSRI": "md5-abc"}]),
        "/relatedResource/0/digestSRI",
    ),
    (
        "5.3 digestMultibase is a multibase multihash",
        _set(relatedResource=[{"id": "https://example.edu/a", "digestMultibase": "zNotHash"}]),
        "/relatedResource/0/digestMultibase",
    ),
    (
        "5.3 the digestSRI of a held context matches its bytes",
        _set(relatedResource=[{"id": EXAMPLES, "digestSRI": sri(b"other bytes")}]),
        "/relatedResource/0/digestSRI",
    ),
    (
        "5.3 the digestMultibase of a held context matches its bytes",
        _set(relatedResource=[{"id": EXAMPLES, "digestMultibase": multibase_sha256(b"other")}]),
        "/relatedResource/0/digestMultibase",
    ),
    (
        "5.4 a refresh service has a type",
        _set(refreshService={"id": "https://example.edu/refresh"}),
        "/refreshService/type",
    ),
    (
        "5.5 terms of use have a type",
        _set(termsOfUse=[{"id": "https://example.edu/tou"}]),
        "/termsOfUse/0/type",
    ),
    (
        "5.6 evidence has a type",
        _set(evidence=[{"id": "https://example.edu/e/1"}]),
        "/evidence/0/type",
    ),
]
CASES = [pytest.param(change, pointer, id=name) for name, change, pointer in MUSTS]
#: a context no one holds cannot be signed: these are eddsa-jcs-2022 credentials whose context
#: is changed after signing, outside the proof's signed @context prefix
SIGNED_WITH_JCS = {"4.3 further contexts are URLs or objects"}


def conforming(issuer: str) -> dict[str, Any]:
    """A VC 2.0 credential that uses every member the rules look at, each as it must be."""
    return vc2_credential(
        issuer,
        id="https://example.edu/credentials/3732",
        name=[{"@value": "Alumni", "@language": "en"}, {"@value": "Alumni", "@language": "ga"}],
        description="Alumni of the University of Zed",
        validUntil="2036-01-01T00:00:00Z",
        credentialSchema={"id": "https://example.edu/schema.json", "type": "ExampleSchema"},
        relatedResource=[
            {"id": EXAMPLES, "digestSRI": sri(examples_bytes())},
            {"id": EXAMPLES + "#copy", "digestMultibase": multibase_sha256(b"not held")},
        ],
        refreshService={"id": "https://example.edu/refresh", "type": "ExampleRefresh"},
        termsOfUse=[{"type": "ExampleTermsOfUse"}],
        evidence=[{"id": "https://example.edu/evidence/1", "type": ["ExampleEvidence"]}],
    )


def broken(issuer: str, change: Change) -> dict[str, Any]:
    credential = vc2_credential(issuer)
    change(credential)
    return credential


async def test_the_conforming_credential_is_issued_and_verified(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    # The control of the cases below: with every member as it must be, both sides accept.
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    response = await client.post(
        "/credentials/issue", json={"credential": conforming(issuer["did"])}, headers=auth
    )
    assert response.status_code == 201, response.text
    status, reply = await verify(client, response.json()["verifiableCredential"])
    assert status == 200, reply["errors"]


@pytest.mark.parametrize(("change", "pointer"), CASES)
async def test_the_issuer_refuses_a_credential_that_breaks_a_must(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    change: Change,
    pointer: str,
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    credential = broken(issuer["did"], change)
    response = await client.post(
        "/credentials/issue", json={"credential": credential}, headers=auth
    )
    assert response.status_code == 422, response.text
    pointers = [error["pointer"] for error in response.json()["errors"]]
    assert "/credential" + pointer in pointers, pointers


@pytest.mark.parametrize(("change", "pointer"), CASES)
async def test_the_verifier_refuses_a_signed_credential_that_breaks_a_must(
    app: FastAPI,
    client: httpx.AsyncClient,
    change: Change,
    pointer: str,
    request: pytest.FixtureRequest,
) -> None:
    pair = KeyPair.generate()
    did, method_id = did_key_method(pair)
    jcs = any(name in request.node.name for name in SIGNED_WITH_JCS)
    if jcs:
        # No signer here takes a context it cannot read (eddsa-jcs-2022 expands strictly too):
        # signed as it must be, then the context appended after its proof's signed prefix.
        signed = sign(app, conforming(did), pair, method_id, cryptosuite="eddsa-jcs-2022")
        change(signed)
    else:
        signed = sign(app, broken(did, change), pair, method_id)
    status, reply = await verify(client, signed)
    assert status == 422 and reply["verified"] is False
    malformed = [e["pointer"] for e in reply["errors"] if e["type"] == MALFORMED]
    assert "/verifiableCredential" + pointer in malformed, reply["errors"]


async def test_the_verifier_accepts_the_conforming_credential_signed_elsewhere(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    pair = KeyPair.generate()
    did, method_id = did_key_method(pair)
    status, reply = await verify(client, sign(app, conforming(did), pair, method_id))
    assert status == 200, reply["errors"]
