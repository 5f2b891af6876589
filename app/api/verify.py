"""Public verification: credentials, presentations, and single-use presentation challenges.

A verification that fails is a result (422 with the whole body), not an error; only a body that
is not a credential (or presentation) at all is a 400 problem.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.api.deps import SessionDep, SettingsDep
from app.db.models import utcnow
from app.limits import NOT_I_JSON, PARSED_JSON, ParsedOnceRoute, i_json_problem, pause_if_large
from app.observability import CREDENTIALS_VERIFIED
from app.problems import ParsingError, json_pointer
from app.services import challenges
from app.services.verification import Verifier, challenge_ttl

Text = Annotated[str, StringConstraints(min_length=1, max_length=2048)]


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


async def get_verifier(request: Request) -> Verifier:
    verifier: Verifier = request.app.state.verifier
    return verifier


VerifierDep = Annotated[Verifier, Depends(get_verifier)]


# -- requests -----------------------------------------------------------------------------------


class VerifyOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    challenge: Text | None = Field(
        default=None, description="the challenge the proof must carry (from POST /challenges)"
    )
    domain: Text | None = Field(default=None, description="the domain the proof must carry")
    trust: Literal["required", "optional"] | None = Field(
        default=None,
        description="required: an issuer no trust source vouches for fails verification; "
        "optional: it is a warning (default: the deployment's MICROCRED_TRUST_REQUIRED)",
    )

    @property
    def trust_required(self) -> bool | None:
        return None if self.trust is None else self.trust == "required"


class VerifyCredentialRequest(BaseModel):
    verifiableCredential: dict[str, Any] = Field(
        description="a VC 1.1 or 2.0 credential with a Data Integrity proof"
    )
    options: VerifyOptions | None = None


class VerifyPresentationRequest(BaseModel):
    verifiablePresentation: dict[str, Any] = Field(
        description="a VC 1.1 or 2.0 presentation with an authentication proof"
    )
    options: VerifyOptions | None = None


# -- replies (documentation; tests check every reply against them) ------------------------------


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class FieldError(_Closed):
    pointer: str
    detail: str


class ProblemDetailOut(_Closed):
    type: str = Field(description="a VC Data Model, Data Integrity or Bitstring Status List URL")
    title: str
    detail: str
    pointer: str | None = Field(default=None, description="JSON Pointer into the request body")
    errors: list[FieldError] | None = None


class ProofOut(_Closed):
    type: Any = None
    cryptosuite: Any = None
    verificationMethod: Any = None
    proofPurpose: Any = None
    created: Any = None
    controller: str | None = None
    resolvedFrom: Literal["database", "did:key", "did:web", "unsupported"] | None = Field(
        default=None, description="where the controller document came from"
    )
    verified: bool


class IssuerCheck(_Closed):
    id: str | None
    controllers: list[str]
    matches: bool | None = Field(description="null when the issuer is not a DID")


class ProofResults(_Closed):
    verified: bool
    proofs: list[ProofOut]
    issuer: IssuerCheck | None = None


class DateResult(_Closed):
    verified: bool | None = Field(description="null when the credential has no such date")
    value: Any = None


class StatusEntryResult(_Closed):
    statusPurpose: Any = None
    statusListIndex: Any = None
    statusListCredential: Any = None
    source: Literal["database", "remote"] | None = None
    is_set: bool | None = Field(alias="set", description="the entry's bit; null if not read")
    verified: bool


class StatusResults(_Closed):
    verified: bool | None = Field(description="null when the credential has no credentialStatus")
    revoked: bool
    suspended: bool
    entries: list[StatusEntryResult]


class SchemaRef(_Closed):
    id: Any = None
    type: Any = None
    checked: bool


class Violation(_Closed):
    focusNode: str
    path: str | None
    message: str
    value: str | None


class SchemaResults(_Closed):
    verified: bool | None = Field(description="null when no schema this service checks applies")
    schemas: list[SchemaRef]
    violations: list[Violation]


class EuMicroCredentialResult(_Closed):
    complete: bool
    profile: Literal["edc", "obv3"] | None
    missing: list[str]


class FormResult(_Closed):
    verified: bool | None = Field(
        description="whether the document is in the compact form of its signed data under "
        "contexts this service holds (one JSON reading); no other check runs on one that is "
        "not; null when a context is not one this service holds (the proof check decides)"
    )


class TrustSourceOut(_Closed):
    name: str = Field(description="the trust source (the service's own list, a registry)")
    entry: dict[str, Any] = Field(description="the source's entry for the issuer")


class IssuerTrustResult(_Closed):
    trusted: bool = Field(description="whether a trust source vouches for the issuer")
    sources: list[TrustSourceOut]
    legalName: str | None = Field(default=None, description="the registered legal name")
    warnings: list[ProblemDetailOut]
    unknown: list[str] | None = Field(
        default=None, description="sources that could not be asked (never counted as trust)"
    )


class CredentialResults(_Closed):
    form: FormResult
    proof: ProofResults | None = None
    validFrom: DateResult | None = None
    validUntil: DateResult | None = None
    credentialStatus: StatusResults | None = None
    credentialSchema: SchemaResults | None = None
    euMicroCredential: EuMicroCredentialResult | None = None
    issuerTrust: IssuerTrustResult | None = None


class CredentialVerification(_Closed):
    verified: bool
    credential: dict[str, Any] | None = None
    problemDetails: list[ProblemDetailOut]
    results: CredentialResults
    errors: list[ProblemDetailOut]
    warnings: list[ProblemDetailOut]
    checks: list[str]


class CredentialInPresentation(_Closed):
    verified: bool
    problemDetails: list[ProblemDetailOut]
    results: CredentialResults | None = Field(description="null for an item that is no credential")
    errors: list[ProblemDetailOut]
    warnings: list[ProblemDetailOut]
    checks: list[str]


class HolderCheck(_Closed):
    id: str | None
    controllers: list[str]
    bound: bool | None


class ChallengeCheck(_Closed):
    verified: bool | None
    state: Literal["accepted", "used", "expired", "unknown"] | None


class PresentationResult(_Closed):
    verified: bool
    form: FormResult
    proof: ProofResults | None = None
    holder: HolderCheck | None = None
    challenge: ChallengeCheck | None = None


class PresentationResults(_Closed):
    presentation: PresentationResult
    credentials: list[CredentialInPresentation]


class PresentationVerification(_Closed):
    verified: bool
    problemDetails: list[ProblemDetailOut]
    results: PresentationResults
    errors: list[ProblemDetailOut]
    warnings: list[ProblemDetailOut]
    checks: list[str]


class ChallengeOut(BaseModel):
    challenge: str = Field(description="put it in the presentation's proof; it works once")
    expires: datetime


def _reply(body: Mapping[str, Any], verified: bool) -> Response:
    """The result as JSON, written by orjson (a large credential echoed back: 3 ms, not 20)."""
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
    response_model=CredentialVerification,
    responses={
        400: _NOT_A_DOCUMENT,
        413: _TOO_LARGE,
        422: {"model": CredentialVerification, "description": "Not verified: the full result"},
    },
)
async def verify_credential(
    body: VerifyCredentialRequest, request: Request, verifier: VerifierDep
) -> Response:
    """Verify a VC 1.1 / 2.0 credential: proofs, issuer, validity period, status, schema, and
    who vouches for the issuer (``results.issuerTrust``)."""
    refuse_unwritable_json(request, body)
    await pause_if_large(request)
    options = body.options or VerifyOptions()
    result = await verifier.verify_credential(
        body.verifiableCredential,
        challenge=options.challenge,
        domain=options.domain,
        now=utcnow(),
        trust_required=options.trust_required,
    )
    reply = result.to_json("/verifiableCredential")
    verified = reply.pop("verified")
    CREDENTIALS_VERIFIED.labels("credential", str(bool(verified)).lower()).inc()
    return _reply(
        {"verified": verified, "credential": body.verifiableCredential, **reply}, verified
    )


@router.post(
    "/presentations/verify",
    response_model=PresentationVerification,
    responses={
        400: _NOT_A_DOCUMENT,
        413: _TOO_LARGE,
        422: {
            "model": PresentationVerification,
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
) -> ChallengeOut:
    """A single-use challenge for a presentation's proof; it expires after a few minutes."""
    nonce = await challenges.create_challenge(session, ttl=challenge_ttl(settings), now=utcnow())
    response.headers["Cache-Control"] = "no-store"
    return ChallengeOut(challenge=nonce.value, expires=nonce.expires_at)
