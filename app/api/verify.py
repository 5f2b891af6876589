"""Public verification: credentials, presentations, and single-use presentation challenges.

A verification that fails is a result (422 with the whole body), not an error; only a body that
is not a credential (or presentation) at all is a 400 problem.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from app.api.deps import SessionDep, SettingsDep, VerifierDep
from app.api.schemas.verify import (
    ChallengeReply,
    VerifyCredentialRequest,
    VerifyOptions,
    VerifyPresentationRequest,
)
from app.db.models import utcnow
from app.limits import NOT_I_JSON, PARSED_JSON, ParsedOnceRoute, i_json_problem, pause_if_large
from app.observability import CREDENTIALS_VERIFIED
from app.problems import ParsingError, json_pointer
from app.services import challenges
from app.services.verification import challenge_ttl
from app.services.verification.results import (
    CredentialVerificationResult,
    PresentationVerificationResult,
)


def refuse_unwritable_json(request: Request, body: BaseModel) -> None:
    """Refuse what I-JSON (RFC 7493) excludes but Python's parser lets through.

    ``NaN``, ``Infinity`` and numbers beyond a double (``1e999`` reads as ``inf``) and strings
    with lone surrogates (``"\\ud800"``) cannot be canonicalized, stored or written back in a
    reply; they are a 400 here rather than a failure further on. The request limits looked at
    the whole body as they parsed it; ``body`` is walked only when they did not.
    """
    if PARSED_JSON in request.scope:
        problem = request.scope.get(NOT_I_JSON)
    else:
        problem = i_json_problem(body.model_dump())
    if problem is not None:
        raise ParsingError(problem)


class _NotADocumentIs400(ParsedOnceRoute):
    """A body of the wrong shape is a VC DM ``PARSING_ERROR`` (400), not a 422 result."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = [
                    {
                        "pointer": json_pointer(error.get("loc", ())),
                        "detail": str(error.get("msg", "invalid value")),
                    }
                    for error in exc.errors()
                ]
                raise ParsingError("the body is not a verification request", errors=errors) from exc

        return route


router = APIRouter(tags=["verification"], route_class=_NotADocumentIs400)


def _reply(body: Mapping[str, Any], verified: bool) -> Response:
    """The result as JSON, written by orjson (a large credential is echoed back)."""
    try:  # no NaN or infinity here (refused above), for which orjson would write null
        written = orjson.dumps(body)
    except TypeError:  # an integer beyond 64 bits
        written = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(
        written,
        status_code=200 if verified else 422,
        media_type="application/json",
    )


# -- routes -------------------------------------------------------------------------------------

_NOT_A_DOCUMENT = {"description": "Not a credential / presentation (VC DM PARSING_ERROR)"}
_TOO_LARGE = {"description": "The body is larger than the service accepts"}


@router.post(
    "/credentials/verify",
    response_model=CredentialVerificationResult,
    responses={
        400: _NOT_A_DOCUMENT,
        413: _TOO_LARGE,
        422: {
            "model": CredentialVerificationResult,
            "description": "Not verified: the full result",
        },
    },
)
async def verify_credential(
    body: VerifyCredentialRequest, request: Request, verifier: VerifierDep
) -> Response:
    """Verify a VC 1.1 / 2.0 credential: proofs, issuer, validity period, status, schema, and
    who vouches for the issuer (``results.issuerTrust``); or an SD-JWT VC presentation (a
    string): issuer signature, disclosures, key binding, validity, token status list."""
    refuse_unwritable_json(request, body)
    await pause_if_large(request)
    options = body.options or VerifyOptions()
    if isinstance(body.verifiableCredential, str):
        report, claims = await verifier.sd_jwt.verify(
            body.verifiableCredential,
            audience=options.domain,
            nonce=options.challenge,
            now=utcnow(),
            trust_required=options.trust_required,
        )
        sd_reply: dict[str, Any] = dict(report.to_json(""))
        sd_verified = sd_reply.pop("verified")
        CREDENTIALS_VERIFIED.labels("sd-jwt", str(bool(sd_verified)).lower()).inc()
        return _reply({"verified": sd_verified, "credential": claims, **sd_reply}, sd_verified)
    result = await verifier.verify_credential(
        body.verifiableCredential,
        challenge=options.challenge,
        domain=options.domain,
        now=utcnow(),
        trust_required=options.trust_required,
    )
    reply = result.credential_reply(body.verifiableCredential, "/verifiableCredential")
    CREDENTIALS_VERIFIED.labels("credential", str(reply["verified"]).lower()).inc()
    return _reply(reply, reply["verified"])


@router.post(
    "/presentations/verify",
    response_model=PresentationVerificationResult,
    responses={
        400: _NOT_A_DOCUMENT,
        413: _TOO_LARGE,
        422: {
            "model": PresentationVerificationResult,
            "description": "Not verified: the full result, per credential too",
        },
    },
)
async def verify_presentation(
    body: VerifyPresentationRequest, request: Request, verifier: VerifierDep
) -> Response:
    """Verify a presentation (proof, challenge, domain, holder), then each of its credentials."""
    refuse_unwritable_json(request, body)
    await pause_if_large(request)
    options = body.options or VerifyOptions()
    result = await verifier.verify_presentation(
        body.verifiablePresentation,
        challenge=options.challenge,
        domain=options.domain,
        now=utcnow(),
        trust_required=options.trust_required,
    )
    CREDENTIALS_VERIFIED.labels("presentation", str(bool(result.verified)).lower()).inc()
    return _reply(result.to_json("/verifiablePresentation"), result.verified)


@router.post("/challenges", status_code=201)
async def create_challenge(
    response: Response, session: SessionDep, settings: SettingsDep
) -> ChallengeReply:
    """A single-use challenge for a presentation's proof; it expires after a few minutes."""
    nonce = await challenges.create_challenge(session, ttl=challenge_ttl(settings), now=utcnow())
    response.headers["Cache-Control"] = "no-store"
    return ChallengeReply(challenge=nonce.value, expires=nonce.expires_at)
