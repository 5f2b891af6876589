"""Request and reply bodies of ``app/api/registry.py``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from app.services import bulk_status
from app.services.credential_search import CredentialFilter

SearchText = Annotated[str, StringConstraints(min_length=1, max_length=300)]


class CourseRef(BaseModel):
    id: str = Field(description="The course id")
    version: int | None = Field(description="The course version it was issued from")


class LearnerRef(BaseModel):
    identifier: str | None = Field(
        description="The learner reference stored at issue time: `scheme:value` of the "
        "learner's identifier, else the e-mail address or DID"
    )
    name: str | None = Field(description="The learner's name as issued")


class ListedCredential(BaseModel):
    id: str = Field(description="The credential's id in this service (`/credentials/{id}`)")
    learner: LearnerRef = Field(
        description="who the credential was issued to, as recorded at issue time"
    )
    course: CourseRef | None = Field(description="The course version, for course credentials")
    format: str = Field(description="`edc`, `obv3`, or `vc` (VC-API issue)")
    issuedAt: datetime = Field(
        description="when the credential was issued (ISO 8601 date-time, UTC)"
    )
    revoked: bool = Field(description="whether the credential is revoked")
    suspended: bool = Field(description="whether the credential is suspended now")


class CredentialListReply(BaseModel):
    items: list[ListedCredential] = Field(description="the credentials of this page, newest first")
    next: str | None = Field(
        description="The cursor of the next page (pass it as `cursor`); null on the last page"
    )


class CredentialQuery(BaseModel):
    """The filters of `GET /credentials`, as an object."""

    model_config = ConfigDict(extra="forbid")

    learner: SearchText | None = Field(
        default=None,
        description="the learner's identifier value, e-mail address or DID (exact match)",
    )
    name: SearchText | None = Field(
        default=None, description="part of the learner's name; case and accents are ignored"
    )
    course: SearchText | None = Field(
        default=None, description="a course id: only credentials issued from that course"
    )
    courseVersion: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="with ``course``: only credentials issued from that version (from 1)",
    )
    status: Literal["active", "revoked", "suspended"] | None = Field(
        default=None,
        description="``active`` (neither revoked nor suspended), ``revoked``, or "
        "``suspended`` (leaves out revoked credentials)",
    )
    issuedFrom: AwareDatetime | None = Field(
        default=None, description="issued at or after this moment (RFC 3339 date-time with offset)"
    )
    issuedTo: AwareDatetime | None = Field(
        default=None, description="issued before this moment (RFC 3339 date-time with offset)"
    )

    def to_filter(self) -> CredentialFilter:
        return CredentialFilter(
            learner=self.learner,
            name=self.name,
            course=self.course,
            course_version=self.courseVersion,
            status=self.status,
            issued_from=self.issuedFrom,
            issued_to=self.issuedTo,
        )


CredentialRef = Annotated[str, StringConstraints(min_length=1, max_length=2048)]


class BulkStatusRequest(BaseModel):
    """Either `credentialIds` or `filter`; `status: true` sets the bit of `statusPurpose`."""

    model_config = ConfigDict(extra="forbid")

    credentialIds: (
        Annotated[list[CredentialRef], Field(min_length=1, max_length=bulk_status.MAX_IDS)] | None
    ) = Field(
        default=None,
        description="Our ids, the credentials' `id`s or your `credentialId`s "
        f"(at most {bulk_status.MAX_IDS})",
    )
    filter: CredentialQuery | None = Field(
        default=None,
        description=f"The filters of GET /credentials; above {bulk_status.MAX_IDS} matches the "
        "change runs as a job (202)",
    )
    statusPurpose: Literal["revocation", "suspension"] = Field(
        description="which status to change: ``revocation`` (final) or ``suspension`` (reversible)"
    )
    status: bool = Field(description="true sets the bit (revoke, suspend), false clears it")
    reason: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        default=None,
        description="Kept with each status entry and in the audit trail; not part of the "
        "signed status list (README, 'Status reasons')",
    )


class BulkStatusReply(BaseModel):
    changed: list[str] = Field(
        description="the credentials whose status was changed, as named in the "
        "request (or our ids, for a filter)"
    )
    unchanged: list[str] = Field(description="Already in the requested state")
    notFound: list[str] = Field(description="Not a credential of the calling issuer")
    notApplicable: list[str] = Field(description="Issued without an entry for this status purpose")


class JobAcceptedReply(BaseModel):
    id: str = Field(
        description="the job's id: follow GET /jobs/{id} (the Location header) for its progress"
    )
    state: str = Field(description="the job's state when accepted: ``queued``")
