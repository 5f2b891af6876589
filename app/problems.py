"""RFC 9457 problem details: the one model, the catalogue of our problem types, the base error.

:class:`ProblemDetails` is the one problem object: an error reply, a batch item that failed and
an entry of a verification result are all written by its :meth:`~ProblemDetails.to_json`.
:class:`Problem` is the exception a service raises to answer with one; its small subclasses live
beside their raisers and take their ``type`` from the catalogue below, so every problem type
this service defines is listed here once. Where a specification defines a type (VC Data Model,
Data Integrity, Bitstring Status List) that URL is used instead. No web framework is imported:
rendering is :mod:`app.api.problems`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Protocol

PROBLEM_JSON = "application/problem+json"
VC_DM = "https://www.w3.org/TR/vc-data-model#"
_URN = "urn:microcred:problem:"

# -- VC Data Model 2.0 (section 7.1, "Verification" problem types) -----------------------------
PARSING_ERROR = VC_DM + "PARSING_ERROR"
MALFORMED_VALUE_ERROR = VC_DM + "MALFORMED_VALUE_ERROR"
RANGE_ERROR = VC_DM + "RANGE_ERROR"

# -- our own problem types: the request ----------------------------------------------------------
NOT_FOUND = _URN + "NOT_FOUND"
CONFLICT = _URN + "CONFLICT"
UNAUTHORIZED = _URN + "UNAUTHORIZED"
FORBIDDEN = _URN + "FORBIDDEN"
VALIDATION_ERROR = _URN + "VALIDATION_ERROR"
UNSTORABLE_VALUE = _URN + "UNSTORABLE_VALUE"
PAYLOAD_TOO_LARGE = _URN + "PAYLOAD_TOO_LARGE"
JSON_TOO_COMPLEX = _URN + "JSON_TOO_COMPLEX"
RATE_LIMITED = _URN + "RATE_LIMITED"
SERVICE_UNAVAILABLE = _URN + "SERVICE_UNAVAILABLE"
INTERNAL_ERROR = _URN + "INTERNAL_ERROR"

# -- issuers, keys, API keys, the trust list -----------------------------------------------------
ISSUER_NOT_FOUND = _URN + "ISSUER_NOT_FOUND"
ISSUER_EXISTS = _URN + "ISSUER_EXISTS"
KEY_NOT_FOUND = _URN + "KEY_NOT_FOUND"
KEY_ROTATION_REFUSED = _URN + "KEY_ROTATION_REFUSED"
NO_ACTIVE_KEY = _URN + "NO_ACTIVE_KEY"
API_KEY_NOT_FOUND = _URN + "API_KEY_NOT_FOUND"
TRUST_ENTRY_NOT_FOUND = _URN + "TRUST_ENTRY_NOT_FOUND"

# -- issuing, status, wallet delivery ------------------------------------------------------------
CREDENTIAL_NOT_FOUND = _URN + "CREDENTIAL_NOT_FOUND"
IDEMPOTENCY_KEY_REUSED = _URN + "IDEMPOTENCY_KEY_REUSED"
ISSUING_CONTENDED = _URN + "ISSUING_CONTENDED"
NOT_PINNED_FORM = _URN + "NOT_PINNED_FORM"
EDC_SHAPE_VIOLATION = _URN + "EDC_SHAPE_VIOLATION"
STATUS_LIST_NOT_FOUND = _URN + "STATUS_LIST_NOT_FOUND"
REVOCATION_IS_FINAL = _URN + "REVOCATION_IS_FINAL"
STATUS_LIST_UNAVAILABLE = _URN + "STATUS_LIST_UNAVAILABLE"
STATUS_PURPOSE_NOT_AVAILABLE = _URN + "STATUS_PURPOSE_NOT_AVAILABLE"
CREDENTIAL_OFFER_NOT_FOUND = _URN + "CREDENTIAL_OFFER_NOT_FOUND"
WALLET_DELIVERY_UNAVAILABLE = _URN + "WALLET_DELIVERY_UNAVAILABLE"

# -- verification results (errors and warnings of a credential or presentation) ------------------
CREDENTIAL_EXPIRED = _URN + "CREDENTIAL_EXPIRED"
CREDENTIAL_NOT_YET_VALID = _URN + "CREDENTIAL_NOT_YET_VALID"
CREDENTIAL_REVOKED = _URN + "CREDENTIAL_REVOKED"
CREDENTIAL_SUSPENDED = _URN + "CREDENTIAL_SUSPENDED"
CREDENTIAL_STATUS_SET = _URN + "CREDENTIAL_STATUS_SET"
ISSUER_NOT_A_DID = _URN + "ISSUER_NOT_A_DID"
SCHEMA_NOT_CHECKED = _URN + "CREDENTIAL_SCHEMA_NOT_CHECKED"
EU_MICROCREDENTIAL_INCOMPLETE = _URN + "EU_MICROCREDENTIAL_INCOMPLETE"
CHALLENGE_NOT_CHECKED = _URN + "CHALLENGE_NOT_CHECKED"
ISSUER_NOT_TRUSTED = _URN + "ISSUER_NOT_TRUSTED"
ISSUER_NAME_MISMATCH = _URN + "ISSUER_NAME_MISMATCH"
TRUST_SOURCE_UNAVAILABLE = _URN + "TRUST_SOURCE_UNAVAILABLE"

# -- stacked credentials: a part refused at issuing, a part's outcome when verifying -------------
STACK_PART_REFUSED = _URN + "STACK_PART_REFUSED"
STACK_PART_NOT_VERIFIED = _URN + "STACK_PART_NOT_VERIFIED"
STACK_PART_UNREACHABLE = _URN + "STACK_PART_UNREACHABLE"

# -- courses, jobs, sharing, vocabularies --------------------------------------------------------
COURSE_NOT_FOUND = _URN + "COURSE_NOT_FOUND"
JOB_NOT_FOUND = _URN + "JOB_NOT_FOUND"
SHARE_NOT_FOUND = _URN + "SHARE_NOT_FOUND"
SHARE_ENDED = _URN + "SHARE_ENDED"
VOCABULARY_NOT_FOUND = _URN + "VOCABULARY_NOT_FOUND"
SPREADSHEET_UNREADABLE = _URN + "SPREADSHEET_UNREADABLE"

# -- joint credentials (several awarding bodies, a proof set) -------------------------------------
JOINT_CREDENTIAL_NOT_FOUND = _URN + "JOINT_CREDENTIAL_NOT_FOUND"
JOINT_DRAFT_EXPIRED = _URN + "JOINT_DRAFT_EXPIRED"
JOINT_PROOF_REFUSED = _URN + "JOINT_PROOF_REFUSED"
JOINT_PROOF_DUPLICATE = _URN + "JOINT_PROOF_DUPLICATE"
#: verification: an awarding body of a joint credential has no proof that verified
AWARDING_BODY_PROOF_MISSING = _URN + "AWARDING_BODY_PROOF_MISSING"

# -- SD-JWT VC: issuing, Type Metadata, verification ---------------------------------------------
TYPE_METADATA_NOT_FOUND = _URN + "TYPE_METADATA_NOT_FOUND"
INVALID_DISCLOSURE_POLICY = _URN + "INVALID_DISCLOSURE_POLICY"
TOKEN_STATUS_LIST_ERROR = _URN + "TOKEN_STATUS_LIST_ERROR"

# -- OpenID4VP: presentation requests and what the wallet answered --------------------------------
PRESENTATION_REQUEST_NOT_FOUND = _URN + "PRESENTATION_REQUEST_NOT_FOUND"
#: A verified presentation whose credential is not what the request's DCQL query asked for.
NOT_AS_REQUESTED = _URN + "CREDENTIAL_NOT_AS_REQUESTED"
#: By the ``code`` of :class:`app.sdjwt.core.SdJwtError` and its subclasses.
SD_JWT_PROBLEMS = {
    code: _URN + code
    for code in (
        "SD_JWT_MALFORMED",
        "SD_JWT_SIGNATURE_INVALID",
        "SD_JWT_DISCLOSURE_INVALID",
        "SD_JWT_KEY_BINDING_INVALID",
    )
}


@dataclass(frozen=True)
class ProblemDetails:
    """One RFC 9457 problem details object.

    ``status`` and ``instance`` belong to an HTTP reply; ``pointer`` (a JSON Pointer into the
    document the problem is about) to a verification result's entry; ``errors`` lists the
    offending fields (``pointer`` and ``detail`` each).
    """

    type: str
    title: str
    status: int | None = None
    detail: str | None = None
    instance: str | None = None
    pointer: str | None = None
    errors: tuple[Mapping[str, str], ...] = ()

    def under(self, prefix: str) -> ProblemDetails:
        """The same problem about a document nested at ``prefix`` (its pointers moved down)."""
        return replace(self, pointer=prefix + (self.pointer or ""))

    def to_json(self) -> dict[str, Any]:
        """The JSON object; members without a value are left out."""
        body: dict[str, Any] = {"type": self.type, "title": self.title}
        if self.status is not None:
            body["status"] = self.status
        if self.detail is not None:
            body["detail"] = self.detail
        if self.instance is not None:
            body["instance"] = self.instance
        if self.pointer is not None:
            body["pointer"] = self.pointer
        if self.errors:
            body["errors"] = [dict(error) for error in self.errors]
        return body


class SpecError(Protocol):
    """An error of a pure package that names its specification's problem type (e.g.
    :class:`app.crypto.errors.ProofError`, :class:`app.status.bitstring.StatusListError`)."""

    type: ClassVar[str]
    title: ClassVar[str]
    detail: str


def details_of(error: SpecError, *, pointer: str | None = None) -> ProblemDetails:
    return ProblemDetails(error.type, error.title, detail=error.detail, pointer=pointer)


class Problem(Exception):
    """Raised to answer with a problem; subclasses set ``type``, ``title`` and ``status``."""

    type: ClassVar[str] = "about:blank"
    title: ClassVar[str] = "Bad Request"
    status: ClassVar[int] = 400

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[Mapping[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or None
        self.errors = [dict(error) for error in errors] if errors else None
        self.headers = headers

    def details(self, *, instance: str | None = None) -> ProblemDetails:
        return ProblemDetails(
            self.type,
            self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            errors=tuple(self.errors or ()),
        )


class NotFound(Problem):
    type = NOT_FOUND
    title, status = "Not found", 404


class Conflict(Problem):
    type = CONFLICT
    title, status = "Conflict", 409


class Unauthorized(Problem):
    type = UNAUTHORIZED
    title, status = "Unauthorized", 401

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(Problem):
    type = FORBIDDEN
    title, status = "Forbidden", 403


class ValidationFailed(Problem):
    type = VALIDATION_ERROR
    title, status = "The request is not valid", 422


class ParsingError(Problem):
    """VC DM 2.0 PARSING_ERROR: the body is not the JSON-LD document expected."""

    type = PARSING_ERROR
    title, status = "Parsing error", 400


class MalformedValue(Problem):
    """VC DM 2.0 MALFORMED_VALUE_ERROR."""

    type = MALFORMED_VALUE_ERROR
    title, status = "Malformed value", 422


class PayloadTooLarge(Problem):
    type = PAYLOAD_TOO_LARGE
    title, status = "Request body too large", 413


class ServiceUnavailable(Problem):
    type = SERVICE_UNAVAILABLE
    title, status = "Service unavailable", 503


class UnstorableValue(ValidationFailed):
    type = UNSTORABLE_VALUE
    title = "A value in the request cannot be stored"


def json_pointer(location: Sequence[int | str]) -> str:
    """A pydantic error location as an RFC 6901 JSON Pointer into the request body."""
    parts = [part for part in location if part != "[key]"]  # pydantic marks dict-key errors
    if parts and parts[0] == "body":
        parts = parts[1:]
    escaped = (str(part).replace("~", "~0").replace("/", "~1") for part in parts)
    return "/" + "/".join(escaped) if parts else ""
