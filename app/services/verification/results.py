"""What a verification reports: RFC 9457 problem details, per check results, and the verdict.

A failed verification is a result, not an exception: ``verified`` holds exactly when no error
was found. Problem types are the specifications' where they define one (VC Data Model, Data
Integrity, Bitstring Status List), our own URNs for outcomes no specification names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NotRequired, cast

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

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


# -- the JSON of a result, declared once: the checks build it, the API serves it as its schema --


@with_config(ConfigDict(extra="forbid"))
class FieldError(TypedDict):
    pointer: str
    detail: str


@with_config(ConfigDict(extra="forbid"))
class ResultProblem(TypedDict):
    """A problem a result lists: RFC 9457 problem details without a status."""

    type: Annotated[
        str, Field(description="a VC Data Model, Data Integrity or Bitstring Status List URL")
    ]
    title: str
    detail: str
    pointer: NotRequired[
        Annotated[str | None, Field(description="JSON Pointer into the request body")]
    ]
    errors: NotRequired[list[FieldError] | None]


#: where a verification method's controller document came from
ResolvedFrom = Literal["database", "did:key", "did:web", "unsupported"]


@with_config(ConfigDict(extra="forbid"))
class ProofEntry(TypedDict):
    type: NotRequired[Any]
    cryptosuite: NotRequired[Any]
    verificationMethod: NotRequired[Any]
    proofPurpose: NotRequired[Any]
    created: NotRequired[Any]
    controller: NotRequired[str | None]
    resolvedFrom: NotRequired[
        Annotated[ResolvedFrom | None, Field(description="where the controller document came from")]
    ]
    verified: bool


@with_config(ConfigDict(extra="forbid"))
class IssuerCheck(TypedDict):
    id: str | None
    controllers: list[str]
    matches: Annotated[bool | None, Field(description="null when the issuer is not a DID")]


@with_config(ConfigDict(extra="forbid"))
class ProofResults(TypedDict):
    verified: bool
    proofs: list[ProofEntry]
    issuer: NotRequired[IssuerCheck | None]


@with_config(ConfigDict(extra="forbid"))
class DateResult(TypedDict):
    verified: Annotated[bool | None, Field(description="null when the credential has no such date")]
    value: NotRequired[Any]


@with_config(ConfigDict(extra="forbid"))
class StatusEntryResult(TypedDict):
    statusPurpose: NotRequired[Any]
    statusListIndex: NotRequired[Any]
    statusListCredential: NotRequired[Any]
    source: NotRequired[Literal["database", "remote"] | None]
    reason: NotRequired[
        Annotated[
            str,
            Field(
                description="the issuer's stated reason, from this service's own records (never "
                "from the presented document)"
            ),
        ]
    ]
    set: Annotated[bool | None, Field(description="the entry's bit; null if not read")]
    verified: bool


@with_config(ConfigDict(extra="forbid"))
class StatusResults(TypedDict):
    verified: Annotated[
        bool | None, Field(description="null when the credential has no credentialStatus")
    ]
    revoked: bool
    suspended: bool
    entries: list[StatusEntryResult]


@with_config(ConfigDict(extra="forbid"))
class SchemaRef(TypedDict):
    id: NotRequired[Any]
    type: NotRequired[Any]
    checked: bool


@with_config(ConfigDict(extra="forbid"))
class Violation(TypedDict):
    focusNode: str
    path: str | None
    message: str
    value: str | None


@with_config(ConfigDict(extra="forbid"))
class SchemaResults(TypedDict):
    verified: Annotated[
        bool | None, Field(description="null when no schema this service checks applies")
    ]
    schemas: list[SchemaRef]
    violations: list[Violation]


@with_config(ConfigDict(extra="forbid"))
class EuMicroCredentialResult(TypedDict):
    complete: bool
    profile: Literal["edc", "obv3"] | None
    missing: list[str]


@with_config(ConfigDict(extra="forbid"))
class FormResult(TypedDict):
    verified: Annotated[
        bool | None,
        Field(
            description="whether the document is in the compact form of its signed data under "
            "contexts this service holds (one JSON reading); no other check runs on one that "
            "is not; null when a context is not one this service holds (the proof check "
            "decides)"
        ),
    ]


@with_config(ConfigDict(extra="forbid"))
class TrustSourceEntry(TypedDict):
    name: Annotated[str, Field(description="the trust source (the service's own list, a registry)")]
    entry: Annotated[dict[str, Any], Field(description="the source's entry for the issuer")]


@with_config(ConfigDict(extra="forbid"))
class IssuerTrustResult(TypedDict):
    trusted: Annotated[bool, Field(description="whether a trust source vouches for the issuer")]
    sources: list[TrustSourceEntry]
    legalName: NotRequired[Annotated[str | None, Field(description="the registered legal name")]]
    warnings: list[ResultProblem]
    unknown: NotRequired[
        Annotated[
            list[str] | None,
            Field(description="sources that could not be asked (never counted as trust)"),
        ]
    ]


@with_config(ConfigDict(extra="forbid"))
class KeyBindingResult(TypedDict):
    verified: Annotated[bool | None, Field(description="null when the SD-JWT is not holder-bound")]
    bound: Annotated[bool, Field(description="whether the SD-JWT names a holder key (cnf)")]


@with_config(ConfigDict(extra="forbid"))
class DisclosuresResult(TypedDict):
    verified: bool


@with_config(ConfigDict(extra="forbid"))
class SdJwtResult(TypedDict):
    vct: NotRequired[Any]
    disclosed: Annotated[
        list[str], Field(description="the selectively disclosable claims presented")
    ]
    disclosures: DisclosuresResult
    keyBinding: KeyBindingResult


@with_config(ConfigDict(extra="forbid"))
class CredentialResults(TypedDict):
    form: FormResult
    proof: NotRequired[ProofResults | None]
    validFrom: NotRequired[DateResult | None]
    validUntil: NotRequired[DateResult | None]
    credentialStatus: NotRequired[StatusResults | None]
    credentialSchema: NotRequired[SchemaResults | None]
    euMicroCredential: NotRequired[EuMicroCredentialResult | None]
    issuerTrust: NotRequired[IssuerTrustResult | None]
    sdJwt: NotRequired[
        Annotated[SdJwtResult | None, Field(description="SD-JWT VC presentations only")]
    ]


@with_config(ConfigDict(extra="forbid"))
class CredentialVerificationResult(TypedDict):
    """The reply of POST /credentials/verify: the VCALM verdict and problem details, the
    result of each check, and the legacy errors, warnings and checks."""

    verified: bool
    credential: NotRequired[dict[str, Any] | None]
    problemDetails: list[ResultProblem]
    results: CredentialResults
    errors: list[ResultProblem]
    warnings: list[ResultProblem]
    checks: list[str]


@with_config(ConfigDict(extra="forbid"))
class CredentialInPresentation(TypedDict):
    verified: bool
    problemDetails: list[ResultProblem]
    results: Annotated[
        CredentialResults | None, Field(description="null for an item that is no credential")
    ]
    errors: list[ResultProblem]
    warnings: list[ResultProblem]
    checks: list[str]


@with_config(ConfigDict(extra="forbid"))
class HolderCheck(TypedDict):
    id: str | None
    controllers: list[str]
    bound: bool | None


@with_config(ConfigDict(extra="forbid"))
class ChallengeCheck(TypedDict):
    verified: bool | None
    state: Literal["accepted", "used", "expired", "unknown"] | None


@with_config(ConfigDict(extra="forbid"))
class PresentationResult(TypedDict):
    verified: bool
    form: FormResult
    proof: NotRequired[ProofResults | None]
    holder: NotRequired[HolderCheck | None]
    challenge: NotRequired[ChallengeCheck | None]


@with_config(ConfigDict(extra="forbid"))
class PresentationResults(TypedDict):
    presentation: PresentationResult
    credentials: list[CredentialInPresentation]


@with_config(ConfigDict(extra="forbid"))
class PresentationVerificationResult(TypedDict):
    """The reply of POST /presentations/verify: the presentation's checks, then each
    credential's (their pointers into the presentation)."""

    verified: bool
    problemDetails: list[ResultProblem]
    results: PresentationResults
    errors: list[ResultProblem]
    warnings: list[ResultProblem]
    checks: list[str]


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


def problem_list(problems: Iterable[ProblemDetails]) -> list[ResultProblem]:
    """Problems as a result lists them."""
    return [cast(ResultProblem, p.to_json()) for p in problems]


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

    def to_json(self, prefix: str = "") -> CredentialInPresentation:
        """The reply body (VCALM ``verified``/``problemDetails`` plus the legacy mirror)."""
        errors = problem_list(e.under(prefix) for e in self.errors)
        return {
            "verified": self.verified,
            "problemDetails": errors,
            "results": cast(CredentialResults, self.results) or None,
            "errors": errors,
            "warnings": problem_list(w.under(prefix) for w in self.warnings),
            "checks": self.checks,
        }

    def credential_reply(
        self, credential: dict[str, Any], prefix: str = ""
    ) -> CredentialVerificationResult:
        """The reply of ``POST /credentials/verify``: the result with the credential echoed."""
        item = self.to_json(prefix)
        return {
            "verified": item["verified"],
            "credential": credential,
            "problemDetails": item["problemDetails"],
            "results": cast(CredentialResults, item["results"]),
            "errors": item["errors"],
            "warnings": item["warnings"],
            "checks": item["checks"],
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

    def to_json(self, prefix: str = "") -> PresentationVerificationResult:
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
        listed = problem_list(errors)
        presentation = cast(
            PresentationResult,
            {"verified": self.presentation.verified, **self.presentation.results},
        )
        return {
            "verified": self.verified,
            "problemDetails": listed,
            "results": {
                "presentation": presentation,
                "credentials": [
                    item.to_json(item_prefix)
                    for item, item_prefix in zip(self.credentials, prefixes, strict=True)
                ],
            },
            "errors": listed,
            "warnings": problem_list(warnings),
            "checks": ["presentation", *(["credentials"] if self.credentials else [])],
        }
