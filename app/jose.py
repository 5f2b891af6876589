"""Compact JWS for OpenID4VCI key proofs, over joserfc (:mod:`app.crypto.jws`).

The key-proof code (:mod:`app.services.oid4vci_proofs`) parses a token before it knows the key
(:func:`parse_compact`), then checks it with the key the header names
(:meth:`CompactJws.verify`); both go through the same joserfc-based module the SD-JWT VC code
uses, which accepts only Ed25519 (``alg`` ``EdDSA`` or ``Ed25519``). This module keeps the names
the key-proof code and its tests use.

Pure: imports only :mod:`app.crypto`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.crypto import jws
from app.crypto.jws import EDDSA, b64url_encode
from app.crypto.keys import KeyPair, PublicKey

__all__ = [
    "EDDSA",
    "MAX_TOKEN_LENGTH",
    "CompactJws",
    "JoseError",
    "b64url_decode",
    "b64url_encode",
    "json_object",
    "jwk_from_public_key",
    "parse_compact",
    "public_key_from_jwk",
    "sign_compact",
]

#: A key proof is a few hundred bytes; anything much larger is not one.
MAX_TOKEN_LENGTH = 16 * 1024

JoseError = jws.JwsError
b64url_decode = jws.b64url_decode
json_object = jws.json_object
public_key_from_jwk = jws.public_key_from_jwk
jwk_from_public_key = jws.public_jwk


@dataclass(frozen=True)
class CompactJws:
    """A parsed, not yet verified, compact JWS."""

    token: str
    header: dict[str, Any]
    payload: bytes

    def claims(self) -> dict[str, Any]:
        """The payload as a JWT claims set (a JSON object)."""
        return jws.json_object(self.payload, "payload")

    def verify(self, public_key: PublicKey) -> bool:
        """Whether the token is signed by ``public_key`` (Ed25519, checked by joserfc)."""
        try:
            jws.verify(self.token, public_key)
        except jws.JwsError:
            return False
        return True


def parse_compact(token: str, *, max_length: int = MAX_TOKEN_LENGTH) -> CompactJws:
    """Split ``header.payload.signature`` and decode each part (RFC 7515 section 5.2, 1-8)."""
    header, payload = jws.unverified(token, max_length=max_length)
    return CompactJws(token, header, payload)


def sign_compact(
    header: Mapping[str, Any], payload: Mapping[str, Any] | bytes, key: KeyPair
) -> str:
    """A compact JWS of ``payload`` (a claims set, or raw bytes) signed with ``key`` (EdDSA)."""
    if header.get("alg") != EDDSA:
        raise JoseError("only alg EdDSA is signed here")
    return jws.sign(header, payload, key)
