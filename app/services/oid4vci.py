"""Wallet delivery over OpenID for Verifiable Credential Issuance 1.0, pre-authorized code flow:
what its steps share, and the offers.

https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html

Each issuer is its own Credential Issuer (and Authorization Server) with the identifier
``{public_url}/issuers/{slug}``; its endpoints live under ``{identifier}/oid4vci/``. The steps:

1. the issuer's records system makes an *offer* for one micro-credential (learner ``id`` left
   out): a row in ``credential_offers`` with the request body, the hash of the pre-authorized
   code and, when asked, the keyed hash of a PIN (``tx_code``) (this module);
2. the wallet fetches the offer (by reference) and the metadata
   (:mod:`app.services.oid4vci_metadata`), and trades the code (and PIN) for an access token at
   the token endpoint (section 6, :mod:`app.services.oid4vci_token`); the code works once;
3. the wallet gets a ``c_nonce`` (section 7, table ``nonces``) and sends a credential request
   (section 8) with a ``jwt`` key proof (appendix F.1) signed by its key
   (:mod:`app.services.oid4vci_proofs`);
4. the credential is issued then (:mod:`app.services.oid4vci_credential`), through
   :mod:`app.services.issuance`, with the wallet's DID (a did:key; derived from the key for a
   ``jwk`` header) as ``credentialSubject.id``.

The state lives in SQL so any process serves any step. Every change of an offer's state is a
conditional UPDATE (``WHERE state = …``): of two concurrent redemptions exactly one matches a row.
Only hashes of codes and tokens are stored; the pre-authorized code itself is derived from the
offer id with a key derived from the master key, so the offer can be served by reference again.

Wallet-facing failures are :class:`OAuthError` (``{error, error_description}``, RFC 6749 5.2,
RFC 6750 3, OpenID4VCI 8.3.1): the router answers them as JSON responses rather than raising, so
what a failed request rightly changed (a wrong PIN counted, a nonce spent) is committed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import qrcode
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.credentials.microcredential import MicroCredentialIn
from app.db.models import CredentialOffer, Issuer
from app.problems import CREDENTIAL_OFFER_NOT_FOUND, WALLET_DELIVERY_UNAVAILABLE, NotFound, Problem
from app.services import audit, issuance, sdjwt

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
OFFER_SCHEME = "openid-credential-offer://"
OFFERED, TOKEN_ISSUED, REDEEMED = "offered", "token_issued", "redeemed"
TX_CODE_LENGTH = 6

#: Credential Configuration ids (section 12.2.4) per micro-credential ``format``.
CONFIGURATION_IDS = {
    "edc": "EuropeanDigitalCredential_ldp_vc",
    "obv3": "OpenBadgeCredential_ldp_vc",
    "sd-jwt": sdjwt.CONFIGURATION_ID,
}
_CODE_KEY_LABEL = b"microcred/oid4vci/v1"
_DESCRIPTION_UNSAFE = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")


class OAuthError(Exception):
    """An OAuth / OpenID4VCI error response: ``{error, error_description}`` with its status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        # error_description is limited to printable ASCII without '"' and '\' (RFC 6749 5.2).
        self.description = _DESCRIPTION_UNSAFE.sub("?", description)
        self.status = status


def invalid_token(description: str) -> OAuthError:
    return OAuthError("invalid_token", description, 401)


class OfferNotFound(NotFound):
    type = CREDENTIAL_OFFER_NOT_FOUND
    title = "Credential offer not found"


class WalletDeliveryUnavailable(Problem):
    type = WALLET_DELIVERY_UNAVAILABLE
    title, status = "Wallet delivery is not configured", 503


@dataclass(frozen=True)
class Policy:
    """Lifetimes and limits (from the settings) and the key codes are derived with."""

    public_url: str
    offer_ttl: timedelta
    token_ttl: timedelta
    nonce_ttl: timedelta
    max_tx_code_attempts: int
    master_key: bytes | None

    @property
    def code_key(self) -> bytes:
        if self.master_key is None:
            raise WalletDeliveryUnavailable("MICROCRED_MASTER_KEY is not set")
        return hmac.new(self.master_key, _CODE_KEY_LABEL, hashlib.sha256).digest()


# --- identifiers and metadata ----------------------------------------------------------------


def policy_of(settings: Settings) -> Policy:
    """The lifetimes and limits of wallet delivery in ``settings``."""
    return Policy(
        public_url=settings.public_url,
        offer_ttl=timedelta(seconds=settings.oid4vci_offer_ttl_seconds),
        token_ttl=timedelta(seconds=settings.oid4vci_token_ttl_seconds),
        nonce_ttl=timedelta(seconds=settings.oid4vci_nonce_ttl_seconds),
        max_tx_code_attempts=settings.oid4vci_tx_code_max_attempts,
        master_key=settings.master_key_bytes if settings.master_key else None,
    )


# --- identifiers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuerUrls:
    """The Credential Issuer Identifier of one issuer and its endpoints."""

    identifier: str

    @classmethod
    def of(cls, public_url: str, slug: str) -> IssuerUrls:
        return cls(f"{public_url}/issuers/{slug}")

    @property
    def token_endpoint(self) -> str:
        return f"{self.identifier}/oid4vci/token"

    @property
    def nonce_endpoint(self) -> str:
        return f"{self.identifier}/oid4vci/nonce"

    @property
    def credential_endpoint(self) -> str:
        return f"{self.identifier}/oid4vci/credential"

    def offer_url(self, offer_id: str) -> str:
        return f"{self.identifier}/oid4vci/offers/{offer_id}"


def sha256_hex(value: str) -> str:
    """How codes and tokens are stored: their SHA-256, hex."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


async def current_offer(session: AsyncSession, *conditions: Any) -> CredentialOffer | None:
    """The offer matching ``conditions``, read as the row is now (conditional UPDATEs bypass the
    identity map, so a cached object could be stale)."""
    query = select(CredentialOffer).where(*conditions).execution_options(populate_existing=True)
    return (await session.exec(query)).first()


# --- offers ------------------------------------------------------------------------------------


def pre_authorized_code(policy: Policy, offer_id: str) -> str:
    """The offer's code: unguessable without the master key, and re-derivable for the offer."""
    mac = hmac.new(policy.code_key, b"pre-authorized_code\x00" + offer_id.encode(), "sha256")
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def tx_code_hash(policy: Policy, offer_id: str, tx_code: str) -> str:
    """A keyed hash: a leaked table does not give six-digit PINs away to a quick search."""
    message = b"tx_code\x00" + offer_id.encode() + b"\x00" + tx_code.encode("utf-8")
    return hmac.new(policy.code_key, message, "sha256").hexdigest()


def tx_code_description(issuer: Issuer) -> str:
    name = issuer.name.get("en") or next(iter(issuer.name.values()))
    text = f"Enter the {TX_CODE_LENGTH}-digit PIN that {name} sent you separately."
    return _DESCRIPTION_UNSAFE.sub("?", text)[:300]


def offer_document(issuer: Issuer, offer: CredentialOffer, policy: Policy) -> dict[str, Any]:
    """The Credential Offer object (section 4.1.1) for a stored offer."""
    grant: dict[str, Any] = {"pre-authorized_code": pre_authorized_code(policy, offer.id)}
    if offer.tx_code_hash is not None:
        grant["tx_code"] = {
            "input_mode": "numeric",
            "length": TX_CODE_LENGTH,
            "description": tx_code_description(issuer),
        }
    return {
        "credential_issuer": IssuerUrls.of(policy.public_url, issuer.slug).identifier,
        "credential_configuration_ids": [CONFIGURATION_IDS[offer.format]],
        "grants": {PRE_AUTHORIZED_GRANT: grant},
    }


def offer_uri(reference_url: str) -> str:
    """``openid-credential-offer://?credential_offer_uri=…`` (section 4.1.3)."""
    return OFFER_SCHEME + "?" + urlencode({"credential_offer_uri": reference_url})


def qr_png(data: str) -> bytes:
    """A QR code of ``data`` as a PNG (error correction M, 8 px modules, 4-module quiet zone)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(data)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class NewOffer:
    offer: CredentialOffer
    document: dict[str, Any]
    uri: str
    qr_png: bytes
    tx_code: str | None


async def create_offer(
    session: AsyncSession,
    issuer: Issuer,
    mc: MicroCredentialIn,
    policy: Policy,
    *,
    with_tx_code: bool,
    actor: str,
    now: datetime,
    offer_id: str | None = None,
    tx_code: str | None = None,
    course: tuple[str, int] | None = None,
) -> NewOffer:
    """Record an offer of ``mc`` (its learner ``id`` absent: the wallet's key supplies it).

    ``offer_id`` and ``tx_code`` are random unless given (a cohort's row derives both from the
    row with :func:`derived_offer`, so that the same row offers the same thing again), and
    ``course`` (id, version) is the course version it comes from: the credential redeemed
    points to it (:func:`app.services.courses.linked_to_course`)."""
    assert issuer.id is not None
    issuance.refuse_joint_award(mc)  # it could never be redeemed
    offer_id = offer_id or str(uuid.uuid4())
    code = pre_authorized_code(policy, offer_id)
    if with_tx_code and tx_code is None:
        tx_code = f"{secrets.randbelow(10**TX_CODE_LENGTH):0{TX_CODE_LENGTH}d}"
    elif not with_tx_code:
        tx_code = None
    offer = CredentialOffer(
        id=offer_id,
        issuer_id=issuer.id,
        body=mc.model_dump(mode="json", exclude_none=True),
        format=mc.format,
        course_id=course[0] if course else None,
        course_version=course[1] if course else None,
        code_hash=sha256_hex(code),
        tx_code_hash=tx_code_hash(policy, offer_id, tx_code) if tx_code else None,
        state=OFFERED,
        expires_at=now + policy.offer_ttl,
        created_at=now,
    )
    session.add(offer)
    await audit.record(
        session,
        actor=actor,
        action="credential_offer.created",
        issuer_id=issuer.id,
        target=offer_id,
        details={"format": mc.format, "txCode": with_tx_code},
    )
    await session.flush()
    reference = IssuerUrls.of(policy.public_url, issuer.slug).offer_url(offer_id)
    uri = offer_uri(reference)
    return NewOffer(offer, offer_document(issuer, offer, policy), uri, qr_png(uri), tx_code)


def derived_offer(policy: Policy, issuer: Issuer, key: str) -> tuple[str, str]:
    """An offer id and PIN derived from ``key`` (an idempotency key) with the master key: the
    same key gives the same offer and PIN (a row uploaded again), and neither can be guessed
    without the master key (the offer id is what the wallet fetches the offer by)."""
    digest = hmac.new(policy.code_key, f"offer:{issuer.id}:{key}".encode(), hashlib.sha256).digest()
    offer_id = str(uuid.UUID(bytes=digest[:16], version=4))
    pin = int.from_bytes(digest[16:24], "big") % 10**TX_CODE_LENGTH
    return offer_id, f"{pin:0{TX_CODE_LENGTH}d}"


async def offer_by_reference(
    session: AsyncSession, issuer: Issuer, offer_id: str, policy: Policy, *, now: datetime
) -> dict[str, Any]:
    """The offer behind a ``credential_offer_uri``, while its code can still be used."""
    offer = await current_offer(
        session, col(CredentialOffer.id) == offer_id, col(CredentialOffer.issuer_id) == issuer.id
    )
    if offer is None or offer.state != OFFERED or offer.expires_at <= now:
        raise OfferNotFound("no such offer, or it expired or was used")
    return offer_document(issuer, offer, policy)
