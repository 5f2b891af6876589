"""Ed25519 keys and their Multikey encodings, did:key documents and did:key method resolution."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import base58
import pytest

from app.crypto.errors import InvalidVerificationMethodError
from app.crypto.keys import (
    KeyFormatError,
    KeyPair,
    PublicKey,
    decode_public_key,
    decode_secret_key,
    encode_public_key,
    multibase_base58btc_decode,
)
from app.crypto.resolvers import resolve_did_key_method
from app.did.key import (
    InvalidDid,
    did_key_from_public_key,
    did_key_verification_method_id,
    public_key_from_did_key,
    resolve_did_key,
)
from app.jsonld import PyldCanonicalizer

JsonReader = Callable[[str], Any]  # the read_vector fixture

KEY_PAIR_FILES = [
    ("keyPair.json", None),
    *[("proof-set-chain/multiKeyPairs.json", f"keyPair{n}") for n in range(1, 5)],
]
RELATIONSHIPS = [
    "authentication",
    "assertionMethod",
    "capabilityInvocation",
    "capabilityDelegation",
]
SEED = bytes(range(32))


@pytest.fixture(
    params=KEY_PAIR_FILES, ids=[name or file.split("/")[0] for file, name in KEY_PAIR_FILES]
)
def vector_pair(request: pytest.FixtureRequest, read_vector: JsonReader) -> dict[str, str]:
    """``{publicKeyMultibase, privateKeyMultibase}`` of one of the vectors' key pairs."""
    file, name = request.param
    content = read_vector(file)
    pair: dict[str, str] = content if name is None else content[name]
    return pair


# -- keys ------------------------------------------------------------------------------------


def test_secret_key_multibase_round_trips(vector_pair: dict[str, str]) -> None:
    secret = vector_pair["privateKeyMultibase"]  # the spec calls it secretKeyMultibase
    key = KeyPair.from_secret_multibase(secret)
    assert key.secret_key_multibase == secret
    assert len(decode_secret_key(secret)) == 32
    assert secret.startswith("z3u2")


def test_public_key_derived_from_the_secret_is_the_published_one(
    vector_pair: dict[str, str],
) -> None:
    key = KeyPair.from_secret_multibase(vector_pair["privateKeyMultibase"])
    assert key.public_key_multibase == vector_pair["publicKeyMultibase"]
    assert PublicKey.from_multibase(vector_pair["publicKeyMultibase"]) == key.public_key


def test_multikey_prefixes_are_the_ed25519_multicodecs(vector_pair: dict[str, str]) -> None:
    public = multibase_base58btc_decode(vector_pair["publicKeyMultibase"])
    secret = multibase_base58btc_decode(vector_pair["privateKeyMultibase"])
    assert public[:2] == b"\xed\x01" and len(public) == 34
    assert secret[:2] == b"\x80\x26" and len(secret) == 34
    assert (
        encode_public_key(decode_public_key(vector_pair["publicKeyMultibase"]))
        == (vector_pair["publicKeyMultibase"])
    )


def test_signatures_are_deterministic_and_verify_only_their_message() -> None:
    key = KeyPair(SEED)
    signature = key.sign(b"message")
    assert key.sign(b"message") == signature
    assert len(signature) == 64
    assert key.public_key.verify(b"message", signature)
    assert not key.public_key.verify(b"messagE", signature)
    assert not key.public_key.verify(b"message", signature[:63])
    assert not KeyPair.generate().public_key.verify(b"message", signature)


def test_key_pair_repr_does_not_reveal_the_secret() -> None:
    key = KeyPair(SEED)
    shown = repr(key)
    assert key.public_key_multibase in shown
    assert key.secret_key_multibase not in shown
    assert SEED.hex() not in shown


def _secret_with_public_codec() -> str:
    return "z" + base58.b58encode(b"\xed\x01" + SEED).decode()


def _public_with_secret_codec() -> str:
    return "z" + base58.b58encode(b"\x80\x26" + SEED).decode()


MALFORMED_PUBLIC_KEYS = {
    "no-multibase-prefix": KeyPair(SEED).public_key_multibase[1:],
    "base64url-multibase": "u" + KeyPair(SEED).public_key_multibase[1:],
    "not-base58": "z6Mk0OIl",
    "secret-key-codec": _public_with_secret_codec(),
    "too-short": "z" + base58.b58encode(b"\xed\x01" + SEED[:31]).decode(),
    "too-long": "z" + base58.b58encode(b"\xed\x01" + SEED + b"\x00").decode(),
    "empty": "",
}


@pytest.mark.parametrize(
    "value", list(MALFORMED_PUBLIC_KEYS.values()), ids=list(MALFORMED_PUBLIC_KEYS)
)
def test_malformed_public_multikey_is_rejected(value: str) -> None:
    with pytest.raises(KeyFormatError):
        PublicKey.from_multibase(value)


def test_public_key_is_not_accepted_as_a_secret_key(vector_key: KeyPair) -> None:
    with pytest.raises(KeyFormatError):
        KeyPair.from_secret_multibase(vector_key.public_key_multibase)
    with pytest.raises(KeyFormatError):
        KeyPair.from_secret_multibase(_secret_with_public_codec())


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_seed_must_be_32_bytes(length: int) -> None:
    with pytest.raises(KeyFormatError):
        KeyPair(bytes(length))


# -- did:key ---------------------------------------------------------------------------------


def test_did_key_document_has_one_multikey_method_in_every_relationship(
    vector_key: KeyPair,
) -> None:
    did = did_key_from_public_key(vector_key.public_key)
    method_id = did_key_verification_method_id(did)
    multibase = vector_key.public_key_multibase

    document = resolve_did_key(did)

    assert did == f"did:key:{multibase}"
    assert method_id == f"{did}#{multibase}"
    assert document["@context"] == [
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/multikey/v1",
    ]
    assert document["id"] == did
    assert document["verificationMethod"] == [
        {
            "id": method_id,
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": multibase,
        }
    ]
    for relationship in RELATIONSHIPS:
        assert document[relationship] == [method_id], relationship
    assert "keyAgreement" not in document  # an Ed25519 key is not an X25519 key
    assert set(document) == {"@context", "id", "verificationMethod", *RELATIONSHIPS}


def test_did_key_document_resolved_from_a_method_url_is_the_did_document(
    vector_method: str,
) -> None:
    did = vector_method.split("#", 1)[0]
    assert resolve_did_key(vector_method) == resolve_did_key(did)


def test_did_key_document_is_json_ld_of_its_contexts(
    vector_key: KeyPair, canonicalizer: PyldCanonicalizer
) -> None:
    """Every term is defined by the DID and Multikey contexts (none is dropped or undefined)."""
    did = did_key_from_public_key(vector_key.public_key)
    method_id = did_key_verification_method_id(did)

    nquads = canonicalizer.canonicalize(resolve_did_key(did))

    security = "https://w3id.org/security#"
    assert (
        f"<{method_id}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{security}Multikey>"
        in (nquads)
    )
    assert f'"{vector_key.public_key_multibase}"^^<{security}multibase>' in nquads
    assert f"<{did}> <{security}assertionMethod> <{method_id}>" in nquads
    assert len(nquads.splitlines()) == 3 + 1 + len(RELATIONSHIPS)  # method + verificationMethod


def test_public_key_from_did_key_is_the_key_it_encodes(vector_key: KeyPair) -> None:
    did = did_key_from_public_key(vector_key.public_key)
    assert public_key_from_did_key(did) == vector_key.public_key


MALFORMED_DIDS = {
    "not-did-key": "did:web:university.example",
    "empty-method-specific-id": "did:key:",
    "not-multibase": "did:key:6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
    "not-base58": "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ0",
    "truncated": "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4sw",
    "extended": "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2z",
    "x25519-key": "did:key:z6LSeu9HkTHSfLLeUs2nnzUSNedgDUevfNQgQjQC23ZCit6F",
    "p256-key": "did:key:zDnaegE6RR3atJtHKwTRTWHsJ3kNHqFwv7n9YjTgmU7TyfU76",
    "secp256k1-key": "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
    "uppercase-method": "did:KEY:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
}


@pytest.mark.parametrize("did", list(MALFORMED_DIDS.values()), ids=list(MALFORMED_DIDS))
def test_malformed_or_non_ed25519_did_key_is_rejected(did: str) -> None:
    with pytest.raises(InvalidDid):
        resolve_did_key(did)


@pytest.mark.parametrize("did", list(MALFORMED_DIDS.values()), ids=list(MALFORMED_DIDS))
def test_malformed_did_key_method_is_an_invalid_verification_method(did: str) -> None:
    with pytest.raises(InvalidVerificationMethodError):
        resolve_did_key_method(f"{did}#key-1", "assertionMethod")


def test_did_key_method_resolves_to_its_key_and_controller(vector_method: str) -> None:
    method = resolve_did_key_method(vector_method, "assertionMethod")
    assert method.id == vector_method
    assert method.controller == vector_method.split("#", 1)[0]
    assert method.public_key.multibase == vector_method.split("#", 1)[1]


def test_did_key_method_with_another_fragment_is_not_found(vector_method: str) -> None:
    other_fragment = vector_method.split("#", 1)[0] + "#key-1"
    with pytest.raises(InvalidVerificationMethodError):
        resolve_did_key_method(other_fragment, "assertionMethod")


def test_did_key_method_is_not_authorized_for_key_agreement(vector_method: str) -> None:
    with pytest.raises(InvalidVerificationMethodError):
        resolve_did_key_method(vector_method, "keyAgreement")
