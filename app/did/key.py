"""did:key for Ed25519 (https://w3c-ccg.github.io/did-key-spec/), resolved offline."""

from __future__ import annotations

from typing import Any

from app.crypto.keys import KeyFormatError, PublicKey, decode_public_key

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
VERIFICATION_RELATIONSHIPS = (
    "authentication",
    "assertionMethod",
    "capabilityInvocation",
    "capabilityDelegation",
)


class InvalidDid(ValueError):
    """Not a DID this resolver can handle."""


def did_key_from_public_key(public_key: PublicKey) -> str:
    return f"did:key:{public_key.multibase}"


def did_key_verification_method_id(did: str) -> str:
    return f"{did}#{did.removeprefix('did:key:')}"


def public_key_from_did_key(did: str) -> PublicKey:
    did = did.split("#", 1)[0]
    if not did.startswith("did:key:z6Mk"):
        raise InvalidDid(f"{did!r} is not an Ed25519 did:key")
    try:
        return PublicKey(decode_public_key(did.removeprefix("did:key:")))
    except KeyFormatError as exc:
        raise InvalidDid(f"{did!r} is not an Ed25519 did:key: {exc}") from exc


def resolve_did_key(did: str) -> dict[str, Any]:
    """The DID document of an Ed25519 did:key, with one Multikey verification method."""
    public_key = public_key_from_did_key(did)
    did = did.split("#", 1)[0]
    method_id = did_key_verification_method_id(did)
    document: dict[str, Any] = {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": did,
        "verificationMethod": [
            {
                "id": method_id,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": public_key.multibase,
            }
        ],
    }
    for relationship in VERIFICATION_RELATIONSHIPS:
        document[relationship] = [method_id]
    return document
