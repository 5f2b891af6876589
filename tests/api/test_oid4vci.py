"""OpenID4VCI 1.0 wallet delivery, played end to end by a wallet over HTTP.

The wallet below knows only what a real one knows: the offer link (read back from the QR PNG's
modules), the specification's rules for finding metadata, and its own fresh Ed25519 key.
"""

from __future__ import annotations

import base64
import io
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx
import pytest
import qrcode
from fastapi import FastAPI
from PIL import Image
from pydantic import ValidationError
from sqlalchemy import update
from sqlmodel import col, select

from app.config import Settings
from app.crypto.keys import KeyPair
from app.db.models import Credential, CredentialOffer
from app.did.key import did_key_from_public_key
from app.jose import jwk_from_public_key, sign_compact
from tests.conftest import problem_of
from tests.factories import issuer_with_key, microcredential_body

pytestmark = pytest.mark.anyio

PUBLIC_URL = "https://credentials.example.edu"
PRE_AUTHORIZED = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
CONFIGURATION = {"edc": "EuropeanDigitalCredential_ldp_vc", "obv3": "OpenBadgeCredential_ldp_vc"}
VC_TYPE = {"edc": "EuropeanDigitalCredential", "obv3": "OpenBadgeCredential"}


# --- what a wallet does -------------------------------------------------------------------------


def well_known(identifier: str, suffix: str) -> str:
    """Insert ``/.well-known/<suffix>`` between host and path (OpenID4VCI 12.2.2, RFC 8414 3)."""
    parts = urlsplit(identifier)
    return urlunsplit((parts.scheme, parts.netloc, f"/.well-known/{suffix}{parts.path}", "", ""))


def qr_modules(png: bytes, modules: int) -> list[list[bool]]:
    """The dark/light modules of a QR PNG that is ``modules`` wide (quiet zone included)."""
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    width, height = image.size
    assert width == height and width % modules == 0, (image.size, modules)
    box = width // modules
    pixels = image.convert("L").tobytes()  # one byte per pixel, row by row

    def dark(x: int, y: int) -> bool:
        return pixels[(y * box + box // 2) * width + x * box + box // 2] < 128

    return [[dark(x, y) for x in range(modules)] for y in range(modules)]


def qr_matrix_of(text: str) -> list[list[bool]]:
    """The module matrix (quiet zone included) a QR encoder makes of ``text`` at level M."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(text)
    code.make(fit=True)
    matrix: list[list[bool]] = code.get_matrix()
    return matrix


def offer_link_from_qr(png: bytes, candidate: str) -> str:
    """No QR decoder is installed: check the PNG's modules are exactly those of ``candidate``."""
    expected = qr_matrix_of(candidate)
    assert qr_modules(png, len(expected)) == expected
    return candidate


@dataclass
class Wallet:
    client: httpx.AsyncClient
    key_header: str = "kid"  # "kid" (did:key DID URL) or "jwk"
    key: KeyPair = field(default_factory=KeyPair.generate)

    @property
    def did(self) -> str:
        return did_key_from_public_key(self.key.public_key)

    def proof(
        self,
        audience: str,
        nonce: str | None,
        *,
        signer: KeyPair | None = None,
        header: dict[str, Any] | None = None,
        claims: dict[str, Any] | None = None,
    ) -> str:
        """An ``openid4vci-proof+jwt`` naming this wallet's key (signed by ``signer``)."""
        jose: dict[str, Any] = {"alg": "EdDSA", "typ": "openid4vci-proof+jwt"}
        if self.key_header == "kid":
            jose["kid"] = f"{self.did}#{self.did.removeprefix('did:key:')}"
        else:
            jose["jwk"] = jwk_from_public_key(self.key.public_key)
        jose.update(header or {})
        payload: dict[str, Any] = {"aud": audience, "iat": int(time.time())}
        if nonce is not None:
            payload["nonce"] = nonce
        payload.update(claims or {})
        return sign_compact(jose, payload, signer or self.key)

    async def follow_offer_link(self, link: str) -> dict[str, Any]:
        parts = urlsplit(link)
        assert parts.scheme == "openid-credential-offer"
        query = parse_qs(parts.query)
        assert list(query) == ["credential_offer_uri"]
        (reference,) = query["credential_offer_uri"]
        assert reference.startswith(PUBLIC_URL + "/")
        response = await self.client.get(reference)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        assert "no-store" in response.headers["cache-control"]
        offer: dict[str, Any] = response.json()
        return offer

    async def metadata(self, identifier: str) -> tuple[dict[str, Any], dict[str, Any]]:
        issuer = await self.client.get(well_known(identifier, "openid-credential-issuer"))
        assert issuer.status_code == 200, issuer.text
        server = await self.client.get(well_known(identifier, "oauth-authorization-server"))
        assert server.status_code == 200, server.text
        return issuer.json(), server.json()

    async def token(self, endpoint: str, code: str, tx_code: str | None) -> httpx.Response:
        form = {"grant_type": PRE_AUTHORIZED, "pre-authorized_code": code}
        if tx_code is not None:
            form["tx_code"] = tx_code
        return await self.client.post(endpoint, data=form)

    async def nonce(self, endpoint: str) -> str:
        response = await self.client.post(endpoint)
        assert response.status_code == 200, response.text
        assert "no-store" in response.headers["cache-control"]
        value: str = response.json()["c_nonce"]
        return value

    async def request_credential(
        self, endpoint: str, access_token: str, body: dict[str, Any]
    ) -> httpx.Response:
        return await self.client.post(
            endpoint, json=body, headers={"Authorization": f"Bearer {access_token}"}
        )


@dataclass
class Session:
    """Where a wallet stands after trading the code: metadata, offer and an access token."""

    offer: dict[str, Any]
    issuer_metadata: dict[str, Any]
    access_token: str

    @property
    def identifier(self) -> str:
        value: str = self.issuer_metadata["credential_issuer"]
        return value

    @property
    def configuration_id(self) -> str:
        value: str = self.offer["credential_configuration_ids"][0]
        return value


async def start(wallet: Wallet, reply: dict[str, Any], tx_code: str | None = None) -> Session:
    """Offer link → offer → metadata → token: the steps before the credential request."""
    offer = await wallet.follow_offer_link(reply["credential_offer_uri"])
    metadata, server = await wallet.metadata(offer["credential_issuer"])
    code = offer["grants"][PRE_AUTHORIZED]["pre-authorized_code"]
    token = await wallet.token(server["token_endpoint"], code, tx_code)
    assert token.status_code == 200, token.text
    return Session(offer, metadata, token.json()["access_token"])


# --- issuer side helpers -----------------------------------------------------------------------


async def make_offer(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    format: str = "edc",
    *,
    tx_code: bool = False,
) -> dict[str, Any]:
    response = await client.post(
        "/microcredentials/offers",
        params={"txCode": "true"} if tx_code else {},
        json=microcredential_body(format),
        headers=auth,
    )
    assert response.status_code == 201, response.text
    reply: dict[str, Any] = response.json()
    return reply


async def offered(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    slug: str,
    format: str = "edc",
    *,
    tx_code: bool = False,
) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    issuer, auth = await issuer_with_key(client, admin, slug)
    return issuer, auth, await make_offer(client, auth, format, tx_code=tx_code)


async def set_offer(app: FastAPI, offer_id: str, **values: Any) -> None:
    """Move an offer's clock (expiry) directly in the database."""
    async with app.state.services.sessionmaker() as session:
        await session.exec(
            update(CredentialOffer).where(col(CredentialOffer.id) == offer_id).values(**values)
        )
        await session.commit()


async def stored_offer(app: FastAPI, offer_id: str) -> CredentialOffer:
    async with app.state.services.sessionmaker() as session:
        query = select(CredentialOffer).where(CredentialOffer.id == offer_id)
        offer: CredentialOffer = (await session.exec(query)).one()
        return offer


# --- the end-to-end flow --------------------------------------------------------------------------


@pytest.mark.parametrize("key_header", ["kid", "jwk"])
@pytest.mark.parametrize("format", ["edc", "obv3"])
async def test_a_wallet_receives_a_credential_bound_to_its_key(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    format: str,
    key_header: str,
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    reply = await make_offer(client, auth, format, tx_code=True)
    identifier = f"{PUBLIC_URL}/issuers/{random_slug}"

    # The issuer's reply: the offer by value and by reference, a QR of the link, the PIN.
    assert re.fullmatch(r"[0-9]{6}", reply["tx_code"])
    link = reply["credential_offer_uri"]
    assert link.startswith("openid-credential-offer://?credential_offer_uri=https%3A%2F%2F")
    png = base64.b64decode(reply["qr_png_base64"], validate=True)
    assert link == offer_link_from_qr(png, link)
    assert qr_modules(png, len(qr_matrix_of(link))) != qr_matrix_of(link + "x")

    # The wallet follows the link: the offer by reference is the offer by value.
    wallet = Wallet(client, key_header)
    offer = await wallet.follow_offer_link(link)
    assert offer == reply["credential_offer"]
    assert offer["credential_issuer"] == identifier
    assert offer["credential_configuration_ids"] == [CONFIGURATION[format]]
    grant = offer["grants"][PRE_AUTHORIZED]
    assert grant["tx_code"]["input_mode"] == "numeric" and grant["tx_code"]["length"] == 6
    assert 0 < len(grant["tx_code"]["description"]) <= 300

    # Metadata found by the path-insertion rule, describing what was offered.
    metadata, server = await wallet.metadata(offer["credential_issuer"])
    assert metadata["credential_issuer"] == offer["credential_issuer"]  # exact string match
    assert "authorization_servers" not in metadata  # the issuer is its own AS
    configuration = metadata["credential_configurations_supported"][CONFIGURATION[format]]
    assert configuration["format"] == "ldp_vc"
    assert VC_TYPE[format] in configuration["credential_definition"]["type"]
    assert configuration["proof_types_supported"] == {
        "jwt": {"proof_signing_alg_values_supported": ["EdDSA"]}
    }
    assert {"did:key", "jwk"} <= set(configuration["cryptographic_binding_methods_supported"])
    assert server["issuer"] == identifier
    assert server["pre-authorized_grant_anonymous_access_supported"] is True
    assert PRE_AUTHORIZED in server["grant_types_supported"]

    # Code and PIN for an access token.
    token = await wallet.token(
        server["token_endpoint"], grant["pre-authorized_code"], reply["tx_code"]
    )
    assert token.status_code == 200, token.text
    assert "no-store" in token.headers["cache-control"]
    assert token.json()["token_type"] == "Bearer"
    assert token.json()["expires_in"] == 300

    # A nonce, a proof with the wallet's own key, the credential.
    nonce = await wallet.nonce(metadata["nonce_endpoint"])
    response = await wallet.request_credential(
        metadata["credential_endpoint"],
        token.json()["access_token"],
        {
            "credential_configuration_id": CONFIGURATION[format],
            "proofs": {"jwt": [wallet.proof(identifier, nonce)]},
        },
    )
    assert response.status_code == 200, response.text
    assert "no-store" in response.headers["cache-control"]
    (issued,) = response.json()["credentials"]
    vc = issued["credential"]
    assert VC_TYPE[format] in vc["type"]
    issuer_of = vc["issuer"] if isinstance(vc["issuer"], str) else vc["issuer"]["id"]
    assert issuer_of == issuer["did"]
    assert vc["credentialSubject"]["id"] == wallet.did

    # The verifier accepts it as issued, and not with the subject bound to another key.
    verified = await client.post("/credentials/verify", json={"verifiableCredential": vc})
    assert verified.status_code == 200, verified.text
    assert verified.json()["verified"] is True
    rebound = {**vc, "credentialSubject": {**vc["credentialSubject"], "id": Wallet(client).did}}
    refused = await client.post("/credentials/verify", json={"verifiableCredential": rebound})
    assert refused.status_code == 422, refused.text
    assert refused.json()["verified"] is False

    # The issuer sees the credential; the offer is spent and points at it.
    row = await stored_offer(app, reply["id"])
    assert row.state == "redeemed" and row.redeemed_at is not None
    read = await client.get(f"/credentials/{row.credential_id}", headers=auth)
    assert read.status_code == 200, read.text
    assert read.json()["verifiableCredential"] == vc


async def test_authorization_details_give_a_credential_identifier_to_use(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, _, reply = await offered(client, admin_headers, random_slug, "obv3")
    wallet = Wallet(client, "jwk")
    offer = await wallet.follow_offer_link(reply["credential_offer_uri"])
    metadata, server = await wallet.metadata(offer["credential_issuer"])
    details = [{"type": "openid_credential", "credential_configuration_id": CONFIGURATION["obv3"]}]
    token = await client.post(
        server["token_endpoint"],
        data={
            "grant_type": PRE_AUTHORIZED,
            "pre-authorized_code": offer["grants"][PRE_AUTHORIZED]["pre-authorized_code"],
            "authorization_details": json.dumps(details),
        },
    )
    assert token.status_code == 200, token.text
    (detail,) = token.json()["authorization_details"]
    assert detail["credential_configuration_id"] == CONFIGURATION["obv3"]
    (identifier,) = detail["credential_identifiers"]
    nonce = await wallet.nonce(metadata["nonce_endpoint"])
    response = await wallet.request_credential(
        metadata["credential_endpoint"],
        token.json()["access_token"],
        {
            "credential_identifier": identifier,
            "proofs": {"jwt": [wallet.proof(metadata["credential_issuer"], nonce)]},
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["credentials"][0]["credential"]["credentialSubject"]["id"] == wallet.did


async def test_an_offer_without_pin_has_no_tx_code_and_expires_as_configured(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, _, reply = await offered(client, admin_headers, random_slug)
    assert "tx_code" not in reply
    assert "tx_code" not in reply["credential_offer"]["grants"][PRE_AUTHORIZED]
    row = await stored_offer(app, reply["id"])
    assert row.state == "offered"
    assert 599 <= (row.expires_at - row.created_at).total_seconds() <= 600
    # Only hashes are kept: neither the code nor a token is in the row.
    code = reply["credential_offer"]["grants"][PRE_AUTHORIZED]["pre-authorized_code"]
    assert code not in str(row.model_dump()) and row.code_hash != code


async def test_metadata_of_an_unknown_issuer_is_404(client: httpx.AsyncClient) -> None:
    for path in (
        "/.well-known/openid-credential-issuer/issuers/nobody",
        "/.well-known/oauth-authorization-server/issuers/nobody",
    ):
        response = await client.get(path)
        assert response.status_code == 404
        problem_of(response)


async def test_metadata_describes_both_shapes(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    await issuer_with_key(client, admin_headers, random_slug)
    identifier = f"{PUBLIC_URL}/issuers/{random_slug}"
    metadata = (await client.get(well_known(identifier, "openid-credential-issuer"))).json()
    assert metadata["credential_endpoint"].startswith(identifier + "/")
    assert metadata["nonce_endpoint"].startswith(identifier + "/")
    assert {"name": "University of Zed", "locale": "en"} in metadata["display"]
    configurations = metadata["credential_configurations_supported"]
    sd_jwt = configurations.pop("EuropeanMicroCredential_dc+sd-jwt")  # tests/api/test_sdjwt_oid4vci
    assert sd_jwt["format"] == "dc+sd-jwt"
    assert set(configurations) == set(CONFIGURATION.values())
    edc = configurations[CONFIGURATION["edc"]]["credential_definition"]
    assert edc["@context"][:2] == [
        "https://www.w3.org/2018/credentials/v1",
        "http://data.europa.eu/snb/model/context/edc-ap",
    ]
    obv3 = configurations[CONFIGURATION["obv3"]]["credential_definition"]
    assert obv3["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert obv3["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    for configuration in configurations.values():
        assert "eddsa-rdfc-2022" in configuration["credential_signing_alg_values_supported"]


async def test_offer_needs_an_issue_key_and_refuses_a_learner_id(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    body = microcredential_body()
    assert (await client.post("/microcredentials/offers", json=body)).status_code == 401
    _, read_only = await issuer_with_key(
        client, admin_headers, random_slug + "-ro", scopes=("credentials:read",)
    )
    forbidden = await client.post("/microcredentials/offers", json=body, headers=read_only)
    assert forbidden.status_code == 403
    body["learner"] = {
        **body["learner"],
        "id": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    }
    refused = await client.post("/microcredentials/offers", json=body, headers=auth)
    assert refused.status_code == 422
    assert [e["pointer"] for e in problem_of(refused)["errors"]] == ["/learner/id"]
    incomplete = microcredential_body()
    del incomplete["assessment"]
    invalid = await client.post("/microcredentials/offers", json=incomplete, headers=auth)
    assert invalid.status_code == 422
    assert "/assessment" in [e["pointer"] for e in problem_of(invalid)["errors"]]
    async with app.state.services.sessionmaker() as session:
        assert (await session.exec(select(CredentialOffer))).all() == []
        assert (await session.exec(select(Credential))).all() == []


@pytest.mark.parametrize(
    ("name", "inside", "outside"),
    [
        ("oid4vci_offer_ttl_seconds", 60, 59),
        ("oid4vci_offer_ttl_seconds", 30 * 86_400, 30 * 86_400 + 1),
        ("oid4vci_token_ttl_seconds", 300, 301),
        ("oid4vci_nonce_ttl_seconds", 30, 29),
        ("oid4vci_tx_code_max_attempts", 1, 0),
    ],
)
def test_wallet_delivery_settings_are_bounded(name: str, inside: int, outside: int) -> None:
    assert getattr(Settings.model_validate({"env": "development", name: inside}), name) == inside
    with pytest.raises(ValidationError, match=name):
        Settings.model_validate({"env": "development", name: outside})
