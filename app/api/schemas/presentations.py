"""Request and reply bodies of ``app/api/oid4vp.py`` (presentation requests, OpenID4VP 1.0)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Did = Annotated[str, StringConstraints(pattern=r"^did:", max_length=400)]
PathStep = Annotated[str, StringConstraints(max_length=100)] | int | None


class PresentationRequestCreateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dcql_query: dict[str, Any] | None = Field(
        default=None,
        description="a DCQL query (OpenID4VP 1.0 section 6) with exactly one Credential Query "
        "of format `ldp_vc` or `dc+sd-jwt`; when absent, one is made from the fields below",
    )
    course: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = Field(
        default=None,
        description="the course title the micro-credential must be for (any of its languages, "
        "case and spacing ignored)",
    )
    issuer: Did | Annotated[list[Did], Field(min_length=1, max_length=50)] | None = Field(
        default=None,
        description="the DID of the issuer the micro-credential must come from, or a list of "
        "DIDs (an alliance: any of them)",
    )
    eqfLevel: Annotated[int, Field(ge=1, le=8)] | None = Field(
        default=None, description="the EQF level the micro-credential must state"
    )
    claims: (
        Annotated[
            list[Annotated[list[PathStep], Field(min_length=1, max_length=16)]],
            Field(max_length=32),
        ]
        | None
    ) = Field(
        default=None,
        description="claims the wallet must disclose, as DCQL claims paths (e.g. "
        '`[["title"], ["eqf_level"]]` for an SD-JWT VC)',
    )
    format: Literal["ldp_vc", "dc+sd-jwt"] = Field(
        default="ldp_vc",
        description="the credential format asked for when no `dcql_query` is given",
    )
    response_mode: Literal["direct_post", "direct_post.jwt"] = Field(
        default="direct_post",
        description="`direct_post.jwt` has the wallet encrypt its response (ECDH-ES, P-256) to "
        "a key of this request, named in the request's `client_metadata.jwks`",
    )
    purpose: Annotated[str, StringConstraints(min_length=1, max_length=500)] = Field(
        description="why the credential is asked for, shown on the request page"
    )
    callback: Annotated[str, StringConstraints(pattern=r"^https?://", max_length=2000)] | None = (
        Field(
            default=None,
            description="a URL that is POSTed the result (JSON) once the wallet has answered; "
            "it must be reachable on the public network",
        )
    )


class PresentationRequestCreatedReply(BaseModel):
    id: str = Field(description="the request's id (random, unguessable)")
    request_uri: str = Field(description="where the wallet fetches the signed request object")
    deep_link: str = Field(description="`openid4vp://?client_id=…&request_uri=…` for the wallet")
    qr_png_base64: str = Field(description="a QR code of `deep_link`, PNG, base64")
    page: str = Field(description="a public page showing the QR code and, later, the verdict")
    client_id: str = Field(
        description="the verifier's client identifier: `decentralized_identifier:` and its DID"
    )
    dcql_query: dict[str, Any] = Field(description="the DCQL query sent to the wallet")
    expires_at: datetime = Field(description="until when the wallet can answer")


class PresentationRequestStateReply(BaseModel):
    id: str = Field(description="the request's id")
    state: Literal["pending", "answered", "expired"] = Field(
        description="`pending` until the wallet answers or the request expires"
    )
    result: dict[str, Any] | None = Field(
        default=None,
        description="once answered: the verification result, in the shape of "
        "`POST /credentials/verify` (with `results.dcql`, whether the credential is the one "
        "asked for)",
    )
    expires_at: datetime = Field(description="until when the wallet can answer")
    answered_at: datetime | None = Field(
        default=None, description="when the wallet's answer was recorded"
    )


class PresentationCheckReply(BaseModel):
    key: str = Field(description="the check's name")
    text: str = Field(description="the check in plain words")
    state: Literal["ok", "failed", "not_applicable"] = Field(description="its outcome")
    stateText: str = Field(description="its outcome in plain words")


class PresentationPageStateReply(BaseModel):
    state: Literal["pending", "answered", "expired"] = Field(description="the request's state")
    verified: bool | None = Field(description="the verdict once answered; null before")
    verdictText: str | None = Field(description="the verdict in plain words; null before")
    checks: list[PresentationCheckReply] = Field(description="each check in plain words")
