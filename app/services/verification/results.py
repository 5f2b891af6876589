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
    AWARDING_BODY_PROOF_MISSING,
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
    NOT_AS_REQUESTED,
    NOT_PINNED_FORM,
    PARSING_ERROR,
    RANGE_ERROR,
    SCHEMA_NOT_CHECKED,
    STACK_PART_NOT_VERIFIED,
    STACK_PART_UNREACHABLE,
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
    AWARDING_BODY_PROOF_MISSING: "An awarding body's proof is missing or invalid",
    SCHEMA_NOT_CHECKED: "Credential schema not checked",
    EU_MICROCREDENTIAL_INCOMPLETE: "Incomplete EU micro-credential",
    CHALLENGE_NOT_CHECKED: "Challenge not checked by this service",
    NOT_PINNED_FORM: "Not in the expected JSON-LD form",
    ISSUER_NOT_TRUSTED: "No trust source vouches for the issuer",
    ISSUER_NAME_MISMATCH: "Issuer name differs from the registered legal name",
    TRUST_SOURCE_UNAVAILABLE: "Trust source unavailable",
    NOT_AS_REQUESTED: "Not the credential asked for",
    STACK_PART_NOT_VERIFIED: "A part of the stack does not verify",
    STACK_PART_UNREACHABLE: "A part of the stack was not checked",
}


# -- the JSON of a result, declared once: the checks build it, the API serves it as its schema --


@with_config(ConfigDict(extra="forbid"))
class FieldError(TypedDict):
    pointer: Annotated[
        str,
        Field(
            description="JSON Pointer to the offending value, relative to the problem's "
            "pointer (empty for the document itself)"
        ),
    ]
    detail: Annotated[str, Field(description="what is wrong with that value, for a human")]


@with_config(ConfigDict(extra="forbid"))
class ResultProblem(TypedDict):
    """A problem a result lists: RFC 9457 problem details without a status."""

    type: Annotated[
        str, Field(description="a VC Data Model, Data Integrity or Bitstring Status List URL")
    ]
    title: Annotated[str, Field(description="a short, fixed summary of the problem type")]
    detail: Annotated[str, Field(description="what went wrong in this document, for a human")]
    pointer: NotRequired[
        Annotated[str | None, Field(description="JSON Pointer into the request body")]
    ]
    errors: NotRequired[
        Annotated[
            list[FieldError] | None,
            Field(
                description="the individual failures behind the problem (e.g. each SHACL "
                "violation); absent or null when there is only one"
            ),
        ]
    ]


#: where a verification method's controller document came from
ResolvedFrom = Literal["database", "did:key", "did:web", "unsupported"]


@with_config(ConfigDict(extra="forbid"))
class ProofEntry(TypedDict):
    type: NotRequired[
        Annotated[
            Any,
            Field(
                description="the proof's ``type`` as presented (e.g. DataIntegrityProof; "
                "``SD-JWT`` for an SD-JWT VC); null when absent"
            ),
        ]
    ]
    cryptosuite: NotRequired[
        Annotated[
            Any,
            Field(
                description="the proof's ``cryptosuite`` as presented (e.g. eddsa-rdfc-2022); "
                "null when absent"
            ),
        ]
    ]
    verificationMethod: NotRequired[
        Annotated[
            Any,
            Field(
                description="the proof's ``verificationMethod`` as presented: the URL of the "
                "key that signed; null when absent"
            ),
        ]
    ]
    proofPurpose: NotRequired[
        Annotated[
            Any,
            Field(
                description="the proof's ``proofPurpose`` as presented (assertionMethod for a "
                "credential, authentication for a presentation); null when absent"
            ),
        ]
    ]
    created: NotRequired[
        Annotated[
            Any,
            Field(
                description="the proof's ``created`` timestamp as presented (XML Schema "
                "dateTime); null when absent"
            ),
        ]
    ]
    controller: NotRequired[
        Annotated[
            str | None,
            Field(
                description="the DID that controls the resolved verification method; null "
                "when the method could not be resolved"
            ),
        ]
    ]
    resolvedFrom: NotRequired[
        Annotated[ResolvedFrom | None, Field(description="where the controller document came from")]
    ]
    verified: Annotated[bool, Field(description="whether this proof's signature verified")]


@with_config(ConfigDict(extra="forbid"))
class IssuerCheck(TypedDict):
    id: Annotated[
        str | None,
        Field(
            description="the credential's issuer id (a DID or URL); null when the issuer has no id"
        ),
    ]
    controllers: Annotated[
        list[str],
        Field(
            description="the DIDs controlling the verification methods whose proofs were "
            "checked, sorted"
        ),
    ]
    matches: Annotated[bool | None, Field(description="null when the issuer is not a DID")]


@with_config(ConfigDict(extra="forbid"))
class ProofResults(TypedDict):
    verified: Annotated[
        bool, Field(description="whether every proof verified (a document without proof does not)")
    ]
    proofs: Annotated[
        list[ProofEntry],
        Field(
            description="each proof of the document, in order; empty when the document "
            "has no ``proof``"
        ),
    ]
    issuer: NotRequired[
        Annotated[
            IssuerCheck | None,
            Field(
                description="whether the issuer controls a key that signed; absent or null on "
                "a presentation"
            ),
        ]
    ]


@with_config(ConfigDict(extra="forbid"))
class DateResult(TypedDict):
    verified: Annotated[bool | None, Field(description="null when the credential has no such date")]
    value: NotRequired[
        Annotated[
            Any,
            Field(
                description="the date as presented (XML Schema dateTime; for an SD-JWT, the "
                "``nbf``/``exp`` claim as a UTC dateTime); null when absent"
            ),
        ]
    ]


@with_config(ConfigDict(extra="forbid"))
class StatusEntryResult(TypedDict):
    statusPurpose: NotRequired[
        Annotated[
            Any,
            Field(
                description="the entry's ``statusPurpose`` as presented (revocation, "
                "suspension, …; ``token-status-list`` for an SD-JWT VC)"
            ),
        ]
    ]
    statusListIndex: NotRequired[
        Annotated[
            Any,
            Field(
                description="the entry's ``statusListIndex`` as presented (a decimal string; "
                "an integer for an SD-JWT ``status_list`` idx)"
            ),
        ]
    ]
    statusListCredential: NotRequired[
        Annotated[
            Any,
            Field(
                description="the URL of the status list credential the entry points to, as "
                "presented"
            ),
        ]
    ]
    source: NotRequired[
        Annotated[
            Literal["database", "remote"] | None,
            Field(
                description="where the status list was read: ``database`` for a list this "
                "service publishes, ``remote`` for one fetched over HTTPS; absent "
                "when the entry was rejected before its list was looked up"
            ),
        ]
    ]
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
    verified: Annotated[
        bool,
        Field(
            description="whether the entry was read and its bit does not make the credential fail"
        ),
    ]


@with_config(ConfigDict(extra="forbid"))
class StatusResults(TypedDict):
    verified: Annotated[
        bool | None, Field(description="null when the credential has no credentialStatus")
    ]
    revoked: Annotated[bool, Field(description="whether a revocation entry has its bit set")]
    suspended: Annotated[bool, Field(description="whether a suspension entry has its bit set")]
    entries: Annotated[
        list[StatusEntryResult],
        Field(
            description="the result of each ``credentialStatus`` entry, in order; empty "
            "when there is none"
        ),
    ]


@with_config(ConfigDict(extra="forbid"))
class SchemaRef(TypedDict):
    id: NotRequired[
        Annotated[
            Any,
            Field(
                description="the ``credentialSchema`` entry's ``id`` as presented (a URL); "
                "null when absent"
            ),
        ]
    ]
    type: NotRequired[
        Annotated[
            Any,
            Field(
                description="the ``credentialSchema`` entry's ``type`` as presented (e.g. "
                "ShaclValidator2017); null when absent"
            ),
        ]
    ]
    checked: Annotated[
        bool,
        Field(
            description="whether this service validates against this schema (only the EDC "
            "SHACL shapes); an unchecked one gives a warning"
        ),
    ]


@with_config(ConfigDict(extra="forbid"))
class Violation(TypedDict):
    focusNode: Annotated[
        str, Field(description="the RDF node (IRI or blank node label) that violates the shape")
    ]
    path: Annotated[
        str | None,
        Field(
            description="the property path (an IRI) of the violated constraint; null when "
            "the constraint is on the node itself"
        ),
    ]
    message: Annotated[str, Field(description="the shape's message for the violation, for a human")]
    value: Annotated[
        str | None,
        Field(
            description="the offending value (an IRI or literal); null when the violation "
            "has none (e.g. a missing property)"
        ),
    ]


@with_config(ConfigDict(extra="forbid"))
class SchemaResults(TypedDict):
    verified: Annotated[
        bool | None, Field(description="null when no schema this service checks applies")
    ]
    schemas: Annotated[
        list[SchemaRef],
        Field(
            description="each declared ``credentialSchema`` entry and whether this "
            "service checks it"
        ),
    ]
    violations: Annotated[
        list[Violation],
        Field(
            description="the SHACL violations of the EDC shapes (the first ones only); "
            "empty when none or not checked"
        ),
    ]


@with_config(ConfigDict(extra="forbid"))
class EuMicroCredentialResult(TypedDict):
    complete: Annotated[
        bool,
        Field(
            description="whether the credential has every mandatory element of the EU "
            "micro-credential definition (informative: never an error)"
        ),
    ]
    profile: Annotated[
        Literal["edc", "obv3"] | None,
        Field(
            description="the profile the credential is read under: ``edc`` (European "
            "Digital Credential) or ``obv3`` (Open Badges 3.0); null for "
            "another credential"
        ),
    ]
    missing: Annotated[
        list[str],
        Field(
            description="the mandatory EU micro-credential elements the credential lacks, "
            "in the Council Recommendation's order; empty when complete"
        ),
    ]


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
    sources: Annotated[
        list[TrustSourceEntry],
        Field(
            description="the trust sources that vouch for the issuer, with their entries; "
            "empty when none does"
        ),
    ]
    legalName: NotRequired[Annotated[str | None, Field(description="the registered legal name")]]
    warnings: Annotated[
        list[ResultProblem],
        Field(
            description="problems met while asking the trust sources (RFC 9457 problem "
            "details), e.g. a legal name that differs"
        ),
    ]
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
    verified: Annotated[
        bool,
        Field(
            description="whether every disclosure decoded and matched a digest the issuer signed"
        ),
    ]


@with_config(ConfigDict(extra="forbid"))
class SdJwtResult(TypedDict):
    vct: NotRequired[
        Annotated[
            Any,
            Field(
                description="the SD-JWT VC type claim (``vct``, a URI) as presented; null "
                "when absent"
            ),
        ]
    ]
    disclosed: Annotated[
        list[str], Field(description="the selectively disclosable claims presented")
    ]
    disclosures: Annotated[
        DisclosuresResult,
        Field(description="whether the presented disclosures are ones the issuer signed"),
    ]
    keyBinding: Annotated[
        KeyBindingResult, Field(description="the holder key binding (KB-JWT) check")
    ]


@with_config(ConfigDict(extra="forbid"))
class AwardingBodyProof(TypedDict):
    did: Annotated[str, Field(description="the awarding body's DID")]
    proof: Annotated[
        Literal["verified", "missing", "invalid"],
        Field(
            description="``verified``: a proof of the set made with a method the body controls "
            "verified; ``invalid``: its proofs did not verify; ``missing``: the set has none"
        ),
    ]


@with_config(ConfigDict(extra="forbid"))
class AwardingBodiesResult(TypedDict):
    verified: Annotated[
        bool,
        Field(description="whether every awarding body of the joint credential has a valid proof"),
    ]
    bodies: Annotated[
        list[AwardingBodyProof],
        Field(description="each awarding body named by DID, in the credential's order"),
    ]


@with_config(ConfigDict(extra="forbid"))
class PartResult(TypedDict):
    """One part of a stacked credential, as its verification found it."""

    id: Annotated[
        str | None,
        Field(description="the part's credential id, as the stack records it"),
    ]
    issuer: Annotated[
        str | None,
        Field(description="the part's issuer (a DID or URL); null when the part was not found"),
    ]
    reachable: Annotated[
        bool,
        Field(
            description="whether this service holds a credential under that id (only such "
            "parts are checked)"
        ),
    ]
    digestMatches: Annotated[
        bool | None,
        Field(
            description="whether the credential held is the one the stack records (its "
            "digestSRI); null when not reachable"
        ),
    ]
    verified: Annotated[
        bool | None,
        Field(
            description="whether the part verified now (proof, validity, live status); null "
            "when it was not checked"
        ),
    ]
    revoked: Annotated[
        bool | None,
        Field(description="whether the part is revoked now; null when not checked"),
    ]
    suspended: Annotated[
        bool | None,
        Field(description="whether the part is suspended now; null when not checked"),
    ]
    checks: Annotated[
        list[str], Field(description="the checks that applied to the part (see ``checks``)")
    ]
    errors: Annotated[
        list[ResultProblem],
        Field(description="why the part does not verify; pointers lead into the part"),
    ]
    warnings: Annotated[
        list[ResultProblem],
        Field(description="the part's warnings; pointers lead into the part"),
    ]
    parts: Annotated[
        list[PartResult],
        Field(description="the part's own parts, when it is a stack too; empty otherwise"),
    ]


@with_config(ConfigDict(extra="forbid"))
class CredentialResults(TypedDict):
    form: Annotated[
        FormResult,
        Field(description="whether the document is in the JSON-LD form its proof was made over"),
    ]
    proof: NotRequired[
        Annotated[
            ProofResults | None,
            Field(
                description="the proof check (signatures and the issuer's binding to the "
                "key); absent when the document could not be read that far"
            ),
        ]
    ]
    validFrom: NotRequired[
        Annotated[
            DateResult | None,
            Field(
                description="the ``validFrom`` (VC 1.1 ``issuanceDate``) check: not before "
                "that moment"
            ),
        ]
    ]
    validUntil: NotRequired[
        Annotated[
            DateResult | None,
            Field(
                description="the ``validUntil`` (VC 1.1 ``expirationDate``) check: not after "
                "that moment"
            ),
        ]
    ]
    credentialStatus: NotRequired[
        Annotated[
            StatusResults | None,
            Field(description="the Bitstring Status List check of each ``credentialStatus`` entry"),
        ]
    ]
    credentialSchema: NotRequired[
        Annotated[
            SchemaResults | None,
            Field(description="the ``credentialSchema`` check (the EDC SHACL shapes)"),
        ]
    ]
    euMicroCredential: NotRequired[
        Annotated[
            EuMicroCredentialResult | None,
            Field(
                description="which mandatory EU micro-credential elements are present (informative)"
            ),
        ]
    ]
    awardingBodies: NotRequired[
        Annotated[
            AwardingBodiesResult | None,
            Field(
                description="a joint credential's (two or more awarding bodies with DIDs) proof "
                "of each awarding body; absent for other credentials"
            ),
        ]
    ]
    issuerTrust: NotRequired[
        Annotated[
            IssuerTrustResult | None,
            Field(
                description="whether a trust source (this service's trust list, a registry) "
                "vouches for the issuer"
            ),
        ]
    ]
    sdJwt: NotRequired[
        Annotated[SdJwtResult | None, Field(description="SD-JWT VC presentations only")]
    ]
    parts: NotRequired[
        Annotated[
            list[PartResult] | None,
            Field(
                description="a stacked credential's parts as a tree: each part's id, issuer, "
                "digest, verdict and live status, and its own parts; absent when the "
                "credential is no stack"
            ),
        ]
    ]


@with_config(ConfigDict(extra="forbid"))
class CredentialVerificationResult(TypedDict):
    """The reply of POST /credentials/verify: the VCALM verdict and problem details, the
    result of each check, and the legacy errors, warnings and checks."""

    verified: Annotated[
        bool, Field(description="true exactly when no check found an error (warnings do not count)")
    ]
    credential: NotRequired[
        Annotated[
            dict[str, Any] | None,
            Field(
                description="the credential that was verified, echoed as received (decoded, "
                "for an SD-JWT)"
            ),
        ]
    ]
    problemDetails: Annotated[
        list[ResultProblem],
        Field(
            description="problems that make the document fail (RFC 9457 problem details, "
            "each with a JSON Pointer into the request body); empty when "
            "verified (VCALM)"
        ),
    ]
    results: Annotated[
        CredentialResults, Field(description="the result of each check, by check name")
    ]
    errors: Annotated[
        list[ResultProblem],
        Field(description="the same list as ``problemDetails`` (the VC API legacy name)"),
    ]
    warnings: Annotated[
        list[ResultProblem],
        Field(
            description="problems that do not make the document fail (unchecked schema, "
            "no challenge, issuer not a DID…); RFC 9457 problem details"
        ),
    ]
    checks: Annotated[
        list[str],
        Field(
            description="the names of the checks that applied (the VC API legacy "
            "``checks`` list, the keys of ``results`` whose ``verified`` is "
            "not null)"
        ),
    ]


@with_config(ConfigDict(extra="forbid"))
class CredentialInPresentation(TypedDict):
    verified: Annotated[
        bool, Field(description="true exactly when no check of this credential found an error")
    ]
    problemDetails: Annotated[
        list[ResultProblem],
        Field(
            description="problems that make the document fail (RFC 9457 problem details, "
            "each with a JSON Pointer into the request body); empty when "
            "verified; pointers lead into the presentation"
        ),
    ]
    results: Annotated[
        CredentialResults | None, Field(description="null for an item that is no credential")
    ]
    errors: Annotated[
        list[ResultProblem],
        Field(description="the same list as ``problemDetails`` (the VC API legacy name)"),
    ]
    warnings: Annotated[
        list[ResultProblem],
        Field(
            description="problems that do not make the document fail (unchecked schema, "
            "no challenge, issuer not a DID…); RFC 9457 problem details"
        ),
    ]
    checks: Annotated[
        list[str],
        Field(
            description="the names of the checks that applied (the VC API legacy "
            "``checks`` list, the keys of ``results`` whose ``verified`` is "
            "not null)"
        ),
    ]


@with_config(ConfigDict(extra="forbid"))
class HolderCheck(TypedDict):
    id: Annotated[
        str | None,
        Field(
            description="the presentation's ``holder`` id (a DID); null when the "
            "presentation names no holder"
        ),
    ]
    controllers: Annotated[
        list[str],
        Field(
            description="the DIDs controlling the verification methods whose proofs were "
            "checked, sorted"
        ),
    ]
    bound: Annotated[
        bool | None,
        Field(
            description="whether the holder controls a key that signed the presentation; "
            "null when there is no holder or no verified key"
        ),
    ]


@with_config(ConfigDict(extra="forbid"))
class ChallengeCheck(TypedDict):
    verified: Annotated[
        bool | None,
        Field(
            description="whether the proof's challenge was accepted (true too for a "
            "challenge this service did not issue, with a warning); null when "
            "no challenge was given"
        ),
    ]
    state: Annotated[
        Literal["accepted", "used", "expired", "unknown"] | None,
        Field(
            description="the challenge's state when consumed: ``accepted``, ``used`` "
            "(replayed), ``expired``, or ``unknown`` (not issued by POST "
            "/challenges); null when not looked up"
        ),
    ]


@with_config(ConfigDict(extra="forbid"))
class PresentationResult(TypedDict):
    verified: Annotated[
        bool,
        Field(description="true exactly when no check of the presentation itself found an error"),
    ]
    form: Annotated[
        FormResult,
        Field(
            description="whether the presentation is in the JSON-LD form its proof was made over"
        ),
    ]
    proof: NotRequired[
        Annotated[
            ProofResults | None,
            Field(
                description="the presentation's proof check; absent when the presentation "
                "could not be read that far"
            ),
        ]
    ]
    holder: NotRequired[
        Annotated[
            HolderCheck | None,
            Field(description="whether the holder controls a key that signed the presentation"),
        ]
    ]
    challenge: NotRequired[
        Annotated[
            ChallengeCheck | None,
            Field(description="the single-use challenge check (replay protection)"),
        ]
    ]


@with_config(ConfigDict(extra="forbid"))
class PresentationResults(TypedDict):
    presentation: Annotated[
        PresentationResult, Field(description="the checks of the presentation itself")
    ]
    credentials: Annotated[
        list[CredentialInPresentation],
        Field(description="the checks of each credential in ``verifiableCredential``, in order"),
    ]


@with_config(ConfigDict(extra="forbid"))
class PresentationVerificationResult(TypedDict):
    """The reply of POST /presentations/verify: the presentation's checks, then each
    credential's (their pointers into the presentation)."""

    verified: Annotated[
        bool,
        Field(
            description="true exactly when neither the presentation nor any of its "
            "credentials has an error"
        ),
    ]
    problemDetails: Annotated[
        list[ResultProblem],
        Field(
            description="problems that make the document fail (RFC 9457 problem details, "
            "each with a JSON Pointer into the request body); empty when "
            "verified, the presentation's and every credential's (VCALM)"
        ),
    ]
    results: Annotated[
        PresentationResults,
        Field(description="the result of each check of the presentation and of each credential"),
    ]
    errors: Annotated[
        list[ResultProblem],
        Field(description="the same list as ``problemDetails`` (the VC API legacy name)"),
    ]
    warnings: Annotated[
        list[ResultProblem],
        Field(
            description="problems that do not make the document fail (unchecked schema, "
            "no challenge, issuer not a DID…); RFC 9457 problem details, the "
            "presentation's and every credential's"
        ),
    ]
    checks: Annotated[
        list[str],
        Field(
            description="the parts that were checked: ``presentation``, and "
            "``credentials`` when it holds any"
        ),
    ]


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
