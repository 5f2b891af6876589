"""The token step of OpenID4VCI (section 6): a pre-authorized code, and its PIN (``tx_code``)
when the offer has one, traded for an access token bound to the offer.

The code works once and wrong PINs are counted per offer (each attempt is counted before the
comparison), so parallel requests can neither reuse a code nor exceed the attempt limit.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.models import CredentialOffer, Issuer
from app.services.oid4vci import (
    CONFIGURATION_IDS,
    OFFERED,
    PRE_AUTHORIZED_GRANT,
    TOKEN_ISSUED,
    OAuthError,
    Policy,
    current_offer,
    sha256_hex,
    tx_code_hash,
)


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    expires_in: int
    authorization_details: list[dict[str, Any]] | None


def _authorization_details(raw: str, offer: CredentialOffer) -> list[dict[str, Any]]:
    """Answer ``authorization_details`` of type ``openid_credential`` (sections 5.1.1, 6.2)."""
    try:
        details = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested beyond the parser
        raise OAuthError("invalid_request", "authorization_details is not JSON") from exc
    if not isinstance(details, list) or not details:
        raise OAuthError("invalid_request", "authorization_details must be a non-empty array")
    offered = CONFIGURATION_IDS[offer.format]
    answer = []
    for detail in details:
        if not isinstance(detail, dict) or detail.get("type") != "openid_credential":
            raise OAuthError(
                "invalid_authorization_details", "only openid_credential details are supported"
            )
        if detail.get("credential_configuration_id") != offered:
            raise OAuthError(
                "invalid_authorization_details",
                f"this offer covers the credential configuration {offered} only",
            )
        answer.append(
            {
                "type": "openid_credential",
                "credential_configuration_id": offered,
                "credential_identifiers": [offer.id],
            }
        )
    return answer[:1]


async def exchange_pre_authorized_code(
    session: AsyncSession,
    issuer: Issuer,
    params: Mapping[str, str],
    policy: Policy,
    *,
    now: datetime,
) -> TokenGrant:
    """Trade a pre-authorized code (and its PIN) for an access token bound to the offer."""
    grant_type = params.get("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is missing")
    if grant_type != PRE_AUTHORIZED_GRANT:
        raise OAuthError("unsupported_grant_type", f"only {PRE_AUTHORIZED_GRANT} is supported")
    code = params.get("pre-authorized_code")
    if not code:
        raise OAuthError("invalid_request", "pre-authorized_code is missing")
    offer = await current_offer(
        session,
        col(CredentialOffer.code_hash) == sha256_hex(code),
        col(CredentialOffer.issuer_id) == issuer.id,
    )
    if offer is None or offer.state != OFFERED or offer.expires_at <= now:
        raise OAuthError("invalid_grant", "the pre-authorized code is unknown, used or expired")
    tx_code = params.get("tx_code")
    if offer.tx_code_hash is None:
        if tx_code is not None:
            raise OAuthError("invalid_request", "this offer expects no tx_code")
    else:
        if not tx_code:
            raise OAuthError("invalid_request", "this offer requires a tx_code")
        await _spend_tx_code_attempt(session, offer, policy)
        if not hmac.compare_digest(offer.tx_code_hash, tx_code_hash(policy, offer.id, tx_code)):
            raise OAuthError("invalid_grant", "the tx_code is wrong")
    raw_details = params.get("authorization_details")
    details = _authorization_details(raw_details, offer) if raw_details else None
    access_token = secrets.token_urlsafe(32)
    issued = await session.exec(
        update(CredentialOffer)
        .where(
            col(CredentialOffer.id) == offer.id,
            col(CredentialOffer.state) == OFFERED,
            col(CredentialOffer.expires_at) > now,
        )
        .values(
            state=TOKEN_ISSUED,
            access_token_hash=sha256_hex(access_token),
            token_expires_at=now + policy.token_ttl,
        )
    )
    if issued.rowcount != 1:  # another request redeemed the code meanwhile
        raise OAuthError("invalid_grant", "the pre-authorized code is unknown, used or expired")
    return TokenGrant(access_token, int(policy.token_ttl.total_seconds()), details)


async def _spend_tx_code_attempt(
    session: AsyncSession, offer: CredentialOffer, policy: Policy
) -> None:
    """Count an attempt before comparing, so parallel guesses cannot exceed the limit."""
    counted = await session.exec(
        update(CredentialOffer)
        .where(
            col(CredentialOffer.id) == offer.id,
            col(CredentialOffer.state) == OFFERED,
            col(CredentialOffer.tx_code_attempts) < policy.max_tx_code_attempts,
        )
        .values(tx_code_attempts=col(CredentialOffer.tx_code_attempts) + 1)
    )
    if counted.rowcount != 1:
        raise OAuthError(
            "invalid_grant", "too many wrong tx_code attempts: ask the issuer for a new offer"
        )


# --- nonce endpoint (section 7) -----------------------------------------------------------------
