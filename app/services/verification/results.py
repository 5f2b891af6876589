"""What a verification reports: RFC 9457 problem details, per check results, and the verdict.

A failed verification is a result, not an exception: ``verified`` holds exactly when no error
was found. Problem types are the specifications' where they define one (VC Data Model, Data
Integrity, Bitstring Status List), our own URNs for outcomes no specification names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.problems import (
    CHALLENGE_NOT_CHECKED,
    CREDENTIAL_EXPIRED,
    CREDENTIAL_NOT_YET_VALID,
    CREDENTIAL_REVOKED,
    CREDENTIAL_STATUS_SET,
    CREDENTIAL_SUSPENDED,
    EU_MICROCREDENTIAL_INCOMPLETE,
    ISSUER_NAME_MISMATCH,
    ISSUER_NOT_A_DID,
    ISSUER_NOT_TRUSTED,
    MALFORMED_VALUE_ERROR,
    NOT_PINNED_FORM,
    PARSING_ERROR,
    RANGE_ERROR,
    SCHEMA_NOT_CHECKED,
    TRUST_SOURCE_UNAVAILABLE,
    ParsingError,
    ProblemDetails,
    SpecError,
    details_of,
)

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


def problem(
    type_: str,
    detail: str,
    pointer: str | None = None,
    errors: Iterable[Mapping[str, str]] = (),
) -> ProblemDetails:
    return ProblemDetails(
        type_, _TITLES[type_], detail=detail, pointer=pointer, errors=tuple(errors)
    )


def from_error(error: SpecError, pointer: str | None) -> ProblemDetails:
    return details_of(error, pointer=pointer)


@dataclass
class Verification:
    """One document's outcome: verified exactly when no error was found."""

    errors: list[ProblemDetails] = field(default_factory=list)
    warnings: list[ProblemDetails] = field(default_factory=list)
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
