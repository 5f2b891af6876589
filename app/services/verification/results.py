"""What a verification reports: RFC 9457 problem details, per check results, and the verdict.

A failed verification is a result, not an exception: ``verified`` holds exactly when no error
was found. Problem types are the specifications' where they define one (VC Data Model, Data
Integrity, Bitstring Status List), our own URNs for outcomes no specification names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from app.crypto.errors import ProofError
from app.errors import PROBLEMS, VC_DM, ParsingError
from app.status.bitstring import MALFORMED_VALUE_ERROR, RANGE_ERROR, StatusListError

PARSING_ERROR = VC_DM + "PARSING_ERROR"
CREDENTIAL_EXPIRED = PROBLEMS + "CREDENTIAL_EXPIRED"
CREDENTIAL_NOT_YET_VALID = PROBLEMS + "CREDENTIAL_NOT_YET_VALID"
CREDENTIAL_REVOKED = PROBLEMS + "CREDENTIAL_REVOKED"
CREDENTIAL_SUSPENDED = PROBLEMS + "CREDENTIAL_SUSPENDED"
CREDENTIAL_STATUS_SET = PROBLEMS + "CREDENTIAL_STATUS_SET"
ISSUER_NOT_A_DID = PROBLEMS + "ISSUER_NOT_A_DID"
SCHEMA_NOT_CHECKED = PROBLEMS + "CREDENTIAL_SCHEMA_NOT_CHECKED"
EU_MICROCREDENTIAL_INCOMPLETE = PROBLEMS + "EU_MICROCREDENTIAL_INCOMPLETE"
CHALLENGE_NOT_CHECKED = PROBLEMS + "CHALLENGE_NOT_CHECKED"
NOT_PINNED_FORM = PROBLEMS + "NOT_PINNED_FORM"
ISSUER_NOT_TRUSTED = PROBLEMS + "ISSUER_NOT_TRUSTED"
ISSUER_NAME_MISMATCH = PROBLEMS + "ISSUER_NAME_MISMATCH"
TRUST_SOURCE_UNAVAILABLE = PROBLEMS + "TRUST_SOURCE_UNAVAILABLE"

_TITLES = {
    PARSING_ERROR: "Parsing error",
    MALFORMED_VALUE_ERROR: "Malformed value",
    RANGE_ERROR: "Range error",
    CREDENTIAL_EXPIRED: "Credential expired",
    CREDENTIAL_NOT_YET_VALID: "Credential not yet valid",
    CREDENTIAL_REVOKED: "Credential revoked",
    CREDENTIAL_SUSPENDED: "Credential suspended",
    CREDENTIAL_STATUS_SET: "Credential status set",
    ISSUER_NOT_A_DID: "Issuer not bound to the signing key",
    SCHEMA_NOT_CHECKED: "Credential schema not checked",
    EU_MICROCREDENTIAL_INCOMPLETE: "Incomplete EU micro-credential",
    CHALLENGE_NOT_CHECKED: "Challenge not checked by this service",
    NOT_PINNED_FORM: "Not in the expected JSON-LD form",
    ISSUER_NOT_TRUSTED: "No trust source vouches for the issuer",
    ISSUER_NAME_MISMATCH: "Issuer name differs from the registered legal name",
    TRUST_SOURCE_UNAVAILABLE: "Trust source unavailable",
}


class NotACredential(ParsingError):
    """The body's ``verifiableCredential`` is not a credential at all: 400, not a result."""


class NotAPresentation(ParsingError):
    """The body's ``verifiablePresentation`` is not a presentation at all."""


@dataclass(frozen=True)
class ProblemDetail:
    """An RFC 9457 problem detail; ``pointer`` is a JSON Pointer into the verified document."""

    type: str
    title: str
    detail: str
    pointer: str | None = None
    errors: tuple[Mapping[str, str], ...] = ()

    def under(self, prefix: str) -> ProblemDetail:
        return replace(self, pointer=prefix + (self.pointer or ""))

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "detail": self.detail}
        if self.pointer is not None:
            body["pointer"] = self.pointer
        if self.errors:
            body["errors"] = [dict(error) for error in self.errors]
        return body


def problem(
    type_: str,
    detail: str,
    pointer: str | None = None,
    errors: Iterable[Mapping[str, str]] = (),
) -> ProblemDetail:
    return ProblemDetail(type_, _TITLES[type_], detail, pointer, tuple(errors))


def from_error(error: ProofError | StatusListError, pointer: str | None) -> ProblemDetail:
    return ProblemDetail(error.type, error.title, error.detail, pointer)


@dataclass
class Verification:
    """One document's outcome: verified exactly when no error was found."""

    errors: list[ProblemDetail] = field(default_factory=list)
    warnings: list[ProblemDetail] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return not self.errors

    @property
    def checks(self) -> list[str]:
        """The checks that applied (the legacy VC-API ``checks`` list)."""
        return [
            name
            for name, result in self.results.items()
            if name != "form" and isinstance(result, Mapping) and result.get("verified") is not None
        ]

    def to_json(self, prefix: str = "") -> dict[str, Any]:
        """The reply body (VCALM ``verified``/``problemDetails`` plus the legacy mirror)."""
        errors = [e.under(prefix).to_json() for e in self.errors]
        return {
            "verified": self.verified,
            "problemDetails": errors,
            "results": self.results or None,
            "errors": errors,
            "warnings": [w.under(prefix).to_json() for w in self.warnings],
            "checks": self.checks,
        }


@dataclass
class PresentationVerification:
    presentation: Verification
    credentials: list[Verification]
    #: whether ``verifiableCredential`` was an array (pointers then carry an index)
    listed: bool = True

    @property
    def verified(self) -> bool:
        return self.presentation.verified and all(c.verified for c in self.credentials)

    def to_json(self, prefix: str = "") -> dict[str, Any]:
        credential_prefix = prefix + "/verifiableCredential"
        if self.listed:
            prefixes = [f"{credential_prefix}/{i}" for i in range(len(self.credentials))]
        else:
            prefixes = [credential_prefix] * len(self.credentials)
        errors = [e.under(prefix) for e in self.presentation.errors]
        warnings = [w.under(prefix) for w in self.presentation.warnings]
        for item, item_prefix in zip(self.credentials, prefixes, strict=True):
            errors += [e.under(item_prefix) for e in item.errors]
            warnings += [w.under(item_prefix) for w in item.warnings]
        shown = [e.to_json() for e in errors]
        return {
            "verified": self.verified,
            "problemDetails": shown,
            "results": {
                "presentation": {
                    "verified": self.presentation.verified,
                    **self.presentation.results,
                },
                "credentials": [
                    item.to_json(item_prefix)
                    for item, item_prefix in zip(self.credentials, prefixes, strict=True)
                ],
            },
            "errors": shown,
            "warnings": [w.to_json() for w in warnings],
            "checks": ["presentation", *(["credentials"] if self.credentials else [])],
        }
