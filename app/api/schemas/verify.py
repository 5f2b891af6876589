"""Request bodies of verification and the challenge reply; the verification results are
declared by the verifier (:mod:`app.services.verification.results`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(min_length=1, max_length=2048)]


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
    # The string's length is bounded by the body limit and by the SD-JWT parser (a 400).
    verifiableCredential: dict[str, Any] | str = Field(
        description="a VC 1.1 or 2.0 credential with a Data Integrity proof, or an SD-JWT VC "
        "presentation (a string; its key-binding JWT's aud is options.domain and its nonce "
        "options.challenge)"
    )
    options: VerifyOptions | None = Field(
        default=None,
        description="the challenge, domain and trust policy to check against; null or "
        "absent for none",
    )


class VerifyPresentationRequest(BaseModel):
    verifiablePresentation: dict[str, Any] = Field(
        description="a VC 1.1 or 2.0 presentation with an authentication proof"
    )
    options: VerifyOptions | None = Field(
        default=None,
        description="the challenge, domain and trust policy to check against; null or "
        "absent for none",
    )


class ChallengeReply(BaseModel):
    challenge: str = Field(description="put it in the presentation's proof; it works once")
    expires: datetime = Field(
        description="when the challenge stops being accepted (ISO 8601 date-time, UTC)"
    )
