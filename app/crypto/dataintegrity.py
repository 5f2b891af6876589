"""Adding and verifying Data Integrity proofs, proof sets and proof chains.

https://www.w3.org/TR/vc-data-integrity/#algorithms — the cryptosuites do the cryptography; this
module picks the suite, keeps the VC 1.1 envelope usable (adds the data-integrity/v2 context),
checks purpose, challenge, domain and dates, and handles several proofs and ``previousProof``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from app.crypto.cryptosuites import (
    DATA_INTEGRITY_PROOF,
    ED25519_SIGNATURE_2020,
    EDDSA_JCS_2022,
    EDDSA_RDFC_2022,
    Cryptosuite,
    Ed25519Signature2020,
    EddsaJcs2022,
    EddsaRdfc2022,
)
from app.crypto.errors import (
    InvalidChallengeError,
    InvalidDomainError,
    MalformedProofError,
    MismatchedProofPurposeError,
    ProofError,
    ProofGenerationError,
    ProofVerificationError,
)
from app.crypto.keys import KeyPair, PublicKey
from app.datetimes import format_datetime, parse_datetime_stamp
from app.jsonld import Canonicalizer
from app.jsonld.values import as_list

VC_V1_CONTEXT = "https://www.w3.org/2018/credentials/v1"
VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
DATA_INTEGRITY_V2_CONTEXT = "https://w3id.org/security/data-integrity/v2"
DATA_INTEGRITY_V1_CONTEXT = "https://w3id.org/security/data-integrity/v1"

#: How far a proof's ``created`` may lie ahead of the verifier's clock: the signer's clock may run
#: a little fast, but a proof dated later than that was not made yet (or made to outlive a key).
MAX_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class VerificationMethod:
    """A resolved verification method: who controls it and its key."""

    id: str
    controller: str
    public_key: PublicKey


#: ``resolve(verification_method_id, proof_purpose)`` -> the method, authorized for that purpose;
#: raises :class:`ProofError` (normally ``InvalidVerificationMethodError``) otherwise.
MethodResolver = Callable[[str, str], VerificationMethod]


@dataclass
class ProofResult:
    proof: Mapping[str, Any]
    verified: bool
    error: ProofError | None = None
    verification_method: VerificationMethod | None = None


@dataclass
class VerifyResult:
    verified: bool
    proofs: list[ProofResult] = field(default_factory=list)

    @property
    def errors(self) -> list[ProofError]:
        return [result.error for result in self.proofs if result.error is not None]


def with_data_integrity_context(document: Mapping[str, Any]) -> dict[str, Any]:
    """A VC 1.1 document gets ``https://w3id.org/security/data-integrity/v2`` appended."""
    contexts = as_list(document.get("@context"))
    result = dict(document)
    if (
        VC_V1_CONTEXT in contexts
        and VC_V2_CONTEXT not in contexts
        and DATA_INTEGRITY_V2_CONTEXT not in contexts
        and DATA_INTEGRITY_V1_CONTEXT not in contexts
    ):
        result["@context"] = [*contexts, DATA_INTEGRITY_V2_CONTEXT]
    return result


def _matching_proofs(all_proofs: Sequence[Any], previous: Any) -> list[Any]:
    """The earlier proofs a ``previousProof`` names, always as a list (even of one).

    The document hashed for a chained proof carries these as its ``proof``: the specification's
    ``matchingProofs`` list (https://www.w3.org/TR/vc-data-integrity/#add-proof-set-chain, and
    ``proofChainTempDoc2.json`` of the EdDSA test vectors). With eddsa-rdfc-2022 one object and a
    one-element list canonicalize alike; with eddsa-jcs-2022 they do not.
    """
    wanted = as_list(previous)
    if not all(isinstance(proof_id, str) for proof_id in wanted):
        raise MalformedProofError("previousProof must be a string or a list of strings")
    found = [p for p in all_proofs if isinstance(p, Mapping) and p.get("id") in wanted]
    if len(found) != len(wanted):
        raise ProofVerificationError("previousProof names a proof that is not in the document")
    return found


class DataIntegrity:
    """Entry point: ``add_proof`` and ``verify`` with the suites this service supports."""

    def __init__(self, canonicalizer: Canonicalizer) -> None:
        self.canonicalizer = canonicalizer
        self.suites: dict[str, Cryptosuite] = {
            EDDSA_RDFC_2022: EddsaRdfc2022(canonicalizer),
            EDDSA_JCS_2022: EddsaJcs2022(canonicalizer),
            ED25519_SIGNATURE_2020: Ed25519Signature2020(canonicalizer),
        }

    def suite_for(self, proof: Mapping[str, Any]) -> Cryptosuite:
        proof_type = proof.get("type")
        if proof_type == DATA_INTEGRITY_PROOF:
            name = proof.get("cryptosuite")
            if not isinstance(name, str):
                raise MalformedProofError("a DataIntegrityProof needs a cryptosuite string")
            if name == ED25519_SIGNATURE_2020 or name not in self.suites:
                raise ProofVerificationError(f"unsupported cryptosuite {name!r}")
            return self.suites[name]
        if proof_type == ED25519_SIGNATURE_2020:
            return self.suites[ED25519_SIGNATURE_2020]
        raise ProofVerificationError(f"unsupported proof type {proof_type!r}")

    # -- adding -------------------------------------------------------------------------------

    def add_proof(
        self,
        document: Mapping[str, Any],
        key: KeyPair,
        verification_method: str,
        *,
        created: datetime,
        cryptosuite: str = EDDSA_RDFC_2022,
        proof_purpose: str = "assertionMethod",
        challenge: str | None = None,
        domain: str | Sequence[str] | None = None,
        expires: datetime | None = None,
        proof_id: str | None = None,
        previous_proof: str | Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Add a proof (to a proof set, or chained by ``previous_proof``); returns a new document.

        https://www.w3.org/TR/vc-data-integrity/#add-proof-set-chain
        """
        if cryptosuite == ED25519_SIGNATURE_2020:
            options: dict[str, Any] = {"type": ED25519_SIGNATURE_2020}
        elif cryptosuite in self.suites:
            options = {"type": DATA_INTEGRITY_PROOF, "cryptosuite": cryptosuite}
            document = with_data_integrity_context(document)
        else:
            raise ProofGenerationError(f"unsupported cryptosuite {cryptosuite!r}")
        if proof_id is not None:
            options["id"] = proof_id
        options["created"] = format_datetime(created)
        if expires is not None:
            options["expires"] = format_datetime(expires)
        options["verificationMethod"] = verification_method
        options["proofPurpose"] = proof_purpose
        if challenge is not None:
            options["challenge"] = challenge
        if domain is not None:
            options["domain"] = domain if isinstance(domain, str) else list(domain)
        existing = as_list(document.get("proof"))
        unsecured = {k: v for k, v in document.items() if k != "proof"}
        if previous_proof is not None:
            options["previousProof"] = (
                previous_proof if isinstance(previous_proof, str) else list(previous_proof)
            )
            try:
                unsecured["proof"] = _matching_proofs(existing, options["previousProof"])
            except ProofError as exc:
                raise ProofGenerationError(exc.detail) from exc
        proof = self.suites[cryptosuite].create_proof(unsecured, options, key)
        secured = {k: v for k, v in document.items() if k != "proof"}
        secured["proof"] = [*existing, proof] if existing else proof
        return secured

    # -- verifying ----------------------------------------------------------------------------

    def verify(
        self,
        document: Mapping[str, Any],
        resolve: MethodResolver,
        *,
        expected_purpose: str = "assertionMethod",
        challenge: str | None = None,
        domain: str | None = None,
        now: datetime | None = None,
    ) -> VerifyResult:
        """Verify every proof of a proof set or chain; verified only when all of them are.

        https://www.w3.org/TR/vc-data-integrity/#verify-proof-sets-and-chains
        """
        if "proof" not in document:
            error = MalformedProofError("the document has no proof")
            return VerifyResult(False, [ProofResult({}, False, error)])
        all_proofs = as_list(document["proof"])
        if not all_proofs:
            error = MalformedProofError("the document's proof is empty")
            return VerifyResult(False, [ProofResult({}, False, error)])
        unsecured = {k: v for k, v in document.items() if k != "proof"}
        results = []
        for proof in all_proofs:
            try:
                if not isinstance(proof, Mapping):
                    raise MalformedProofError("a proof must be a JSON object")
                input_document = dict(unsecured)
                if "previousProof" in proof:
                    input_document["proof"] = _matching_proofs(all_proofs, proof["previousProof"])
                method = self._verify_one(
                    input_document,
                    proof,
                    resolve,
                    expected_purpose=expected_purpose,
                    challenge=challenge,
                    domain=domain,
                    now=now or datetime.now(UTC),
                )
                results.append(ProofResult(proof, True, None, method))
            except ProofError as error:
                shown = proof if isinstance(proof, Mapping) else {}
                results.append(ProofResult(shown, False, error))
        return VerifyResult(all(r.verified for r in results), results)

    def _verify_one(
        self,
        unsecured: Mapping[str, Any],
        proof: Mapping[str, Any],
        resolve: MethodResolver,
        *,
        expected_purpose: str,
        challenge: str | None,
        domain: str | None,
        now: datetime,
    ) -> VerificationMethod:
        """Verify proof: https://www.w3.org/TR/vc-data-integrity/#verify-proof"""
        for name in ("type", "verificationMethod", "proofPurpose", "proofValue"):
            if not isinstance(proof.get(name), str):
                raise MalformedProofError(f"proof.{name} must be a string")
        for name in ("created", "expires"):
            if name in proof and parse_datetime_stamp(proof[name]) is None:
                raise MalformedProofError(f"proof.{name} is not an XML Schema dateTime")
        suite = self.suite_for(proof)
        if proof["proofPurpose"] != expected_purpose:
            raise MismatchedProofPurposeError(
                f"proofPurpose is {proof['proofPurpose']!r}, expected {expected_purpose!r}"
            )
        expires = parse_datetime_stamp(proof.get("expires"))
        if expires is not None and expires < now:
            raise ProofVerificationError("the proof has expired")
        created = parse_datetime_stamp(proof.get("created"))
        if created is not None and created > now + MAX_CLOCK_SKEW:
            raise ProofVerificationError(
                "the proof's created lies in the future (beyond the clock skew allowed)"
            )
        if domain is not None and domain not in as_list(proof.get("domain")):
            raise InvalidDomainError("the proof's domain does not match the expected domain")
        if challenge is not None and proof.get("challenge") != challenge:
            raise InvalidChallengeError(
                "the proof's challenge does not match the expected challenge"
            )
        method = resolve(proof["verificationMethod"], expected_purpose)
        if not suite.verify_proof(unsecured, proof, method.public_key):
            raise ProofVerificationError("the signature does not match the document")
        return method
