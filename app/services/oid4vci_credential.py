"""The credential step of OpenID4VCI (section 8): the access token checked, the Credential
Request read for its one key proof, and the offer redeemed, once, into an issued credential.

Redemption claims the offer and issues in one savepoint: a failed issuance leaves the offer
redeemable, and of two concurrent redemptions exactly one issues.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.credentials.microcredential import MicroCredentialIn
from app.crypto.errors import ProofError
from app.db.models import CredentialOffer, Issuer
from app.jsonld import JsonLdProcessingError
from app.problems import Problem
from app.services import courses, issuance, sdjwt
from app.services.oid4vci import (
    CONFIGURATION_IDS,
    REDEEMED,
    TOKEN_ISSUED,
    OAuthError,
    current_offer,
    invalid_token,
    sha256_hex,
)


async def authenticate_access_token(
    session: AsyncSession, issuer: Issuer, access_token: str, *, now: datetime
) -> CredentialOffer:
    """The offer an access token was issued for, while the token may still be used."""
    offer = await current_offer(
        session, col(CredentialOffer.access_token_hash) == sha256_hex(access_token)
    )
    if offer is None or offer.issuer_id != issuer.id:
        raise invalid_token("the access token is not valid here")
    if offer.state == REDEEMED:
        raise invalid_token("the access token was used already")
    if offer.state != TOKEN_ISSUED or offer.token_expires_at is None:
        raise invalid_token("the access token is not valid here")
    if offer.token_expires_at <= now:
        raise invalid_token("the access token expired")
    return offer


def key_proof_of_request(body: Any, offer: CredentialOffer) -> str:
    """Check a Credential Request (section 8.2) against the offer; its one ``jwt`` key proof."""
    if not isinstance(body, dict):
        raise OAuthError("invalid_credential_request", "the request body must be a JSON object")
    if "credential_response_encryption" in body:
        raise OAuthError(
            "invalid_encryption_parameters", "this issuer does not encrypt credential responses"
        )
    configuration_id = body.get("credential_configuration_id")
    identifier = body.get("credential_identifier")
    if (configuration_id is None) == (identifier is None):
        raise OAuthError(
            "invalid_credential_request",
            "give exactly one of credential_configuration_id and credential_identifier",
        )
    if identifier is not None:
        if identifier != offer.id:
            raise OAuthError("unknown_credential_identifier", "unknown credential_identifier")
    elif not isinstance(configuration_id, str):
        raise OAuthError("invalid_credential_request", "credential_configuration_id is a string")
    elif configuration_id not in CONFIGURATION_IDS.values():
        raise OAuthError("unknown_credential_configuration", "unknown credential configuration")
    elif configuration_id != CONFIGURATION_IDS[offer.format]:
        raise OAuthError(
            "insufficient_scope",
            f"the access token covers {CONFIGURATION_IDS[offer.format]} only",
            403,
        )
    if "proof" in body:
        # Drafts 13-15 of OpenID4VCI (deployed wallets) send one ``proof`` object.
        if "proofs" in body:
            raise OAuthError("invalid_proof", "give proofs or proof, not both")
        return _singular_proof(body["proof"])
    proofs = body.get("proofs")
    if proofs is None:
        raise OAuthError("invalid_proof", "proofs is missing")
    if not isinstance(proofs, dict) or len(proofs) != 1:
        raise OAuthError("invalid_proof", "proofs must hold exactly one proof type")
    if "jwt" not in proofs:
        raise OAuthError("invalid_proof", "only the jwt proof type is supported")
    jwts = proofs["jwt"]
    if not isinstance(jwts, list) or not jwts or not all(isinstance(j, str) for j in jwts):
        raise OAuthError("invalid_proof", "proofs.jwt must be a non-empty array of JWTs")
    if len(jwts) != 1:
        raise OAuthError("invalid_proof", "one key proof per request: batch issuance is off")
    token: str = jwts[0]
    return token


def _singular_proof(proof: Any) -> str:
    """The JWT of a draft-era ``proof: {proof_type: "jwt", jwt}`` (OpenID4VCI drafts 13-15,
    section 7.2.1), the alias of a one-item ``proofs.jwt``."""
    if not isinstance(proof, dict):
        raise OAuthError("invalid_proof", "proof must be an object")
    if proof.get("proof_type") != "jwt":
        raise OAuthError("invalid_proof", "only the jwt proof type is supported")
    token = proof.get("jwt")
    if not isinstance(token, str) or not token:
        raise OAuthError("invalid_proof", "proof.jwt must be a JWT")
    return token


async def redeem_offer(
    session: AsyncSession,
    issuer: Issuer,
    offer: CredentialOffer,
    holder_did: str,
    issuing: issuance.Issuing,
    *,
    now: datetime,
) -> dict[str, Any] | str:
    """Claim the offer (once, whatever races it) and issue its credential to ``holder_did``
    (an SD-JWT VC is its compact string)."""
    try:
        async with session.begin_nested():  # a failed issuance leaves the offer redeemable
            claimed = await session.exec(
                update(CredentialOffer)
                .where(
                    col(CredentialOffer.id) == offer.id,
                    col(CredentialOffer.state) == TOKEN_ISSUED,
                    col(CredentialOffer.token_expires_at) > now,
                )
                .values(state=REDEEMED, redeemed_at=now)
            )
            if claimed.rowcount != 1:
                raise invalid_token("the access token was used already")
            body = dict(offer.body)
            body["learner"] = {**body["learner"], "id": holder_did}
            if body.get("format") == sdjwt.FORMAT:  # bound to the key proof's key (cnf)
                body["holderJwk"] = sdjwt.holder_jwk_of(holder_did)
            mc = MicroCredentialIn.model_validate(body)
            actor = f"oid4vci-offer:{offer.id}"
            body_hash = issuance.request_hash(mc.model_dump(mode="json"))
            if mc.format == sdjwt.FORMAT:  # signed in this transaction too
                issued = await sdjwt.issue(
                    session,
                    issuer,
                    mc,
                    issuing,
                    holder_jwk=mc.holderJwk,
                    actor=actor,
                    idempotency_key=None,
                    body_hash=body_hash,
                )
            else:
                order = issuance.microcredential_order(
                    mc,
                    issuer,
                    issuing,
                    actor=actor,
                    idempotency_key=None,
                    body_hash=body_hash,
                    branding=await issuance.branding_of(session, issuer),
                )
                if offer.course_id is not None and offer.course_version is not None:
                    order = courses.linked_to_course(
                        order,
                        mc,
                        offer.course_id,
                        offer.course_version,
                        courses.public_url(
                            issuing.policy.public_url,
                            issuer.slug,
                            offer.course_id,
                            offer.course_version,
                        ),
                    )
                issued = await issuance.issue_within(session, issuing, order)
            await session.exec(
                update(CredentialOffer)
                .where(col(CredentialOffer.id) == offer.id)
                .values(credential_id=issued.id)
            )
    except (Problem, ValidationError, JsonLdProcessingError, ProofError) as exc:
        # What the issuer offered cannot be issued (now): the wallet cannot fix that.
        if isinstance(exc, ValidationError):
            detail = "the offered data no longer validates"
        else:
            detail = (exc.detail if isinstance(exc, Problem) else str(exc)) or "issuing failed"
        raise OAuthError("credential_request_denied", detail) from exc
    return sdjwt.credential_of(issued.document) or issued.document
