"""Request and reply bodies of ``app/api/joint.py`` (joint credentials, API.md "Stacks and joint
awards")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from app.credentials.fieldtypes import MAX_AWARDING_BODIES
from app.credentials.joint import JointAwardingBodyIn
from app.credentials.microcredential import MicroCredentialIn

__all__ = [
    "JointAwardingBodyIn",
    "JointCredentialReply",
    "JointCredentialRequest",
    "JointProofReply",
    "JointProofRequest",
]


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
