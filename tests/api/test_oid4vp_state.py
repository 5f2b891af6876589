"""OpenID4VP presentation requests: the callback (through the network guard), one answer of two
concurrent ones, the public page and its state endpoint, the organisation's DCQL query, and the
API key scope."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from tests.api.test_oid4vp import COURSE, ask, issue_to, post_response, request_object
from tests.api.test_presentations import Holder
from tests.api.test_sdjwt_issuing import BASE
from tests.conftest import _empty_tables
from tests.factories import issuer_with_key
from tests.loopback import LoopbackServer
from tests.unit.test_certificate import zbar

pytestmark = pytest.mark.anyio


@pytest.fixture
def site() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


@pytest.fixture
async def loopback_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The service allowed, for this test only, to reach loopback (the callback's receiver)."""
    allowed = Settings.model_validate({**settings.model_dump(), "allow_private_network": True})
    application = create_app(allowed)
    async with application.router.lifespan_context(application):
        yield application
    await _empty_tables(allowed.database_url)


async def answered_request(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], slug: str, **body: Any
) -> tuple[dict[str, Any], dict[str, str], httpx.Response]:
    _, auth = await issuer_with_key(client, admin, slug)
    holder = Holder(app)
    vc = await issue_to(client, auth, holder.did)
    created = await ask(client, auth, **body)
    claims = await request_object(client, created)
    vp = holder.present([vc], challenge=claims["nonce"], domain=claims["client_id"])
    response = await post_response(client, claims, {"microcredential": [vp]})
    return created, auth, response


async def test_the_callback_is_posted_the_result_once_answered(
    loopback_app: FastAPI, site: LoopbackServer, admin_headers: dict[str, str], random_slug: str
) -> None:
    transport = httpx.ASGITransport(app=loopback_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        callback = site.url("/hooks/presentations")
        created, auth, response = await answered_request(
            loopback_app, client, admin_headers, random_slug, callback=callback
        )
        assert response.status_code == 200, response.text
        for _ in range(100):
            if site.posted:
                break
            await asyncio.sleep(0.05)
        [(path, body)] = site.posted
        assert path == "/hooks/presentations"
        delivered = json.loads(body)
        polled = await client.get(f"/presentation-requests/{created['id']}", headers=auth)
        assert delivered == polled.json()["result"] and delivered["verified"] is True


async def test_a_callback_to_a_private_address_is_not_called(
    app: FastAPI,
    client: httpx.AsyncClient,
    site: LoopbackServer,
    admin_headers: dict[str, str],
    random_slug: str,
) -> None:
    created, auth, response = await answered_request(
        app, client, admin_headers, random_slug, callback=site.url("/internal")
    )
    assert response.status_code == 200, response.text
    await asyncio.sleep(0.3)
    assert site.posted == []  # the network guard refused 127.0.0.1
    polled = await client.get(f"/presentation-requests/{created['id']}", headers=auth)
    assert polled.json()["state"] == "answered"


async def test_of_two_concurrent_answers_exactly_one_is_taken(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    holder = Holder(app)
    vc = await issue_to(client, auth, holder.did)
    created = await ask(client, auth)
    claims = await request_object(client, created)
    vp = holder.present([vc], challenge=claims["nonce"], domain=claims["client_id"])
    replies = await asyncio.gather(
        *(post_response(client, claims, {"microcredential": [vp]}) for _ in range(4))
    )
    statuses = sorted(r.status_code for r in replies)
    assert statuses == [200, 400, 400, 400], [r.text for r in replies]
    assert {r.json()["error"] for r in replies if r.status_code == 400} == {"invalid_request"}
    polled = await client.get(f"/presentation-requests/{created['id']}", headers=auth)
    assert polled.json()["state"] == "answered" and polled.json()["result"]["verified"] is True


async def test_the_public_page_and_its_state(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    tmp_path: Path,
) -> None:
    created, auth, response = await answered_request(
        app, client, admin_headers, random_slug, course="Not this course"
    )
    assert response.status_code == 400 and response.json()["error"] == "access_denied"
    page = await client.get(f"/ask/{created['id']}")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert 'data-state="answered"' in page.text and 'data-verified="false"' in page.text
    assert 'data-check="asked" data-state="failed"' in page.text
    state = (await client.get(f"/ask/{created['id']}/state")).json()
    assert state["state"] == "answered" and state["verified"] is False
    assert state["verdictText"].startswith("Not verified")
    french = await client.get(f"/ask/{created['id']}/state", headers={"Accept-Language": "fr"})
    asked = {c["key"]: c for c in french.json()["checks"]}["asked"]
    assert asked["text"] == "C'est l'attestation qui a été demandée"
    assert asked["stateText"] == "échoué"
    assert {c["key"]: c["state"] for c in state["checks"]}["asked"] == "failed"
    qr = await client.get(f"/ask/{created['id']}/qr.png")
    assert qr.status_code == 200 and qr.content.startswith(b"\x89PNG")
    assert zbar(qr.content, tmp_path) == [created["deep_link"]]  # what a wallet's camera reads
    assert zbar(base64.b64decode(created["qr_png_base64"]), tmp_path) == [created["deep_link"]]
    script = await client.get("/static/ask.js")
    assert script.status_code == 200 and "fetch(" in script.text
    assert (await client.get("/ask/nope")).status_code == 404
    assert (await client.get("/ask/nope/state")).status_code == 404
    # the request object of an answered request is no longer served
    gone = await client.get(created["request_uri"].removeprefix("https://credentials.example.edu"))
    assert gone.status_code == 400 and gone.json()["error"] == "invalid_request"


async def test_an_organisations_dcql_query_and_the_scope(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    query = {
        "credentials": [
            {
                "id": "diploma",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": ["https://credentials.example.edu/vct/x/microcredential"]},
                "claims": [{"id": "t", "path": ["title"]}],
            }
        ]
    }
    created = await ask(client, auth, dcql_query=query)
    assert created["dcql_query"] == query
    claims = await request_object(client, created)
    assert claims["dcql_query"] == query
    two = {"credentials": [query["credentials"][0], {**query["credentials"][0], "id": "b"}]}
    for bad in (two, {"credentials": [{**query["credentials"][0], "format": "mso_mdoc"}]}):
        refused = await client.post(
            "/presentation-requests", json={"purpose": "x", "dcql_query": bad}, headers=auth
        )
        assert refused.status_code == 422, refused.text
    _, narrow = await issuer_with_key(
        client, admin_headers, random_slug + "-n", scopes=("credentials:issue",)
    )
    forbidden = await client.post("/presentation-requests", json={"purpose": "x"}, headers=narrow)
    assert forbidden.status_code == 403


async def test_an_alliance_of_issuers_any_of_which_may_have_issued_the_credential(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    partner, _ = await issuer_with_key(client, admin_headers, random_slug + "-p")
    outsider, _ = await issuer_with_key(client, admin_headers, random_slug + "-o")
    holder = Holder(app)
    vc = await issue_to(client, auth, holder.did)
    for alliance, verified in (
        ([partner["did"], issuer["did"]], True),
        ([partner["did"], outsider["did"]], False),
    ):
        created = await ask(client, auth, issuer=alliance, format="ldp_vc")
        claims = await request_object(client, created)
        vp = holder.present([vc], challenge=claims["nonce"], domain=claims["client_id"])
        reply = await post_response(client, claims, {"microcredential": [vp]})
        assert (reply.status_code == 200) is verified, reply.text
        polled = await client.get(f"/presentation-requests/{created['id']}", headers=auth)
        assert polled.json()["result"]["verified"] is verified
    sd = await ask(client, auth, issuer=[partner["did"], issuer["did"]], format="dc+sd-jwt")
    vcts = sd["dcql_query"]["credentials"][0]["meta"]["vct_values"]
    assert sorted(vcts) == sorted(
        f"https://credentials.example.edu/vct/{slug}/microcredential"
        for slug in (random_slug, random_slug + "-p")
    )


async def test_the_verify_page_asks_a_wallet_by_value_under_redirect_uri(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    tmp_path: Path,
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    holder = Holder(app)
    vc = await issue_to(client, auth, holder.did)
    form = await client.get("/verify")
    assert 'action="/verify/ask"' in form.text
    asked = await client.post("/verify/ask", data={"course": COURSE, "format": "ldp_vc"})
    assert asked.status_code == 303
    page = await client.get(asked.headers["location"])
    assert page.status_code == 200 and 'data-state="pending"' in page.text
    request_id = asked.headers["location"].removeprefix("/ask/")
    [link] = zbar((await client.get(f"/ask/{request_id}/qr.png")).content, tmp_path)
    params = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
    assert "request_uri" not in params  # by value: nothing signed, nothing fetched
    assert params["client_id"] == "redirect_uri:" + params["response_uri"]
    assert json.loads(params["dcql_query"])["credentials"][0]["format"] == "ldp_vc"
    fetched = await client.get(f"/oid4vp/requests/{request_id}")
    assert fetched.status_code == 404
    vp = holder.present([vc], challenge=params["nonce"], domain=params["client_id"])
    answer = {"vp_token": json.dumps({"microcredential": [vp]}), "state": params["state"]}
    reply = await client.post(params["response_uri"].removeprefix(BASE), data=answer)
    assert reply.status_code == 200, reply.text
    state = (await client.get(f"/ask/{request_id}/state")).json()
    assert state["state"] == "answered" and state["verified"] is True
    assert {c["key"]: c["state"] for c in state["checks"]}["asked"] == "ok"
