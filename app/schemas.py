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
    "credentials:issue", "credentials:status", "credentials:read", "courses:write", "courses:read"
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
    verificationMethod: str
    publicKeyMultibase: str
    status: Literal["active", "retired", "revoked"]
    created: datetime


class IssuerReply(BaseModel):
    slug: str
    did: str
    name: dict[str, str]
    country: str
    legalIdentifier: str
    homepage: str | None
    didMethod: str
    suspensionEnabled: bool
    keys: list[KeyReply]


class IssuerListReply(BaseModel):
    issuers: list[IssuerReply]


class ApiKeyCreateRequest(Strict):
    name: ShortText = Field(
        examples=["student records system"],
        description="What the key is for, to recognise it in lists and audit records.",
    )
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=len(SCOPES))] = Field(
        examples=[["credentials:issue", "credentials:status", "credentials:read"]],
        description="What the key may do: `credentials:issue` (issue credentials), "
        "`credentials:status` (revoke, suspend), `credentials:read` (read issued credentials), "
        "`courses:write` (describe courses), `courses:read` (read courses).",
    )


class ApiKeyReply(BaseModel):
    id: str
    name: str
    scopes: list[str]
    created: datetime


class ApiKeyCreatedReply(ApiKeyReply):
    key: str = Field(description="the secret: shown only in this reply")


class ApiKeyListReply(BaseModel):
    apiKeys: list[ApiKeyReply]


class AuditEventReply(BaseModel):
    id: int
    at: datetime
    actor: str
    issuer: str | None
    action: str
    target: str | None
    details: dict[str, object]


class AuditListReply(BaseModel):
    events: list[AuditEventReply]


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
    did: str
    legalName: str
    country: str
    legalIdentifier: str
    accreditation: dict[str, Any] | None
    note: str | None
    updated: datetime


class TrustListReply(BaseModel):
    entries: list[TrustEntryReply]
