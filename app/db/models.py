"""SQLModel tables. Alembic migrations (``app/migrations/``) are the only way the schema is made.

Column types are portable across SQLite and PostgreSQL: JSON, timezone-aware timestamps,
LargeBinary for ciphertext.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Dialect, Index, LargeBinary, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Issuer(SQLModel, table=True):
    __tablename__ = "issuers"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True, index=True)
    did: str = Field(max_length=512, unique=True)
    did_method: str = Field(max_length=8)
    name: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    country: str = Field(max_length=3)
    legal_identifier: str = Field(max_length=128)
    homepage: str | None = Field(default=None, max_length=2048)
    #: whether issued credentials also carry a suspension status entry
    suspension_enabled: bool = False
    #: SD-JWT VC claims a holder may leave out (``app.sdjwt.microcredential``); None: default
    sd_jwt_selectable: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SigningKey(SQLModel, table=True):
    """An issuer's Ed25519 key; the seed is stored only as authenticated ciphertext."""

    __tablename__ = "signing_keys"
    __table_args__ = (UniqueConstraint("issuer_id", "key_id"),)

    id: int | None = Field(default=None, primary_key=True)
    issuer_id: int = Field(foreign_key="issuers.id", index=True)
    #: the verification method id (``did#fragment``)
    key_id: str = Field(max_length=600)
    public_key_multibase: str = Field(max_length=64)
    encrypted_seed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    #: active (signs now) | retired (verifies older credentials) | revoked (compromised)
    status: str = Field(max_length=8)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class ApiKey(SQLModel, table=True):
    """An issuer's API key: only a hash of its secret is kept."""

    __tablename__ = "api_keys"

    id: str = Field(primary_key=True, max_length=32)
    issuer_id: int = Field(foreign_key="issuers.id", index=True)
    name: str = Field(max_length=200)
    secret_hash: str = Field(max_length=64)
    scopes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class AuditEvent(SQLModel, table=True):
    """Who did what, when: read by the admin."""

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    actor: str = Field(max_length=64)
    issuer_id: int | None = Field(default=None, foreign_key="issuers.id", index=True)
    action: str = Field(max_length=64)
    target: str | None = Field(default=None, max_length=600)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Credential(SQLModel, table=True):
    """An issued credential: the signed document as returned, and how to find it again."""

    __tablename__ = "credentials"
    __table_args__ = (
        UniqueConstraint("issuer_id", "idempotency_key"),
        UniqueConstraint("issuer_id", "client_id"),
        # GET /credentials: newest first (keyset), and its filters, each within one issuer
        Index("ix_credentials_issuer_created", "issuer_id", "created_at", "id"),
        Index("ix_credentials_issuer_learner_ref", "issuer_id", "learner_ref"),
        Index("ix_credentials_issuer_learner_key", "issuer_id", "learner_key"),
        Index("ix_credentials_issuer_course", "issuer_id", "course_id", "course_version"),
    )

    id: str = Field(primary_key=True, max_length=36)
    issuer_id: int = Field(foreign_key="issuers.id", index=True)
    #: the VC's own ``id`` (``urn:uuid:…`` unless the caller chose one)
    credential_uri: str | None = Field(default=None, max_length=2048, index=True)
    format: str = Field(max_length=8)
    learner_ref: str | None = Field(default=None, max_length=512)
    #: the learner's identifier value (or e-mail, or DID) alone, as searched (``?learner=``)
    learner_key: str | None = Field(default=None, max_length=512)
    #: the learner's name as shown, and folded (lower case, no accents) for ``?name=``
    learner_name: str | None = Field(default=None, max_length=300)
    learner_name_folded: str | None = Field(default=None, max_length=300)
    #: the course version it was issued from (courses, issue 19); None for a one-off credential
    course_id: str | None = Field(default=None, max_length=36)
    course_version: int | None = None
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    #: the Idempotency-Key header, and VC-API ``options.credentialId``
    idempotency_key: str | None = Field(default=None, max_length=255)
    client_id: str | None = Field(default=None, max_length=255)
    request_hash: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class StatusList(SQLModel, table=True):
    """A status list of one issuer; its entries live in ``status_entries``.

    ``bitstring``: a W3C Bitstring Status List of one purpose. ``token``: an IETF Token Status
    List (purpose ``revocation``) of ``bits`` per entry, 2 when it carries suspension too.
    """

    __tablename__ = "status_lists"

    id: str = Field(primary_key=True, max_length=36)
    issuer_id: int = Field(foreign_key="issuers.id", index=True)
    purpose: str = Field(max_length=16)
    kind: str = Field(
        default="bitstring", max_length=16, sa_column_kwargs={"server_default": "bitstring"}
    )
    bits: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    size: int
    allocated: int = 0
    #: bumped by every status change; the published credential is re-signed when it moved on
    version: int = 0
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    published_version: int | None = None
    published: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    published_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class StatusEntry(SQLModel, table=True):
    """One allocated index of a status list: the primary key makes reuse impossible."""

    __tablename__ = "status_entries"

    list_id: str = Field(foreign_key="status_lists.id", primary_key=True, max_length=36)
    index: int = Field(primary_key=True)
    credential_id: str = Field(foreign_key="credentials.id", index=True, max_length=36)
    is_set: bool = False
    #: the issuer's stated reason for the last change (not in the signed list: see README)
    reason: str | None = Field(default=None, max_length=500)
    #: a token list's suspension (``is_set`` is its revocation)
    suspended: bool = Field(default=False, sa_column_kwargs={"server_default": sa_false()})
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Nonce(SQLModel, table=True):
    """A single-use value with an expiry: presentation challenges and OpenID4VCI c_nonces."""

    __tablename__ = "nonces"

    value: str = Field(primary_key=True, max_length=128)
    #: ``challenge`` (POST /challenges) or ``c_nonce`` (OpenID4VCI nonce endpoint)
    purpose: str = Field(max_length=16)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class CredentialOffer(SQLModel, table=True):
    """An OpenID4VCI pre-authorized offer: its state lives here so any process serves any step."""

    __tablename__ = "credential_offers"

    id: str = Field(primary_key=True, max_length=36)
    issuer_id: int = Field(foreign_key="issuers.id", index=True)
    #: the micro-credential request (API.md body, learner ``id`` left out)
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    format: str = Field(max_length=8)
    #: SHA-256 of the pre-authorized code and of the optional transaction code
    code_hash: str = Field(max_length=64, unique=True)
    tx_code_hash: str | None = Field(default=None, max_length=64)
    tx_code_attempts: int = 0
    #: offered | token_issued | redeemed
    state: str = Field(max_length=16)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    access_token_hash: str | None = Field(default=None, max_length=64, unique=True)
    token_expires_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    credential_id: str | None = Field(default=None, foreign_key="credentials.id", max_length=36)
    #: the course version an offer of a cohort was made from (None for a one-off offer)
    course_id: str | None = Field(default=None, max_length=36)
    course_version: int | None = None
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    redeemed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class TrustedIssuer(SQLModel, table=True):
    """The service's own trust list: an issuer DID an admin vouches for, and who it is."""

    __tablename__ = "trusted_issuers"

    did: str = Field(primary_key=True, max_length=512)
    legal_name: str = Field(max_length=300)
    country: str = Field(max_length=3)
    legal_identifier: str = Field(max_length=128)
    #: the evidence of accreditation (body, decision, date...), as the admin gave it
    accreditation: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    note: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class RateLimitBucket(SQLModel, table=True):
    """A token bucket the service instances on one PostgreSQL share (see ``app.ratelimit``).

    ``updated_at`` is the database clock (epoch seconds) at the last charge, so instances on
    hosts whose clocks differ still agree; a row idle long enough to be full again is deleted.
    """

    __tablename__ = "rate_limit_buckets"

    bucket: str = Field(primary_key=True, max_length=128)
    tokens: float
    updated_at: float
    allowed: bool


class Job(SQLModel, table=True):
    """Background work of one issuer, in rows (``app.services.jobs``): one instance at a time
    holds its lease (``lease_owner`` until ``lease_until``), renewed while it works."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claimable", "state", "lease_until"),)

    id: str = Field(primary_key=True, max_length=36)
    issuer_id: int = Field(foreign_key="issuers.id", index=True)
    kind: str = Field(max_length=64)
    #: queued | running | done | failed
    state: str = Field(max_length=8)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    total: int = 0
    done: int = 0
    failed: int = 0
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    attempts: int = 0
    error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class JobRow(SQLModel, table=True):
    """One unit of a job: its input, and once processed its result or its error."""

    __tablename__ = "job_rows"
    __table_args__ = (Index("ix_job_rows_pending", "job_id", "state", "number"),)

    job_id: str = Field(foreign_key="jobs.id", primary_key=True, max_length=36)
    #: the row's number in the job's input (a spreadsheet's row number)
    number: int = Field(primary_key=True)
    input: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    #: pending | done | failed
    state: str = Field(max_length=8)
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    #: [{column, message}] in the person's words
    errors: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class Course(SQLModel, table=True):
    """A course of an issuer (``POST /courses``): what every credential issued from it shares.

    Its content lives in :class:`CourseVersion` rows; ``published`` puts the current version in
    the public catalogue.
    """

    __tablename__ = "courses"

    id: str = Field(primary_key=True, max_length=36)
    issuer_id: int = Field(foreign_key="issuers.id", index=True)
    current_version: int
    published: bool = False
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class CourseVersion(SQLModel, table=True):
    """One version of a course: the validated course body (without ``published``).

    ``frozen`` is set before the first credential is issued from it; a frozen version never
    changes again (an edit makes the next version), so its public URL keeps describing what
    its credentials certify.
    """

    __tablename__ = "course_versions"
    __table_args__ = (UniqueConstraint("course_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    course_id: str = Field(foreign_key="courses.id", index=True, max_length=36)
    version: int
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    frozen: bool = False
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class IssuerBranding(SQLModel, table=True):
    """An issuer's look on its certificates, PDFs and pages, and whether its credentials have
    public pages (``PUT /admin/issuers/{slug}/branding``)."""

    __tablename__ = "issuer_branding"

    issuer_id: int = Field(foreign_key="issuers.id", primary_key=True)
    #: ``#rrggbb``; None: the default colour
    colour: str | None = Field(default=None, max_length=7)
    #: ``image/png`` or ``image/svg+xml``, validated on upload
    logo_type: str | None = Field(default=None, max_length=32)
    logo: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    #: False: no credential of this issuer has a public page (``/v/{uuid}`` answers 404)
    public_pages: bool = True
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class CredentialPage(SQLModel, table=True):
    """A credential whose public page the issuer switched off (``PUT
    /credentials/{id}/public-page``); no row: the issuer's setting holds."""

    __tablename__ = "credential_pages"

    credential_id: str = Field(foreign_key="credentials.id", primary_key=True, max_length=36)
    enabled: bool
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class CredentialShare(SQLModel, table=True):
    """A learner's share link of a credential: only the SHA-256 of its token is kept."""

    __tablename__ = "credential_shares"

    id: str = Field(primary_key=True, max_length=36)
    credential_id: str = Field(foreign_key="credentials.id", index=True, max_length=36)
    issuer_id: int = Field(foreign_key="issuers.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class JointCredential(SQLModel, table=True):
    """A credential awarded jointly by several bodies (``POST /joint-credentials``): the draft
    every body signs, the proofs gathered so far (by awarding DID), and its state.

    ``version`` grows with each proof added: an update names the version it read (compare and
    set), so two bodies signing at once both land, one after the other. The status indices
    the draft carries are held in ``joint_status_holds`` until it is released.
    """

    __tablename__ = "joint_credentials"

    id: str = Field(primary_key=True, max_length=36)
    #: the lead issuer, the credential's ``issuer``
    issuer_id: int = Field(foreign_key="issuers.id", index=True)
    format: str = Field(max_length=8)
    credential_uri: str = Field(max_length=2048)
    #: the awarding bodies' DIDs, in the credential's order
    bodies: list[str] = Field(sa_column=Column(JSON, nullable=False))
    draft: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    #: awarding DID -> its proof over the draft
    proofs: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    #: awaiting-proofs | complete
    state: str = Field(max_length=16)
    version: int = 0
    #: what the credential's row is stored with when released (learner, search fields)
    record: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    completed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class JointStatusHold(SQLModel, table=True):
    """A status index a joint draft carries: no other credential may draw it meanwhile."""

    __tablename__ = "joint_status_holds"

    list_id: str = Field(foreign_key="status_lists.id", primary_key=True, max_length=36)
    index: int = Field(primary_key=True)
    joint_id: str = Field(foreign_key="joint_credentials.id", index=True, max_length=36)


class PresentationRequest(SQLModel, table=True):
    """An OpenID4VP request of a verifier organisation (an issuer here) to a wallet.

    ``id`` is random and unguessable: it names the request URI and the public page. ``nonce`` is
    a single-use challenge of the ``nonces`` table (spent by the verifier when a presentation is
    shown to carry it); ``status`` moves from ``pending`` to ``answered`` once, by a conditional
    UPDATE."""

    __tablename__ = "presentation_requests"

    id: str = Field(primary_key=True, max_length=64)
    #: the organisation asking; null for the public verify page's own requests
    issuer_id: int | None = Field(default=None, foreign_key="issuers.id", index=True)
    client_id: str = Field(max_length=400)
    nonce: str = Field(max_length=128, unique=True)
    state: str = Field(max_length=64, unique=True)
    dcql_query: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    #: the service's own constraints beside DCQL: {course?, issuer?, eqfLevel?}
    constraints: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    purpose: str = Field(max_length=500)
    callback: str | None = Field(default=None, max_length=2000)
    #: direct_post | direct_post.jwt (the response encrypted to the request's own key)
    response_mode: str = Field(default="direct_post", max_length=24)
    #: pending | answered (expiry is read from ``expires_at``)
    status: str = Field(max_length=16)
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    answered_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
