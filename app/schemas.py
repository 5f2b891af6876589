"""Request and reply bodies of the admin API and the ``microcred`` command (camelCase on the wire,
as API.md says). No web import: the CLI and the services read them too."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import iso3166
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.credentials.microcredential import LanguageCode
from app.services.apikeys import SCOPES

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$", max_length=64),
]
Scope = Literal[
    "credentials:issue",
    "credentials:status",
    "credentials:read",
    "courses:write",
    "courses:read",
    "presentations:request",
]
assert set(Scope.__args__) == set(SCOPES)  # type: ignore[attr-defined]


def _iso_alpha3(value: str) -> str:
    if value not in iso3166.countries_by_alpha3:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-3 country code")
    return value


CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$"), AfterValidator(_iso_alpha3)]
LanguageMap = Annotated[dict[LanguageCode, ShortText], Field(min_length=1, max_length=30)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IssuerCreateRequest(Strict):
    slug: Slug = Field(
        examples=["uni-zed"],
        description="A short name for the institution in URLs and in its DID "
        "(`did:web:<host>:issuers:<slug>`): lower-case letters, digits and hyphens; it cannot "
        "be changed later.",
    )
    name: LanguageMap = Field(
        examples=[{"en": "University of Zed", "ga": "Ollscoil Zed"}],
        description="The institution's official name, by language: each key an ISO 639-1 code "
        "(see GET /vocabularies/language), the first one the main language.",
    )
    country: CountryCode = Field(
        examples=["IRL"],
        description="The country where the institution is established, as ISO 3166-1 alpha-3 "
        "(see GET /vocabularies/country).",
    )
    legalIdentifier: Annotated[
        str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ./:_-]{0,127}$")
    ] = Field(
        examples=["IE1234567X"],
        description="The institution's legal identifier, such as its VAT or company "
        "registration number; credentials name the issuer by it.",
    )
    homepage: (
        Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=2048)] | None
    ) = Field(
        default=None,
        examples=["https://www.uni-zed.example"],
        description="The institution's website.",
    )
    didMethod: Literal["web", "key"] = Field(
        default="web",
        description="`web` (default): a did:web served by this service, whose keys can be "
        "rotated; `key`: a did:key, self-contained but with one key for ever.",
    )
    suspensionEnabled: bool = Field(
        default=False,
        description="true: the institution's credentials also carry a suspension status entry, "
        "so they can be suspended and reinstated (revocation is always possible).",
    )


class KeyReply(BaseModel):
    id: str = Field(description="short key id used in admin paths (the method's fragment)")
    verificationMethod: str = Field(
        description="the verification method id (``<issuer DID>#<fragment>``) that "
        "proofs made with this key name"
    )
    publicKeyMultibase: str = Field(
        description="the Ed25519 public key, multibase-encoded (base58btc, ``z…``)"
    )
    status: Literal["active", "retired", "revoked"] = Field(
        description="``active``: signs new credentials; ``retired``: no longer signs "
        "but still verifies older credentials; ``revoked``: compromised, "
        "verifies nothing"
    )
    created: datetime = Field(description="when the key was created (ISO 8601 date-time, UTC)")


class IssuerReply(BaseModel):
    slug: str = Field(description="the institution's short name in URLs and in its did:web")
    did: str = Field(
        description="the institution's DID (did:web or did:key), the ``issuer`` of its credentials"
    )
    name: dict[str, str] = Field(
        description="the institution's official name, by ISO 639-1 language code"
    )
    country: str = Field(
        description="the country where the institution is established, ISO 3166-1 alpha-3"
    )
    legalIdentifier: str = Field(
        description="the institution's legal identifier (VAT or company registration number)"
    )
    homepage: str | None = Field(description="the institution's website; null when none was given")
    didMethod: str = Field(
        description="``web`` (did:web served by this service, keys can be rotated) or "
        "``key`` (did:key, one key for ever)"
    )
    suspensionEnabled: bool = Field(
        description="whether the institution's credentials carry a suspension status "
        "entry as well as a revocation one"
    )
    keys: list[KeyReply] = Field(
        description="the institution's signing keys, active, retired and revoked"
    )


class IssuerListReply(BaseModel):
    issuers: list[IssuerReply] = Field(description="every issuer of this service")


class ApiKeyCreateRequest(Strict):
    name: ShortText = Field(
        examples=["student records system"],
        description="What the key is for, to recognise it in lists and audit records.",
    )
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=len(SCOPES))] = Field(
        examples=[["credentials:issue", "credentials:status", "credentials:read"]],
        description="What the key may do: `credentials:issue` (issue credentials), "
        "`credentials:status` (revoke, suspend), `credentials:read` (read issued credentials), "
        "`courses:write` (describe courses), `courses:read` (read courses), "
        "`presentations:request` (ask wallets for credentials, OpenID4VP).",
    )


class ApiKeyReply(BaseModel):
    id: str = Field(
        description="the key's id (also the middle part of the secret), used in "
        "DELETE /admin/issuers/{slug}/api-keys/{key_id} and in audit "
        "records"
    )
    name: str = Field(description="what the key is for, as given when it was created")
    scopes: list[str] = Field(
        description="what the key may do (``credentials:issue``, "
        "``credentials:status``, ``credentials:read``, ``courses:write``, "
        "``courses:read``, ``presentations:request``)"
    )
    created: datetime = Field(description="when the key was created (ISO 8601 date-time, UTC)")


class ApiKeyCreatedReply(ApiKeyReply):
    key: str = Field(description="the secret: shown only in this reply")


class ApiKeyListReply(BaseModel):
    apiKeys: list[ApiKeyReply] = Field(
        description="the issuer's API keys that have not been deleted (never their secrets)"
    )


class AuditEventReply(BaseModel):
    id: int = Field(description="the event's sequence number; pass it as ``before`` to page back")
    at: datetime = Field(description="when it happened (ISO 8601 date-time, UTC)")
    actor: str = Field(
        description="who did it: ``admin``, ``api-key:<id>`` for an issuer's API key, "
        "or ``oid4vci-offer:<id>`` for a wallet redeeming an offer"
    )
    issuer: str | None = Field(
        description="the slug of the issuer concerned; null for an event that concerns no issuer"
    )
    action: str = Field(
        description="what was done, a dotted name (e.g. ``api_key.created``, "
        "``key.rotated``, ``trust.put``)"
    )
    target: str | None = Field(
        description="what it was done to (a credential, key or DID id); null when the "
        "action has no single target"
    )
    details: dict[str, object] = Field(
        description="the action's particulars (e.g. the scopes granted); an empty "
        "object when there are none"
    )


class AuditListReply(BaseModel):
    events: list[AuditEventReply] = Field(description="the events, newest first")


Did = Annotated[
    str, StringConstraints(pattern=r"^did:[a-z0-9]+:[A-Za-z0-9._:%-]+$", max_length=512)
]


class TrustEntryRequest(Strict):
    legalName: ShortText = Field(
        examples=["University of Zed"], description="The issuer's registered legal name."
    )
    country: CountryCode = Field(
        examples=["IRL"],
        description="The issuer's country, as ISO 3166-1 alpha-3 (see GET /vocabularies/country).",
    )
    legalIdentifier: Annotated[
        str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ./:_-]{0,127}$")
    ] = Field(
        examples=["IE1234567X"],
        description="The issuer's legal identifier (VAT or company registration number).",
    )
    accreditation: dict[str, Any] | None = Field(
        default=None,
        description="evidence of accreditation (body, decision, date, URL)",
        examples=[{"body": "QQI", "decision": "https://qqi.example/decisions/42"}],
    )
    note: Annotated[str, StringConstraints(max_length=1000)] | None = Field(
        default=None, description="A note for administrators; not shown to verifiers."
    )


class TrustEntryReply(BaseModel):
    did: str = Field(description="the trusted issuer's DID")
    legalName: str = Field(description="the issuer's registered legal name")
    country: str = Field(description="the issuer's country, ISO 3166-1 alpha-3")
    legalIdentifier: str = Field(
        description="the issuer's legal identifier (VAT or company registration number)"
    )
    accreditation: dict[str, Any] | None = Field(
        description="evidence of accreditation as given (body, decision, date, URL); "
        "null when none was given"
    )
    note: str | None = Field(description="a note for administrators; null when none was given")
    updated: datetime = Field(description="when the entry was last put (ISO 8601 date-time, UTC)")


class TrustListReply(BaseModel):
    entries: list[TrustEntryReply] = Field(description="every entry of this service's trust list")
