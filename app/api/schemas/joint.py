"""Request and reply bodies of ``app/api/joint.py`` (joint credentials, API.md "Stacks and joint
awards")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from app.credentials.fieldtypes import (
    MAX_AWARDING_BODIES,
    Country,
    HttpUrl,
    InputModel,
    Logo,
    TitleMap,
    text_constraint,
)
from app.credentials.microcredential import MicroCredentialIn


class JointAwardingBodyIn(InputModel):
    """An awarding body of a joint credential: an issuer of this service, or a DID elsewhere."""

    issuer: Annotated[str, text_constraint(512)] = Field(
        description="The awarding issuer: the slug or DID of an issuer of this service (its "
        "name, country and legal identifier come from its record), or the did:key or did:web "
        "of a body elsewhere (then `name` and `country` are required)."
    )
    name: TitleMap | None = Field(
        default=None, description="The body's name per language (a body elsewhere only)."
    )
    country: Country | None = Field(
        default=None,
        description="The country where the body is established, ISO 3166-1 alpha-3 or alpha-2.",
    )
    legalIdentifier: Annotated[str, text_constraint(100)] | None = Field(
        default=None, description="The body's legal identifier (VAT or registration number)."
    )
    homepage: HttpUrl | None = Field(default=None, description="The body's website.")
    logo: Logo | None = Field(
        default=None, description="The body's logo: an http(s) URL or a base64 data:image URI."
    )


class JointCredentialRequest(MicroCredentialIn):
    """A micro-credential (as POST /microcredentials, `edc` or `obv3`) awarded jointly by the
    bodies it names; the caller (the lead issuer) must be one of them."""

    format: Literal["edc", "obv3"] = Field(
        description="The credential to make: `edc` (Europass) or `obv3` (Open Badge 3.0); an "
        "SD-JWT VC has one signature and cannot be awarded jointly."
    )
    awardingBodies: Annotated[
        list[JointAwardingBodyIn], Field(min_length=2, max_length=MAX_AWARDING_BODIES)
    ] = Field(  # type: ignore[assignment]
        description="Every body awarding the credential, each of which must sign it "
        f"(2 to {MAX_AWARDING_BODIES}); the lead issuer is one of them."
    )


class JointProofRequest(BaseModel):
    """A proof made elsewhere over the draft; leave the body out (or empty) to have this
    service sign for the calling issuer."""

    proof: dict[str, Any] | None = Field(
        default=None,
        description="A Data Integrity proof (`DataIntegrityProof`, `eddsa-rdfc-2022` or "
        "`eddsa-jcs-2022`, `proofPurpose` `assertionMethod`, no `previousProof`) over "
        "`draft`, made with a verification method of an awarding body that has not signed yet.",
    )


JointState = Literal["awaiting-proofs", "complete"]


class JointCredentialReply(BaseModel):
    """A joint credential: its state, who has yet to sign, the draft they sign."""

    id: str = Field(
        description="The joint credential's id; once complete also the credential's "
        "(GET /credentials/{id})."
    )
    state: JointState = Field(
        description="`awaiting-proofs` until every awarding body has signed, then `complete`."
    )
    awardingBodies: list[str] = Field(description="The awarding bodies' DIDs, in order.")
    missing: list[str] = Field(description="The DIDs of the awarding bodies yet to sign.")
    draft: dict[str, Any] = Field(
        description="The credential without proofs: what each awarding body signs (a proof "
        "set: each proof over this draft alone)."
    )
    expiresAt: datetime = Field(description="When the draft can no longer be signed (UTC).")
    verifiableCredential: dict[str, Any] | None = Field(
        default=None,
        description="When complete: the credential with one proof per awarding body.",
    )


class JointProofReply(BaseModel):
    state: JointState = Field(
        description="`complete` when this proof was the last one needed, else `awaiting-proofs`."
    )
    missing: list[str] = Field(description="The DIDs of the awarding bodies yet to sign.")
