"""Compact JWS and OKP JWKs through joserfc: what SD-JWT VC, Token Status List and key proofs sign.

Signing is ``alg: EdDSA`` with an issuer's Ed25519 key (RFC 8037), the value SD-JWT VC wallets
and the EUDI ecosystem expect; verification accepts ``EdDSA`` and its fully specified name
``Ed25519`` (RFC 9864), nothing else, so there is no algorithm negotiation to get wrong.
joserfc warns that RFC 9864 deprecates the name ``EdDSA``: the registry here accepts it on
purpose, without the warning.

Pure: imports joserfc and :mod:`app.crypto.keys` only.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError as _JoserfcError
from joserfc.jwk import OKPKey
from joserfc.jws import JWSRegistry

from app.crypto.keys import KeyPair, PublicKey

EDDSA = "EdDSA"
ALGORITHMS = (EDDSA, "Ed25519")
#: A single JWT here (an SD-JWT's issuer part, a status list token) is at most this long.
MAX_TOKEN_LENGTH = 256 * 1024
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class JwsError(ValueError):
    """A token or key that is malformed, not EdDSA, or whose signature does not verify."""


class _Registry(JWSRegistry):
    """Only the Ed25519 algorithms; ``EdDSA`` without joserfc's deprecation warning."""

    max_payload_length = MAX_TOKEN_LENGTH

    def get_alg(self, name: str) -> Any:
        if name not in ALGORITHMS:
            raise JwsError(f"alg {name!r} is not accepted (EdDSA or Ed25519 only)")
        return self.algorithms[name]


_REGISTRY = _Registry(algorithms=list(ALGORITHMS))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(value: str) -> bytes:
    """Strict base64url without padding (RFC 7515 section 2): no ``=``, no other alphabet, and
    the canonical spelling of the bytes only."""
    if not isinstance(value, str) or not _BASE64URL.fullmatch(value) or len(value) % 4 == 1:
        raise JwsError("not base64url without padding")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise JwsError("not base64url without padding") from exc
    if b64url_encode(raw) != value:  # non-zero trailing bits: a second spelling of the bytes
        raise JwsError("not the canonical base64url encoding")
    return raw


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise JwsError(f"duplicate member name {name!r}")
        result[name] = value
    return result


def _reject_constant(name: str) -> Any:
    raise JwsError(f"{name} is not JSON")


def parse_json(raw: bytes, what: str) -> Any:
    """UTF-8 JSON with unique member names (RFC 7515 4, RFC 7519 7.2) and no NaN/Infinity."""
    try:
        return json.loads(
            raw.decode("utf-8"), object_pairs_hook=_unique_names, parse_constant=_reject_constant
        )
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise JwsError(f"the {what} is not JSON") from exc


def json_object(raw: bytes, what: str) -> dict[str, Any]:
    value = parse_json(raw, what)
    if not isinstance(value, dict):
        raise JwsError(f"the {what} is not a JSON object")
    return value


def private_jwk(pair: KeyPair) -> OKPKey:
    return OKPKey.import_key(
        {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64url_encode(pair.public_key.raw),
            "d": b64url_encode(pair.seed),
        }
    )


def public_jwk(public_key: PublicKey) -> dict[str, str]:
    """The OKP JWK of an Ed25519 public key (RFC 8037 section 2)."""
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(public_key.raw)}


def public_key_from_jwk(jwk: Any) -> PublicKey:
    """The Ed25519 key of an OKP JWK; a JWK with the private ``d`` or another curve is refused."""
    if not isinstance(jwk, Mapping):
        raise JwsError("a JWK is a JSON object")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise JwsError("only OKP keys on the Ed25519 curve are accepted")
    if "d" in jwk:
        raise JwsError("the JWK contains a private key")
    try:
        key = OKPKey.import_key(dict(jwk))
    except (_JoserfcError, ValueError, TypeError) as exc:
        raise JwsError(f"not a valid OKP JWK: {exc}") from exc
    x = key.as_dict(private=False).get("x")
    raw = b64url_decode(x) if isinstance(x, str) else b""
    if len(raw) != 32:
        raise JwsError("an Ed25519 public key is 32 bytes")
    return PublicKey(raw)


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 thumbprint (SHA-256, base64url) of a public JWK."""
    return OKPKey.import_key(dict(jwk)).thumbprint()


def sign(header: Mapping[str, Any], payload: Mapping[str, Any] | bytes, key: KeyPair) -> str:
    """A compact JWS of ``payload`` (claims, or raw bytes) signed EdDSA with ``key``."""
    protected = {"alg": EDDSA, **header}
    if protected["alg"] != EDDSA:
        raise JwsError("only alg EdDSA is signed here")
    raw = payload if isinstance(payload, bytes) else json_bytes(payload)
    # joserfc's EdDSA signer over our encoding of the parts: a signer need not understand the
    # header (``crit`` names are the verifier's to judge; tests make such tokens on purpose).
    signing_input = f"{b64url_encode(json_bytes(protected))}.{b64url_encode(raw)}"
    signature = _REGISTRY.algorithms[EDDSA].sign(signing_input.encode("ascii"), private_jwk(key))
    return f"{signing_input}.{b64url_encode(signature)}"


def unverified(token: str, *, max_length: int = MAX_TOKEN_LENGTH) -> tuple[dict[str, Any], bytes]:
    """The header and payload of a compact JWS, before its key is known (never trust them yet)."""
    if not isinstance(token, str) or not token:
        raise JwsError("a compact JWS is a non-empty string")
    if len(token) > max_length:
        raise JwsError(f"the token is longer than {max_length} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise JwsError("a compact JWS has three dot-separated parts")
    header = json_object(b64url_decode(parts[0]), "JOSE header")
    b64url_decode(parts[2])
    return header, b64url_decode(parts[1])


def verify(token: str, public_key: PublicKey) -> tuple[dict[str, Any], bytes]:
    """Check the signature of ``token`` by ``public_key``; its header and payload bytes."""
    header, _ = unverified(token)
    if header.get("alg") not in ALGORITHMS:
        raise JwsError(f"alg {header.get('alg')!r} is not accepted (EdDSA or Ed25519 only)")
    if "crit" in header:
        raise JwsError("no critical header extension is understood here")
    key = OKPKey.import_key(dict[str, str | list[str]](public_jwk(public_key)))
    try:
        verified = jws.deserialize_compact(token, key, registry=_REGISTRY)
    except JwsError:
        raise
    except (_JoserfcError, ValueError, TypeError) as exc:
        raise JwsError(f"the signature does not verify: {exc}") from exc
    return header, verified.payload
