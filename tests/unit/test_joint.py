"""The pure part of joint credentials: which awarding bodies a credential names (EDC and Open
Badge), each body's proof state, and which offered proofs may join a draft's proof set."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.credentials.edc import build_edc
from app.credentials.examples import EXAMPLE_ISSUER_DID, example_issuer, example_request
from app.credentials.joint import (
    ProofRefused,
    SignedBy,
    assemble,
    awarding_body_dids,
    body_states,
    check_offered_proof,
)
from app.credentials.microcredential import MicroCredentialIn
from app.credentials.obv3 import build_obv3

PARTNER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
OTHER = "did:web:uni-ics.example"
ISSUED = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


def joint(fmt: str, *dids: str | None) -> MicroCredentialIn:
    bodies = [
        {"name": {"en": f"Body {n}"}, "country": "FRA", **({"id": did} if did else {})}
        for n, did in enumerate(dids)
    ]
    return MicroCredentialIn.model_validate(example_request(format=fmt, awardingBodies=bodies))


def built(fmt: str, *dids: str | None) -> dict[str, Any]:
    mc = joint(fmt, *dids)
    if fmt == "obv3":
        return build_obv3(
            mc, example_issuer(), credential_id="urn:uuid:1", issued=ISSUED, status=None
        )
    return build_edc(mc, example_issuer(), credential_id="urn:uuid:1", issued=ISSUED, status=[])


@pytest.mark.parametrize("fmt", ["edc", "obv3"])
def test_the_awarding_bodies_named_by_did_in_order(fmt: str) -> None:
    document = built(fmt, EXAMPLE_ISSUER_DID, PARTNER, None, OTHER)
    assert awarding_body_dids(document) == [EXAMPLE_ISSUER_DID, PARTNER, OTHER]


def test_a_badge_with_one_body_by_did_names_no_awarding_body_alignment() -> None:
    # Not joint: the badge keeps its alignments as before (one creator, no extra alignment).
    document = built("obv3", EXAMPLE_ISSUER_DID, None)
    assert awarding_body_dids(document) == []
    edc = built("edc", EXAMPLE_ISSUER_DID, None)
    assert awarding_body_dids(edc) == [EXAMPLE_ISSUER_DID]


def test_each_body_verified_invalid_or_missing() -> None:
    proofs = [SignedBy(EXAMPLE_ISSUER_DID, True), SignedBy(PARTNER, False), SignedBy(None, False)]
    assert body_states([EXAMPLE_ISSUER_DID, PARTNER, OTHER], proofs) == [
        (EXAMPLE_ISSUER_DID, "verified"),
        (PARTNER, "invalid"),
        (OTHER, "missing"),
    ]
    # One valid proof of a body is enough (a second, bad one is the proof set's own failure).
    again = [*proofs, SignedBy(PARTNER, True)]
    assert body_states([PARTNER], again) == [(PARTNER, "verified")]


def proof(**changes: Any) -> dict[str, Any]:
    return {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "verificationMethod": f"{PARTNER}#{PARTNER.removeprefix('did:key:')}",
        "proofPurpose": "assertionMethod",
        "proofValue": "z111",
        **changes,
    }


def test_an_offered_proof_names_a_missing_awarding_body() -> None:
    bodies = [EXAMPLE_ISSUER_DID, PARTNER]
    assert check_offered_proof(proof(), [PARTNER], bodies) == PARTNER
    assert check_offered_proof(proof(cryptosuite="eddsa-jcs-2022"), [PARTNER], bodies) == PARTNER
    refused = {
        "not an awarding body": (proof(verificationMethod=f"{OTHER}#key-1"), [PARTNER]),
        "signed this credential already": (proof(), []),
        "previousProof": (proof(previousProof="urn:uuid:2"), [PARTNER]),
        "assertionMethod": (proof(proofPurpose="authentication"), [PARTNER]),
        "cryptosuite": (proof(cryptosuite="ecdsa-rdfc-2019"), [PARTNER]),
        "DataIntegrityProof": (proof(type="Ed25519Signature2020"), [PARTNER]),
        "DID URL": (proof(verificationMethod="https://uni.example/key"), [PARTNER]),
        "one JSON object": ([proof()], [PARTNER]),
    }
    for reason, (offered, missing) in refused.items():
        with pytest.raises(ProofRefused, match=reason):
            check_offered_proof(offered, missing, bodies)


def test_the_credential_is_the_draft_with_its_proof_set() -> None:
    draft = {"id": "urn:uuid:1", "type": ["VerifiableCredential"]}
    document = assemble(draft, [proof(), proof(proofValue="z222")])
    assert [p["proofValue"] for p in document["proof"]] == ["z111", "z222"]
    assert {k: v for k, v in document.items() if k != "proof"} == draft
    assert "proof" not in draft
