"""OpenID4VP 1.0 verifier: presentation requests, the signed request object, the direct_post
response endpoint, and each refusal with its OpenID4VP error code (in process; the third-party
wallet library answers over real HTTP in test_oid4vp_interop.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from joserfc import jwe
from joserfc.jwk import ECKey
from sqlalchemy import update

from app.crypto import jws
from app.db.models import PresentationRequest
from app.sdjwt import core
from app.services import oid4vp_encryption as encrypting
from tests.api.test_presentations import Holder
from tests.api.test_sdjwt_issuing import BASE, HOLDER, issue_sd_jwt, issuer_key
from tests.api.test_verify_issued import change_status
from tests.factories import issuer_with_key, microcredential_body

pytestmark = pytest.mark.anyio

COURSE = "Digital micro-credential creation"


async def issue_to(
    client: httpx.AsyncClient, auth: dict[str, str], holder_did: str, **overrides: Any
) -> dict[str, Any]:
    body = microcredential_body("edc", **overrides)
    body["learner"]["id"] = holder_did
    response = await client.post("/microcredentials", json=body, headers=auth)
    assert response.status_code == 201, response.text
    vc: dict[str, Any] = response.json()["verifiableCredential"]
    return vc


async def ask(client: httpx.AsyncClient, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await client.post(
        "/presentation-requests",
        json={"purpose": "Hiring: proof of the course", **body},
        headers=auth,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def request_object(client: httpx.AsyncClient, created: dict[str, Any]) -> dict[str, Any]:
    """Fetch the request object as a wallet would and check its signature with the DID key."""
    link = urlsplit(created["deep_link"])
    assert link.scheme == "openid4vp"
    params = {k: v[0] for k, v in parse_qs(link.query).items()}
    assert params["request_uri"] == created["request_uri"]
    response = await client.get(created["request_uri"].removeprefix(BASE))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/oauth-authz-req+jwt")
    header, _ = jws.unverified(response.text)
    assert header["typ"] == "oauth-authz-req+jwt" and header["alg"] == "EdDSA"
    did = params["client_id"].removeprefix("decentralized_identifier:")
    assert header["kid"].split("#")[0] == did
    key = await issuer_key(client, did, header["kid"])
    _, payload = jws.verify(response.text, key)
    claims: dict[str, Any] = json.loads(payload)
    assert claims["client_id"] == params["client_id"]
    return claims


async def post_response(
    client: httpx.AsyncClient, claims: dict[str, Any], vp_token: Any, state: str | None = None
) -> httpx.Response:
    form = {"vp_token": json.dumps(vp_token), "state": state or claims["state"]}
    return await client.post(claims["response_uri"].removeprefix(BASE), data=form)


async def test_an_ldp_vc_presentation_answers_the_request_and_the_verifier_reads_verified(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    holder = Holder(app)
    vc = await issue_to(client, auth, holder.did)
    created = await ask(client, auth, course=COURSE, issuer=issuer["did"], eqfLevel=6)
    assert created["client_id"] == "decentralized_identifier:" + issuer["did"]
    claims = await request_object(client, created)
    assert claims["response_type"] == "vp_token" and claims["response_mode"] == "direct_post"
    assert claims["dcql_query"]["credentials"][0]["format"] == "ldp_vc"
    assert "ldp_vc" in claims["client_metadata"]["vp_formats_supported"]
    query_id = claims["dcql_query"]["credentials"][0]["id"]
    pending = await client.get(f"/presentation-requests/{created['id']}", headers=auth)
    assert pending.json()["state"] == "pending" and pending.json()["result"] is None

    vp = holder.present([vc], challenge=claims["nonce"], domain=claims["client_id"])
    answered = await post_response(client, claims, {query_id: [vp]})
    assert answered.status_code == 200, answered.text
    state = (await client.get(f"/presentation-requests/{created['id']}", headers=auth)).json()
    assert state["state"] == "answered"
    assert state["result"]["verified"] is True, state["result"]["errors"]
    assert state["result"]["results"]["dcql"]["verified"] is True
    assert state["result"]["credential"]["id"] == vc["id"]

    # replayed: the same response again is refused; the recorded answer stands
    replayed = await post_response(client, claims, {query_id: [vp]})
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_request"
    # the same presentation for another request: the nonce does not match
    other = await request_object(client, await ask(client, auth))
    wrong_nonce = await post_response(client, other, {query_id: [vp]})
    assert wrong_nonce.status_code == 400 and wrong_nonce.json()["error"] == "invalid_request"
    assert "challenge" in wrong_nonce.json()["error_description"].lower()
    # the right nonce, but for another verifier (domain)
    elsewhere = holder.present([vc], challenge=other["nonce"], domain="decentralized_identifier:x")
    wrong_domain = await post_response(client, other, {query_id: [elsewhere]})
    assert wrong_domain.status_code == 400 and wrong_domain.json()["error"] == "invalid_request"
    # ... and the genuine answer is still accepted after those attempts
    right = holder.present([vc], challenge=other["nonce"], domain=other["client_id"])
    assert (await post_response(client, other, {query_id: [right]})).status_code == 200

    # another organisation cannot read the request
    _, stranger = await issuer_with_key(client, admin_headers, random_slug + "-x")
    unseen = await client.get(f"/presentation-requests/{created['id']}", headers=stranger)
    assert unseen.status_code == 404


async def test_refusals_not_as_requested_revoked_expired_and_wrong_format(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    holder = Holder(app)
    vc = await issue_to(client, auth, holder.did)

    # not the course asked for: bound, so recorded as not verified, and access_denied
    created = await ask(client, auth, course="Advanced basket weaving", eqfLevel=7)
    claims = await request_object(client, created)
    vp = holder.present([vc], challenge=claims["nonce"], domain=claims["client_id"])
    refused = await post_response(client, claims, {"microcredential": [vp]})
    assert refused.status_code == 400 and refused.json()["error"] == "access_denied"
    state = (await client.get(f"/presentation-requests/{created['id']}", headers=auth)).json()
    assert state["state"] == "answered" and state["result"]["verified"] is False
    reasons = state["result"]["results"]["dcql"]["mismatches"]
    assert any("course" in r for r in reasons) and any("EQF level 7" in r for r in reasons)

    # revoked
    await change_status(client, auth, vc, "revocation", True)
    created = await ask(client, auth)
    claims = await request_object(client, created)
    vp = holder.present([vc], challenge=claims["nonce"], domain=claims["client_id"])
    refused = await post_response(client, claims, {"microcredential": [vp]})
    assert refused.status_code == 400 and refused.json()["error"] == "access_denied"
    assert "revoked" in refused.json()["error_description"].lower()
    state = (await client.get(f"/presentation-requests/{created['id']}", headers=auth)).json()
    assert state["result"]["results"]["credentialStatus"]["verified"] is False

    # expired
    created = await ask(client, auth)
    claims = await request_object(client, created)
    await expire(app, created["id"])
    vp = holder.present([vc], challenge=claims["nonce"], domain=claims["client_id"])
    late = await post_response(client, claims, {"microcredential": [vp]})
    assert late.status_code == 400 and late.json()["error"] == "invalid_request"
    assert "expired" in late.json()["error_description"]
    state = (await client.get(f"/presentation-requests/{created['id']}", headers=auth)).json()
    assert state["state"] == "expired"

    # an SD-JWT string where a Data Integrity presentation was asked for
    created = await ask(client, auth)
    claims = await request_object(client, created)
    wrong = await post_response(client, claims, {"microcredential": ["eyJ.a.b~"]})
    assert wrong.status_code == 400 and wrong.json()["error"] == "vp_formats_not_supported"
    # no vp_token for the query, an unknown state
    empty = await post_response(client, claims, {})
    assert empty.status_code == 400 and empty.json()["error"] == "invalid_request"
    stranger = await post_response(client, claims, {"microcredential": [vp]}, state="nope")
    assert stranger.status_code == 400 and stranger.json()["error"] == "invalid_request"


async def expire(app: FastAPI, request_id: str) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with app.state.services.sessionmaker() as session:
        await session.exec(
            update(PresentationRequest)
            .where(PresentationRequest.id == request_id)  # type: ignore[arg-type]
            .values(expires_at=past)
        )
        await session.commit()


async def test_an_sd_jwt_vc_with_key_binding_answers_and_a_wrong_audience_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    _, sd_jwt = await issue_sd_jwt(client, auth)
    created = await ask(client, auth, format="dc+sd-jwt", eqfLevel=6, claims=[["title"]])
    claims = await request_object(client, created)
    query = claims["dcql_query"]["credentials"][0]
    assert query["format"] == "dc+sd-jwt" and query["meta"]["vct_values"]

    def present(audience: str, nonce: str) -> str:
        return core.present(
            sd_jwt,
            {"title", "grade"},
            holder_key=HOLDER,
            audience=audience,
            nonce=nonce,
            issued_at=datetime.now(UTC),
        )

    wrong = await post_response(
        client, claims, {query["id"]: [present("https://else", claims["nonce"])]}
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_request"
    right = await post_response(
        client, claims, {query["id"]: [present(claims["client_id"], claims["nonce"])]}
    )
    assert right.status_code == 200, right.text
    state = (await client.get(f"/presentation-requests/{created['id']}", headers=auth)).json()
    assert state["result"]["verified"] is True, state["result"]["errors"]
    assert state["result"]["results"]["sdJwt"]["keyBinding"]["verified"] is True
    assert state["result"]["credential"]["iss"] == issuer["did"]


async def test_direct_post_jwt_takes_only_a_response_encrypted_to_the_requests_key(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    holder = Holder(app)
    vc = await issue_to(client, auth, holder.did)
    created = await ask(client, auth, response_mode="direct_post.jwt")
    claims = await request_object(client, created)
    assert claims["response_mode"] == "direct_post.jwt"
    [key] = claims["client_metadata"]["jwks"]["keys"]
    vp = holder.present([vc], challenge=claims["nonce"], domain=claims["client_id"])
    path = claims["response_uri"].removeprefix(BASE)

    # in the clear: refused
    plain = await post_response(client, claims, {"microcredential": [vp]})
    assert plain.status_code == 400 and plain.json()["error"] == "invalid_request"
    # encrypted to another request's key: refused
    other = await request_object(client, await ask(client, auth, response_mode="direct_post.jwt"))
    inner = json.dumps({"vp_token": {"microcredential": [vp]}, "state": claims["state"]})

    def sealed(to: dict[str, Any]) -> str:
        header = {"alg": "ECDH-ES", "enc": "A256GCM", "kid": to["kid"]}
        return jwe.encrypt_compact(
            header, inner.encode(), ECKey.import_key(to), registry=encrypting.REGISTRY
        )

    wrong_key = other["client_metadata"]["jwks"]["keys"][0]
    refused = await client.post(path, data={"response": sealed(wrong_key)})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
    accepted = await client.post(path, data={"response": sealed(key)})
    assert accepted.status_code == 200, accepted.text
    state = (await client.get(f"/presentation-requests/{created['id']}", headers=auth)).json()
    assert state["result"]["verified"] is True, state["result"]["errors"]


async def test_a_wallet_error_and_a_presentation_of_two_credentials_are_recorded_as_refusals(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    created = await ask(client, auth)
    claims = await request_object(client, created)
    path = claims["response_uri"].removeprefix(BASE)
    declined = {"error": "access_denied", "error_description": "the learner said no"}
    answered = await client.post(path, data={**declined, "state": claims["state"]})
    assert answered.status_code == 200 and answered.json() == {}
    result = (await client.get(f"/presentation-requests/{created['id']}", headers=auth)).json()
    assert result["state"] == "answered" and result["result"]["verified"] is False
    assert result["result"]["results"]["wallet"]["error"] == "access_denied"

    holder = Holder(app)
    vcs = [await issue_to(client, auth, holder.did) for _ in range(2)]
    created = await ask(client, auth)
    claims = await request_object(client, created)
    vp = holder.present(vcs, challenge=claims["nonce"], domain=claims["client_id"])
    refused = await post_response(client, claims, {"microcredential": [vp]})
    assert refused.status_code == 400 and refused.json()["error"] == "access_denied"
    result = (await client.get(f"/presentation-requests/{created['id']}", headers=auth)).json()
    assert result["state"] == "answered" and result["result"]["verified"] is False
    assert "exactly one credential" in result["result"]["results"]["dcql"]["mismatches"][0]
