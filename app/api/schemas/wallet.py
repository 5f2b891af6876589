"""Reply bodies of wallet delivery (OpenID4VCI); for the OpenAPI document, as the wallet
replies are written as plain JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.services import oid4vci


class TxCodeSpec(BaseModel):
    input_mode: Literal["numeric", "text"] = Field(
        description="the characters of the PIN: always ``numeric`` here"
    )
    length: int = Field(description="the number of digits of the PIN")
    description: str = Field(
        description="what the wallet shows the learner when asking for the PIN (at "
        "most 300 characters)"
    )


class PreAuthorizedCodeGrant(BaseModel):
    pre_authorized_code: str = Field(
        alias="pre-authorized_code",
        description="the single-use code the wallet exchanges at the token endpoint",
    )
    tx_code: TxCodeSpec | None = Field(
        default=None,
        description="present when the wallet must ask for a PIN (sent to the learner "
        "separately); absent otherwise",
    )


class OfferGrants(BaseModel):
    pre_authorized_code: PreAuthorizedCodeGrant = Field(
        alias=oid4vci.PRE_AUTHORIZED_GRANT,
        description="the pre-authorized code grant, the only grant offered",
    )


class CredentialOfferDocument(BaseModel):
    """The Credential Offer object (OpenID4VCI section 4.1.1)."""

    credential_issuer: str = Field(
        description="the Credential Issuer identifier (an HTTPS URL) whose metadata "
        "the wallet reads"
    )
    credential_configuration_ids: list[str] = Field(
        description="the offered credential configuration (one id from the issuer metadata)"
    )
    grants: OfferGrants = Field(description="how the wallet obtains an access token")


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
    access_token: str = Field(description="the bearer token for the credential endpoint")
    token_type: Literal["Bearer"] = Field(description="always ``Bearer``")
    expires_in: int = Field(description="the token's lifetime in seconds")
    authorization_details: list[dict[str, Any]] | None = Field(
        default=None,
        description="the granted ``openid_credential`` details with their "
        "``credential_identifiers``; absent unless the request had "
        "``authorization_details``",
    )


class NonceReply(BaseModel):
    c_nonce: str = Field(description="a fresh single-use nonce to put in the key proof JWT")


class IssuedCredential(BaseModel):
    credential: dict[str, Any] = Field(
        description="the signed credential, bound to the wallet's key"
    )


class WalletCredentialReply(BaseModel):
    credentials: list[IssuedCredential] = Field(description="the issued credential (one)")
