"""Proof of possession in OpenID4VCI: the single-use ``c_nonce`` (section 7) and the ``jwt``
key proof (appendix F.1, F.4) the wallet signs with the key the credential is bound to.

Verifying a key proof is pure (no database); spending its nonce is the caller's step, so a
request that fails later has still used the nonce it showed.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.crypto.keys import PublicKey
from app.db.models import Nonce
from app.did.key import InvalidDid, did_key_from_public_key, public_key_from_did_key
from app.jose import EDDSA, JoseError, parse_compact, public_key_from_jwk
from app.services.oid4vci import OAuthError, Policy

PROOF_TYP = "openid4vci-proof+jwt"
C_NONCE = "c_nonce"
#: Accepted difference between a key proof's ``iat`` and our clock, either way.
CLOCK_SKEW = timedelta(seconds=60)
#: Values of ``nonces.value`` are at most this long (the column's size).
MAX_NONCE_LENGTH = 128


async def new_c_nonce(session: AsyncSession, policy: Policy, *, now: datetime) -> str:
    """A fresh single-use ``c_nonce``; expired ones are cleared on the way."""
    await session.exec(
        delete(Nonce).where(col(Nonce.purpose) == C_NONCE, col(Nonce.expires_at) <= now)
    )
    value = secrets.token_urlsafe(32)
    session.add(
        Nonce(value=value, purpose=C_NONCE, created_at=now, expires_at=now + policy.nonce_ttl)
    )
    await session.flush()
    return value


async def spend_c_nonce(session: AsyncSession, value: str, *, now: datetime) -> None:
    """Mark a ``c_nonce`` used; unknown, used or expired → ``invalid_nonce`` (section 8.3.1.2)."""
    spent = None
    if len(value) <= MAX_NONCE_LENGTH:
        spent = await session.exec(
            update(Nonce)
            .where(
                col(Nonce.value) == value,
                col(Nonce.purpose) == C_NONCE,
                col(Nonce.used_at).is_(None),
                col(Nonce.expires_at) > now,
            )
            .values(used_at=now)
        )
    if spent is None or spent.rowcount != 1:
        raise OAuthError("invalid_nonce", "the c_nonce is unknown, used or expired: get a new one")


# --- credential endpoint (section 8) --------------------------------------------------------------


# --- key proofs (appendix F) -------------------------------------------------------------------


@dataclass(frozen=True)
class KeyProof:
    """What a verified ``jwt`` key proof establishes."""

    holder_did: str
    public_key: PublicKey
    nonce: str


def _proof_key(header: Mapping[str, Any]) -> tuple[PublicKey, str]:
    """The key a proof names by ``kid`` (a did:key DID URL) or ``jwk``, and its did:key."""
    named = [name for name in ("kid", "jwk", "x5c") if name in header]
    if len(named) != 1:
        raise OAuthError("invalid_proof", "the proof header needs exactly one of kid and jwk")
    if named[0] == "x5c":
        raise OAuthError("invalid_proof", "x5c keys are not supported: use kid or jwk")
    if named[0] == "jwk":
        try:
            public_key = public_key_from_jwk(header["jwk"])
        except JoseError as exc:
            raise OAuthError("invalid_proof", f"jwk: {exc}") from exc
        return public_key, did_key_from_public_key(public_key)
    kid = header["kid"]
    if not isinstance(kid, str) or not kid.startswith("did:key:") or "#" not in kid:
        raise OAuthError("invalid_proof", "kid must be a did:key DID URL with a fragment")
    did, fragment = kid.split("#", 1)
    try:
        public_key = public_key_from_did_key(did)
    except InvalidDid as exc:
        raise OAuthError("invalid_proof", f"kid: {exc}") from exc
    if fragment != did.removeprefix("did:key:"):
        raise OAuthError("invalid_proof", "kid does not name the did:key verification method")
    return public_key, did


def verify_key_proof(token: str, *, audience: str, now: datetime, max_age: timedelta) -> KeyProof:
    """Verify a ``jwt`` key proof (appendix F.1 and F.4); the nonce is spent by the caller."""
    try:
        jws = parse_compact(token)
    except JoseError as exc:
        raise OAuthError("invalid_proof", f"the key proof is not a compact JWS: {exc}") from exc
    header = jws.header
    if header.get("typ") != PROOF_TYP:
        raise OAuthError("invalid_proof", f"the key proof typ must be {PROOF_TYP}")
    if header.get("alg") != EDDSA:
        raise OAuthError("invalid_proof", f"the key proof alg must be {EDDSA}")
    if "crit" in header:
        raise OAuthError("invalid_proof", "no critical header parameters are understood")
    public_key, did = _proof_key(header)
    if not jws.verify(public_key):
        raise OAuthError("invalid_proof", "the key proof signature does not verify")
    try:
        claims = jws.claims()
    except JoseError as exc:
        raise OAuthError("invalid_proof", f"the key proof claims: {exc}") from exc
    aud = claims.get("aud")
    if not (aud == audience or (isinstance(aud, list) and audience in aud)):
        raise OAuthError("invalid_proof", "the key proof aud is not this credential issuer")
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise OAuthError("invalid_proof", "the key proof needs a numeric iat")
    age = now.timestamp() - iat
    if age > (max_age + CLOCK_SKEW).total_seconds():
        raise OAuthError("invalid_proof", "the key proof is too old (iat)")
    if -age > CLOCK_SKEW.total_seconds():
        raise OAuthError("invalid_proof", "the key proof iat is in the future")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise OAuthError("invalid_proof", "the key proof has no nonce: get a c_nonce first")
    return KeyProof(did, public_key, nonce)
