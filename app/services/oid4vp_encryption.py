"""Encrypted responses (``response_mode`` ``direct_post.jwt``, OpenID4VP 1.0 section 8.3): the
wallet encrypts its response to a key the request names in ``client_metadata.jwks`` (ECDH-ES on
P-256, A128GCM or A256GCM).

Each request has its own key pair, derived from the master key and the request id (an HMAC,
then the P-256 scalar), so no private key is stored and any process can decrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from app.crypto import jws

ALG = "ECDH-ES"
ENCS = ["A128GCM", "A256GCM"]
_LABEL = b"microcred/oid4vp/response-encryption/v1:"
_P256_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)
MAX_JWE = 1_500_000


class _Registry(jwe.JWERegistry):
    #: A presentation of a full EDC credential is larger than joserfc's default 64 KB.
    max_ciphertext_length = MAX_JWE


REGISTRY = _Registry(algorithms=[ALG, *ENCS])


class UndecryptableResponse(ValueError):
    """Not a JWE this request's key opens, or not a JSON object inside."""


def secret_of(master_key: bytes) -> bytes:
    return hmac.new(master_key, _LABEL, hashlib.sha256).digest()


def _key(secret: bytes, request_id: str) -> ECKey:
    seed = hmac.new(secret, request_id.encode("utf-8"), hashlib.sha512).digest()
    scalar = int.from_bytes(seed, "big") % (_P256_ORDER - 1) + 1
    private = ec.derive_private_key(scalar, ec.SECP256R1())
    numbers = private.private_numbers()
    point = numbers.public_numbers

    def coordinate(value: int) -> str:
        return jws.b64url_encode(value.to_bytes(32, "big"))

    return ECKey.import_key(
        {
            "kty": "EC",
            "crv": "P-256",
            "x": coordinate(point.x),
            "y": coordinate(point.y),
            "d": coordinate(numbers.private_value),
        }
    )


def public_jwks(secret: bytes, request_id: str) -> dict[str, Any]:
    """The ``jwks`` of ``client_metadata``: the request's public encryption key."""
    public = _key(secret, request_id).as_dict(private=False)
    return {"keys": [{**public, "use": "enc", "alg": ALG, "kid": "response-" + request_id[:16]}]}


def decrypt(secret: bytes, request_id: str, token: str) -> dict[str, Any]:
    """The response parameters inside the wallet's JWE."""
    if len(token) > MAX_JWE:
        raise UndecryptableResponse("the response is too large")
    try:
        opened = jwe.decrypt_compact(token, _key(secret, request_id), registry=REGISTRY)
    except (JoseError, ValueError, TypeError) as exc:
        raise UndecryptableResponse(f"the response cannot be decrypted: {exc}") from exc
    if opened.protected.get("alg") != ALG or opened.protected.get("enc") not in ENCS:
        raise UndecryptableResponse("the response is not encrypted with ECDH-ES and AES-GCM")
    try:
        payload = json.loads(opened.plaintext or b"")
    except ValueError as exc:
        raise UndecryptableResponse("the decrypted response is not JSON") from exc
    if not isinstance(payload, dict):
        raise UndecryptableResponse("the decrypted response is not a JSON object")
    return payload
