"""Reply bodies of wallet delivery (OpenID4VCI); for the OpenAPI document, as the wallet
replies are written as plain JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.services import oid4vci


class TxCodeSpec(BaseModel):
    input_mode: Literal["numeric", "text"]
    length: int
    description: str


class PreAuthorizedCodeGrant(BaseModel):
    pre_authorized_code: str = Field(alias="pre-authorized_code")
    tx_code: TxCodeSpec | None = None


class OfferGrants(BaseModel):
    pre_authorized_code: PreAuthorizedCodeGrant = Field(alias=oid4vci.PRE_AUTHORIZED_GRANT)


class CredentialOfferDocument(BaseModel):
    """The Credential Offer object (OpenID4VCI section 4.1.1)."""

    credential_issuer: str
    credential_configuration_ids: list[str]
    grants: OfferGrants


class OfferReply(BaseModel):
    id: str = Field(description="The offer's id")
    credential_offer_uri: str = Field(
        description="`openid-credential-offer://?credential_offer_uri=…`: the link (and QR "
        "content) a wallet opens; it references the offer by URL"
    )
    credential_offer: CredentialOfferDocument = Field(description="The same offer by value")
    qr_png_base64: str = Field(description="A PNG QR code of `credential_offer_uri`, base64")
    tx_code: str | None = Field(
        default=None,
        description="The PIN the learner must enter in the wallet (only with `txCode=true`); "
        "send it by another channel than the offer",
    )
    expires_at: datetime = Field(description="The pre-authorized code works until then")


class TokenReply(BaseModel):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    authorization_details: list[dict[str, Any]] | None = None


class NonceReply(BaseModel):
    c_nonce: str


class IssuedCredential(BaseModel):
    credential: dict[str, Any]


class WalletCredentialReply(BaseModel):
    credentials: list[IssuedCredential]
