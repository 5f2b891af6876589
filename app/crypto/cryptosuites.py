"""The EdDSA cryptosuites of https://www.w3.org/TR/vc-di-eddsa/ and the legacy Ed25519Signature2020.

Each suite is the spec's four steps: transformation (canonicalize the document), proof
configuration (canonicalize the proof options with the document's ``@context``), hashing
(``sha256(proof config) ‖ sha256(document)``, proof hash first) and serialization (Ed25519).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from app.crypto.errors import MalformedProofError, ProofGenerationError, ProofTransformationError
from app.crypto.jcs import canonical_json
from app.crypto.keys import (
    KeyFormatError,
    KeyPair,
    PublicKey,
    multibase_base58btc_decode,
    multibase_base58btc_encode,
)
from app.jsonld import Canonicalizer
from app.jsonld.terms import DefinedTermsCheck
from app.jsonld.values import as_list

DATA_INTEGRITY_PROOF = "DataIntegrityProof"
ED25519_SIGNATURE_2020 = "Ed25519Signature2020"
EDDSA_RDFC_2022 = "eddsa-rdfc-2022"
EDDSA_JCS_2022 = "eddsa-jcs-2022"


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def decode_proof_value(proof_value: Any) -> bytes:
    """``proofValue`` is a base58btc multibase Ed25519 signature (64 bytes)."""
    try:
        signature = multibase_base58btc_decode(proof_value)
    except KeyFormatError as exc:
        raise MalformedProofError(f"proofValue is malformed: {exc}") from exc
    if len(signature) != 64:
        raise MalformedProofError("proofValue does not hold a 64-byte Ed25519 signature")
    return signature


class Cryptosuite(ABC):
    """A suite; ``name`` is the ``cryptosuite`` value (the proof ``type`` for legacy suites)."""

    name: str
    proof_type: str
    #: whether the emitted proof keeps the document's ``@context`` (eddsa-jcs-2022 does).
    proof_keeps_context: bool = False

    def __init__(self, canonicalizer: Canonicalizer) -> None:
        self.canonicalizer = canonicalizer

    @abstractmethod
    def canonicalize(self, document: Mapping[str, Any]) -> str:
        """The suite's canonical form of a JSON-LD object."""

    def transform(self, unsecured_document: Mapping[str, Any]) -> bytes:
        """Transformation: https://www.w3.org/TR/vc-di-eddsa/#transformation-eddsa-rdfc-2022"""
        try:
            return self.canonicalize(unsecured_document).encode("utf-8")
        except ValueError as exc:
            raise ProofTransformationError(str(exc)) from exc

    def proof_configuration(
        self, unsecured_document: Mapping[str, Any], options: Mapping[str, Any]
    ) -> bytes:
        """Proof configuration: https://www.w3.org/TR/vc-di-eddsa/#proof-configuration-eddsa-rdfc-2022"""
        config = {k: v for k, v in options.items() if k != "proofValue"}
        if config.get("type") != self.proof_type or (
            self.proof_type == DATA_INTEGRITY_PROOF and config.get("cryptosuite") != self.name
        ):
            raise ProofGenerationError(f"proof options are not those of {self.name}")
        if "@context" in unsecured_document:
            config["@context"] = unsecured_document["@context"]
        try:
            return self.canonicalize(config).encode("utf-8")
        except ValueError as exc:
            raise ProofTransformationError(f"proof configuration: {exc}") from exc

    @staticmethod
    def hash(transformed_document: bytes, proof_config: bytes) -> bytes:
        """Hashing: https://www.w3.org/TR/vc-di-eddsa/#hashing-eddsa-rdfc-2022"""
        return sha256(proof_config) + sha256(transformed_document)

    def hash_data(self, unsecured_document: Mapping[str, Any], options: Mapping[str, Any]) -> bytes:
        proof_config = self.proof_configuration(unsecured_document, options)
        return self.hash(self.transform(unsecured_document), proof_config)

    def create_proof(
        self, unsecured_document: Mapping[str, Any], options: Mapping[str, Any], key: KeyPair
    ) -> dict[str, Any]:
        """Create proof: https://www.w3.org/TR/vc-di-eddsa/#create-proof-eddsa-rdfc-2022"""
        proof = {k: v for k, v in options.items() if k != "@context"}
        if self.proof_keeps_context and "@context" in unsecured_document:
            proof["@context"] = unsecured_document["@context"]
        signature = key.sign(self.hash_data(unsecured_document, proof))
        proof["proofValue"] = multibase_base58btc_encode(signature)
        return proof

    def verify_proof(
        self, unsecured_document: Mapping[str, Any], proof: Mapping[str, Any], key: PublicKey
    ) -> bool:
        """Verify proof: https://www.w3.org/TR/vc-di-eddsa/#verify-proof-eddsa-rdfc-2022"""
        signature = decode_proof_value(proof.get("proofValue"))
        document = dict(unsecured_document)
        if "@context" in proof:
            proof_context = as_list(proof["@context"])
            if as_list(document.get("@context"))[: len(proof_context)] != proof_context:
                return False
            document["@context"] = proof["@context"]
        return key.verify(self.hash_data(document, proof), signature)


class EddsaRdfc2022(Cryptosuite):
    name = EDDSA_RDFC_2022
    proof_type = DATA_INTEGRITY_PROOF

    def canonicalize(self, document: Mapping[str, Any]) -> str:
        return self.canonicalizer.canonicalize(document)


class EddsaJcs2022(Cryptosuite):
    """JCS signs the JSON text; the document must still mean, as JSON-LD, what was signed: it
    is checked with the strict expansion eddsa-rdfc-2022 uses (SECURITY.md), undefined terms
    refused (:class:`~app.jsonld.terms.DefinedTermsCheck`, which remembers shapes that passed).
    """

    name = EDDSA_JCS_2022
    proof_type = DATA_INTEGRITY_PROOF
    proof_keeps_context = True

    def __init__(self, canonicalizer: Canonicalizer) -> None:
        super().__init__(canonicalizer)
        self.terms = DefinedTermsCheck(canonicalizer.loader)

    def canonicalize(self, document: Mapping[str, Any]) -> str:
        self.terms.check(document)
        return canonical_json(document)


class Ed25519Signature2020(Cryptosuite):
    """Legacy suite (https://www.w3.org/TR/vc-di-eddsa/#the-ed25519signature2020-suite)."""

    name = ED25519_SIGNATURE_2020
    proof_type = ED25519_SIGNATURE_2020

    def canonicalize(self, document: Mapping[str, Any]) -> str:
        return self.canonicalizer.canonicalize(document)
