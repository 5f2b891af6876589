"""Issuer trust from registries served by a real HTTP server on 127.0.0.1: a DCC issuer-registry
JSON document (cached per its Cache-Control) and the EBSI Trusted Issuers Registry API.

The public EBSI API (https://api-pilot.ebsi.eu/trusted-issuers-registry/v5) is not reachable from
here: the local server answers ``GET /issuers/{did}`` as its documentation describes (200 with
``did`` and ``attributes``; 404 problem+json for an unknown DID).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from tests.api.test_trust import NAME_MISMATCH, NOT_TRUSTED, PROBLEM, did_key_credential
from tests.api.test_verify import errors_of, types_of, verify
from tests.conftest import _empty_tables
from tests.loopback import LoopbackServer

pytestmark = pytest.mark.anyio

UNAVAILABLE = PROBLEM + "TRUST_SOURCE_UNAVAILABLE"
DCC = "DCC Test Registry"
EBSI = "EBSI TIR (local)"


def dcc_registry(entries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A registry in the DCC format (as https://digitalcredentials.github.io/dcc-registry/)."""
    return {
        "meta": {"created": "2020-12-02T02:32:16+0000", "updated": "2026-12-01T00:00:00+0000"},
        "registry": entries,
    }


def zed(did: str) -> dict[str, dict[str, Any]]:
    return {
        did: {
            "name": "University of Zed",
            "location": "Zed City, IE",
            "url": "https://www.uni-zed.example",
        }
    }


@pytest.fixture
def site() -> Iterator[LoopbackServer]:
    with LoopbackServer(content_type="application/json") as server:
        yield server


async def _client_of(settings: Settings, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    changed = Settings.model_validate({**settings.model_dump(), **changes})
    application = create_app(changed)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    await _empty_tables(changed.database_url)


@pytest.fixture
async def trusting(settings: Settings, site: LoopbackServer) -> AsyncIterator[httpx.AsyncClient]:
    """The service consulting a DCC registry and an EBSI registry, both on loopback."""
    registries = [
        {"name": DCC, "kind": "dcc", "url": site.url("/registry.json")},
        {"name": EBSI, "kind": "ebsi", "url": site.url("/tir/v5")},
    ]
    async for http in _client_of(
        settings, allow_private_network=True, http_timeout_seconds=4.0, trust_registries=registries
    ):
        yield http


async def test_a_dcc_registry_entry_is_trusted_until_removed_and_the_cache_expires(
    app: FastAPI, trusting: httpx.AsyncClient, site: LoopbackServer
) -> None:
    did, credential = did_key_credential(app)
    cached = {"Cache-Control": "public, max-age=1"}
    site.serve_json("/registry.json", dcc_registry(zed(did)), headers=cached)
    status, reply = await verify(trusting, credential, trust="required")
    assert status == 200, reply["errors"]
    trust = reply["results"]["issuerTrust"]
    assert trust["trusted"] is True
    assert trust["legalName"] == "University of Zed"
    assert trust["sources"] == [{"name": DCC, "entry": zed(did)[did]}]
    assert reply["warnings"] == []
    # The issuer leaves the registry; within max-age the cached copy still answers.
    site.serve_json("/registry.json", dcc_registry({}), headers=cached)
    assert (await verify(trusting, credential, trust="required"))[0] == 200
    assert site.requests["/registry.json"] == 1
    time.sleep(1.2)
    status, reply = await verify(trusting, credential, trust="required")
    assert status == 422
    assert errors_of(reply) == [NOT_TRUSTED]
    assert reply["results"]["issuerTrust"]["trusted"] is False
    assert "unknown" not in reply["results"]["issuerTrust"]
    assert site.requests["/registry.json"] == 2


async def test_a_registry_without_caching_headers_is_read_every_time(
    app: FastAPI, trusting: httpx.AsyncClient, site: LoopbackServer
) -> None:
    did, credential = did_key_credential(app, issuer={"name": "Zed Institute of Forgery"})
    site.serve_json("/registry.json", dcc_registry(zed(did)))
    for _ in range(2):
        status, reply = await verify(trusting, credential)
        assert status == 200, reply["errors"]
        assert reply["results"]["issuerTrust"]["trusted"] is True
        # Registered as University of Zed, shown as another name.
        assert types_of(reply["warnings"]) == [NAME_MISMATCH]
    assert site.requests["/registry.json"] == 2


@pytest.mark.parametrize(
    ("status", "body"),
    [(503, b'{"error": "down"}'), (200, b"<html>not json</html>"), (200, b'{"issuers": {}}')],
)
async def test_an_unreachable_or_malformed_registry_is_unknown_never_trusted(
    app: FastAPI, trusting: httpx.AsyncClient, site: LoopbackServer, status: int, body: bytes
) -> None:
    did, credential = did_key_credential(app)
    site.serve("/registry.json", body, status)
    code, reply = await verify(trusting, credential)
    assert code == 200, reply["errors"]
    trust = reply["results"]["issuerTrust"]
    assert trust["trusted"] is False
    assert trust["unknown"] == [DCC]
    assert types_of(reply["warnings"]) == [NOT_TRUSTED, UNAVAILABLE]
    code, reply = await verify(trusting, credential, trust="required")
    assert code == 422 and errors_of(reply) == [NOT_TRUSTED]


async def test_an_expired_copy_is_not_used_when_the_registry_is_down(
    app: FastAPI, trusting: httpx.AsyncClient, site: LoopbackServer
) -> None:
    did, credential = did_key_credential(app)
    site.serve_json(
        "/registry.json", dcc_registry(zed(did)), headers={"Cache-Control": "max-age=1"}
    )
    assert (await verify(trusting, credential, trust="required"))[0] == 200
    site.serve("/registry.json", b"{}", 500)
    time.sleep(1.2)
    code, reply = await verify(trusting, credential, trust="required")
    assert code == 422
    assert reply["results"]["issuerTrust"]["unknown"] == [DCC]


async def test_a_registry_on_a_private_address_is_not_fetched_unless_allowed(
    app: FastAPI, settings: Settings, site: LoopbackServer
) -> None:
    did, credential = did_key_credential(app)
    site.serve_json("/registry.json", dcc_registry(zed(did)))
    registries = [{"name": DCC, "kind": "dcc", "url": site.url("/registry.json")}]
    async for guarded in _client_of(settings, trust_registries=registries):
        code, reply = await verify(guarded, credential)
    assert code == 200, reply["errors"]
    assert reply["results"]["issuerTrust"]["trusted"] is False
    assert reply["results"]["issuerTrust"]["unknown"] == [DCC]
    assert site.requests == {}


async def test_the_ebsi_registry_is_asked_for_the_did(
    app: FastAPI, trusting: httpx.AsyncClient, site: LoopbackServer
) -> None:
    did, credential = did_key_credential(app)
    site.serve_json("/registry.json", dcc_registry({}))
    attributes = [
        {
            "hash": "0x" + "ab" * 32,
            "body": "eyJhbGciOiJFUzI1NksifQ.e30.c2ln",
            "issuerType": "TI",
            "tao": "did:ebsi:zTao",
            "rootTao": "did:ebsi:zRootTao",
        }
    ]
    site.serve_json(f"/tir/v5/issuers/{did}", {"did": did, "attributes": attributes})
    code, reply = await verify(trusting, credential, trust="required")
    assert code == 200, reply["errors"]
    trust = reply["results"]["issuerTrust"]
    assert trust["sources"] == [{"name": EBSI, "entry": {"did": did, "attributes": attributes}}]
    assert site.requests[f"/tir/v5/issuers/{did}"] == 1


@pytest.mark.parametrize(
    ("status", "document", "unknown"),
    [
        # The API's answer for a DID it does not hold: 404 problem+json (no trust, no doubt).
        (404, {"title": "Not Found", "status": 404, "type": "about:blank"}, False),
        (500, {"title": "Internal Server Error", "status": 500}, True),
        (200, {"did": "did:ebsi:someone-else", "attributes": []}, True),
    ],
)
async def test_the_ebsi_registrys_other_answers_are_not_trust(
    app: FastAPI,
    trusting: httpx.AsyncClient,
    site: LoopbackServer,
    status: int,
    document: dict[str, Any],
    unknown: bool,
) -> None:
    did, credential = did_key_credential(app)
    site.serve_json("/registry.json", dcc_registry({}))
    site.serve_json(f"/tir/v5/issuers/{did}", document, status)
    code, reply = await verify(trusting, credential, trust="required")
    assert code == 422 and errors_of(reply) == [NOT_TRUSTED]
    trust = reply["results"]["issuerTrust"]
    assert trust.get("unknown") == ([EBSI] if unknown else None)


async def test_only_the_string_fields_of_an_entry_are_repeated(
    app: FastAPI, trusting: httpx.AsyncClient, site: LoopbackServer
) -> None:
    """A registry's NaN (which Python's JSON parser accepts) cannot turn the reply into a 500."""
    did, credential = did_key_credential(app)
    entry = '{"name": "University of Zed", "rank": NaN, "tags": [1]}'
    site.serve("/registry.json", ('{"registry": {"' + did + '": ' + entry + "}}").encode())
    code, reply = await verify(trusting, credential)
    assert code == 200, reply["errors"]
    [source] = reply["results"]["issuerTrust"]["sources"]
    assert source["entry"] == {"name": "University of Zed"}
