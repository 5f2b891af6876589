"""Request and reply bodies of issuing, reading and status changes (VC-API and ours)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class StatusOption(BaseModel):
    """A status entry the service is to add (VC-API ``options.credentialStatus``)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["BitstringStatusListEntry"] = Field(
        description="The only status type this service adds"
    )
    statusPurpose: Literal["revocation", "suspension"] | None = Field(
        default=None,
        description="The purpose of the entry; without it, the issuer's default purposes "
        "(revocation, and suspension when the issuer enables it)",
    )


class IssueOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["DataIntegrityProof"] | None = None
    cryptosuite: Literal["eddsa-rdfc-2022", "eddsa-jcs-2022"] | None = None
    credentialId: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    credentialStatus: StatusOption | Annotated[list[StatusOption], Field(max_length=2)] | None = (
        Field(
            default=None,
            description="The status entries the service adds: one `{type, statusPurpose?}`, "
            "or a list of them (one entry per purpose), or `[]` for none. Without it: a "
            "revocation entry (and a suspension entry when the issuer enables it). Entries "
            "the credential brings itself are kept either way. A VC 1.1 credential gets the "
            "context `https://www.w3.org/ns/credentials/status/v1` only when an entry is added.",
            examples=[{"type": "BitstringStatusListEntry", "statusPurpose": "revocation"}, []],
        )
    )

    def status_purposes(self, defaults: Sequence[str]) -> list[str]:
        """The purposes of the entries to add, in order and each once."""
        if self.credentialStatus is None:
            return list(defaults)
        chosen = (
            self.credentialStatus
            if isinstance(self.credentialStatus, list)
            else [self.credentialStatus]
        )
        purposes: list[str] = []
        for option in chosen:
            for purpose in [option.statusPurpose] if option.statusPurpose else defaults:
                if purpose not in purposes:
                    purposes.append(purpose)
        return purposes


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
    verifiableCredential: dict[str, Any] | str = Field(
        description="the signed credential; an SD-JWT VC (format sd-jwt) is its compact string"
    )


class CredentialStatusFlags(BaseModel):
    revoked: bool
    suspended: bool


class StoredCredentialReply(BaseModel):
    verifiableCredential: dict[str, Any] | str
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
    type: EntryType = Field(
        default="BitstringStatusListEntry", description="The status entry type; the only one."
    )
    statusPurpose: Literal["revocation", "suspension"] = Field(
        description="Which status to set: `revocation` (final) or `suspension` (reversible)."
    )


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: EntryType = Field(
        default="BitstringStatusListEntry", description="The status entry type; the only one."
    )
    status: Literal["revoked", "suspended", "unsuspended"] = Field(
        description="The change: `revoked` (final), `suspended`, or `unsuspended` (reinstated)."
    )


class StatusUpdateRequest(BaseModel):
    """VC-API form (``credentialStatus`` object + ``status`` boolean) or the named-change form."""

    model_config = ConfigDict(extra="forbid")
    credentialId: Annotated[str, StringConstraints(min_length=1, max_length=2048)] = Field(
        description="Which credential: its `id` as issued (`urn:uuid:…`), the id this service "
        "gave it, or the `credentialId` your system chose when issuing."
    )
    credentialStatus: (
        StatusPurposeRef | Annotated[list[StatusChange], Field(min_length=1, max_length=3)]
    ) = Field(
        description="Either the status to set (an object with `statusPurpose`, with `status` "
        "true or false), or a list of named changes applied in order."
    )
    status: bool | None = Field(
        default=None,
        description="With a `credentialStatus` object: true sets the status (revokes or "
        "suspends), false clears it (a revocation cannot be cleared).",
    )
    reason: Reason | None = Field(
        default=None,
        description="Why, in a few words; kept in the audit log, not published.",
    )


class StatusReply(BaseModel):
    credentialId: str
    revoked: bool
    suspended: bool
