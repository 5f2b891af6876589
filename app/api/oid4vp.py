"""Asking a wallet for a credential (OpenID4VP 1.0): the verifier organisation's routes (create,
poll) and the wallet's (the signed request object, the ``direct_post`` response endpoint). The
protocol is in :mod:`app.services.oid4vp`.

Wallet-facing errors are OAuth JSON bodies ``{error, error_description}`` (400) with the
OpenID4VP error codes; the organisation's errors are problems.
"""

from __future__ import annotations

import base64
import logging
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlmodel import col, select

from app.api.auth import require_scope
from app.api.deps import IssuingDep, ServicesDep, SessionDep, SettingsDep, VerifierDep
from app.api.problems import NO_STORE, OAuthErrorReply, oauth_error_response
from app.api.schemas.presentations import (
    PresentationRequestCreatedReply,
    PresentationRequestCreateRequest,
    PresentationRequestStateReply,
)
from app.db.models import Issuer, PresentationRequest, utcnow
from app.net import RemoteFetchError, post_json
from app.problems import ValidationFailed
from app.sdjwt.microcredential import vct_url
from app.services import dcql, oid4vp
from app.services.apikeys import Caller
from app.services.oid4vci import OAuthError, qr_png
from app.state import AppState

router = APIRouter()
WALLET = "wallet presentation (OpenID4VP)"
MAX_FORM_FIELDS = 16
log = logging.getLogger(__name__)

PresentationsCaller = Annotated[Caller, Depends(require_scope("presentations:request"))]


async def get_urls(settings: SettingsDep) -> oid4vp.Urls:
    return oid4vp.urls_of(settings)


UrlsDep = Annotated[oid4vp.Urls, Depends(get_urls)]


def _query_of(body: PresentationRequestCreateRequest, public_url: str, slugs: list[str]) -> Any:
    if body.dcql_query is not None:
        try:
            dcql.check_query(body.dcql_query)
        except dcql.DcqlError as exc:
            raise ValidationFailed(
                str(exc), errors=[{"pointer": "/dcql_query", "detail": str(exc)}]
            ) from exc
        return body.dcql_query
    vcts = [vct_url(public_url, slug) for slug in slugs]
    return dcql.build(body.format, vct_values=vcts, claims=body.claims, eqf_level=body.eqfLevel)


@router.post(
    "/presentation-requests",
    status_code=201,
    tags=["verification"],
    responses={422: {"description": "An invalid body, or a DCQL query this service cannot use"}},
)
async def create_presentation_request(
    body: PresentationRequestCreateRequest,
    session: SessionDep,
    caller: PresentationsCaller,
    settings: SettingsDep,
    urls: UrlsDep,
) -> PresentationRequestCreatedReply:
    """Ask a learner's wallet for a micro-credential (OpenID4VP 1.0, DCQL, `direct_post`).

    The reply's `deep_link` (and its QR code, also on the public `page`) starts the exchange in
    the wallet; poll `GET /presentation-requests/{id}` for the result, or name a `callback`.
    The request is signed with the organisation's key under the client identifier
    `decentralized_identifier:<its DID>`."""
    issuer = caller.issuer
    if body.response_mode == oid4vp.DIRECT_POST_JWT and not urls.response_secret:
        raise ValidationFailed("encrypted responses need MICROCRED_MASTER_KEY")
    slugs = [issuer.slug]
    issuer_dids = [body.issuer] if isinstance(body.issuer, str) else body.issuer
    if issuer_dids:  # the issuers of this service among them: their SD-JWT VC types
        named = await session.exec(select(Issuer).where(col(Issuer.did).in_(issuer_dids)))
        slugs = sorted(found.slug for found in named)
    query = _query_of(body, urls.public_url, slugs)
    constraints = {
        name: value
        for name, value in {
            "course": body.course,
            "issuer": issuer_dids,
            "eqfLevel": body.eqfLevel,
        }.items()
        if value is not None
    }
    row = await oid4vp.create(
        session,
        issuer,
        dcql_query=query,
        constraints=constraints,
        purpose=body.purpose,
        callback=body.callback,
        response_mode=body.response_mode,
        ttl=timedelta(seconds=settings.presentation_request_ttl_seconds),
        now=utcnow(),
    )
    link = oid4vp.deep_link(row, urls)
    return PresentationRequestCreatedReply(
        id=row.id,
        request_uri=urls.request_uri(row.id),
        deep_link=link,
        qr_png_base64=base64.b64encode(qr_png(link)).decode("ascii"),
        page=urls.page(row.id),
        client_id=row.client_id,
        dcql_query=row.dcql_query,
        expires_at=row.expires_at,
    )


def state_reply(row: PresentationRequest) -> PresentationRequestStateReply:
    state = oid4vp.state_of(row, utcnow())
    return PresentationRequestStateReply(
        id=row.id,
        state=state,
        result=row.result if state == oid4vp.ANSWERED else None,
        expires_at=row.expires_at,
        answered_at=row.answered_at,
    )


@router.get(
    "/presentation-requests/{request_id}",
    tags=["verification"],
    responses={404: {"description": "No such request of this organisation"}},
)
async def get_presentation_request(
    request_id: str, session: SessionDep, caller: PresentationsCaller, response: Response
) -> PresentationRequestStateReply:
    """The request's state and, once the wallet answered, the verification result."""
    row = await oid4vp.of_issuer(session, caller.issuer, request_id)
    response.headers["Cache-Control"] = "no-store"
    return state_reply(row)


# -- the wallet's side ----------------------------------------------------------------------


@router.get(
    "/oid4vp/requests/{request_id}",
    tags=[WALLET],
    response_class=Response,
    responses={
        200: {"content": {"application/oauth-authz-req+jwt": {}}, "description": "The JWT"},
        400: {"model": OAuthErrorReply, "description": "Expired or answered"},
        404: {"description": "No such request"},
    },
)
async def request_object(
    request_id: str, session: SessionDep, issuing: IssuingDep, urls: UrlsDep
) -> Response:
    """The signed request object (`typ` `oauth-authz-req+jwt`) a `request_uri` names."""
    try:
        token = await oid4vp.request_object(session, request_id, issuing, urls, utcnow())
    except OAuthError as exc:
        return oauth_error_response(exc)
    return Response(token, media_type="application/oauth-authz-req+jwt", headers=NO_STORE)


async def _form(request: Request) -> dict[str, str]:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "send the response form-encoded (direct_post)")
    raw = await request.body()
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=MAX_FORM_FIELDS,
            errors="strict",
        )
    except ValueError as exc:
        raise OAuthError("invalid_request", "the form body cannot be read") from exc
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise OAuthError("invalid_request", f"the parameter {name} is repeated")
        params[name] = value
    return params


async def deliver_callback(services: AppState, url: str, result: dict[str, Any]) -> None:
    """POST the result to the organisation's callback, through the guarded client."""
    settings = services.settings
    try:
        status = await post_json(
            services.http_client,
            url,
            orjson.dumps(result),
            timeout=settings.http_timeout_seconds,
            allow_private=settings.allow_private_network,
        )
        log.info("presentation callback answered HTTP %s", status)
    except RemoteFetchError as exc:
        log.warning("presentation callback failed: %s", exc.detail)


_FORM_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "vp_token": {
                            "type": "string",
                            "description": "JSON object keyed by the DCQL Credential Query id, "
                            "each an array of one presentation",
                        },
                        "state": {"type": "string", "description": "the request's state"},
                        "response": {
                            "type": "string",
                            "description": "direct_post.jwt: the response parameters as a JWE "
                            "(ECDH-ES) to the request's key",
                        },
                        "error": {
                            "type": "string",
                            "description": "the wallet's error code, instead of vp_token",
                        },
                        "error_description": {
                            "type": "string",
                            "description": "the wallet's explanation of its error",
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/oid4vp/responses/{request_id}",
    tags=[WALLET],
    openapi_extra=_FORM_BODY,
    responses={
        200: {"description": "Accepted: `{}`"},
        400: {"model": OAuthErrorReply, "description": "OpenID4VP / OAuth error"},
    },
)
async def direct_post(
    request_id: str,
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    verifier: VerifierDep,
    background: BackgroundTasks,
    urls: UrlsDep,
) -> JSONResponse:
    """The response endpoint (`response_mode` `direct_post`): `vp_token` (a JSON object keyed
    by the DCQL Credential Query id, each an array of one presentation) and `state`."""
    try:
        form = await _form(request)
        answered = await oid4vp.answer(
            session,
            services.sessionmaker,
            verifier,
            request_id,
            form,
            utcnow(),
            response_secret=urls.response_secret,
        )
    except OAuthError as exc:
        return oauth_error_response(exc)
    if answered.request.callback:
        background.add_task(deliver_callback, services, answered.request.callback, answered.result)
    if not answered.result["verified"] and "wallet" not in answered.result["results"]:
        reasons = [p.get("detail") or p.get("title") for p in answered.result["errors"]]
        refused = OAuthError(
            "access_denied",
            "the credential is not accepted: " + "; ".join(str(r) for r in reasons[:3]),
        )
        return oauth_error_response(refused)
    return JSONResponse({}, headers=NO_STORE)
