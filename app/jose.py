"""Compact JWS with EdDSA over Ed25519 (RFC 7515, RFC 8037): just what key proofs need.

Only the compact serialization and only ``alg: EdDSA`` with an Ed25519 key are handled, so there
is no algorithm negotiation to get wrong: the caller names the key, this module checks the bytes.

* :func:`parse_compact` splits and decodes a token without trusting it (strict base64url, JSON
  objects without duplicate names, a size limit);
* :meth:`CompactJws.verify` checks the Ed25519 signature over the ASCII signing input;
* :func:`public_key_from_jwk` / :func:`jwk_from_public_key` convert OKP ``Ed25519`` JWKs
  (RFC 8037 section 2) and refuse a JWK that carries the private key ``d``;
* :func:`sign_compact` makes a token (tests play a wallet with it).

Pure: imports only :mod:`app.crypto.keys`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.crypto.keys import KeyPair, PublicKey

EDDSA = "EdDSA"
#: A key proof is a few hundred bytes; anything much larger is not one.
MAX_TOKEN_LENGTH = 16 * 1024
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class JoseError(ValueError):
    """A token or key that is malformed or not what this module handles."""


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(value: str) -> bytes:
    """Strict base64url without padding (RFC 7515 section 2): no ``=``, no other alphabet."""
    if not _BASE64URL.fullmatch(value) or len(value) % 4 == 1:
        raise JoseError("not base64url without padding")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise JoseError("not base64url without padding") from exc
    if b64url_encode(raw) != value:  # non-zero trailing bits: a second spelling of the bytes
        raise JoseError("not the canonical base64url encoding")
    return raw


def _unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise JoseError(f"duplicate member name {name!r}")
        result[name] = value
    return result


def _reject_constant(name: str) -> Any:
    raise JoseError(f"{name} is not JSON")


def json_object(raw: bytes, what: str) -> dict[str, Any]:
    """Parse UTF-8 JSON that must be an object with unique member names (RFC 7515 4, 7519 7.2)."""
    try:
        value = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_unique_names,
            parse_constant=_reject_constant,
        )
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise JoseError(f"the {what} is not JSON") from exc
    if not isinstance(value, dict):
        raise JoseError(f"the {what} is not a JSON object")
    return value


@dataclass(frozen=True)
class CompactJws:
    """A parsed, not yet verified, compact JWS."""

    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes

    def claims(self) -> dict[str, Any]:
        """The payload as a JWT claims set (a JSON object)."""
        return json_object(self.payload, "payload")

    def verify(self, public_key: PublicKey) -> bool:
        """Whether the signature is an Ed25519 signature of the signing input by ``public_key``."""
        return public_key.verify(self.signing_input, self.signature)


def parse_compact(token: str, *, max_length: int = MAX_TOKEN_LENGTH) -> CompactJws:
    """Split ``header.payload.signature`` and decode each part (RFC 7515 section 5.2, 1-8)."""
    if not isinstance(token, str) or not token:
        raise JoseError("a compact JWS is a non-empty string")
    if len(token) > max_length:
        raise JoseError(f"the token is longer than {max_length} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise JoseError("a compact JWS has three dot-separated parts")
    encoded_header, encoded_payload, encoded_signature = parts
    header = json_object(b64url_decode(encoded_header), "JOSE header")
    return CompactJws(
        header=header,
        payload=b64url_decode(encoded_payload),
        signing_input=f"{encoded_header}.{encoded_payload}".encode("ascii"),
        signature=b64url_decode(encoded_signature),
    )


def sign_compact(
    header: Mapping[str, Any], payload: Mapping[str, Any] | bytes, key: KeyPair
) -> str:
    """A compact JWS of ``payload`` (a claims set, or raw bytes) signed with ``key`` (EdDSA)."""
    if header.get("alg") != EDDSA:
        raise JoseError("only alg EdDSA is signed here")
    raw = payload if isinstance(payload, bytes) else _json_bytes(payload)
    signing_input = f"{b64url_encode(_json_bytes(header))}.{b64url_encode(raw)}"
    signature = key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url_encode(signature)}"


def _json_bytes(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def public_key_from_jwk(jwk: Any) -> PublicKey:
    """The Ed25519 key of an OKP JWK (RFC 8037 section 2); a private ``d`` is refused."""
    if not isinstance(jwk, Mapping):
        raise JoseError("a JWK is a JSON object")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise JoseError("only OKP keys on the Ed25519 curve are accepted")
    if "d" in jwk:
        raise JoseError("the JWK contains a private key")
    x = jwk.get("x")
    if not isinstance(x, str):
        raise JoseError("the JWK has no x")
    raw = b64url_decode(x)
    if len(raw) != 32:
        raise JoseError("an Ed25519 public key is 32 bytes")
    return PublicKey(raw)


def jwk_from_public_key(public_key: PublicKey) -> dict[str, str]:
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(public_key.raw)}
