"""Compact JWS with EdDSA (app.jose over joserfc): the RFC 8037 example, round trips, refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.crypto.keys import KeyPair
from app.jose import (
    JoseError,
    b64url_decode,
    b64url_encode,
    jwk_from_public_key,
    parse_compact,
    public_key_from_jwk,
    sign_compact,
)

# RFC 8037 appendix A.1, A.2 and A.4: an Ed25519 key and the JWS of "Example of Ed25519 signing".
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_JWS = (
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)


def test_rfc8037_example_is_reproduced_and_verifies() -> None:
    key = KeyPair(b64url_decode(RFC8037_D))
    assert jwk_from_public_key(key.public_key) == {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X}
    assert sign_compact({"alg": "EdDSA"}, b"Example of Ed25519 signing", key) == RFC8037_JWS
    jws = parse_compact(RFC8037_JWS)
    assert jws.header == {"alg": "EdDSA"}
    assert jws.payload == b"Example of Ed25519 signing"
    public_key = public_key_from_jwk({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X})
    assert jws.verify(public_key)
    # The example signs a sentence, not a claims set.
    with pytest.raises(JoseError, match="payload is not JSON"):
        jws.claims()


def test_a_signed_claims_set_round_trips_and_only_its_key_verifies_it() -> None:
    key, other = KeyPair.generate(), KeyPair.generate()
    claims = {"aud": "https://issuer.example", "iat": 1_700_000_000, "nonce": "n-é"}
    token = sign_compact({"alg": "EdDSA", "typ": "openid4vci-proof+jwt"}, claims, key)
    jws = parse_compact(token)
    assert jws.claims() == claims
    assert jws.verify(key.public_key)
    assert not jws.verify(other.public_key)


def _swap_part(token: str, index: int, value: str) -> str:
    parts = token.split(".")
    parts[index] = value
    return ".".join(parts)


def test_tampering_with_any_part_breaks_the_signature() -> None:
    key = KeyPair.generate()
    token = sign_compact({"alg": "EdDSA"}, {"iat": 1}, key)
    forged_payload = _swap_part(token, 1, b64url_encode(b'{"iat":2}'))
    forged_header = _swap_part(token, 0, b64url_encode(b'{"alg":"EdDSA","typ":"x"}'))
    signature = bytearray(b64url_decode(token.split(".")[2]))
    signature[0] ^= 1
    forged_signature = _swap_part(token, 2, b64url_encode(bytes(signature)))
    for forged in (forged_payload, forged_header, forged_signature):
        assert not parse_compact(forged).verify(key.public_key)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "non-empty"),
        ("a.b", "three"),
        ("a.b.c.d", "three"),
        ("e30=.e30.AA", "base64url"),  # padding
        ("e30.e3+.AA", "base64url"),  # '+' is not in the alphabet
        ("e31.e30.AA", "canonical"),  # non-zero trailing bits
        ("W10.e30.AA", "not a JSON object"),  # header []
        (b64url_encode(b'{"alg":"EdDSA","alg":"none"}') + ".e30.AA", "duplicate"),
        (b64url_encode(b'{"a":NaN}') + ".e30.AA", "not JSON"),
        (b64url_encode(b"\xff") + ".e30.AA", "not JSON"),
        ("e30.e30." + "A" * 20_000, "longer"),
    ],
)
def test_malformed_compact_tokens_are_refused(token: str, message: str) -> None:
    with pytest.raises(JoseError, match=message):
        parse_compact(token)


def test_claims_must_be_an_object_with_unique_names() -> None:
    key = KeyPair.generate()
    for payload in (b"[1]", b'{"iat":1,"iat":2}', b'"text"'):
        with pytest.raises(JoseError):
            parse_compact(sign_compact({"alg": "EdDSA"}, payload, key)).claims()


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "EC", "crv": "P-256", "x": RFC8037_X, "y": RFC8037_X},
        {"kty": "OKP", "crv": "X25519", "x": RFC8037_X},
        {"kty": "OKP", "crv": "Ed25519"},
        {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X[:-2]},  # 31 bytes
        {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X, "d": RFC8037_D},  # a private key
        {"kty": "OKP", "crv": "Ed25519", "x": 42},
        "not an object",
    ],
)
def test_jwks_that_are_not_ed25519_public_keys_are_refused(jwk: Any) -> None:
    with pytest.raises(JoseError):
        public_key_from_jwk(jwk)


def test_only_eddsa_is_signed() -> None:
    with pytest.raises(JoseError, match="EdDSA"):
        sign_compact({"alg": "none"}, {}, KeyPair.generate())


def test_header_json_is_compact_and_round_trips() -> None:
    # joserfc writes the header (non-ASCII escaped); what matters is one JSON reading, compact.
    token = sign_compact({"alg": "EdDSA", "kid": "ü"}, {}, KeyPair.generate())
    raw = b64url_decode(token.split(".")[0])
    assert json.loads(raw) == {"alg": "EdDSA", "kid": "ü"} and b" " not in raw
    assert parse_compact(token).header == {"alg": "EdDSA", "kid": "ü"}
