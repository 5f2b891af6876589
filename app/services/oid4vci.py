"""Wallet delivery over OpenID for Verifiable Credential Issuance 1.0, pre-authorized code flow.

https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html

Each issuer is its own Credential Issuer (and Authorization Server) with the identifier
``{public_url}/issuers/{slug}``; its endpoints live under ``{identifier}/oid4vci/``. The steps:

1. the issuer's records system makes an *offer* for one micro-credential (learner ``id`` left
   out): a row in ``credential_offers`` with the request body, the hash of the pre-authorized
   code and, when asked, the keyed hash of a PIN (``tx_code``);
2. the wallet fetches the offer (by reference) and the metadata, and trades the code (and PIN)
   for an access token at the token endpoint (section 6); the code works once;
3. the wallet gets a ``c_nonce`` (section 7, table ``nonces``) and sends a credential request
   (section 8) with a ``jwt`` key proof (appendix F.1) signed by its key;
4. the credential is issued then, through :mod:`app.services.issuance`, with the wallet's DID
   (a did:key; derived from the key for a ``jwk`` header) as ``credentialSubject.id``.

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
import json
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import qrcode
from pydantic import ValidationError
from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.credentials.edc import EDC_CONTEXT, STATUS_V1_CONTEXT
from app.credentials.microcredential import MicroCredentialIn
from app.credentials.obv3 import OB_CONTEXT
from app.crypto.dataintegrity import DATA_INTEGRITY_V2_CONTEXT, VC_V1_CONTEXT, VC_V2_CONTEXT
from app.crypto.errors import ProofError
from app.crypto.keys import PublicKey
from app.db.models import CredentialOffer, Issuer, Nonce
from app.did.key import InvalidDid, did_key_from_public_key, public_key_from_did_key
from app.jose import EDDSA, JoseError, parse_compact, public_key_from_jwk
from app.jsonld import JsonLdProcessingError
from app.problems import CREDENTIAL_OFFER_NOT_FOUND, WALLET_DELIVERY_UNAVAILABLE, NotFound, Problem
from app.services import audit, courses, issuance, sdjwt

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
OFFER_SCHEME = "openid-credential-offer://"
PROOF_TYP = "openid4vci-proof+jwt"
C_NONCE = "c_nonce"
OFFERED, TOKEN_ISSUED, REDEEMED = "offered", "token_issued", "redeemed"
TX_CODE_LENGTH = 6
#: Accepted difference between a key proof's ``iat`` and our clock, either way.
CLOCK_SKEW = timedelta(seconds=60)
#: Values of ``nonces.value`` are at most this long (the column's size).
MAX_NONCE_LENGTH = 128
CRYPTOSUITES = ["eddsa-rdfc-2022", "eddsa-jcs-2022"]

#: Credential Configuration ids (section 12.2.4) per micro-credential ``format``.
CONFIGURATION_IDS = {
    "edc": "EuropeanDigitalCredential_ldp_vc",
    "obv3": "OpenBadgeCredential_ldp_vc",
    "sd-jwt": sdjwt.CONFIGURATION_ID,
}
_DEFINITIONS: dict[str, dict[str, Any]] = {
    "edc": {
        "@context": [VC_V1_CONTEXT, EDC_CONTEXT, STATUS_V1_CONTEXT, DATA_INTEGRITY_V2_CONTEXT],
        "type": ["VerifiableCredential", "EuropeanDigitalCredential"],
    },
    "obv3": {
        "@context": [VC_V2_CONTEXT, OB_CONTEXT],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
    },
}
_DISPLAY_NAMES = {
    "edc": "European Digital Credential for Learning (micro-credential)",
    "obv3": "Open Badge 3.0 (micro-credential)",
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


def credential_configuration(format: str) -> dict[str, Any]:
    """One entry of ``credential_configurations_supported`` (sections 12.2.4 and A.1.2)."""
    return {
        "format": "ldp_vc",
        "cryptographic_binding_methods_supported": ["did:key", "jwk"],
        "credential_signing_alg_values_supported": list(CRYPTOSUITES),
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": [EDDSA]}},
        "credential_definition": {
            "@context": list(_DEFINITIONS[format]["@context"]),
            "type": list(_DEFINITIONS[format]["type"]),
        },
        "credential_metadata": {"display": [{"name": _DISPLAY_NAMES[format], "locale": "en"}]},
    }


def issuer_metadata(issuer: Issuer, urls: IssuerUrls) -> dict[str, Any]:
    """Credential Issuer Metadata (section 12.2); no ``authorization_servers``: we are the AS."""
    return {
        "credential_issuer": urls.identifier,
        "credential_endpoint": urls.credential_endpoint,
        "nonce_endpoint": urls.nonce_endpoint,
        "display": [{"name": name, "locale": language} for language, name in issuer.name.items()],
        "credential_configurations_supported": {
            **{
                CONFIGURATION_IDS[format]: credential_configuration(format)
                for format in _DEFINITIONS
            },
            sdjwt.CONFIGURATION_ID: sdjwt.oid4vci_configuration(
                issuer, urls.identifier.removesuffix(f"/issuers/{issuer.slug}")
            ),
        },
    }


def authorization_server_metadata(urls: IssuerUrls) -> dict[str, Any]:
    """RFC 8414 metadata of the issuer's Authorization Server (OpenID4VCI section 12.3)."""
    return {
        "issuer": urls.identifier,
        "token_endpoint": urls.token_endpoint,
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "pre-authorized_grant_anonymous_access_supported": True,
        "token_endpoint_auth_methods_supported": ["none"],
        "authorization_details_types_supported": ["openid_credential"],
    }


# --- offers ------------------------------------------------------------------------------------


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


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
        code_hash=_sha256(code),
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


async def _offer_where(session: AsyncSession, *conditions: Any) -> CredentialOffer | None:
    # Conditional UPDATEs bypass the identity map: always read the row as it is now.
    query = select(CredentialOffer).where(*conditions).execution_options(populate_existing=True)
    return (await session.exec(query)).first()


async def offer_by_reference(
    session: AsyncSession, issuer: Issuer, offer_id: str, policy: Policy, *, now: datetime
) -> dict[str, Any]:
    """The offer behind a ``credential_offer_uri``, while its code can still be used."""
    offer = await _offer_where(
        session, col(CredentialOffer.id) == offer_id, col(CredentialOffer.issuer_id) == issuer.id
    )
    if offer is None or offer.state != OFFERED or offer.expires_at <= now:
        raise OfferNotFound("no such offer, or it expired or was used")
    return offer_document(issuer, offer, policy)


# --- token endpoint (section 6) -----------------------------------------------------------------


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
    offer = await _offer_where(
        session,
        col(CredentialOffer.code_hash) == _sha256(code),
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
            access_token_hash=_sha256(access_token),
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


async def authenticate_access_token(
    session: AsyncSession, issuer: Issuer, access_token: str, *, now: datetime
) -> CredentialOffer:
    """The offer an access token was issued for, while the token may still be used."""
    offer = await _offer_where(
        session, col(CredentialOffer.access_token_hash) == _sha256(access_token)
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
