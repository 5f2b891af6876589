"""Request and reply bodies of the admin API (camelCase on the wire, as API.md says)."""

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
Scope = Literal["credentials:issue", "credentials:status", "credentials:read"]
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
    slug: Slug = Field(examples=["uni-zed"])
    name: LanguageMap = Field(examples=[{"en": "University of Zed", "ga": "Ollscoil Zed"}])
    country: CountryCode = Field(examples=["IRL"])
    legalIdentifier: Annotated[
        str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ./:_-]{0,127}$")
    ] = Field(examples=["IE1234567X"])
    homepage: (
        Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=2048)] | None
    ) = Field(default=None, examples=["https://www.uni-zed.example"])
    didMethod: Literal["web", "key"] = "web"
    suspensionEnabled: bool = Field(
        default=False, description="credentials also carry a suspension status entry"
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
    name: ShortText = Field(examples=["student records system"])
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=3)] = Field(
        examples=[["credentials:issue", "credentials:status", "credentials:read"]]
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
    legalName: ShortText = Field(examples=["University of Zed"])
    country: CountryCode = Field(examples=["IRL"])
    legalIdentifier: Annotated[
        str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ./:_-]{0,127}$")
    ] = Field(examples=["IE1234567X"])
    accreditation: dict[str, Any] | None = Field(
        default=None,
        description="evidence of accreditation (body, decision, date, URL)",
        examples=[{"body": "QQI", "decision": "https://qqi.example/decisions/42"}],
    )
    note: Annotated[str, StringConstraints(max_length=1000)] | None = None


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
