"""Wallet delivery (OpenID4VCI 1.0, pre-authorized code flow): offers, metadata, token, nonce,
credential. The protocol logic is in :mod:`app.services.oid4vci` and its sibling modules
(``oid4vci_metadata``, ``oid4vci_token``, ``oid4vci_proofs``, ``oid4vci_credential``).

Wallet-facing errors are OAuth JSON bodies ``{error, error_description}`` with the statuses the
specifications give (400; 401/403 with ``WWW-Authenticate`` on the credential endpoint), not
problem+json: wallets are OAuth clients. Unknown issuers and offers are 404 problems.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from app.api.auth import IssueCaller
from app.api.deps import IssuingDep, SessionDep, SettingsDep
from app.api.problems import NO_STORE, MissingToken, OAuthErrorReply, oauth_error_response
from app.api.schemas.wallet import (
    CredentialOfferDocument,
    NonceReply,
    OfferReply,
    TokenReply,
    WalletCredentialReply,
)
from app.credentials.microcredential import MicroCredentialIn
from app.db.models import utcnow
from app.limits import unwritable_json_problem
from app.problems import ValidationFailed
from app.services import (
    issuers,
    oid4vci,
    oid4vci_credential,
    oid4vci_metadata,
    oid4vci_proofs,
    oid4vci_token,
)
from app.services.oid4vci import OAuthError

router = APIRouter()
WALLET = "wallet delivery (OpenID4VCI)"
MAX_FORM_FIELDS = 32


policy_of = oid4vci.policy_of


async def get_policy(settings: SettingsDep) -> oid4vci.Policy:
    return policy_of(settings)


PolicyDep = Annotated[oid4vci.Policy, Depends(get_policy)]


def _bearer_token(request: Request) -> str:
    """The access token; :class:`MissingToken` when the request carries none: no header, an empty
    Bearer, or another scheme, which RFC 6750 section 3.1 counts as no authentication
    information (the challenge then names no error code)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise MissingToken()
    return token


async def _form(request: Request) -> dict[str, str]:
    """The form-encoded body; each parameter at most once (RFC 6749 section 3.2)."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "send the token request form-encoded")
    raw = await request.body()
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=MAX_FORM_FIELDS,
            errors="strict",
        )
    except ValueError as exc:  # not UTF-8, or too many fields
        raise OAuthError("invalid_request", "the form body cannot be read") from exc
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise OAuthError("invalid_request", f"the parameter {name} is repeated")
        params[name] = value
    return params


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise OAuthError("invalid_credential_request", "the request body is not JSON") from exc
    # Sent as application/json, RequestLimits refused these already; sent as another type, not.
    unwritable = unwritable_json_problem(raw, body)
    if unwritable is not None:
        raise OAuthError("invalid_credential_request", unwritable)
    return body


_OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuthErrorReply, "description": "OAuth / OpenID4VCI error"},
    404: {"description": "No such issuer"},
}


# --- offers ---------------------------------------------------------------------------------


@router.post(
    "/microcredentials/offers",
    status_code=201,
    tags=["issuing"],
    response_model_exclude_none=True,
    responses={422: {"description": "Invalid micro-credential, or a learner `id` was given"}},
)
async def create_offer(
    body: MicroCredentialIn,
    session: SessionDep,
    caller: IssueCaller,
    policy: PolicyDep,
    tx_code: Annotated[
        bool,
        Query(
            alias="txCode",
            description="Require a 6-digit PIN (`tx_code`) at the token endpoint; the PIN is "
            "in the reply, for the issuer to send the learner by another channel",
        ),
    ] = False,
) -> OfferReply:
    """Offer a micro-credential to a wallet (OpenID4VCI pre-authorized code flow).

    The body is the micro-credential of `POST /microcredentials` with the learner's `id` left
    out: the credential is signed when the wallet redeems the offer, with `credentialSubject.id`
    the wallet's DID from its key proof. The code works once, until `expires_at`.
    """
    if body.learner.id is not None:
        raise ValidationFailed(
            "an offered credential is bound to the wallet's key: leave the learner id out",
            errors=[{"pointer": "/learner/id", "detail": "must be absent in an offer"}],
        )
    now = utcnow()
    new = await oid4vci.create_offer(
        session, caller.issuer, body, policy, with_tx_code=tx_code, actor=caller.actor, now=now
    )
    return OfferReply.model_validate(
        {
            "id": new.offer.id,
            "credential_offer_uri": new.uri,
            "credential_offer": new.document,
            "qr_png_base64": base64.b64encode(new.qr_png).decode("ascii"),
            "tx_code": new.tx_code,
            "expires_at": new.offer.expires_at,
        }
    )


@router.get(
    "/issuers/{slug}/oid4vci/offers/{offer_id}",
    tags=[WALLET],
    response_model=CredentialOfferDocument,
    responses={404: {"description": "No such offer, or it expired or was used"}},
)
async def get_offer(
    slug: str, offer_id: str, session: SessionDep, policy: PolicyDep
) -> JSONResponse:
    """The Credential Offer a `credential_offer_uri` references (section 4.1.3)."""
    issuer = await issuers.get_issuer(session, slug)
    document = await oid4vci.offer_by_reference(session, issuer, offer_id, policy, now=utcnow())
    return JSONResponse(document, headers=NO_STORE)


# --- metadata -------------------------------------------------------------------------------


@router.get(
    "/.well-known/openid-credential-issuer/issuers/{slug}",
    tags=[WALLET],
    responses={404: {"description": "No such issuer"}},
)
async def credential_issuer_metadata(
    slug: str, session: SessionDep, policy: PolicyDep
) -> dict[str, Any]:
    """Credential Issuer Metadata (section 12.2) of the issuer `{public_url}/issuers/{slug}`.

    The well-known segment goes between host and path of the identifier (section 12.2.2); with
    a path in `MICROCRED_PUBLIC_URL`, route `/.well-known/openid-credential-issuer/<path>/…`
    here without the path.
    """
    issuer = await issuers.get_issuer(session, slug)
    return oid4vci_metadata.issuer_metadata(issuer, oid4vci.IssuerUrls.of(policy.public_url, slug))


@router.get(
    "/issuers/{slug}/.well-known/openid-credential-issuer",
    tags=[WALLET],
    responses={404: {"description": "No such issuer"}},
)
async def credential_issuer_metadata_after_path(
    slug: str, session: SessionDep, policy: PolicyDep
) -> dict[str, Any]:
    """The same metadata at `<credential_issuer>/.well-known/openid-credential-issuer`, where
    wallets of OpenID4VCI drafts 13–15 look for it (the well-known suffix appended to the
    identifier)."""
    return await credential_issuer_metadata(slug, session, policy)


@router.get(
    "/.well-known/oauth-authorization-server/issuers/{slug}",
    tags=[WALLET],
    responses={404: {"description": "No such issuer"}},
)
async def authorization_server_metadata(
    slug: str, session: SessionDep, policy: PolicyDep
) -> dict[str, Any]:
    """RFC 8414 Authorization Server Metadata of the issuer (each issuer is its own AS)."""
    await issuers.get_issuer(session, slug)
    return oid4vci_metadata.authorization_server_metadata(
        oid4vci.IssuerUrls.of(policy.public_url, slug)
    )


@router.get(
    "/issuers/{slug}/.well-known/oauth-authorization-server",
    tags=[WALLET],
    responses={404: {"description": "No such issuer"}},
)
async def authorization_server_metadata_after_path(
    slug: str, session: SessionDep, policy: PolicyDep
) -> dict[str, Any]:
    """The same Authorization Server Metadata with the well-known suffix after the issuer's
    path, where draft-era wallets look for it."""
    await issuers.get_issuer(session, slug)
    return oid4vci_metadata.authorization_server_metadata(
        oid4vci.IssuerUrls.of(policy.public_url, slug)
    )


# --- token, nonce, credential -------------------------------------------------------------------


_FORM_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type", "pre-authorized_code"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": [oid4vci.PRE_AUTHORIZED_GRANT]},
                        "pre-authorized_code": {"type": "string"},
                        "tx_code": {
                            "type": "string",
                            "description": "The PIN, when the offer has a `tx_code` object",
                        },
                        "authorization_details": {
                            "type": "string",
                            "description": "JSON array of `openid_credential` details",
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/issuers/{slug}/oid4vci/token",
    tags=[WALLET],
    response_model=TokenReply,
    response_model_exclude_none=True,
    responses=_OAUTH_ERRORS,
    openapi_extra=_FORM_BODY,
)
async def token(slug: str, request: Request, session: SessionDep, policy: PolicyDep) -> Any:
    """Token endpoint (section 6): a pre-authorized code (and PIN) for an access token.

    Errors: `invalid_request`, `unsupported_grant_type`, `invalid_grant` (unknown, used or
    expired code; wrong PIN; too many wrong PINs), `invalid_authorization_details`.
    """
    issuer = await issuers.get_issuer(session, slug)
    try:
        params = await _form(request)
        grant = await oid4vci_token.exchange_pre_authorized_code(
            session, issuer, params, policy, now=utcnow()
        )
    except OAuthError as exc:
        return oauth_error_response(exc)
    reply: dict[str, Any] = {
        "access_token": grant.access_token,
        "token_type": "Bearer",
        "expires_in": grant.expires_in,
    }
    if grant.authorization_details is not None:
        reply["authorization_details"] = grant.authorization_details
    return JSONResponse(reply, headers=NO_STORE)


@router.post(
    "/issuers/{slug}/oid4vci/nonce",
    tags=[WALLET],
    response_model=NonceReply,
    responses={404: {"description": "No such issuer"}},
)
async def nonce(slug: str, session: SessionDep, policy: PolicyDep) -> Any:
    """Nonce endpoint (section 7): a fresh single-use `c_nonce` for a key proof."""
    await issuers.get_issuer(session, slug)
    value = await oid4vci_proofs.new_c_nonce(session, policy, now=utcnow())
    return JSONResponse({"c_nonce": value}, headers=NO_STORE)


_CREDENTIAL_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "credential_configuration_id": {
                            "type": "string",
                            "enum": list(oid4vci.CONFIGURATION_IDS.values()),
                        },
                        "credential_identifier": {"type": "string"},
                        "proofs": {
                            "type": "object",
                            "required": ["jwt"],
                            "properties": {
                                "jwt": {
                                    "type": "array",
                                    "minItems": 1,
                                    "maxItems": 1,
                                    "items": {"type": "string"},
                                    "description": "One `openid4vci-proof+jwt` (EdDSA) with "
                                    "`kid` (did:key DID URL) or `jwk` (OKP Ed25519), `aud` the "
                                    "credential issuer, `iat`, `nonce` a fresh `c_nonce`",
                                }
                            },
                        },
                        "proof": {
                            "type": "object",
                            "required": ["proof_type", "jwt"],
                            "properties": {
                                "proof_type": {"type": "string", "enum": ["jwt"]},
                                "jwt": {"type": "string"},
                            },
                            "description": "Drafts 13–15: one key proof, the alias of "
                            "`proofs: {jwt: [jwt]}`",
                        },
                    },
                    "description": "Give `proofs`, or the singular `proof` of OpenID4VCI "
                    "drafts 13–15 as its alias",
                }
            }
        },
    }
}


@router.post(
    "/issuers/{slug}/oid4vci/credential",
    tags=[WALLET],
    response_model=WalletCredentialReply,
    responses={
        **_OAUTH_ERRORS,
        401: {"model": OAuthErrorReply, "description": "Missing, invalid, expired or used token"},
        403: {"model": OAuthErrorReply, "description": "The token does not cover the request"},
    },
    openapi_extra=_CREDENTIAL_BODY,
)
async def credential(
    slug: str, request: Request, session: SessionDep, policy: PolicyDep, issuing: IssuingDep
) -> Any:
    """Credential endpoint (section 8): the offered credential, bound to the proof's key.

    Errors: 401 `invalid_token`; 403 `insufficient_scope`; 400 `invalid_credential_request`,
    `unknown_credential_configuration`, `unknown_credential_identifier`, `invalid_proof`,
    `invalid_nonce`, `invalid_encryption_parameters`, `credential_request_denied`.
    """
    issuer = await issuers.get_issuer(session, slug)
    urls = oid4vci.IssuerUrls.of(policy.public_url, slug)
    now = utcnow()
    try:
        offer = await oid4vci_credential.authenticate_access_token(
            session, issuer, _bearer_token(request), now=now
        )
        proof_jwt = oid4vci_credential.key_proof_of_request(await _json_body(request), offer)
        proof = oid4vci_proofs.verify_key_proof(
            proof_jwt, audience=urls.identifier, now=now, max_age=policy.nonce_ttl
        )
        await oid4vci_proofs.spend_c_nonce(session, proof.nonce, now=now)
        document = await oid4vci_credential.redeem_offer(
            session, issuer, offer, proof.holder_did, issuing, now=now
        )
    except OAuthError as exc:
        return oauth_error_response(exc, realm=urls.identifier)
    return JSONResponse({"credentials": [{"credential": document}]}, headers=NO_STORE)
