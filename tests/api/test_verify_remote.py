"""Credentials of other issuers over the network: did:web documents, Bitstring Status Lists and
(for SD-JWT VCs) Token Status List tokens served by a real HTTP server on 127.0.0.1, and the
guard that refuses private addresses."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.crypto import jws
from app.crypto.keys import KeyPair
from app.main import create_app
from app.sdjwt import core
from app.status import tokenstatus
from app.status.bitstring import Bitstring, status_entry, status_list_credential
from tests.api.test_verify import (
    INVALID_VERIFICATION_METHOD,
    ISSUER_NOT_TRUSTED,
    did_key_method,
    errors_of,
    sign,
    types_of,
    verify,
)
from tests.conftest import _empty_tables
from tests.factories import vc2_credential
from tests.loopback import LoopbackServer

pytestmark = pytest.mark.anyio

STATUS_LIST = "https://www.w3.org/ns/credentials/status-list#"
REVOKED = "urn:microcred:problem:CREDENTIAL_REVOKED"
TIMEOUT = 4.0  # loopback fetches; a loaded machine once took over 1.5 s
SLOW_SERVER = 30.0  # seconds the "too slow" server waits before it answers
SUSPENDED = "urn:microcred:problem:CREDENTIAL_SUSPENDED"


class RemoteIssuer:
    """A did:web issuer with a revocation and a suspension list, all served by ``site``."""

    def __init__(self, site: LoopbackServer, app: FastAPI) -> None:
        self.site = site
        self.app = app
        self.pair = KeyPair.generate()
        self.did = f"did:web:127.0.0.1%3A{site.port}:issuers:remote"
        self.method_id = self.did + "#key-1"
        self.did_path = "/issuers/remote/did.json"
        self.serve_did_document()

    def did_document(self, purposes: tuple[str, ...] = ("assertionMethod",)) -> dict[str, Any]:
        document: dict[str, Any] = {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": self.did,
            "verificationMethod": [
                {
                    "id": self.method_id,
                    "type": "Multikey",
                    "controller": self.did,
                    "publicKeyMultibase": self.pair.public_key_multibase,
                }
            ],
        }
        for purpose in purposes:
            document[purpose] = [self.method_id]
        return document

    def serve_did_document(self, document: dict[str, Any] | None = None) -> None:
        self.site.serve_json(self.did_path, document or self.did_document())

    def list_url(self, purpose: str = "revocation") -> str:
        return self.site.url(f"/status/{purpose}")

    def publish(
        self,
        purpose: str = "revocation",
        bits: tuple[int, ...] = (),
        *,
        valid_until: datetime | None = None,
        signer: tuple[KeyPair, str] | None = None,
        issuer: str | None = None,
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        unsigned = status_list_credential(
            self.list_url(purpose),
            issuer or self.did,
            Bitstring.with_bits(bits),
            purpose,
            valid_from=now - timedelta(hours=1),
            valid_until=valid_until or now + timedelta(hours=1),
        )
        pair, method_id = signer or (self.pair, self.method_id)
        signed = sign(self.app, unsigned, pair, method_id, created=now - timedelta(minutes=1))
        self.site.serve_json(f"/status/{purpose}", signed)
        return signed

    def credential(self, *entries: dict[str, Any]) -> dict[str, Any]:
        credential = vc2_credential(self.did)
        if entries:
            credential["credentialStatus"] = entries[0] if len(entries) == 1 else list(entries)
        return sign(self.app, credential, self.pair, self.method_id)

    def entry(self, index: int, purpose: str = "revocation") -> dict[str, Any]:
        return status_entry(self.list_url(purpose), index, purpose)


@pytest.fixture
def site() -> Iterator[LoopbackServer]:
    """Other issuers' documents, served as application/json on 127.0.0.1."""
    with LoopbackServer(content_type="application/json") as server:
        yield server


@pytest.fixture
async def loopback_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The service allowed (for this test only) to fetch from loopback over plain http.

    ``public_url`` stays https://credentials.example.edu, so 127.0.0.1 is somebody else.
    """
    allowed = Settings.model_validate(
        {
            **settings.model_dump(),
            "allow_private_network": True,
            "did_web_scheme": "http",
            "http_timeout_seconds": TIMEOUT,
        }
    )
    application = create_app(allowed)
    async with application.router.lifespan_context(application):
        yield application
    await _empty_tables(allowed.database_url)


@pytest.fixture
async def loopback_client(loopback_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=loopback_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def remote(site: LoopbackServer, loopback_app: FastAPI) -> RemoteIssuer:
    return RemoteIssuer(site, loopback_app)


async def test_a_did_web_issuer_with_a_remote_status_list_verifies(
    loopback_client: httpx.AsyncClient, remote: RemoteIssuer, site: LoopbackServer
) -> None:
    remote.publish("revocation", bits=(3,))
    credential = remote.credential(remote.entry(41))
    status, reply = await verify(loopback_client, credential)
    assert status == 200, reply["errors"]
    assert types_of(reply["warnings"]) == [ISSUER_NOT_TRUSTED]
    assert reply["results"]["proof"]["issuer"]["matches"] is True
    assert reply["results"]["proof"]["proofs"][0]["resolvedFrom"] == "did:web"
    [entry] = reply["results"]["credentialStatus"]["entries"]
    assert entry == {
        "statusPurpose": "revocation",
        "statusListIndex": "41",
        "statusListCredential": remote.list_url(),
        "source": "remote",
        "set": False,
        "verified": True,
    }
    assert site.requests == {remote.did_path: 1, "/status/revocation": 1}
    # The DID document is cached between requests; the status list is read afresh.
    assert (await verify(loopback_client, credential))[0] == 200
    assert site.requests == {remote.did_path: 1, "/status/revocation": 2}


async def test_a_remotely_revoked_or_suspended_credential_is_not_verified(
    loopback_client: httpx.AsyncClient, remote: RemoteIssuer
) -> None:
    remote.publish("revocation", bits=(41,))
    remote.publish("suspension", bits=(9,))
    credential = remote.credential(remote.entry(41), remote.entry(9, "suspension"))
    status, reply = await verify(loopback_client, credential)
    assert status == 422
    assert errors_of(reply) == [REVOKED, SUSPENDED]
    assert [e["pointer"] for e in reply["errors"]] == [
        "/verifiableCredential/credentialStatus/0",
        "/verifiableCredential/credentialStatus/1",
    ]
    result = reply["results"]["credentialStatus"]
    assert (result["revoked"], result["suspended"]) == (True, True)
    remote.publish("suspension", bits=())
    status, reply = await verify(loopback_client, credential)
    assert errors_of(reply) == [REVOKED]


async def test_a_status_list_whose_proof_fails_is_refused(
    loopback_client: httpx.AsyncClient, remote: RemoteIssuer
) -> None:
    signed = remote.publish("revocation", bits=(41,))
    # The list says "revoked"; someone clears the bit without the issuer's key.
    signed["credentialSubject"]["encodedList"] = Bitstring().encode()
    remote.site.serve_json("/status/revocation", signed)
    status, reply = await verify(loopback_client, remote.credential(remote.entry(41)))
    assert status == 422
    assert errors_of(reply) == [STATUS_LIST + "STATUS_VERIFICATION_ERROR"]
    assert "does not verify" in reply["errors"][0]["detail"]


async def test_a_status_list_of_another_issuer_is_refused(
    loopback_client: httpx.AsyncClient, remote: RemoteIssuer
) -> None:
    stranger = KeyPair.generate()
    stranger_did, stranger_method = did_key_method(stranger)
    remote.publish("revocation", signer=(stranger, stranger_method), issuer=stranger_did)
    status, reply = await verify(loopback_client, remote.credential(remote.entry(41)))
    assert status == 422
    assert errors_of(reply) == [STATUS_LIST + "STATUS_VERIFICATION_ERROR"]
    assert "not by the credential's issuer" in reply["errors"][0]["detail"]
    # Claiming to be the issuer's list but signed by another key is refused as well.
    remote.publish("revocation", signer=(stranger, stranger_method))
    status, reply = await verify(loopback_client, remote.credential(remote.entry(41)))
    assert errors_of(reply) == [STATUS_LIST + "STATUS_VERIFICATION_ERROR"]


async def test_an_expired_status_list_is_refused(
    loopback_client: httpx.AsyncClient, remote: RemoteIssuer
) -> None:
    remote.publish("revocation", valid_until=datetime.now(UTC) - timedelta(minutes=1))
    status, reply = await verify(loopback_client, remote.credential(remote.entry(41)))
    assert status == 422
    assert errors_of(reply) == [STATUS_LIST + "STATUS_VERIFICATION_ERROR"]
    assert "expired" in reply["errors"][0]["detail"]


async def test_a_missing_status_list_is_a_retrieval_error(
    loopback_client: httpx.AsyncClient, remote: RemoteIssuer
) -> None:
    status, reply = await verify(loopback_client, remote.credential(remote.entry(41)))
    assert status == 422
    assert errors_of(reply) == [STATUS_LIST + "STATUS_RETRIEVAL_ERROR"]
    assert "404" in reply["errors"][0]["detail"]
    assert reply["results"]["credentialStatus"]["entries"][0]["set"] is None


async def test_a_key_the_did_document_does_not_authorize_is_refused(
    loopback_client: httpx.AsyncClient, remote: RemoteIssuer
) -> None:
    remote.serve_did_document(remote.did_document(purposes=("authentication",)))
    status, reply = await verify(loopback_client, remote.credential())
    assert status == 422
    assert errors_of(reply) == [INVALID_VERIFICATION_METHOD]
    assert "not authorized for assertionMethod" in reply["errors"][0]["detail"]


@pytest.mark.parametrize(
    ("served", "reason"),
    [
        ("missing", "404"),
        ("other id", "not the DID document"),
        ("too large", "larger than"),
        ("too slow", "took longer than"),
    ],
)
async def test_a_did_document_that_cannot_be_used_is_refused(
    loopback_app: FastAPI,
    loopback_client: httpx.AsyncClient,
    remote: RemoteIssuer,
    served: str,
    reason: str,
) -> None:
    if served == "missing":
        del remote.site.routes[remote.did_path]
    elif served == "other id":
        remote.serve_did_document({**remote.did_document(), "id": "did:web:elsewhere.example"})
    elif served == "too large":
        padding = "x" * loopback_app.state.services.settings.http_max_bytes
        remote.serve_did_document({**remote.did_document(), "padding": padding})
    else:
        remote.site.delay(remote.did_path, SLOW_SERVER)
    started = time.monotonic()
    status, reply = await verify(loopback_client, remote.credential())
    # The fetch timeout cut the slow server off long before it would have answered.
    assert time.monotonic() - started < SLOW_SERVER / 2
    assert status == 422
    assert errors_of(reply) == [INVALID_VERIFICATION_METHOD]
    assert reason in reply["errors"][0]["detail"]


# -- the private-address guard, as configured by default ----------------------------------------


async def test_by_default_a_did_web_on_a_private_address_is_not_fetched(
    app: FastAPI, client: httpx.AsyncClient, site: LoopbackServer
) -> None:
    assert app.state.services.settings.allow_private_network is False
    remote = RemoteIssuer(site, app)
    status, reply = await verify(client, remote.credential())
    assert status == 422
    assert errors_of(reply) == [INVALID_VERIFICATION_METHOD]
    assert "non-public address" in reply["errors"][0]["detail"]
    assert sum(site.requests.values()) == 0


@pytest.mark.parametrize(
    "list_url",
    [
        "https://127.0.0.1:{port}/status/revocation",
        "https://10.1.2.3/status/1",
        "https://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:{port}/status/revocation",
    ],
)
async def test_by_default_a_status_list_on_a_private_address_is_not_fetched(
    app: FastAPI, client: httpx.AsyncClient, site: LoopbackServer, list_url: str
) -> None:
    pair = KeyPair.generate()
    did, method_id = did_key_method(pair)
    url = list_url.format(port=site.port)
    credential = vc2_credential(did, credentialStatus=status_entry(url, 5, "revocation"))
    status, reply = await verify(client, sign(app, credential, pair, method_id))
    assert status == 422
    assert errors_of(reply) == [STATUS_LIST + "STATUS_RETRIEVAL_ERROR"]
    detail = reply["errors"][0]["detail"]
    assert "non-public address" in detail or "not an https URL" in detail
    assert sum(site.requests.values()) == 0


# SD-JWT VCs of a remote issuer: its Token Status List token fetched over HTTP

LIST_PATH = "/token-lists/1"


def publish(
    remote: RemoteIssuer,
    values: dict[int, int],
    *,
    signer: KeyPair | None = None,
    sub: str | None = None,
    expires_in: timedelta = timedelta(hours=1),
) -> None:
    now = datetime.now(UTC)
    encoded = tokenstatus.TokenStatusList.with_values(values, size=1024, bits=2)
    claims = tokenstatus.status_list_token_claims(
        sub or remote.site.url(LIST_PATH),
        encoded,
        issuer=remote.did,
        issued_at=now - timedelta(minutes=5),
        expires_at=now + expires_in,
        ttl=timedelta(minutes=5),
    )
    header = {"typ": tokenstatus.TOKEN_TYPE, "kid": remote.method_id}
    token = jws.sign(header, claims, signer or remote.pair)
    remote.site.serve(LIST_PATH, token.encode(), content_type=tokenstatus.MEDIA_TYPE)


def sd_jwt_of(remote: RemoteIssuer, index: int) -> str:
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "iss": remote.did,
        "vct": "https://issuer.example/vct/microcredential",
        "iat": now - 60,
        "title": "Data Stewardship",
        "status": tokenstatus.reference(remote.site.url(LIST_PATH), index),
    }
    header = {"typ": "dc+sd-jwt", "kid": remote.method_id}
    return core.issue(header, claims, ["title"], remote.pair)


async def verify_sd_jwt(client: httpx.AsyncClient, sd_jwt: str) -> tuple[int, dict[str, Any]]:
    response = await client.post("/credentials/verify", json={"verifiableCredential": sd_jwt})
    assert response.status_code in (200, 422), response.text
    body: dict[str, Any] = response.json()
    return response.status_code, body


def error_types(body: dict[str, Any]) -> list[str]:
    return [p["type"].removeprefix("urn:microcred:problem:") for p in body["errors"]]


async def test_a_remote_token_status_list_is_read_over_http(
    loopback_client: httpx.AsyncClient, remote: RemoteIssuer, site: LoopbackServer
) -> None:
    publish(remote, {7: tokenstatus.INVALID, 8: tokenstatus.SUSPENDED})
    status, body = await verify_sd_jwt(loopback_client, sd_jwt_of(remote, 6))
    assert status == 200, body["errors"]
    [entry] = body["results"]["credentialStatus"]["entries"]
    assert entry["source"] == "remote" and entry["statusListCredential"] == site.url(LIST_PATH)
    assert site.requests[LIST_PATH] == 1 and site.requests[remote.did_path] == 1
    assert body["credential"]["title"] == "Data Stewardship"

    status, body = await verify_sd_jwt(loopback_client, sd_jwt_of(remote, 7))
    assert status == 422 and error_types(body) == ["CREDENTIAL_REVOKED"]
    assert body["results"]["credentialStatus"]["revoked"] is True
    status, body = await verify_sd_jwt(loopback_client, sd_jwt_of(remote, 8))
    assert status == 422 and error_types(body) == ["CREDENTIAL_SUSPENDED"]


@pytest.mark.parametrize(
    "forgery",
    [
        {"signer": KeyPair(bytes(range(32)))},
        {"sub": "http://127.0.0.1:1/another-list"},
        {"expires_in": timedelta(hours=-1)},
    ],
    ids=["another-key", "another-sub", "expired"],
)
async def test_a_remote_token_list_that_cannot_be_trusted_is_refused(
    loopback_client: httpx.AsyncClient, remote: RemoteIssuer, forgery: dict[str, Any]
) -> None:
    publish(remote, {}, **forgery)
    status, body = await verify_sd_jwt(loopback_client, sd_jwt_of(remote, 6))
    assert status == 422
    assert body["results"]["credentialStatus"]["verified"] is False
    assert any("status" in t.lower() for t in error_types(body)), body["errors"]
