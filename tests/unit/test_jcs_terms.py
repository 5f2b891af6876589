"""eddsa-jcs-2022 refuses undefined terms as eddsa-rdfc-2022 does (SECURITY.md), with the same
strict JSON-LD expansion; a cache keyed by the document's shape keeps it fast."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from app.crypto.cryptosuites import EDDSA_JCS_2022, EDDSA_RDFC_2022, sha256
from app.crypto.dataintegrity import DataIntegrity
from app.crypto.errors import ProofError
from app.crypto.jcs import canonical_json
from app.crypto.keys import KeyPair, multibase_base58btc_encode
from app.crypto.resolvers import resolve_did_key_method
from app.did.key import did_key_from_public_key, did_key_verification_method_id
from app.jsonld import JsonLdProcessingError, OfflineDocumentLoader, UndefinedTermError
from app.jsonld.terms import DefinedTermsCheck

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
VC_V2 = "https://www.w3.org/ns/credentials/v2"


def credential(number: int = 1, **subject: Any) -> dict[str, Any]:
    return {
        "@context": [VC_V2],
        "id": f"urn:uuid:6a9c1f2e-0d3b-4c57-9e8a-2f4b7c1d5e{number:02d}",
        "type": ["VerifiableCredential"],
        "issuer": "did:example:issuer",
        "validFrom": f"2024-01-{number:02d}T00:00:00Z",
        "name": f"Certificate number {number}",
        "credentialSubject": {"id": f"did:example:subject-{number}", **subject},
    }


UNDEFINED: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("a property", lambda d: d["credentialSubject"].update(grade="A+")),
    ("a type", lambda d: d.update(type=["VerifiableCredential", "MadeUpCredential"])),
    ("a nested property", lambda d: d.update(evidence=[{"id": "urn:x", "grade": "A"}])),
]


@pytest.mark.parametrize(("what", "change"), UNDEFINED, ids=[u[0] for u in UNDEFINED])
def test_signing_with_jcs_refuses_an_undefined_term_as_rdfc_does(
    data_integrity: DataIntegrity, what: str, change: Any
) -> None:
    key = KeyPair.generate()
    method = did_key_verification_method_id(did_key_from_public_key(key.public_key))
    document = credential()
    change(document)
    errors = []
    for suite in (EDDSA_RDFC_2022, EDDSA_JCS_2022):
        with pytest.raises(ProofError) as raised:
            data_integrity.add_proof(document, key, method, created=NOW, cryptosuite=suite)
        errors.append(raised.value)
    assert type(errors[0]) is type(errors[1])
    assert isinstance(errors[1].__cause__, UndefinedTermError), what


def _jcs_signed_without_checks(document: dict[str, Any], key: KeyPair) -> dict[str, Any]:
    """What another implementation (one that checks nothing) signs with eddsa-jcs-2022."""
    method = did_key_verification_method_id(did_key_from_public_key(key.public_key))
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": EDDSA_JCS_2022,
        "created": "2026-01-01T00:00:00Z",
        "verificationMethod": method,
        "proofPurpose": "assertionMethod",
        "@context": document["@context"],
    }
    data = sha256(canonical_json(proof).encode()) + sha256(canonical_json(document).encode())
    return {
        **document,
        "proof": {**proof, "proofValue": multibase_base58btc_encode(key.sign(data))},
    }


def test_verifying_jcs_refuses_a_signed_undefined_term(data_integrity: DataIntegrity) -> None:
    key = KeyPair.generate()
    plain = _jcs_signed_without_checks(credential(), key)
    assert data_integrity.verify(plain, resolve_did_key_method, now=NOW).verified

    document = credential(grade="A+")
    result = data_integrity.verify(
        _jcs_signed_without_checks(document, key), resolve_did_key_method, now=NOW
    )
    assert not result.verified
    [error] = result.errors
    assert isinstance(error.__cause__, UndefinedTermError)


def test_documents_of_one_shape_are_expanded_once(loader: OfflineDocumentLoader) -> None:
    check = DefinedTermsCheck(loader)
    for number in range(1, 6):
        check.check(credential(number))
    assert check.expanded == 1


def test_the_cache_never_lets_an_undefined_term_through(loader: OfflineDocumentLoader) -> None:
    check = DefinedTermsCheck(loader)
    check.check(credential(1))
    refused: list[dict[str, Any]] = []
    for _, change in UNDEFINED:
        document = credential(2)
        change(document)
        refused.append(document)
    # A value where a term or type is expected (no colon: a relative IRI, undefined).
    typed = credential(3)
    typed["credentialSubject"]["type"] = "Learner"
    refused.append(typed)
    relative_id = credential(4)
    relative_id["credentialSubject"]["id"] = "subject-4"
    refused.append(relative_id)
    for document in refused:
        for _ in range(2):
            with pytest.raises(Exception) as raised:
                check.check(copy.deepcopy(document))
            assert "not defined" in str(raised.value) or "relative" in str(raised.value)


def test_inline_contexts_are_checked_every_time(loader: OfflineDocumentLoader) -> None:
    check = DefinedTermsCheck(loader)
    document = credential(1, grade="A+")
    document["@context"] = [VC_V2, {"grade": "https://example.org/vocab#grade"}]
    check.check(document)
    check.check(document)
    assert check.expanded == 2
    document["@context"] = [VC_V2, {"score": "https://example.org/vocab#score"}]
    with pytest.raises(UndefinedTermError):
        check.check(document)


TRICKY = [
    "https://example.org/a",
    "https://example.org/a b",
    "urn:x\n",
    "urn:x\n\n",
    "urn:x\ty",
    "2026-01-01T00:00:00Z",
    "_:b0",
    "a+b.c-d:x",
    "+a:x",
    "xsd:date time",
    "did:key:z6Mk",
    "mailto:a@b.example",
    ":x",
    "a:",
    "a:\u00a0",
]


@pytest.mark.parametrize("value", TRICKY)
def test_the_shape_keeps_what_pyld_reads_of_an_iri(value: str) -> None:
    """Whether pyld takes a string for an absolute IRI, and whether it holds whitespace, are
    kept in the shape (pyld's value-object @type check depends on them)."""
    from app.jsonld.terms import _placeholder

    absolute = re.match(r"^([A-Za-z][A-Za-z0-9+-.]*|_):[^\s]*$", value) is not None  # pyld's
    shape = _placeholder(value, frozenset({"xsd"}))
    assert shape.startswith("\x00")
    prefix = value.partition(":")[0]
    assert shape.endswith("a") == absolute, shape
    assert shape.endswith(" ") == (not absolute and any(c.isspace() for c in value))
    assert (prefix in ("xsd", "_")) == shape.startswith(f"\x00{prefix}:") or prefix == ""


def test_credentials_differing_in_their_values_share_a_shape(
    loader: OfflineDocumentLoader,
) -> None:
    check = DefinedTermsCheck(loader)
    for number in range(1, 4):
        document = credential(number)
        document["credentialStatus"] = {
            "id": f"https://example.edu/status/1#{number * 7919}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(number * 7919),
            "statusListCredential": "https://example.edu/status/1",
        }
        document["credentialSubject"]["name"] = f"Learner Number{number}"
        check.check(document)
    assert check.expanded == 1


def test_a_direction_other_than_ltr_or_rtl_is_never_taken_from_the_cache(
    loader: OfflineDocumentLoader,
) -> None:
    check = DefinedTermsCheck(loader)
    document = credential(1)
    document["name"] = {"@value": "Certificate", "@direction": "ltr"}
    check.check(document)
    document["name"] = {"@value": "Certificate", "@direction": "sideways"}
    with pytest.raises(JsonLdProcessingError):
        check.check(document)
