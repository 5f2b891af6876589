"""Data Integrity processing errors (https://www.w3.org/TR/vc-data-integrity/#processing-errors)."""

from __future__ import annotations

from typing import ClassVar

SECURITY = "https://w3id.org/security#"


class ProofError(Exception):
    """A proof could not be made or did not verify; ``type`` is the specification's URL."""

    type: ClassVar[str] = SECURITY + "PROOF_VERIFICATION_ERROR"
    title: ClassVar[str] = "Proof verification error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ProofGenerationError(ProofError):
    type = SECURITY + "PROOF_GENERATION_ERROR"
    title = "Proof generation error"


class ProofVerificationError(ProofError):
    pass


class ProofTransformationError(ProofError):
    type = SECURITY + "PROOF_TRANSFORMATION_ERROR"
    title = "Proof transformation error"


class InvalidDomainError(ProofError):
    type = SECURITY + "INVALID_DOMAIN_ERROR"
    title = "Invalid domain"


class InvalidChallengeError(ProofError):
    type = SECURITY + "INVALID_CHALLENGE_ERROR"
    title = "Invalid challenge"


class MalformedProofError(ProofError):
    type = SECURITY + "MALFORMED_PROOF_ERROR"
    title = "Malformed proof"


class MismatchedProofPurposeError(ProofError):
    type = SECURITY + "MISMATCHED_PROOF_PURPOSE_ERROR"
    title = "Mismatched proof purpose"


class InvalidVerificationMethodError(ProofError):
    """The verification method cannot be resolved, is revoked, or is not authorized."""

    type = SECURITY + "INVALID_VERIFICATION_METHOD"
    title = "Invalid verification method"
