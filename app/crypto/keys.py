"""Ed25519 key pairs (PyNaCl) and their Multikey encodings.

``publicKeyMultibase`` = ``z`` + base58btc(0xed 0x01 ‖ 32-byte public key) → ``z6Mk…``;
``secretKeyMultibase`` = ``z`` + base58btc(0x80 0x26 ‖ 32-byte seed) → ``z3u2…``
(multicodec ``ed25519-pub`` / ``ed25519-priv``, https://www.w3.org/TR/controller-document/#Multikey).
"""

from __future__ import annotations

from dataclasses import dataclass

import base58
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

ED25519_PUB_CODEC = b"\xed\x01"
ED25519_PRIV_CODEC = b"\x80\x26"
BASE58BTC = "z"


class KeyFormatError(ValueError):
    """A multibase / multikey value that is not an Ed25519 key."""


def multibase_base58btc_encode(data: bytes) -> str:
    return BASE58BTC + base58.b58encode(data).decode("ascii")


def multibase_base58btc_decode(value: str) -> bytes:
    if not isinstance(value, str) or not value.startswith(BASE58BTC) or len(value) < 2:
        raise KeyFormatError("expected a base58btc multibase value (starting with 'z')")
    try:
        return bytes(base58.b58decode(value[1:]))
    except ValueError as exc:
        raise KeyFormatError("invalid base58btc characters") from exc


def _decode_multikey(value: str, codec: bytes, what: str) -> bytes:
    raw = multibase_base58btc_decode(value)
    if raw[:2] != codec or len(raw) != 34:
        raise KeyFormatError(f"not an Ed25519 {what} multikey")
    return raw[2:]


def encode_public_key(public_key: bytes) -> str:
    return multibase_base58btc_encode(ED25519_PUB_CODEC + public_key)


def decode_public_key(public_key_multibase: str) -> bytes:
    return _decode_multikey(public_key_multibase, ED25519_PUB_CODEC, "public key")


def encode_secret_key(seed: bytes) -> str:
    return multibase_base58btc_encode(ED25519_PRIV_CODEC + seed)


def decode_secret_key(secret_key_multibase: str) -> bytes:
    return _decode_multikey(secret_key_multibase, ED25519_PRIV_CODEC, "secret key")


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 verification key."""

    raw: bytes

    @classmethod
    def from_multibase(cls, value: str) -> PublicKey:
        return cls(decode_public_key(value))

    @property
    def multibase(self) -> str:
        return encode_public_key(self.raw)

    def verify(self, message: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            VerifyKey(self.raw).verify(message, signature)
        except BadSignatureError:
            return False
        return True


class KeyPair:
    """An Ed25519 signing key; build it once and reuse it (construction costs a signature)."""

    __slots__ = ("_signing_key", "public_key")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise KeyFormatError("an Ed25519 seed is 32 bytes")
        self._signing_key = SigningKey(seed)
        self.public_key = PublicKey(bytes(self._signing_key.verify_key))

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(bytes(SigningKey.generate()))

    @classmethod
    def from_secret_multibase(cls, value: str) -> KeyPair:
        return cls(decode_secret_key(value))

    @property
    def seed(self) -> bytes:
        return bytes(self._signing_key)

    @property
    def public_key_multibase(self) -> str:
        return self.public_key.multibase

    @property
    def secret_key_multibase(self) -> str:
        return encode_secret_key(self.seed)

    def sign(self, message: bytes) -> bytes:
        return bytes(self._signing_key.sign(message).signature)

    def __repr__(self) -> str:  # never show the seed
        return f"KeyPair(public_key={self.public_key_multibase})"
