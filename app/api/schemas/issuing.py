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

    type: Literal["DataIntegrityProof"] | None = Field(
        default=None,
        description="the proof type; the only one is DataIntegrityProof (also when omitted)",
    )
    cryptosuite: Literal["eddsa-rdfc-2022", "eddsa-jcs-2022"] | None = Field(
        default=None,
        description="the Data Integrity cryptosuite of the proof; default eddsa-rdfc-2022",
    )
    credentialId: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = Field(
        default=None,
        description="your own id for the credential (1 to 255 characters), unique per "
        "issuer: a retry with the same id replays the first issuance, and "
        "GET /credentials/{id} and status changes accept it",
    )
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
        description="the unsigned credential (VC 1.1 or 2.0 JSON-LD) to sign with the calling "
        "issuer's key",
        examples=[
            {
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiableCredential"],
                "issuer": "did:web:credentials.example.edu:issuers:uni-zed",
                "credentialSubject": {"id": "did:example:learner", "name": "Aoife Murphy"},
            }
        ],
    )
    options: IssueOptions | None = Field(
        default=None,
        description="how to sign it and which status entries to add; null or absent "
        "for the defaults",
    )


class IssuedReply(BaseModel):
    verifiableCredential: dict[str, Any] | str = Field(
        description="the signed credential; an SD-JWT VC (format sd-jwt) is its compact string"
    )


class CredentialStatusFlags(BaseModel):
    revoked: bool = Field(description="whether the credential is revoked (final)")
    suspended: bool = Field(description="whether the credential is suspended now")


class StoredCredentialReply(BaseModel):
    verifiableCredential: dict[str, Any] | str = Field(
        description="the signed credential as issued; an SD-JWT VC is its compact string"
    )
    status: CredentialStatusFlags = Field(description="the credential's current status")


MAX_BATCH = 1000


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=MAX_BATCH)] = Field(
        description="the micro-credentials to issue (1 to 1000), each a body of POST "
        "/microcredentials"
    )


class BatchItemResult(BaseModel):
    index: int = Field(description="the item's position in ``items``, from 0")
    status: int = Field(description="201 issued, 200 replayed, or the item's problem status")
    verifiableCredential: dict[str, Any] | None = Field(
        default=None,
        description="the signed credential; absent when the item failed, and with ``reply=ids``",
    )
    credentialId: str | None = Field(
        default=None,
        description="with ``reply=ids``: the credential's id (``GET /credentials/{id}`` "
        "answers it); absent when the item failed",
    )
    link: str | None = Field(
        default=None,
        description="with ``reply=ids``: where the credential is fetched, "
        "``/credentials/{credentialId}``; absent when the item failed",
    )
    problem: dict[str, Any] | None = Field(
        default=None,
        description="why the item failed, an RFC 9457 problem details object; absent "
        "when it was issued",
    )


class BatchReply(BaseModel):
    results: list[BatchItemResult] = Field(
        description="one result per item, in the order of ``items``"
    )


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
    credentialId: str = Field(description="the credential, as named in the request")
    revoked: bool = Field(description="whether the credential is now revoked")
    suspended: bool = Field(description="whether the credential is now suspended")
