"""Asking a wallet for a micro-credential: OpenID for Verifiable Presentations 1.0, the verifier.

https://openid.net/specs/openid-4-verifiable-presentations-1_0.html

A verifier organisation (an issuer of this service, with an API key) makes a *presentation
request*: a row in ``presentation_requests`` with a DCQL query (:mod:`.dcql`), a random ``state``
and a ``nonce`` that is a single-use challenge of the ``nonces`` table. The wallet gets the
request by reference (``request_uri``): a request object signed (EdDSA) by the organisation's
active key, with the client identifier prefix ``decentralized_identifier:`` and the
organisation's DID, so a wallet checks the signature against the DID document without any PKI.
The wallet answers with ``response_mode`` ``direct_post`` to the ``response_uri``.

The answer is *bound* to the request when the presentation's proof carries the nonce and the
client identifier (Data Integrity ``challenge``/``domain``; the SD-JWT KB-JWT's ``nonce``/``aud``):
the verifier spends the nonce then, in a transaction of its own, so of two concurrent answers
only one is bound. An answer that is not bound changes nothing (the request stays pending); a
bound one is recorded once (a conditional UPDATE from ``pending``), verified or not.

Wallet-facing failures are :class:`~app.services.oid4vci.OAuthError` with the OpenID4VP error
codes: ``invalid_request`` (unknown, expired or already answered request, a malformed
``vp_token``, a presentation not bound to this request), ``vp_formats_not_supported`` (a
presentation in another format than asked), ``access_denied`` (a bound presentation whose
credential is not accepted: not verified, revoked, or not what the query asked for).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.crypto import jws
from app.db.models import Issuer, PresentationRequest
from app.problems import NOT_AS_REQUESTED, PRESENTATION_REQUEST_NOT_FOUND, NotFound
from app.services import challenges, dcql, issuers
from app.services import oid4vp_encryption as encrypting
from app.services.issuance import Issuing
from app.services.oid4vci import OAuthError
from app.services.oid4vci_metadata import CRYPTOSUITES
from app.services.verification import NotACredential, NotAPresentation, Verifier
from app.services.verification.results import problem

CLIENT_ID_PREFIX = "decentralized_identifier:"
REDIRECT_URI_PREFIX = "redirect_uri:"
REQUEST_TYP = "oauth-authz-req+jwt"
SCHEME = "openid4vp://"
PENDING, ANSWERED, EXPIRED = "pending", "answered", "expired"
DIRECT_POST, DIRECT_POST_JWT = "direct_post", "direct_post.jwt"
#: A static-discovery audience for request objects (OpenID4VP 1.0 section 5.8).
SELF_ISSUED = "https://self-issued.me/v2"
MAX_VP_TOKEN = 1_000_000
#: Requests (and their results) are deleted this long after they expired, when new ones are made.
RETENTION = timedelta(days=7)


class RequestNotFound(NotFound):
    type = PRESENTATION_REQUEST_NOT_FOUND
    title = "Presentation request not found"


@dataclass(frozen=True)
class Urls:
    """Where the endpoints are, and the secret each request's encryption key derives from
    (:mod:`.oid4vp_encryption`; empty without a master key: no encrypted responses then)."""

    public_url: str
    response_secret: bytes = b""

    def request_uri(self, request_id: str) -> str:
        return f"{self.public_url}/oid4vp/requests/{request_id}"

    def response_uri(self, request_id: str) -> str:
        return f"{self.public_url}/oid4vp/responses/{request_id}"

    def page(self, request_id: str) -> str:
        return f"{self.public_url}/ask/{request_id}"


def urls_of(settings: Settings) -> Urls:
    secret = encrypting.secret_of(settings.master_key_bytes) if settings.master_key else b""
    return Urls(settings.public_url.rstrip("/"), secret)


def client_id_of(issuer: Issuer) -> str:
    return CLIENT_ID_PREFIX + issuer.did


def deep_link(row: PresentationRequest, urls: Urls) -> str:
    """What the QR code holds: ``openid4vp://?client_id=…&request_uri=…`` for an organisation's
    signed request; the whole (unsigned) request by value for the public verify page's
    ``redirect_uri:`` client, which has no key to sign with (section 5.9.3)."""
    if row.issuer_id is not None:
        query = urlencode({"client_id": row.client_id, "request_uri": urls.request_uri(row.id)})
        return SCHEME + "?" + query
    parameters = {
        **_request_parameters(row, urls),
        "dcql_query": json.dumps(row.dcql_query, separators=(",", ":")),
        "client_metadata": json.dumps(client_metadata(row, urls.response_secret)),
    }
    return SCHEME + "?" + urlencode(parameters)


def _request_parameters(row: PresentationRequest, urls: Urls) -> dict[str, Any]:
    return {
        "client_id": row.client_id,
        "response_type": "vp_token",
        "response_mode": row.response_mode,
        "response_uri": urls.response_uri(row.id),
        "nonce": row.nonce,
        "state": row.state,
    }


def client_metadata(row: PresentationRequest | None = None, secret: bytes = b"") -> dict[str, Any]:
    """What the verifier accepts (``vp_formats_supported``, section 11.1 and appendix B) and,
    for ``direct_post.jwt``, the key to encrypt the response to (section 8.3)."""
    encryption: dict[str, Any] = {}
    if row is not None and row.response_mode == DIRECT_POST_JWT:
        encryption = {
            "jwks": encrypting.public_jwks(secret, row.id),
            "encrypted_response_enc_values_supported": list(encrypting.ENCS),
        }
    return {
        **encryption,
        "vp_formats_supported": {
            dcql.LDP_VC: {
                "proof_type_values": ["DataIntegrityProof"],
                "cryptosuite_values": list(CRYPTOSUITES),
            },
            dcql.SD_JWT: {"sd-jwt_alg_values": [jws.EDDSA], "kb-jwt_alg_values": [jws.EDDSA]},
        },
    }


async def create(
    session: AsyncSession,
    issuer: Issuer | None,
    *,
    dcql_query: dict[str, Any],
    constraints: dict[str, Any],
    purpose: str,
    callback: str | None,
    ttl: timedelta,
    now: datetime,
    response_mode: str = DIRECT_POST,
    urls: Urls | None = None,
) -> PresentationRequest:
    """Record a request; its nonce is a challenge that expires with it. Requests that expired
    more than :data:`RETENTION` ago are removed meanwhile.

    Without ``issuer`` the request is the public verify page's: its client identifier is
    ``redirect_uri:`` and its response URI (``urls`` needed), and it is passed by value."""
    assert issuer is None or issuer.id is not None
    assert issuer is not None or urls is not None
    await session.exec(
        delete(PresentationRequest).where(col(PresentationRequest.expires_at) < now - RETENTION)
    )
    nonce = await challenges.create_challenge(session, ttl=ttl, now=now)
    request_id = secrets.token_urlsafe(32)
    row = PresentationRequest(
        id=request_id,
        issuer_id=issuer.id if issuer is not None else None,
        client_id=client_id_of(issuer)
        if issuer is not None
        else REDIRECT_URI_PREFIX + urls.response_uri(request_id),  # type: ignore[union-attr]
        nonce=nonce.value,
        state=secrets.token_urlsafe(32),
        dcql_query=dcql_query,
        constraints=constraints,
        purpose=purpose,
        callback=callback,
        response_mode=response_mode,
        status=PENDING,
        created_at=now,
        expires_at=nonce.expires_at,
    )
    session.add(row)
    await session.flush()
    return row


def state_of(row: PresentationRequest, now: datetime) -> str:
    if row.status == ANSWERED:
        return ANSWERED
    return EXPIRED if row.expires_at <= now else PENDING


async def of_issuer(session: AsyncSession, issuer: Issuer, request_id: str) -> PresentationRequest:
    """The organisation's own request; another's is as if there were none."""
    row = await session.get(PresentationRequest, request_id)
    if row is None or row.issuer_id is None or row.issuer_id != issuer.id:
        raise RequestNotFound(f"no presentation request {request_id!r}")
    return row


async def public(session: AsyncSession, request_id: str) -> PresentationRequest | None:
    if len(request_id) > 64:
        return None
    return await session.get(PresentationRequest, request_id)


async def request_object(
    session: AsyncSession, request_id: str, issuing: Issuing, urls: Urls, now: datetime
) -> str:
    """The signed request object (JAR, RFC 9101) the wallet fetches from ``request_uri``."""
    row = await public(session, request_id)
    if row is None or row.issuer_id is None:  # the verify page's requests go by value
        raise RequestNotFound(f"no presentation request {request_id!r}")
    if state_of(row, now) != PENDING:
        raise OAuthError("invalid_request", f"the presentation request is {state_of(row, now)}")
    issuer = await session.get(Issuer, row.issuer_id)
    assert issuer is not None
    key = await issuers.active_key(session, issuer)
    pair = issuing.key_cache.key_pair(key.key_id, key.encrypted_seed)
    payload = {
        "aud": SELF_ISSUED,
        "iat": int(now.timestamp()),
        "exp": int(row.expires_at.timestamp()),
        **_request_parameters(row, urls),
        "dcql_query": row.dcql_query,
        "client_metadata": client_metadata(row, urls.response_secret),
    }
    return jws.sign({"typ": REQUEST_TYP, "kid": key.key_id}, payload, pair)


# -- the wallet's answer ------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """A recorded answer: the request and the result (the ``/credentials/verify`` shape)."""

    request: PresentationRequest
    result: dict[str, Any]


def _presentation_of(form: Mapping[str, str], query: Mapping[str, Any]) -> Any:
    raw = form.get("vp_token")
    if not raw:
        raise OAuthError("invalid_request", "vp_token is missing")
    if len(raw) > MAX_VP_TOKEN:
        raise OAuthError("invalid_request", "vp_token is too large")
    try:
        token = json.loads(raw)
    except ValueError as exc:
        raise OAuthError("invalid_request", "vp_token is not JSON") from exc
    if not isinstance(token, dict):
        raise OAuthError(
            "invalid_request", "vp_token must be a JSON object keyed by Credential Query id"
        )
    unknown = set(token) - {query["id"]}
    if unknown:
        raise OAuthError("invalid_request", f"vp_token answers no query named {sorted(unknown)}")
    presentations = token.get(query["id"])
    if presentations is None:
        raise OAuthError("invalid_request", f"vp_token has no presentation for {query['id']}")
    if not isinstance(presentations, list) or len(presentations) != 1:
        raise OAuthError("invalid_request", "one presentation is expected for the query")
    presentation = presentations[0]
    expected = dict if query["format"] == dcql.LDP_VC else str
    if not isinstance(presentation, expected):
        raise OAuthError(
            "vp_formats_not_supported", f"the presentation is not in the {query['format']} format"
        )
    return presentation


async def _load(
    sessionmaker: async_sessionmaker[AsyncSession], request_id: str
) -> PresentationRequest | None:
    async with sessionmaker() as session:
        row = await public(session, request_id)
        if row is not None:
            session.expunge(row)
        return row


async def answer(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    verifier: Verifier,
    request_id: str,
    form: Mapping[str, str],
    now: datetime,
    response_secret: bytes = b"",
) -> Answer:
    """Verify the wallet's ``direct_post`` answer and record it (see the module docstring).

    The request is read in a short session of its own and the verification spends the nonce in
    another, so ``session`` (the request's) only ever writes the answer."""
    row = await _load(sessionmaker, request_id)
    if row is not None and row.response_mode == DIRECT_POST_JWT:
        form = _decrypted(form, row, response_secret)
    if row is None or not secrets.compare_digest(form.get("state", ""), row.state):
        raise OAuthError("invalid_request", "no pending presentation request has this state")
    if row.status == ANSWERED:
        raise OAuthError("invalid_request", "the presentation request was answered already")
    if row.expires_at <= now:
        raise OAuthError("invalid_request", "the presentation request has expired")
    if "error" in form:  # the wallet's own error response (section 8.5): no presentation
        result = _refusal(form)
        return Answer(await _record(session, row, result, now), result)
    query = row.dcql_query["credentials"][0]
    presentation = _presentation_of(form, query)
    if query["format"] == dcql.LDP_VC:
        result, credential, bound = await _verify_ldp(verifier, row, presentation, now)
    else:
        result, credential, bound = await _verify_sd_jwt(verifier, row, presentation, now)
    if not bound:
        reasons = "; ".join(p["detail"] or p["title"] for p in result["errors"][:3])
        raise OAuthError(
            "invalid_request", "the presentation is not bound to this request: " + reasons
        )
    mismatches = (
        dcql.mismatches(query, row.constraints, format=query["format"], credential=credential)
        if credential is not None
        else ["the presentation must carry exactly one credential"]
    )
    result["results"]["dcql"] = {
        "verified": not mismatches,
        "credentialQueryId": query["id"],
        "mismatches": mismatches,
    }
    if mismatches:
        found = problem(NOT_AS_REQUESTED, "; ".join(mismatches)).to_json()
        result["errors"].append(found)
        result["problemDetails"] = result["errors"]
    result["verified"] = not result["errors"]
    result["checks"] = [*result["checks"], "dcql"]
    return Answer(await _record(session, row, result, now), result)


def _decrypted(form: Mapping[str, str], row: PresentationRequest, secret: bytes) -> dict[str, str]:
    """The parameters of a ``direct_post.jwt`` response (its ``response`` JWE opened)."""
    if "response" not in form or set(form) - {"response"}:
        raise OAuthError("invalid_request", "this request wants the response encrypted (response)")
    try:
        payload = encrypting.decrypt(secret, row.id, form["response"])
    except encrypting.UndecryptableResponse as exc:
        raise OAuthError("invalid_request", str(exc)) from exc
    return {
        name: value if isinstance(value, str) else json.dumps(value)
        for name, value in payload.items()
        if name in ("vp_token", "state", "error", "error_description")
    }


def _refusal(form: Mapping[str, str]) -> dict[str, Any]:
    detail = f"{form.get('error')}: {form.get('error_description', '')}".strip(": ")
    return {
        "verified": False,
        "credential": None,
        "problemDetails": [],
        "results": {"wallet": {"verified": False, "error": form.get("error"), "detail": detail}},
        "errors": [],
        "warnings": [],
        "checks": ["wallet"],
    }


async def _record(
    session: AsyncSession, row: PresentationRequest, result: dict[str, Any], now: datetime
) -> PresentationRequest:
    changed = await session.exec(
        update(PresentationRequest)
        .where(col(PresentationRequest.id) == row.id, col(PresentationRequest.status) == PENDING)
        .values(status=ANSWERED, result=result, answered_at=now)
    )
    if changed.rowcount != 1:
        raise OAuthError("invalid_request", "the presentation request was answered already")
    row.status, row.result, row.answered_at = ANSWERED, result, now
    return row


async def _verify_ldp(
    verifier: Verifier, row: PresentationRequest, presentation: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], dict[str, Any] | None, bool]:
    """A Data Integrity presentation: challenge = nonce, domain = client_id (appendix B.1)."""
    try:
        checked = await verifier.verify_presentation(
            presentation, challenge=row.nonce, domain=row.client_id, now=now
        )
    except (NotAPresentation, NotACredential) as exc:
        raise OAuthError("invalid_request", f"not a presentation: {exc}") from exc
    reply: dict[str, Any] = dict(checked.to_json())
    presentation_results = reply["results"]["presentation"]
    challenge = checked.presentation.results.get("challenge") or {}
    bound = challenge.get("state") == "accepted"
    items = presentation.get("verifiableCredential")
    items = items if isinstance(items, list) else [items] if items is not None else []
    # Not exactly one credential: once bound, recorded as not what was asked for (the nonce is
    # spent, so the request must not wait for an answer that can no longer come).
    credential = items[0] if len(items) == 1 and isinstance(items[0], dict) else None
    inner = reply["results"]["credentials"][0] if reply["results"]["credentials"] else {}
    result = {
        "verified": reply["verified"],
        "credential": credential,
        "problemDetails": list(reply["errors"]),
        "results": {**(inner.get("results") or {}), "presentation": presentation_results},
        "errors": list(reply["errors"]),
        "warnings": list(reply["warnings"]),
        "checks": [*(inner.get("checks") or []), "presentation"],
    }
    return result, credential, bound


async def _verify_sd_jwt(
    verifier: Verifier, row: PresentationRequest, presentation: str, now: datetime
) -> tuple[dict[str, Any], dict[str, Any] | None, bool]:
    """An SD-JWT VC with its KB-JWT: ``aud`` = client_id, ``nonce`` = nonce (appendix B.3)."""
    try:
        report, claims = await verifier.sd_jwt.verify(
            presentation, audience=row.client_id, nonce=row.nonce, now=now
        )
    except NotACredential as exc:
        raise OAuthError("vp_formats_not_supported", f"not an SD-JWT VC: {exc}") from exc
    body: dict[str, Any] = dict(report.to_json(""))
    bound = report.results.get("sdJwt", {}).get("keyBinding", {}).get("verified") is True
    result = {
        "verified": body["verified"],
        "credential": claims,
        "problemDetails": list(body["errors"]),
        "results": dict(body["results"] or {}),
        "errors": list(body["errors"]),
        "warnings": list(body["warnings"]),
        "checks": list(body["checks"]),
    }
    return result, claims, bound


# -- what the request page shows ---------------------------------------------------------------

#: The checks the request page shows, in order (their words are the pages' messages).
CHECK_KEYS = ("answered", "holder", "issuer", "status", "validity", "asked")


def _flag(value: Any) -> bool | None:
    if isinstance(value, Mapping):
        value = value.get("verified")
    return value if isinstance(value, bool) else None


def plain_checks(result: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """Each check of an answer as ``{key, state}`` (ok | failed | not_applicable)."""
    results = result.get("results") or {} if result else {}
    if result is None or "wallet" in results:
        outcomes: dict[str, bool | None] = dict.fromkeys(CHECK_KEYS)
        if result is not None:
            outcomes["answered"] = False
    else:
        presentation = results.get("presentation")
        holder = (
            _flag(presentation.get("proof"))
            if isinstance(presentation, Mapping)
            else _flag((results.get("sdJwt") or {}).get("keyBinding"))
        )
        kinds = {p.get("type", "").rsplit(":", 1)[-1] for p in result.get("errors") or []}
        expired = bool(kinds & {"CREDENTIAL_EXPIRED", "CREDENTIAL_NOT_YET_VALID"})
        outcomes = {
            "answered": True,
            "holder": holder,
            "issuer": _flag(results.get("proof")),
            "status": _flag(results.get("credentialStatus")),
            "validity": False if expired else True,
            "asked": _flag(results.get("dcql")),
        }
    states = {True: "ok", False: "failed", None: "not_applicable"}
    return [{"key": key, "state": states[outcomes[key]]} for key in CHECK_KEYS]
