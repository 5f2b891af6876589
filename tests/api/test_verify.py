"""POST /credentials/verify with credentials from other issuers: the W3C EdDSA vectors, tampering,
bodies that are not credentials, and the bounds on work.

The helpers at the top are shared by the other verification tests.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import TypeAdapter

from app.config import Settings
from app.crypto.dataintegrity import DataIntegrity
from app.crypto.keys import KeyPair
from app.did.key import did_key_from_public_key, did_key_verification_method_id
from app.main import create_app
from app.services.verification.results import (
    CredentialVerificationResult,
    PresentationVerificationResult,
)
from tests.conftest import _empty_tables, problem_of

CREDENTIAL_VERIFICATION_REPLY = TypeAdapter(CredentialVerificationResult)
PRESENTATION_VERIFICATION_REPLY = TypeAdapter(PresentationVerificationResult)

pytestmark = pytest.mark.anyio

VECTORS = Path(__file__).resolve().parents[1] / "data" / "testvectors" / "eddsa"
SECURITY = "https://w3id.org/security#"
PROOF_VERIFICATION_ERROR = SECURITY + "PROOF_VERIFICATION_ERROR"
MALFORMED_PROOF_ERROR = SECURITY + "MALFORMED_PROOF_ERROR"
MISMATCHED_PROOF_PURPOSE_ERROR = SECURITY + "MISMATCHED_PROOF_PURPOSE_ERROR"
INVALID_VERIFICATION_METHOD = SECURITY + "INVALID_VERIFICATION_METHOD"
PROOF_TRANSFORMATION_ERROR = SECURITY + "PROOF_TRANSFORMATION_ERROR"
NOT_PINNED_FORM = "urn:microcred:problem:NOT_PINNED_FORM"
VC_DM = "https://www.w3.org/TR/vc-data-model#"
ISSUER_NOT_A_DID = "urn:microcred:problem:ISSUER_NOT_A_DID"
#: nobody vouches for the issuers of these tests (tests/api/test_trust.py for those with trust)
ISSUER_NOT_TRUSTED = "urn:microcred:problem:ISSUER_NOT_TRUSTED"

SIGNED_VECTORS = [
    "eddsa-rdfc-2022/signedDataInt.json",
    "eddsa-jcs-2022/signedJCS.json",
    "Ed25519Signature2020/signedEdSig.json",
    "proof-set-chain/signedProofSet1.json",
    "proof-set-chain/signedProofSet2.json",
    "proof-set-chain/signedProofChain1.json",
    "proof-set-chain/signedProofChain2.json",
]
SINGLE_PROOF_VECTORS = SIGNED_VECTORS[:3]


# -- helpers shared by the verification tests ---------------------------------------------------


def vector(path: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((VECTORS / path).read_text(encoding="utf-8"))
    return document


def vector_key(name: str = "") -> KeyPair:
    """The vectors' key pair (``keyPair.json``) or one of ``multiKeyPairs.json``."""
    if not name:
        return KeyPair.from_secret_multibase(vector("keyPair.json")["privateKeyMultibase"])
    pairs = vector("proof-set-chain/multiKeyPairs.json")
    return KeyPair.from_secret_multibase(pairs[name]["privateKeyMultibase"])


def did_key_method(pair: KeyPair) -> tuple[str, str]:
    """(DID, verification method id) of ``pair`` as a did:key."""
    did = did_key_from_public_key(pair.public_key)
    return did, did_key_verification_method_id(did)


def sign(
    app: FastAPI,
    document: dict[str, Any],
    pair: KeyPair,
    method_id: str,
    *,
    cryptosuite: str = "eddsa-rdfc-2022",
    replace_proof: bool = True,
    **options: Any,
) -> dict[str, Any]:
    """Sign ``document`` with real Ed25519 and the service's own Data Integrity code."""
    di: DataIntegrity = app.state.services.data_integrity
    unsigned = {k: v for k, v in document.items() if k != "proof"} if replace_proof else document
    created = options.pop("created", datetime(2026, 1, 1, tzinfo=UTC))
    return di.add_proof(
        unsigned, pair, method_id, created=created, cryptosuite=cryptosuite, **options
    )


@asynccontextmanager
async def client_without_rate_limits(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the service with rate limits off, for tests that send hundreds of requests."""
    unlimited = settings.model_copy(
        update={"rate_limit_per_key_per_minute": 0, "rate_limit_public_per_minute": 0}
    )
    application = create_app(unlimited)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    await _empty_tables(unlimited.database_url)


async def verify(
    client: httpx.AsyncClient, credential: Any, **options: Any
) -> tuple[int, dict[str, Any]]:
    """POST /credentials/verify; the reply must match the documented model exactly."""
    body: dict[str, Any] = {"verifiableCredential": credential}
    if options:
        body["options"] = options
    response = await client.post("/credentials/verify", json=body)
    assert response.status_code in (200, 422), response.text
    assert response.headers["content-type"] == "application/json"
    reply: dict[str, Any] = response.json()
    CREDENTIAL_VERIFICATION_REPLY.validate_python(reply)
    assert reply["verified"] is (response.status_code == 200)
    assert reply["problemDetails"] == reply["errors"]
    assert reply["verified"] is (not reply["errors"])
    return response.status_code, reply


async def verify_presentation(
    client: httpx.AsyncClient, presentation: Any, **options: Any
) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"verifiablePresentation": presentation}
    if options:
        body["options"] = options
    response = await client.post("/presentations/verify", json=body)
    assert response.status_code in (200, 422), response.text
    reply: dict[str, Any] = response.json()
    PRESENTATION_VERIFICATION_REPLY.validate_python(reply)
    assert reply["verified"] is (response.status_code == 200)
    assert reply["problemDetails"] == reply["errors"]
    return response.status_code, reply


def types_of(problems: list[dict[str, Any]]) -> list[str]:
    return [p["type"] for p in problems]


def errors_of(reply: dict[str, Any]) -> list[str]:
    return types_of(reply["errors"])


# -- the W3C vectors ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", SIGNED_VECTORS)
async def test_the_signed_w3c_vectors_verify(client: httpx.AsyncClient, path: str) -> None:
    credential = vector(path)
    status, reply = await verify(client, credential)
    assert status == 200, reply["errors"]
    proofs = credential["proof"] if isinstance(credential["proof"], list) else [credential["proof"]]
    shown = reply["results"]["proof"]["proofs"]
    assert [p["verificationMethod"] for p in shown] == [p["verificationMethod"] for p in proofs]
    assert all(p["verified"] for p in shown)
    assert all(p["controller"] == p["verificationMethod"].split("#")[0] for p in shown)
    assert {p["resolvedFrom"] for p in shown} == {"did:key"}
    assert reply["credential"] == credential
    assert reply["results"]["validFrom"] == {"verified": True, "value": "2023-01-01T00:00:00Z"}
    assert reply["results"]["credentialStatus"]["verified"] is None
    assert reply["checks"] == ["proof", "validFrom"]
    # The vectors' issuer is a URL, not a DID: it cannot be bound to the key (a warning).
    assert types_of(reply["warnings"]) == [ISSUER_NOT_A_DID, ISSUER_NOT_TRUSTED]
    assert reply["warnings"][0]["pointer"] == "/verifiableCredential/issuer"
    assert reply["results"]["proof"]["issuer"]["matches"] is None


async def test_a_vector_whose_issuer_is_another_did_than_the_signer_is_refused(
    client: httpx.AsyncClient,
) -> None:
    """The "employ" vector's proof is valid, but its issuer DID did not make it."""
    credential = vector("eddsa-rdfc-2022/employ/signedDataInt.json")
    status, reply = await verify(client, credential)
    assert status == 422
    assert reply["results"]["proof"]["verified"] is True
    assert errors_of(reply) == [INVALID_VERIFICATION_METHOD]
    assert reply["errors"][0]["pointer"] == "/verifiableCredential/issuer"
    issuer = reply["results"]["proof"]["issuer"]
    assert issuer["id"] == credential["issuer"]["id"]
    assert issuer["matches"] is False


# -- tampering ----------------------------------------------------------------------------------

Tamper = Callable[[dict[str, Any]], None]


def _set(path: tuple[str, ...], value: Any) -> Tamper:
    def tamper(document: dict[str, Any]) -> None:
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return tamper


def _other_signature(document: dict[str, Any]) -> None:
    # A well-formed 64-byte signature, made by the same key over another document.
    other = vector("eddsa-rdfc-2022/employ/signedDataInt.json")["proof"]["proofValue"]
    document["proof"]["proofValue"] = other


def _method_of_another_key(document: dict[str, Any]) -> None:
    _, method_id = did_key_method(vector_key("keyPair1"))
    document["proof"]["verificationMethod"] = method_id


def _unknown_context(document: dict[str, Any]) -> None:
    document["@context"] = [*document["@context"][:-1], "https://unknown.example/context/v1"]


def _remove_proof(document: dict[str, Any]) -> None:
    del document["proof"]


def _add_claim(document: dict[str, Any]) -> None:
    document["credentialSubject"]["degree"] = "Doctor of Examples"


TAMPERING: list[tuple[str, Tamper, str | dict[str, str]]] = [
    (
        "subject claim",
        _set(("credentialSubject", "alumniOf"), "Elsewhere"),
        PROOF_VERIFICATION_ERROR,
    ),
    ("added claim", _add_claim, PROOF_VERIFICATION_ERROR),
    (
        "subject id",
        _set(("credentialSubject", "id"), "did:example:other"),
        PROOF_VERIFICATION_ERROR,
    ),
    ("issuer", _set(("issuer",), "https://vc.example/issuers/9999"), PROOF_VERIFICATION_ERROR),
    ("validFrom", _set(("validFrom",), "2023-01-02T00:00:00Z"), PROOF_VERIFICATION_ERROR),
    (
        "id",
        _set(("id",), "urn:uuid:00000000-0000-4000-8000-000000000000"),
        PROOF_VERIFICATION_ERROR,
    ),
    ("name", _set(("name",), "Forged Credential"), PROOF_VERIFICATION_ERROR),
    ("type", _set(("type",), ["VerifiableCredential"]), PROOF_VERIFICATION_ERROR),
    ("proof created", _set(("proof", "created"), "2023-02-25T00:00:00Z"), PROOF_VERIFICATION_ERROR),
    ("proof created format", _set(("proof", "created"), "yesterday"), MALFORMED_PROOF_ERROR),
    ("proofValue", _other_signature, PROOF_VERIFICATION_ERROR),
    ("proofValue encoding", _set(("proof", "proofValue"), "not-base58!"), MALFORMED_PROOF_ERROR),
    (
        "proofPurpose",
        _set(("proof", "proofPurpose"), "authentication"),
        MISMATCHED_PROOF_PURPOSE_ERROR,
    ),
    ("verificationMethod", _method_of_another_key, PROOF_VERIFICATION_ERROR),
    (
        "unresolvable method",
        _set(("proof", "verificationMethod"), "did:example:123#key-1"),
        INVALID_VERIFICATION_METHOD,
    ),
    ("no proof", _remove_proof, MALFORMED_PROOF_ERROR),
    (
        "unknown context",
        _unknown_context,
        {
            "eddsa-rdfc-2022/signedDataInt.json": PROOF_TRANSFORMATION_ERROR,
            "Ed25519Signature2020/signedEdSig.json": PROOF_TRANSFORMATION_ERROR,
            # JCS never reads contexts: the signed @context no longer matches the proof's.
            "eddsa-jcs-2022/signedJCS.json": PROOF_VERIFICATION_ERROR,
        },
    ),
]


@pytest.mark.parametrize("path", SINGLE_PROOF_VECTORS)
@pytest.mark.parametrize(("field", "tamper", "expected"), TAMPERING, ids=[t[0] for t in TAMPERING])
async def test_each_tampered_field_fails_with_its_problem_type(
    client: httpx.AsyncClient,
    path: str,
    field: str,
    tamper: Tamper,
    expected: str | dict[str, str],
) -> None:
    credential = vector(path)
    tamper(credential)
    status, reply = await verify(client, credential)
    assert status == 422
    wanted = expected if isinstance(expected, str) else expected[path]
    assert errors_of(reply) == [wanted], reply["errors"]
    assert reply["errors"][0]["pointer"] == "/verifiableCredential/proof"
    assert reply["results"]["proof"]["verified"] is False
    assert reply["credential"] == credential


async def test_jcs_ignores_contexts_appended_after_signing(client: httpx.AsyncClient) -> None:
    """vc-di-eddsa (eddsa-jcs-2022 verify): only the proof's @context prefix is signed."""
    credential = vector("eddsa-jcs-2022/signedJCS.json")
    credential["@context"] = [*credential["@context"], "https://unknown.example/context/v1"]
    status, _ = await verify(client, credential)
    assert status == 200
    rdfc = vector("eddsa-rdfc-2022/signedDataInt.json")
    rdfc["@context"] = [*rdfc["@context"], "https://unknown.example/context/v1"]
    status, reply = await verify(client, rdfc)
    assert status == 422 and errors_of(reply) == [PROOF_TRANSFORMATION_ERROR]


async def test_a_changed_cryptosuite_is_not_verified(client: httpx.AsyncClient) -> None:
    credential = vector("eddsa-rdfc-2022/signedDataInt.json")
    credential["proof"]["cryptosuite"] = "eddsa-jcs-2022"
    status, reply = await verify(client, credential)
    assert status == 422 and errors_of(reply) == [PROOF_VERIFICATION_ERROR]
    credential["proof"]["cryptosuite"] = "eddsa-2099"
    status, reply = await verify(client, credential)
    assert status == 422 and errors_of(reply) == [PROOF_VERIFICATION_ERROR]
    assert "unsupported cryptosuite" in reply["errors"][0]["detail"]


async def test_one_bad_proof_of_a_set_fails_the_set_and_is_pointed_at(
    client: httpx.AsyncClient,
) -> None:
    credential = vector("proof-set-chain/signedProofSet2.json")
    credential["proof"][1]["proofValue"] = credential["proof"][0]["proofValue"]
    status, reply = await verify(client, credential)
    assert status == 422
    assert errors_of(reply) == [PROOF_VERIFICATION_ERROR]
    assert reply["errors"][0]["pointer"] == "/verifiableCredential/proof/1"
    assert [p["verified"] for p in reply["results"]["proof"]["proofs"]] == [True, False]


async def test_a_chain_missing_the_proof_it_builds_on_fails(client: httpx.AsyncClient) -> None:
    credential = vector("proof-set-chain/signedProofChain2.json")
    del credential["proof"][2]  # the proof the last one names as previousProof
    status, reply = await verify(client, credential)
    assert status == 422
    assert reply["errors"][-1]["pointer"] == "/verifiableCredential/proof/2"
    assert "previousProof" in reply["errors"][-1]["detail"]


async def test_an_undefined_term_in_a_vc_1_1_credential_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """VC 1.1 has no @vocab: pyld would silently drop the term; the verifier refuses it."""
    pair = KeyPair.generate()
    did, method_id = did_key_method(pair)
    credential = {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential"],
        "issuer": did,
        "issuanceDate": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:learner"},
    }
    signed = sign(app, credential, pair, method_id)
    status, reply = await verify(client, signed)
    assert status == 200, reply["errors"]
    assert reply["results"]["proof"]["issuer"]["matches"] is True
    assert types_of(reply["warnings"]) == [ISSUER_NOT_TRUSTED]
    signed["credentialSubject"]["unsignedClaim"] = "added later"
    status, reply = await verify(client, signed)
    assert status == 422
    assert errors_of(reply) == [NOT_PINNED_FORM]
    assert "not defined" in reply["errors"][0]["detail"]
    assert reply["errors"][0]["pointer"] == "/verifiableCredential/credentialSubject/unsignedClaim"


async def test_an_overlong_or_unsupported_did_is_an_invalid_method(
    client: httpx.AsyncClient,
) -> None:
    for method_id in (
        "did:key:z6Mk" + "a" * 600 + "#k",
        "did:example:123#key-1",
        "https://x.example/k",
    ):
        credential = vector("eddsa-rdfc-2022/signedDataInt.json")
        credential["proof"]["verificationMethod"] = method_id
        status, reply = await verify(client, credential)
        assert status == 422
        assert errors_of(reply) == [INVALID_VERIFICATION_METHOD], method_id


# -- data model and bodies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"@context": ["https://www.w3.org/ns/credentials/examples/v2"]}, "/@context/0"),
        ({"issuer": 42}, "/issuer"),
        ({"issuer": "not a url"}, "/issuer"),
        ({"id": "no-scheme"}, "/id"),
        ({"credentialSubject": []}, "/credentialSubject"),
        ({"validFrom": "1 January 2023"}, "/validFrom"),
    ],
)
async def test_data_model_faults_are_malformed_values(
    client: httpx.AsyncClient, change: dict[str, Any], pointer: str
) -> None:
    credential = {**vector("eddsa-rdfc-2022/signedDataInt.json"), **change}
    status, reply = await verify(client, credential)
    assert status == 422
    faults = [e for e in reply["errors"] if e["type"] == VC_DM + "MALFORMED_VALUE_ERROR"]
    assert [e["pointer"] for e in faults] == ["/verifiableCredential" + pointer]


async def test_a_time_without_offset_is_read_as_utc_with_a_warning_and_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """VC DM 2.0 4.9: validFrom MUST be a dateTimeStamp (with an offset): the credential is not
    verified; the time is still read as UTC (a warning), as the specification asks."""
    pair = KeyPair.generate()
    did, method_id = did_key_method(pair)
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": did,
        "validFrom": "2020-01-01T00:00:00",
        "credentialSubject": {"id": "did:example:learner"},
    }
    status, reply = await verify(client, sign(app, credential, pair, method_id))
    assert status == 422
    assert [(e["type"], e["pointer"]) for e in reply["errors"]] == [
        (VC_DM + "MALFORMED_VALUE_ERROR", "/verifiableCredential/validFrom")
    ]
    assert types_of(reply["warnings"]) == [VC_DM + "MALFORMED_VALUE_ERROR", ISSUER_NOT_TRUSTED]
    assert reply["warnings"][0]["pointer"] == "/verifiableCredential/validFrom"
    assert reply["results"]["validFrom"]["verified"] is True


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"verifiableCredential": "eyJhbGciOiJFZERTQSJ9.e30.sig"},
        {"verifiableCredential": ["a", "list"]},
        {"verifiableCredential": {"type": ["VerifiableCredential"]}},
        {"verifiableCredential": {"@context": ["https://www.w3.org/ns/credentials/v2"]}},
        {"verifiableCredential": {"@context": [], "type": "VerifiablePresentation"}},
        {"verifiableCredential": {}, "options": {"challenge": 12}},
        [],
        "a string",
    ],
)
async def test_a_body_that_is_not_a_credential_is_400(client: httpx.AsyncClient, body: Any) -> None:
    response = await client.post("/credentials/verify", json=body)
    assert response.status_code == 400, response.text
    assert problem_of(response)["type"] == VC_DM + "PARSING_ERROR"


async def test_invalid_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/credentials/verify",
        content=b'{"verifiableCredential": {',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert problem_of(response)["type"] == VC_DM + "PARSING_ERROR"


@pytest.mark.parametrize(
    "token",
    ["NaN", "Infinity", "-Infinity", "1e999", '"\\ud800"', '"x\\udfff"'],
)
@pytest.mark.parametrize("endpoint", ["/credentials/verify", "/presentations/verify"])
async def test_json_that_cannot_be_written_back_is_400(
    client: httpx.AsyncClient, endpoint: str, token: str
) -> None:
    """Python's parser accepts these; I-JSON (RFC 7493) does not, and neither do we."""
    document = vector("eddsa-rdfc-2022/signedDataInt.json")
    if endpoint == "/presentations/verify":
        document = {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiablePresentation"],
            "verifiableCredential": [document],
        }
        member = "verifiablePresentation"
    else:
        member = "verifiableCredential"
    text = json.dumps({member: document, "options": {"domain": "@@token@@"}})
    for body in (
        text.replace('"@@token@@"', token),
        text.replace('"@@token@@"', '"x"').replace('"did:example:abcdefgh"', token),
    ):
        response = await client.post(
            endpoint, content=body.encode(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, (token, response.text)
        assert problem_of(response)["type"] == VC_DM + "PARSING_ERROR"


async def test_an_oversized_body_is_413(app: FastAPI, client: httpx.AsyncClient) -> None:
    credential = vector("eddsa-rdfc-2022/signedDataInt.json")
    credential["credentialSubject"]["padding"] = "x" * app.state.services.settings.max_body_bytes
    response = await client.post("/credentials/verify", json={"verifiableCredential": credential})
    assert response.status_code == 413
    problem_of(response)


async def test_unknown_options_are_ignored(client: httpx.AsyncClient) -> None:
    credential = vector("eddsa-jcs-2022/signedJCS.json")
    status, _ = await verify(client, credential, checks=["proof"], somethingElse={"a": 1})
    assert status == 200


@pytest.mark.parametrize(
    ("dates", "problem_type", "pointer"),
    [
        ({"expirationDate": "2020-06-01T00:00:00Z"}, "CREDENTIAL_EXPIRED", "/expirationDate"),
        ({"issuanceDate": "2099-06-01T00:00:00Z"}, "CREDENTIAL_NOT_YET_VALID", "/issuanceDate"),
    ],
)
async def test_vc_1_1_dates_bound_the_validity_period(
    app: FastAPI,
    client: httpx.AsyncClient,
    dates: dict[str, str],
    problem_type: str,
    pointer: str,
) -> None:
    pair = KeyPair.generate()
    did, method_id = did_key_method(pair)
    credential = {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential"],
        "issuer": did,
        "issuanceDate": "2020-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:learner"},
        **dates,
    }
    status, reply = await verify(client, sign(app, credential, pair, method_id))
    assert status == 422
    assert errors_of(reply) == ["urn:microcred:problem:" + problem_type]
    assert reply["errors"][0]["pointer"] == "/verifiableCredential" + pointer


ODD_VALUES: list[Any] = [
    None,
    0,
    -1,
    1.5,
    True,
    "",
    "x",
    "did:web:%00",
    "did:web:127.0.0.1",
    "did:key:z",
    [],
    [None],
    {},
    {"id": 1},
    [{"id": {}, "type": []}],
    {"type": "BitstringStatusListEntry", "statusListIndex": "9" * 40},
    json.loads("[" * 40 + "]" * 40),  # deep, yet within the request limits (app/limits.py)
]
ODD_PLACES: list[tuple[str, ...]] = [
    ("@context",),
    ("id",),
    ("issuer",),
    ("validFrom",),
    ("validUntil",),
    ("credentialSubject",),
    ("credentialStatus",),
    ("credentialSchema",),
    ("proof",),
    ("proof", "type"),
    ("proof", "cryptosuite"),
    ("proof", "verificationMethod"),
    ("proof", "proofValue"),
    ("proof", "previousProof"),
    ("proof", "domain"),
    ("proof", "@context"),
]


async def test_odd_values_anywhere_give_a_result_never_a_500(settings: Settings) -> None:
    async with client_without_rate_limits(settings) as client:
        for path in ("eddsa-rdfc-2022/signedDataInt.json", "eddsa-jcs-2022/signedJCS.json"):
            for place in ODD_PLACES:
                for value in ODD_VALUES:
                    credential = vector(path)
                    _set(place, copy.deepcopy(value))(credential)
                    await _post_odd(client, credential, (path, place, value))


async def _post_odd(client: httpx.AsyncClient, credential: Any, case: Any) -> None:
    response = await client.post("/credentials/verify", json={"verifiableCredential": credential})
    # 200 is possible too: a JSON-LD null (or an unused member) signs as absent.
    assert response.status_code in (200, 400, 422), case
    if response.status_code == 400:
        problem_of(response)
    else:
        CREDENTIAL_VERIFICATION_REPLY.validate_python(response.json())


# -- bounded work -------------------------------------------------------------------------------


async def test_more_than_ten_proofs_are_not_verified(client: httpx.AsyncClient) -> None:
    credential = vector("proof-set-chain/signedProofSet2.json")
    credential["proof"] = [copy.deepcopy(credential["proof"][0]) for _ in range(11)]
    status, reply = await verify(client, credential)
    assert status == 422
    assert errors_of(reply) == [MALFORMED_PROOF_ERROR]
    assert "at most 10" in reply["errors"][0]["detail"]


async def test_ten_proofs_are_verified(app: FastAPI, client: httpx.AsyncClient) -> None:
    pair = vector_key()
    _, method_id = did_key_method(pair)
    credential = vector("eddsa-rdfc-2022/signedDataInt.json")
    for _ in range(9):
        credential = sign(app, credential, pair, method_id, replace_proof=False)
    assert len(credential["proof"]) == 10
    status, reply = await verify(client, credential)
    assert status == 200, reply["errors"]
    assert len(reply["results"]["proof"]["proofs"]) == 10


async def test_too_many_status_entries_are_not_checked(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    pair = KeyPair.generate()
    did, method_id = did_key_method(pair)
    entry = {
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "1",
        "statusListCredential": "https://status.example/lists/1",
    }
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": did,
        "credentialSubject": {"id": "did:example:learner"},
        "credentialStatus": [
            {**entry, "id": f"https://status.example/lists/1#{i}"} for i in range(9)
        ],
    }
    status, reply = await verify(client, sign(app, credential, pair, method_id))
    assert status == 422
    assert errors_of(reply) == [VC_DM + "RANGE_ERROR"]
    assert reply["results"]["credentialStatus"]["verified"] is False
