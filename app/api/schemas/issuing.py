"""Request and reply bodies of issuing, reading and status changes (VC-API and ours)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class IssueOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["DataIntegrityProof"] | None = None
    cryptosuite: Literal["eddsa-rdfc-2022", "eddsa-jcs-2022"] | None = None
    credentialId: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None


class IssueRequest(BaseModel):
    credential: dict[str, Any] = Field(
        examples=[
            {
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiableCredential"],
                "issuer": "did:web:credentials.example.edu:issuers:uni-zed",
                "credentialSubject": {"id": "did:example:learner", "name": "Aoife Murphy"},
            }
        ]
    )
    options: IssueOptions | None = None


class IssuedReply(BaseModel):
    verifiableCredential: dict[str, Any]


class CredentialStatusFlags(BaseModel):
    revoked: bool
    suspended: bool


class StoredCredentialReply(BaseModel):
    verifiableCredential: dict[str, Any]
    status: CredentialStatusFlags


MAX_BATCH = 1000


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=MAX_BATCH)]


class BatchItemResult(BaseModel):
    index: int
    status: int = Field(description="201 issued, 200 replayed, or the item's problem status")
    verifiableCredential: dict[str, Any] | None = None
    problem: dict[str, Any] | None = None


class BatchReply(BaseModel):
    results: list[BatchItemResult]


EntryType = Literal["BitstringStatusListEntry"]


Reason = Annotated[str, StringConstraints(max_length=500)]


class StatusPurposeRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: EntryType = "BitstringStatusListEntry"
    statusPurpose: Literal["revocation", "suspension"]


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: EntryType = "BitstringStatusListEntry"
    status: Literal["revoked", "suspended", "unsuspended"]


class StatusUpdateRequest(BaseModel):
    """VC-API form (``credentialStatus`` object + ``status`` boolean) or the named-change form."""

    model_config = ConfigDict(extra="forbid")
    credentialId: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
    credentialStatus: (
        StatusPurposeRef | Annotated[list[StatusChange], Field(min_length=1, max_length=3)]
    )
    status: bool | None = None
    reason: Reason | None = None


class StatusReply(BaseModel):
    credentialId: str
    revoked: bool
    suspended: bool
