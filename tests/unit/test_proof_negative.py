"""Every way a proof must fail, and the error type each failure reports.

Expected error per one-character change (verified with the vectors' did:key resolver):

- a credentialSubject value: ProofVerificationError (signature mismatch)
- ``type`` (``DataIntegrityProog``): ProofVerificationError (unsupported proof type)
- ``cryptosuite`` (``eddsa-*-2023``): ProofVerificationError (unsupported cryptosuite)
- ``created`` one second later, still a dateTime: ProofVerificationError (signature mismatch)
- ``created`` ending in ``X``, no longer a dateTime: MalformedProofError
- ``verificationMethod`` (last character of the fragment): InvalidVerificationMethodError
- ``proofPurpose`` (``assertionMethoD``): MismatchedProofPurposeError
- ``proofValue`` (one base58 character): ProofVerificationError (signature mismatch)
- ``@context`` of a jcs proof (``examples/v3``): ProofVerificationError (the document's
  ``@context`` no longer starts with the proof's)
"""

from __future__ import annotations

import copy
import hashlib
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import base58
import pytest
from pyld import jsonld

from app.crypto.cryptosuites import Cryptosuite
from app.crypto.dataintegrity import DataIntegrity, VerifyResult
from app.crypto.errors import (
    InvalidChallengeError,
    InvalidDomainError,
    InvalidVerificationMethodError,
    MalformedProofError,
    MismatchedProofPurposeError,
    ProofError,
    ProofGenerationError,
    ProofTransformationError,
    ProofVerificationError,
)
from app.crypto.keys import KeyPair, multibase_base58btc_encode
from app.crypto.resolvers import resolve_did_key_method
from app.jsonld import (
    JsonLdProcessingError,
    OfflineDocumentLoader,
    PyldCanonicalizer,
    UndefinedTermError,
    UnknownContextError,
)

JsonReader = Callable[[str], Any]  # the read_vector fixture

SECURITY = "https://w3id.org/security#"
#: The Data Integrity processing error URLs (https://www.w3.org/TR/vc-data-integrity/#processing-errors).
SPEC_TYPES: dict[type[ProofError], str] = {
    ProofGenerationError: SECURITY + "PROOF_GENERATION_ERROR",
    ProofVerificationError: SECURITY + "PROOF_VERIFICATION_ERROR",
    ProofTransformationError: SECURITY + "PROOF_TRANSFORMATION_ERROR",
    MalformedProofError: SECURITY + "MALFORMED_PROOF_ERROR",
    MismatchedProofPurposeError: SECURITY + "MISMATCHED_PROOF_PURPOSE_ERROR",
    InvalidDomainError: SECURITY + "INVALID_DOMAIN_ERROR",
    InvalidChallengeError: SECURITY + "INVALID_CHALLENGE_ERROR",
}

SIGNED_VECTORS = {
    "eddsa-rdfc-2022": "eddsa-rdfc-2022/signedDataInt.json",
    "eddsa-jcs-2022": "eddsa-jcs-2022/signedJCS.json",
    "Ed25519Signature2020": "Ed25519Signature2020/signedEdSig.json",
}
JSON_LD_SUITES = ["eddsa-rdfc-2022", "Ed25519Signature2020"]
DATA_INTEGRITY_SUITES = ["eddsa-rdfc-2022", "eddsa-jcs-2022"]
VC_V2 = "https://www.w3.org/ns/credentials/v2"
ED25519_2020_CONTEXT = "https://w3id.org/security/suites/ed25519-2020/v1"
CREATED = datetime(2024, 3, 1, 9, 30, 0, tzinfo=UTC)
OTHER_SEED = bytes(range(32))


def the_only_error(result: VerifyResult) -> ProofError:
    """The error of a single-proof document that must not verify."""
    assert not result.verified
    [proof_result] = result.proofs
    assert not proof_result.verified
    assert proof_result.error is not None
    return proof_result.error


def assert_error(error: ProofError, expected: type[ProofError]) -> None:
    assert type(error) is expected, f"{type(error).__name__}: {error}"
    if expected in SPEC_TYPES:
        assert error.type == SPEC_TYPES[expected]


def cause_chain(error: BaseException, limit: int = 50) -> list[BaseException]:
    """The exceptions an error was caused by; fails on a cycle instead of looping forever."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None:
        assert len(chain) < limit, "exception chain does not end (cycle?)"
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def replace_char(value: str, index: int, replacement: str) -> str:
    assert value[index] != replacement
    return value[:index] + replacement + value[index + 1 :]


def v2_credential(suite: str = "eddsa-rdfc-2022") -> dict[str, Any]:
    """A VC 2.0 credential using only terms of its contexts (the v2 context has no @vocab)."""
    contexts = [VC_V2, ED25519_2020_CONTEXT] if suite == "Ed25519Signature2020" else [VC_V2]
    return {
        "@context": contexts,
        "id": "urn:uuid:6a9c1f2e-0d3b-4c57-9e8a-2f4b7c1d5e60",
        "type": ["VerifiableCredential"],
        "issuer": "did:example:issuer",
        "validFrom": "2024-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject"},
    }


# -- tampering with the signed vectors -------------------------------------------------------

DOCUMENT_TAMPERING = [
    ("eddsa-rdfc-2022/signedDataInt.json", "alumniOf", "The School of Examplez"),
    ("eddsa-rdfc-2022/employ/signedDataInt.json", "givenName", "JOHM"),
    ("eddsa-jcs-2022/signedJCS.json", "alumniOf", "The School of Examplez"),
    ("Ed25519Signature2020/signedEdSig.json", "alumniOf", "The School of Examplez"),
]


@pytest.mark.parametrize(("signed_file", "claim", "changed"), DOCUMENT_TAMPERING)
def test_one_changed_character_in_a_claim_fails_the_signature(
    signed_file: str,
    claim: str,
    changed: str,
    read_vector: JsonReader,
    data_integrity: DataIntegrity,
    now: datetime,
) -> None:
    document = read_vector(signed_file)
    original = document["credentialSubject"][claim]
    assert len(original) == len(changed)
    assert sum(a != b for a, b in zip(original, changed, strict=True)) == 1
    document["credentialSubject"][claim] = changed

    error = the_only_error(data_integrity.verify(document, resolve_did_key_method, now=now))

    assert_error(error, ProofVerificationError)
    assert "signature" in error.detail


def _tamper(field: str, value: Any) -> Any:
    if field == "type":
        return {"DataIntegrityProof": "DataIntegrityProog"}.get(value, "Ed25519Signature2021")
    if field == "cryptosuite":
        return replace_char(value, len(value) - 1, "3")
    if field == "created-valid":
        return replace_char(value, len(value) - 2, "9")  # ...:38Z -> ...:39Z
    if field == "created-malformed":
        return replace_char(value, len(value) - 1, "X")
    if field == "verificationMethod":
        return replace_char(value, len(value) - 1, "3")  # ...bTQ2 -> ...bTQ3
    if field == "proofPurpose":
        return replace_char(value, len(value) - 1, "D")
    if field == "proofValue":
        return replace_char(value, 20, "1" if value[20] != "1" else "2")
    if field == "@context":
        return [*value[:-1], replace_char(value[-1], len(value[-1]) - 1, "3")]
    raise AssertionError(field)


PROOF_FIELD_TAMPERING: list[tuple[str, str, type[ProofError]]] = [
    *[(suite, "type", ProofVerificationError) for suite in SIGNED_VECTORS],
    *[(suite, "cryptosuite", ProofVerificationError) for suite in DATA_INTEGRITY_SUITES],
    *[(suite, "created-valid", ProofVerificationError) for suite in SIGNED_VECTORS],
    *[(suite, "created-malformed", MalformedProofError) for suite in SIGNED_VECTORS],
    *[(suite, "verificationMethod", InvalidVerificationMethodError) for suite in SIGNED_VECTORS],
    *[(suite, "proofPurpose", MismatchedProofPurposeError) for suite in SIGNED_VECTORS],
    *[(suite, "proofValue", ProofVerificationError) for suite in SIGNED_VECTORS],
    ("eddsa-jcs-2022", "@context", ProofVerificationError),
]


@pytest.mark.parametrize(("suite", "field", "expected"), PROOF_FIELD_TAMPERING)
def test_one_changed_character_in_a_proof_field_fails_with_its_error(
    suite: str,
    field: str,
    expected: type[ProofError],
    read_vector: JsonReader,
    data_integrity: DataIntegrity,
    now: datetime,
) -> None:
    document = read_vector(SIGNED_VECTORS[suite])
    key = field.split("-", 1)[0]
    document["proof"][key] = _tamper(field, document["proof"][key])

    error = the_only_error(data_integrity.verify(document, resolve_did_key_method, now=now))

    assert_error(error, expected)


@pytest.mark.parametrize("suite", list(SIGNED_VECTORS))
def test_proof_purpose_is_signed_even_when_the_verifier_expects_the_new_one(
    suite: str, read_vector: JsonReader, data_integrity: DataIntegrity, now: datetime
) -> None:
    """did:key authorizes the same key for authentication, so only the signature can catch it."""
    document = read_vector(SIGNED_VECTORS[suite])
    document["proof"]["proofPurpose"] = "authentication"

    result = data_integrity.verify(
        document, resolve_did_key_method, expected_purpose="authentication", now=now
    )

    assert_error(the_only_error(result), ProofVerificationError)


@pytest.mark.parametrize("suite", list(SIGNED_VECTORS))
def test_signature_by_another_key_claiming_the_vector_method_fails(
    suite: str,
    read_vector: JsonReader,
    data_integrity: DataIntegrity,
    vector_method: str,
    now: datetime,
) -> None:
    genuine = read_vector(SIGNED_VECTORS[suite])
    unsigned = {k: v for k, v in genuine.items() if k != "proof"}
    impostor = KeyPair(OTHER_SEED)
    forged = data_integrity.add_proof(
        unsigned,
        impostor,
        vector_method,
        created=datetime.fromisoformat(genuine["proof"]["created"].replace("Z", "+00:00")),
        cryptosuite=genuine["proof"].get("cryptosuite", genuine["proof"]["type"]),
    )
    assert {k: v for k, v in forged["proof"].items() if k != "proofValue"} == {
        k: v for k, v in genuine["proof"].items() if k != "proofValue"
    }

    error = the_only_error(data_integrity.verify(forged, resolve_did_key_method, now=now))

    assert_error(error, ProofVerificationError)
    assert "signature" in error.detail


# -- suites and proof shapes -----------------------------------------------------------------


def test_signing_with_an_unknown_cryptosuite_is_a_generation_error(
    read_vector: JsonReader, data_integrity: DataIntegrity, vector_key: KeyPair, vector_method: str
) -> None:
    with pytest.raises(ProofGenerationError) as caught:
        data_integrity.add_proof(
            read_vector("unsigned.json"),
            vector_key,
            vector_method,
            created=CREATED,
            cryptosuite="ecdsa-rdfc-2019",
        )
    assert caught.value.type == SPEC_TYPES[ProofGenerationError]


UNSUPPORTED_PROOFS: list[tuple[str, dict[str, Any], type[ProofError]]] = [
    ("unknown-cryptosuite", {"cryptosuite": "ecdsa-rdfc-2019"}, ProofVerificationError),
    ("legacy-name-as-cryptosuite", {"cryptosuite": "Ed25519Signature2020"}, ProofVerificationError),
    ("cryptosuite-not-a-string", {"cryptosuite": ["eddsa-rdfc-2022"]}, MalformedProofError),
    ("unknown-proof-type", {"type": "RsaSignature2018"}, ProofVerificationError),
    ("verification-method-missing", {"verificationMethod": None}, MalformedProofError),
]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [(changes, expected) for _, changes, expected in UNSUPPORTED_PROOFS],
    ids=[name for name, _, _ in UNSUPPORTED_PROOFS],
)
def test_unsupported_or_incomplete_proof_fails_with_its_error(
    changes: dict[str, Any],
    expected: type[ProofError],
    read_vector: JsonReader,
    data_integrity: DataIntegrity,
    now: datetime,
) -> None:
    document = read_vector(SIGNED_VECTORS["eddsa-rdfc-2022"])
    document["proof"].update(changes)
    document["proof"] = {k: v for k, v in document["proof"].items() if v is not None}

    error = the_only_error(data_integrity.verify(document, resolve_did_key_method, now=now))

    assert_error(error, expected)


@pytest.mark.parametrize(
    "proof",
    [
        None,
        [],
        "z2YwC8z3ap7yx1nZYCg4L3j3ApHsF8kgPdSb5xoS1VR7vPG3F561B52hYnQF9iseabecm3ijx4K1FBTQsCZahKZme",
    ],
    ids=["no-proof", "empty-proof-set", "proof-not-an-object"],
)
def test_document_without_a_usable_proof_is_malformed(
    proof: Any, read_vector: JsonReader, data_integrity: DataIntegrity, now: datetime
) -> None:
    document = read_vector("eddsa-rdfc-2022/signedDataInt.json")
    if proof is None:
        del document["proof"]
    else:
        document["proof"] = proof

    error = the_only_error(data_integrity.verify(document, resolve_did_key_method, now=now))

    assert_error(error, MalformedProofError)


def _signature_of(signed: dict[str, Any]) -> bytes:
    return bytes(base58.b58decode(signed["proof"]["proofValue"][1:]))


MALFORMED_PROOF_VALUES: list[tuple[str, Callable[[str, bytes], Any]]] = [
    ("missing-z", lambda value, signature: value[1:]),
    ("not-base58", lambda value, signature: "z0OIl" + value[5:]),
    ("63-bytes", lambda value, signature: multibase_base58btc_encode(signature[:63])),
    ("65-bytes", lambda value, signature: multibase_base58btc_encode(signature + b"\x00")),
    ("base64url-multibase", lambda value, signature: "u" + value[1:]),
    ("only-the-prefix", lambda value, signature: "z"),
    ("not-a-string", lambda value, signature: 12345),
]


@pytest.mark.parametrize(
    "make", [make for _, make in MALFORMED_PROOF_VALUES], ids=[n for n, _ in MALFORMED_PROOF_VALUES]
)
@pytest.mark.parametrize("suite", list(SIGNED_VECTORS))
def test_malformed_proof_value_is_a_malformed_proof(
    make: Callable[[str, bytes], Any],
    suite: str,
    read_vector: JsonReader,
    data_integrity: DataIntegrity,
    now: datetime,
) -> None:
    document = read_vector(SIGNED_VECTORS[suite])
    document["proof"]["proofValue"] = make(document["proof"]["proofValue"], _signature_of(document))

    error = the_only_error(data_integrity.verify(document, resolve_did_key_method, now=now))

    assert_error(error, MalformedProofError)


# -- purpose, challenge, domain, expiry ------------------------------------------------------


@pytest.mark.parametrize("suite", list(SIGNED_VECTORS))
def test_proof_for_another_purpose_than_expected_is_a_purpose_mismatch(
    suite: str, read_vector: JsonReader, data_integrity: DataIntegrity, now: datetime
) -> None:
    result = data_integrity.verify(
        read_vector(SIGNED_VECTORS[suite]),
        resolve_did_key_method,
        expected_purpose="authentication",
        now=now,
    )

    assert_error(the_only_error(result), MismatchedProofPurposeError)


CHALLENGE = "1f44d55f-f161-4938-a659-f8026467f126"
DOMAIN = "https://verifier.example"


@pytest.fixture(params=DATA_INTEGRITY_SUITES)
def presentation_proof(
    request: pytest.FixtureRequest,
    data_integrity: DataIntegrity,
    vector_key: KeyPair,
    vector_method: str,
) -> dict[str, Any]:
    """A credential signed for authentication with a challenge and a domain."""
    return data_integrity.add_proof(
        v2_credential(),
        vector_key,
        vector_method,
        created=CREATED,
        cryptosuite=request.param,
        proof_purpose="authentication",
        challenge=CHALLENGE,
        domain=DOMAIN,
    )


def _verify_authentication(
    data_integrity: DataIntegrity,
    document: dict[str, Any],
    now: datetime,
    challenge: str | None = CHALLENGE,
    domain: str | None = DOMAIN,
) -> VerifyResult:
    return data_integrity.verify(
        document,
        resolve_did_key_method,
        expected_purpose="authentication",
        challenge=challenge,
        domain=domain,
        now=now,
    )


def test_matching_challenge_and_domain_verify(
    presentation_proof: dict[str, Any], data_integrity: DataIntegrity, now: datetime
) -> None:
    assert presentation_proof["proof"]["challenge"] == CHALLENGE
    assert presentation_proof["proof"]["domain"] == DOMAIN
    result = _verify_authentication(data_integrity, presentation_proof, now)
    assert result.verified, result.errors


def test_other_challenge_than_expected_is_a_challenge_error(
    presentation_proof: dict[str, Any], data_integrity: DataIntegrity, now: datetime
) -> None:
    result = _verify_authentication(data_integrity, presentation_proof, now, challenge="other")
    assert_error(the_only_error(result), InvalidChallengeError)


def test_other_domain_than_expected_is_a_domain_error(
    presentation_proof: dict[str, Any], data_integrity: DataIntegrity, now: datetime
) -> None:
    result = _verify_authentication(
        data_integrity, presentation_proof, now, domain="https://other.example"
    )
    assert_error(the_only_error(result), InvalidDomainError)


def test_expected_challenge_missing_from_the_proof_is_a_challenge_error(
    data_integrity: DataIntegrity, vector_key: KeyPair, vector_method: str, now: datetime
) -> None:
    signed = data_integrity.add_proof(
        v2_credential(), vector_key, vector_method, created=CREATED, proof_purpose="authentication"
    )
    result = _verify_authentication(data_integrity, signed, now, domain=None)
    assert_error(the_only_error(result), InvalidChallengeError)


@pytest.mark.parametrize("field", ["challenge", "domain"])
def test_challenge_and_domain_are_signed(
    field: str, presentation_proof: dict[str, Any], data_integrity: DataIntegrity, now: datetime
) -> None:
    """A replayed proof with a rewritten challenge or domain fails the signature."""
    document = copy.deepcopy(presentation_proof)
    document["proof"][field] = "rewritten"
    expected = {"challenge": CHALLENGE, "domain": DOMAIN, field: "rewritten"}

    result = _verify_authentication(data_integrity, document, now, **expected)

    assert_error(the_only_error(result), ProofVerificationError)


@pytest.fixture(params=DATA_INTEGRITY_SUITES)
def expiring_proof(
    request: pytest.FixtureRequest,
    data_integrity: DataIntegrity,
    vector_key: KeyPair,
    vector_method: str,
) -> dict[str, Any]:
    return data_integrity.add_proof(
        v2_credential(),
        vector_key,
        vector_method,
        created=CREATED,
        cryptosuite=request.param,
        expires=datetime(2025, 1, 1, tzinfo=UTC),
    )


def test_proof_verifies_before_it_expires(
    expiring_proof: dict[str, Any], data_integrity: DataIntegrity
) -> None:
    assert expiring_proof["proof"]["expires"] == "2025-01-01T00:00:00Z"
    before = datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert data_integrity.verify(expiring_proof, resolve_did_key_method, now=before).verified


def test_expired_proof_fails(expiring_proof: dict[str, Any], data_integrity: DataIntegrity) -> None:
    after = datetime(2025, 1, 1, 0, 0, 1, tzinfo=UTC)
    error = the_only_error(data_integrity.verify(expiring_proof, resolve_did_key_method, now=after))
    assert_error(error, ProofVerificationError)
    assert "expired" in error.detail


def test_extended_expiry_fails_the_signature(
    expiring_proof: dict[str, Any], data_integrity: DataIntegrity
) -> None:
    document = copy.deepcopy(expiring_proof)
    document["proof"]["expires"] = "2030-01-01T00:00:00Z"
    after = datetime(2025, 1, 1, 0, 0, 1, tzinfo=UTC)

    error = the_only_error(data_integrity.verify(document, resolve_did_key_method, now=after))

    assert_error(error, ProofVerificationError)
    assert "signature" in error.detail


# -- contexts and undefined terms ------------------------------------------------------------

UNKNOWN_CONTEXT = "https://contexts.example/not-vendored/v1"


@pytest.mark.parametrize("suite", JSON_LD_SUITES)
def test_signing_with_an_unknown_context_is_a_transformation_error_without_network(
    suite: str,
    data_integrity: DataIntegrity,
    vector_key: KeyPair,
    vector_method: str,
    network_attempts: list[tuple[Any, ...]],
) -> None:
    document = v2_credential(suite)
    document["@context"] = [*document["@context"], UNKNOWN_CONTEXT]

    with pytest.raises(ProofTransformationError) as caught:
        data_integrity.add_proof(
            document, vector_key, vector_method, created=CREATED, cryptosuite=suite
        )

    cause = caught.value.__cause__
    assert isinstance(cause, UnknownContextError)
    assert cause.url == UNKNOWN_CONTEXT
    assert caught.value.type == SPEC_TYPES[ProofTransformationError]
    assert network_attempts == []
    cause_chain(caught.value)


@pytest.mark.parametrize("suite", JSON_LD_SUITES)
def test_verifying_with_an_unknown_context_is_a_transformation_error_without_network(
    suite: str,
    read_vector: JsonReader,
    data_integrity: DataIntegrity,
    now: datetime,
    network_attempts: list[tuple[Any, ...]],
) -> None:
    document = read_vector(SIGNED_VECTORS[suite])
    document["@context"] = [*document["@context"], UNKNOWN_CONTEXT]

    error = the_only_error(data_integrity.verify(document, resolve_did_key_method, now=now))

    assert_error(error, ProofTransformationError)
    assert isinstance(error.__cause__, UnknownContextError)
    assert network_attempts == []
    cause_chain(error)


def test_the_network_guard_sees_a_real_http_client(network_attempts: list[tuple[Any, ...]]) -> None:
    """Control for the two tests above: an empty list there means no attempt, not a blind guard."""
    with pytest.raises(OSError):
        urllib.request.urlopen("http://contexts.example/not-vendored/v1", timeout=1)
    assert network_attempts


def _add_top_level_foo(document: dict[str, Any]) -> None:
    document["foo"] = "bar"


def _add_undefined_type(document: dict[str, Any]) -> None:
    document["type"] = [*document["type"], "FooCredential"]


def _add_nested_foo(document: dict[str, Any]) -> None:
    document["credentialSubject"]["foo"] = {"id": "urn:example:foo", "name": "x"}


def _add_undefined_subject_type(document: dict[str, Any]) -> None:
    document["credentialSubject"]["type"] = "Foo"


UNDEFINED_TERMS: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    ("top-level-property", _add_top_level_foo),
    ("credential-type", _add_undefined_type),
    ("subject-property", _add_nested_foo),
    ("subject-type", _add_undefined_subject_type),
]
UNDEFINED_IDS = [name for name, _ in UNDEFINED_TERMS]


@pytest.mark.parametrize("suite", JSON_LD_SUITES)
def test_credential_with_only_defined_terms_signs_and_verifies(
    suite: str,
    data_integrity: DataIntegrity,
    vector_key: KeyPair,
    vector_method: str,
    now: datetime,
) -> None:
    """Control for the undefined-term tests: the same credential without the extra term."""
    signed = data_integrity.add_proof(
        v2_credential(suite), vector_key, vector_method, created=CREATED, cryptosuite=suite
    )
    assert data_integrity.verify(signed, resolve_did_key_method, now=now).verified


@pytest.mark.parametrize("add_term", [add for _, add in UNDEFINED_TERMS], ids=UNDEFINED_IDS)
@pytest.mark.parametrize("suite", JSON_LD_SUITES)
def test_undefined_term_is_refused_at_signing(
    add_term: Callable[[dict[str, Any]], None],
    suite: str,
    data_integrity: DataIntegrity,
    vector_key: KeyPair,
    vector_method: str,
) -> None:
    document = v2_credential(suite)
    add_term(document)

    with pytest.raises(ProofTransformationError) as caught:
        data_integrity.add_proof(
            document, vector_key, vector_method, created=CREATED, cryptosuite=suite
        )

    assert isinstance(caught.value.__cause__, UndefinedTermError)
    cause_chain(caught.value)


@pytest.mark.parametrize("add_term", [add for _, add in UNDEFINED_TERMS], ids=UNDEFINED_IDS)
@pytest.mark.parametrize("suite", JSON_LD_SUITES)
def test_undefined_term_added_after_signing_is_refused_at_verification(
    add_term: Callable[[dict[str, Any]], None],
    suite: str,
    data_integrity: DataIntegrity,
    vector_key: KeyPair,
    vector_method: str,
    now: datetime,
) -> None:
    signed = data_integrity.add_proof(
        v2_credential(suite), vector_key, vector_method, created=CREATED, cryptosuite=suite
    )
    document = copy.deepcopy(signed)
    add_term(document)

    error = the_only_error(data_integrity.verify(document, resolve_did_key_method, now=now))

    assert_error(error, ProofTransformationError)
    assert isinstance(error.__cause__, UndefinedTermError)


def _lax_signature(
    suite: Cryptosuite,
    loader: OfflineDocumentLoader,
    document: dict[str, Any],
    options: dict[str, Any],
    key: KeyPair,
) -> str:
    """What an issuer using plain pyld (which silently drops undefined terms) would sign."""
    lax_document = jsonld.normalize(
        document,
        {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": loader},
    )
    proof_config = suite.proof_configuration(document, options)
    digest = hashlib.sha256(proof_config).digest() + hashlib.sha256(lax_document.encode()).digest()
    return multibase_base58btc_encode(key.sign(digest))


@pytest.mark.parametrize(
    "add_term", [_add_top_level_foo, _add_nested_foo], ids=["top-level", "subject-property"]
)
def test_undefined_property_is_refused_even_under_a_signature_that_ignores_it(
    add_term: Callable[[dict[str, Any]], None],
    loader: OfflineDocumentLoader,
    data_integrity: DataIntegrity,
    vector_key: KeyPair,
    vector_method: str,
    now: datetime,
) -> None:
    """The unsigned-claim attack: a lax signature over a document whose extra claim was dropped."""
    clean = v2_credential()
    document = v2_credential()
    add_term(document)
    options: dict[str, Any] = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2024-03-01T09:30:00Z",
        "verificationMethod": vector_method,
        "proofPurpose": "assertionMethod",
    }
    suite = data_integrity.suites["eddsa-rdfc-2022"]
    proof = {**options, "proofValue": _lax_signature(suite, loader, document, options, vector_key)}

    control = data_integrity.verify({**clean, "proof": proof}, resolve_did_key_method, now=now)
    attack = data_integrity.verify({**document, "proof": proof}, resolve_did_key_method, now=now)

    assert control.verified, control.errors  # the lax signature covers exactly the clean claims
    error = the_only_error(attack)
    assert_error(error, ProofTransformationError)
    assert isinstance(error.__cause__, UndefinedTermError)


@pytest.mark.parametrize("where", ["credential-id", "subject-id"])
def test_relative_id_is_refused_at_signing(
    where: str, data_integrity: DataIntegrity, vector_key: KeyPair, vector_method: str
) -> None:
    """Without a base IRI a relative @id would drop its node's quads from what is signed."""
    document = v2_credential()
    if where == "credential-id":
        document["id"] = "credential-1"
    else:
        document["credentialSubject"]["id"] = "alice"

    with pytest.raises(ProofTransformationError) as caught:
        data_integrity.add_proof(document, vector_key, vector_method, created=CREATED)

    cause = caught.value.__cause__
    assert isinstance(cause, JsonLdProcessingError)
    assert "relative IRI" in str(cause)


def test_unknown_context_error_chain_has_no_cycle(canonicalizer: PyldCanonicalizer) -> None:
    """Re-raising our error from inside pyld's wrappers must not make it its own cause."""
    with pytest.raises(UnknownContextError) as caught:
        canonicalizer.canonicalize({"@context": UNKNOWN_CONTEXT, "@id": "urn:example:x"})
    chain = cause_chain(caught.value)
    assert len({id(error) for error in chain}) == len(chain)


# -- proof chains ----------------------------------------------------------------------------


def test_adding_a_proof_after_a_missing_previous_proof_is_a_generation_error(
    read_vector: JsonReader, data_integrity: DataIntegrity, vector_key: KeyPair, vector_method: str
) -> None:
    with pytest.raises(ProofGenerationError):
        data_integrity.add_proof(
            read_vector("proof-set-chain/signedProofSet2.json"),
            vector_key,
            vector_method,
            created=CREATED,
            previous_proof="urn:uuid:00000000-0000-4000-8000-000000000000",
        )


def test_chained_proof_whose_previous_proof_is_missing_fails(
    read_vector: JsonReader, data_integrity: DataIntegrity, now: datetime
) -> None:
    document = read_vector("proof-set-chain/signedProofChain2.json")
    first, second, named, last = document["proof"]
    assert last["previousProof"] == named["id"]
    document["proof"] = [first, second, last]

    result = data_integrity.verify(document, resolve_did_key_method, now=now)

    assert not result.verified
    assert [r.verified for r in result.proofs] == [True, True, False]
    error = result.proofs[2].error
    assert error is not None
    assert_error(error, ProofVerificationError)
    assert "previousProof" in error.detail


def test_previous_proof_that_is_not_an_id_is_malformed(
    read_vector: JsonReader, data_integrity: DataIntegrity, now: datetime
) -> None:
    document = read_vector("proof-set-chain/signedProofChain2.json")
    document["proof"][3]["previousProof"] = [3]

    result = data_integrity.verify(document, resolve_did_key_method, now=now)

    error = result.proofs[3].error
    assert error is not None
    assert_error(error, MalformedProofError)


def test_tampering_with_a_proof_breaks_the_link_that_chains_it(
    read_vector: JsonReader, data_integrity: DataIntegrity, now: datetime
) -> None:
    document = read_vector("proof-set-chain/signedProofChain2.json")
    third = document["proof"][2]
    third["created"] = "2023-02-26T22:06:39Z"

    result = data_integrity.verify(document, resolve_did_key_method, now=now)

    assert [r.verified for r in result.proofs] == [True, True, False, False]
    for proof_result in result.proofs[2:]:
        assert proof_result.error is not None
        assert_error(proof_result.error, ProofVerificationError)
