"""Selective Disclosure for JWTs (RFC 9901): issue, present, and verify, signed EdDSA.

An SD-JWT is ``<issuer JWT>~<disclosure>~…~`` and a presentation with key binding ends with a
KB-JWT instead of the last empty part. Each disclosure is base64url JSON ``[salt, name, value]``
(an object member) whose SHA-256 digest sits in an ``_sd`` array of the signed payload; a claim
whose disclosure is left out is not seen by the verifier.

Verification (:func:`verify_presentation`) is strict: every disclosure must be referenced by
exactly one digest, a digest may not repeat, a disclosed name may not clash with a plain claim,
the KB-JWT must be ``kb+jwt`` signed by the ``cnf`` key over this very presentation
(``sd_hash``), for this audience and nonce, and recent. Each refusal is an :class:`SdJwtError`
whose ``code`` names what was wrong, so the HTTP layer can report a named problem.

Pure: imports :mod:`app.crypto` only.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.crypto import jws
from app.crypto.keys import KeyPair, PublicKey

SD_ALG = "sha-256"
KB_JWT_TYPE = "kb+jwt"
#: An SD-JWT presentation longer than this is not one of ours (disclosures are small).
MAX_PRESENTATION_LENGTH = 512 * 1024
MAX_DISCLOSURES = 256
MAX_DEPTH = 16
#: Names a disclosure may not carry (RFC 9901 section 7.1).
_RESERVED = {"_sd", "...", "_sd_alg"}


class SdJwtError(ValueError):
    """Why an SD-JWT (or its presentation) is refused; ``code`` is the problem's name."""

    code = "SD_JWT_MALFORMED"


class MalformedSdJwt(SdJwtError):
    code = "SD_JWT_MALFORMED"


class InvalidIssuerSignature(SdJwtError):
    code = "SD_JWT_SIGNATURE_INVALID"


class InvalidDisclosure(SdJwtError):
    code = "SD_JWT_DISCLOSURE_INVALID"


class InvalidKeyBinding(SdJwtError):
    code = "SD_JWT_KEY_BINDING_INVALID"


def digest(encoded: str) -> str:
    """The base64url SHA-256 of a disclosure's ASCII (RFC 9901 section 4.2.3)."""
    return jws.b64url_encode(hashlib.sha256(encoded.encode("ascii")).digest())


@dataclass(frozen=True)
class Disclosure:
    encoded: str
    name: str | None
    value: Any

    @property
    def digest(self) -> str:
        return digest(self.encoded)

    @classmethod
    def of(cls, name: str, value: Any, salt: str | None = None) -> Disclosure:
        salt = salt or jws.b64url_encode(secrets.token_bytes(16))
        return cls(jws.b64url_encode(jws.json_bytes([salt, name, value])), name, value)

    @classmethod
    def decode(cls, encoded: str) -> Disclosure:
        try:
            raw = jws.b64url_decode(encoded)
            array = jws.parse_json(raw, "disclosure")
        except jws.JwsError as exc:
            raise InvalidDisclosure(f"a disclosure is not base64url JSON: {exc}") from exc
        if not isinstance(array, list) or len(array) not in (2, 3):
            raise InvalidDisclosure("a disclosure is a JSON array of 2 or 3 elements")
        if not isinstance(array[0], str):
            raise InvalidDisclosure("a disclosure's salt is a string")
        if len(array) == 2:
            return cls(encoded, None, array[1])
        name = array[1]
        if not isinstance(name, str) or name in _RESERVED:
            raise InvalidDisclosure(f"a disclosure may not name the claim {name!r}")
        return cls(encoded, name, array[2])


def issue(
    header: Mapping[str, Any],
    claims: Mapping[str, Any],
    selectable: Collection[str],
    key: KeyPair,
    *,
    decoys: int = 0,
) -> str:
    """An SD-JWT: the top-level ``claims`` named in ``selectable`` become disclosures.

    ``decoys`` random digests hide how many claims were made selectively disclosable.
    """
    payload = {name: value for name, value in claims.items() if name not in selectable}
    disclosures = [Disclosure.of(name, claims[name]) for name in claims if name in selectable]
    digests = [d.digest for d in disclosures]
    digests += [digest(jws.b64url_encode(secrets.token_bytes(16))) for _ in range(decoys)]
    if digests:
        payload["_sd"] = sorted(digests)
        payload["_sd_alg"] = SD_ALG
    issuer_jwt = jws.sign(header, payload, key)
    return "~".join([issuer_jwt, *(d.encoded for d in disclosures)]) + "~"


@dataclass(frozen=True)
class Parsed:
    """An SD-JWT or presentation split into its parts, nothing checked beyond the syntax."""

    issuer_jwt: str
    disclosures: tuple[str, ...]
    kb_jwt: str | None

    @property
    def without_key_binding(self) -> str:
        """What ``sd_hash`` covers: the issuer JWT and disclosures, with the final ``~``."""
        return "~".join([self.issuer_jwt, *self.disclosures]) + "~"


def parse(value: str) -> Parsed:
    if not isinstance(value, str) or not value:
        raise MalformedSdJwt("an SD-JWT is a non-empty string")
    if len(value) > MAX_PRESENTATION_LENGTH:
        raise MalformedSdJwt(f"the SD-JWT is longer than {MAX_PRESENTATION_LENGTH} characters")
    parts = value.split("~")
    if len(parts) < 2:
        raise MalformedSdJwt("an SD-JWT has the form <issuer JWT>~<disclosures>~[<KB-JWT>]")
    if len(parts) - 2 > MAX_DISCLOSURES:
        raise MalformedSdJwt(f"more than {MAX_DISCLOSURES} disclosures")
    disclosures = tuple(parts[1:-1])
    if any(not d for d in disclosures):
        raise MalformedSdJwt("an empty disclosure (two ~ in a row)")
    return Parsed(parts[0], disclosures, parts[-1] or None)


def present(
    sd_jwt: str,
    disclose: Collection[str],
    *,
    holder_key: KeyPair | None = None,
    audience: str | None = None,
    nonce: str | None = None,
    issued_at: datetime | None = None,
) -> str:
    """A holder's presentation: the disclosures named in ``disclose``, then a KB-JWT if keyed."""
    parsed = parse(sd_jwt)
    kept = tuple(d for d in parsed.disclosures if Disclosure.decode(d).name in disclose)
    presentation = Parsed(parsed.issuer_jwt, kept, None).without_key_binding
    if holder_key is None:
        return presentation
    if audience is None or nonce is None or issued_at is None:
        raise ValueError("a key-binding JWT needs an audience, a nonce and a time")
    kb_claims = {
        "iat": int(issued_at.timestamp()),
        "aud": audience,
        "nonce": nonce,
        "sd_hash": digest(presentation),
    }
    return presentation + jws.sign({"typ": KB_JWT_TYPE}, kb_claims, holder_key)


def unverified_issuer_part(parsed: Parsed) -> tuple[dict[str, Any], dict[str, Any]]:
    """The issuer JWT's header and claims, before its signature is checked (to find the key)."""
    try:
        header, payload = jws.unverified(parsed.issuer_jwt)
        return header, jws.json_object(payload, "issuer JWT payload")
    except jws.JwsError as exc:
        raise MalformedSdJwt(f"the issuer-signed JWT: {exc}") from exc


def check_issuer_signature(parsed: Parsed, public_key: PublicKey) -> dict[str, Any]:
    """The issuer JWT's claims once ``public_key`` verified its signature."""
    try:
        _, payload = jws.verify(parsed.issuer_jwt, public_key)
    except jws.JwsError as exc:
        raise InvalidIssuerSignature(f"the issuer signature does not verify: {exc}") from exc
    return jws.json_object(payload, "issuer JWT payload")


def disclosed_claims(payload: Mapping[str, Any], disclosures: Collection[str]) -> dict[str, Any]:
    """The payload with the given disclosures put back in place and every digest removed.

    Refused: a disclosure no digest references, a digest that occurs twice, a disclosed name
    that is already a claim of its object, an ``_sd_alg`` other than ``sha-256``.
    """
    sd_alg = payload.get("_sd_alg", SD_ALG)
    if sd_alg != SD_ALG:
        raise InvalidDisclosure(f"_sd_alg {sd_alg!r} is not supported (sha-256 only)")
    by_digest: dict[str, Disclosure] = {}
    for encoded in disclosures:
        disclosure = Disclosure.decode(encoded)
        if disclosure.digest in by_digest:
            raise InvalidDisclosure("the same disclosure is presented twice")
        by_digest[disclosure.digest] = disclosure
    seen: set[str] = set()
    result = _unfold(payload, by_digest, seen, 0)
    unused = set(by_digest) - seen
    if unused:
        raise InvalidDisclosure(f"{len(unused)} disclosure(s) match no digest of the SD-JWT")
    assert isinstance(result, dict)
    result.pop("_sd_alg", None)
    return result


def _mark(digest_value: Any, seen: set[str]) -> str:
    if not isinstance(digest_value, str):
        raise InvalidDisclosure("a digest is a string")
    if digest_value in seen:
        raise InvalidDisclosure("a digest occurs more than once in the SD-JWT")
    seen.add(digest_value)
    return digest_value


def _unfold(value: Any, by_digest: dict[str, Disclosure], seen: set[str], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise MalformedSdJwt(f"claims nested deeper than {MAX_DEPTH}")
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        digests = value.get("_sd", [])
        if not isinstance(digests, list):
            raise InvalidDisclosure("_sd is an array of digests")
        for name, member in value.items():
            if name != "_sd":
                result[name] = _unfold(member, by_digest, seen, depth + 1)
        for digest_value in digests:
            disclosure = by_digest.get(_mark(digest_value, seen))
            if disclosure is None:
                continue  # not disclosed (or a decoy)
            if disclosure.name is None:
                raise InvalidDisclosure("an array-element disclosure is referenced by _sd")
            if disclosure.name in result:
                raise InvalidDisclosure(f"the disclosed claim {disclosure.name!r} exists already")
            result[disclosure.name] = _unfold(disclosure.value, by_digest, seen, depth + 1)
        return result
    if isinstance(value, list):
        items: list[Any] = []
        for element in value:
            if isinstance(element, Mapping) and set(element) == {"..."}:
                disclosure = by_digest.get(_mark(element["..."], seen))
                if disclosure is None:
                    continue
                if disclosure.name is not None:
                    raise InvalidDisclosure("an object-member disclosure stands in an array")
                items.append(_unfold(disclosure.value, by_digest, seen, depth + 1))
            else:
                items.append(_unfold(element, by_digest, seen, depth + 1))
        return items
    return value


@dataclass(frozen=True)
class KeyBindingPolicy:
    """What the verifier expects of the KB-JWT."""

    audience: str
    nonce: str
    now: datetime
    max_age: timedelta = timedelta(minutes=5)
    #: how far in the future ``iat`` may lie (clock skew)
    leeway: timedelta = timedelta(seconds=60)


def check_key_binding(parsed: Parsed, holder_key: PublicKey, policy: KeyBindingPolicy) -> None:
    """The KB-JWT is signed by the ``cnf`` key, over this presentation, for this verifier."""
    if parsed.kb_jwt is None:
        raise InvalidKeyBinding("the presentation has no key-binding JWT")
    try:
        header, payload = jws.verify(parsed.kb_jwt, holder_key)
        claims = jws.json_object(payload, "KB-JWT payload")
    except jws.JwsError as exc:
        raise InvalidKeyBinding(f"the key-binding JWT does not verify: {exc}") from exc
    if header.get("typ") != KB_JWT_TYPE:
        raise InvalidKeyBinding(f"the key-binding JWT's typ is not {KB_JWT_TYPE}")
    if claims.get("sd_hash") != digest(parsed.without_key_binding):
        raise InvalidKeyBinding("sd_hash does not match the presented SD-JWT and disclosures")
    if claims.get("aud") != policy.audience:
        raise InvalidKeyBinding(
            f"the key-binding JWT is for another audience ({claims.get('aud')!r})"
        )
    if claims.get("nonce") != policy.nonce:
        raise InvalidKeyBinding("the key-binding JWT carries another nonce")
    iat = claims.get("iat")
    if not isinstance(iat, int | float) or isinstance(iat, bool):
        raise InvalidKeyBinding("the key-binding JWT has no iat")
    now = policy.now.timestamp()
    if iat > now + policy.leeway.total_seconds():
        raise InvalidKeyBinding("the key-binding JWT was issued in the future")
    if iat < now - policy.max_age.total_seconds():
        raise InvalidKeyBinding("the key-binding JWT is too old")


def holder_key_of(claims: Mapping[str, Any]) -> PublicKey | None:
    """The key the holder must prove (``cnf.jwk``, RFC 7800); None for an unbound SD-JWT."""
    cnf = claims.get("cnf")
    if cnf is None:
        return None
    if not isinstance(cnf, Mapping) or "jwk" not in cnf:
        raise MalformedSdJwt("cnf is an object with a jwk")
    try:
        return jws.public_key_from_jwk(cnf["jwk"])
    except jws.JwsError as exc:
        raise MalformedSdJwt(f"cnf.jwk: {exc}") from exc
