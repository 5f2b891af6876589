"""A proof's ``created`` may not lie in the future beyond a small clock skew."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.crypto.dataintegrity import MAX_CLOCK_SKEW, DataIntegrity
from app.crypto.errors import ProofVerificationError
from app.crypto.keys import KeyPair
from app.crypto.resolvers import resolve_did_key_method
from app.did.key import did_key_from_public_key, did_key_verification_method_id

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
SUITES = ["eddsa-rdfc-2022", "eddsa-jcs-2022", "Ed25519Signature2020"]


def signed(data_integrity: DataIntegrity, suite: str, created: datetime) -> dict[str, Any]:
    key = KeyPair.generate()
    did = did_key_from_public_key(key.public_key)
    contexts = ["https://www.w3.org/ns/credentials/v2"]
    if suite == "Ed25519Signature2020":
        contexts.append("https://w3id.org/security/suites/ed25519-2020/v1")
    credential = {
        "@context": contexts,
        "type": ["VerifiableCredential"],
        "issuer": did,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject"},
    }
    return data_integrity.add_proof(
        credential, key, did_key_verification_method_id(did), created=created, cryptosuite=suite
    )


def test_the_clock_skew_allowed_is_a_few_minutes() -> None:
    assert timedelta(0) < MAX_CLOCK_SKEW <= timedelta(minutes=5)


@pytest.mark.parametrize("suite", SUITES)
def test_a_proof_created_in_the_future_is_refused(
    data_integrity: DataIntegrity, suite: str
) -> None:
    document = signed(data_integrity, suite, NOW + MAX_CLOCK_SKEW + timedelta(seconds=2))
    result = data_integrity.verify(document, resolve_did_key_method, now=NOW)
    assert not result.verified
    [error] = result.errors
    assert type(error) is ProofVerificationError
    assert error.type == "https://w3id.org/security#PROOF_VERIFICATION_ERROR"
    assert "future" in str(error)


@pytest.mark.parametrize("suite", SUITES)
def test_a_proof_created_within_the_clock_skew_verifies(
    data_integrity: DataIntegrity, suite: str
) -> None:
    for created in (NOW - timedelta(days=300), NOW, NOW + MAX_CLOCK_SKEW - timedelta(seconds=1)):
        document = signed(data_integrity, suite, created)
        assert data_integrity.verify(document, resolve_did_key_method, now=NOW).verified
