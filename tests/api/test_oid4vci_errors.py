"""OpenID4VCI refusals: each with the specification's error code and status, none a 500."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import col, select

from app.crypto.keys import KeyPair
from app.db.models import Credential, CredentialOffer, Nonce, utcnow
from app.jose import b64url_encode, jwk_from_public_key, sign_compact
from tests.api.test_oid4vci import (
    CONFIGURATION,
    PRE_AUTHORIZED,
    PUBLIC_URL,
    Session,
    Wallet,
    make_offer,
    offered,
    set_offer,
    start,
    stored_offer,
)
from tests.conftest import problem_of
from tests.factories import issuer_with_key

pytestmark = pytest.mark.anyio


def oauth_error(response: httpx.Response, status: int, error: str) -> str:
    """Assert an OAuth JSON error ``{error, error_description}``; the description."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert "no-store" in response.headers["cache-control"]
    body = response.json()
    assert body["error"] == error, body
    description: str = body.get("error_description", "")
    assert all(0x20 <= ord(c) <= 0x7E and c not in '"\\' for c in description)
    return description


def token_endpoint(slug: str) -> str:
    return f"{PUBLIC_URL}/issuers/{slug}/oid4vci/token"


def code_of(reply: dict[str, Any]) -> str:
    code: str = reply["credential_offer"]["grants"][PRE_AUTHORIZED]["pre-authorized_code"]
    return code


async def credential_request(
    wallet: Wallet, session: Session, proof: str | None = None, **body: Any
) -> httpx.Response:
    """A credential request with a fresh nonce and a good proof unless told otherwise."""
    if proof is None:
        nonce = await wallet.nonce(session.issuer_metadata["nonce_endpoint"])
        proof = wallet.proof(session.identifier, nonce)
    request: dict[str, Any] = {
        "credential_configuration_id": session.configuration_id,
        "proofs": {"jwt": [proof]},
    }
    request.update(body)
    return await wallet.request_credential(
        session.issuer_metadata["credential_endpoint"],
        session.access_token,
        {k: v for k, v in request.items() if v is not None},
    )


async def credentials_issued(app: FastAPI) -> int:
    async with app.state.services.sessionmaker() as db:
        return len((await db.exec(select(Credential))).all())


# --- token endpoint --------------------------------------------------------------------------


async def test_a_wrong_pin_is_invalid_grant_and_the_right_one_still_works(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, _, reply = await offered(client, admin_headers, random_slug, tx_code=True)
    wallet = Wallet(client)
    wrong = f"{(int(reply['tx_code']) + 1) % 1_000_000:06d}"
    refused = await wallet.token(token_endpoint(random_slug), code_of(reply), wrong)
    assert "tx_code" in oauth_error(refused, 400, "invalid_grant")
    accepted = await wallet.token(token_endpoint(random_slug), code_of(reply), reply["tx_code"])
    assert accepted.status_code == 200, accepted.text


async def test_wrong_pins_are_limited_then_even_the_right_one_is_refused(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, _, reply = await offered(client, admin_headers, random_slug, tx_code=True)
    wallet = Wallet(client)
    wrong = f"{(int(reply['tx_code']) + 1) % 1_000_000:06d}"
    guesses = await asyncio.gather(
        *(wallet.token(token_endpoint(random_slug), code_of(reply), wrong) for _ in range(8))
    )
    for guess in guesses:
        oauth_error(guess, 400, "invalid_grant")
    assert (await stored_offer(app, reply["id"])).tx_code_attempts == 5
    late = await wallet.token(token_endpoint(random_slug), code_of(reply), reply["tx_code"])
    assert "too many" in oauth_error(late, 400, "invalid_grant")


async def test_pin_missing_or_unexpected_is_invalid_request(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth, with_pin = await offered(client, admin_headers, random_slug, tx_code=True)
    without_pin = await make_offer(client, auth)
    wallet = Wallet(client)
    missing = await wallet.token(token_endpoint(random_slug), code_of(with_pin), None)
    oauth_error(missing, 400, "invalid_request")
    unexpected = await wallet.token(token_endpoint(random_slug), code_of(without_pin), "123456")
    oauth_error(unexpected, 400, "invalid_request")


async def test_a_code_works_once(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, _, reply = await offered(client, admin_headers, random_slug)
    wallet = Wallet(client)
    first = await wallet.token(token_endpoint(random_slug), code_of(reply), None)
    assert first.status_code == 200, first.text
    again = await wallet.token(token_endpoint(random_slug), code_of(reply), None)
    oauth_error(again, 400, "invalid_grant")
    # And the offer is no longer served by reference.
    reference = await client.get(f"/issuers/{random_slug}/oid4vci/offers/{reply['id']}")
    assert reference.status_code == 404
    problem_of(reference)


async def test_concurrent_token_requests_with_one_code_get_one_token(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, _, reply = await offered(client, admin_headers, random_slug)
    wallet = Wallet(client)
    answers = await asyncio.gather(
        *(wallet.token(token_endpoint(random_slug), code_of(reply), None) for _ in range(6))
    )
    assert sorted(a.status_code for a in answers) == [200, 400, 400, 400, 400, 400]
    for answer in answers:
        if answer.status_code == 400:
            oauth_error(answer, 400, "invalid_grant")


async def test_an_expired_offer_is_refused(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, _, reply = await offered(client, admin_headers, random_slug)
    await set_offer(app, reply["id"], expires_at=utcnow() - timedelta(seconds=1))
    reference = await client.get(f"/issuers/{random_slug}/oid4vci/offers/{reply['id']}")
    assert reference.status_code == 404
    token = await Wallet(client).token(token_endpoint(random_slug), code_of(reply), None)
    oauth_error(token, 400, "invalid_grant")


async def test_a_code_works_only_at_its_own_issuer(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, _, reply = await offered(client, admin_headers, random_slug)
    await issuer_with_key(client, admin_headers, random_slug + "-b")
    wallet = Wallet(client)
    elsewhere = await wallet.token(token_endpoint(random_slug + "-b"), code_of(reply), None)
    oauth_error(elsewhere, 400, "invalid_grant")
    reference = await client.get(f"/issuers/{random_slug}-b/oid4vci/offers/{reply['id']}")
    assert reference.status_code == 404


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"pre-authorized_code": "x"}, "invalid_request"),
        ({"grant_type": "authorization_code", "code": "x"}, "unsupported_grant_type"),
        ({"grant_type": PRE_AUTHORIZED}, "invalid_request"),
        ({"grant_type": PRE_AUTHORIZED, "pre-authorized_code": "guessed"}, "invalid_grant"),
        (
            {
                "grant_type": PRE_AUTHORIZED,
                "pre-authorized_code": "{code}",
                "authorization_details": "[{}]",
            },
            "invalid_authorization_details",
        ),
        (
            {
                "grant_type": PRE_AUTHORIZED,
                "pre-authorized_code": "{code}",
                "authorization_details": "not json",
            },
            "invalid_request",
        ),
    ],
)
async def test_malformed_token_requests(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    form: dict[str, str],
    error: str,
) -> None:
    _, _, reply = await offered(client, admin_headers, random_slug)
    form = {k: v.replace("{code}", code_of(reply)) for k, v in form.items()}
    response = await client.post(token_endpoint(random_slug), data=form)
    oauth_error(response, 400, error)


async def test_token_requests_that_are_not_one_form_are_invalid_request(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, _, reply = await offered(client, admin_headers, random_slug)
    endpoint = token_endpoint(random_slug)
    as_json = await client.post(
        endpoint, json={"grant_type": PRE_AUTHORIZED, "pre-authorized_code": code_of(reply)}
    )
    oauth_error(as_json, 400, "invalid_request")
    repeated = await client.post(
        endpoint,
        content=f"grant_type={PRE_AUTHORIZED}&grant_type={PRE_AUTHORIZED}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    oauth_error(repeated, 400, "invalid_request")
    not_utf8 = await client.post(
        endpoint,
        content=b"grant_type=%FF%FE",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    oauth_error(not_utf8, 400, "invalid_request")
    # None of that used the code up.
    good = await Wallet(client).token(endpoint, code_of(reply), None)
    assert good.status_code == 200, good.text


# --- credential endpoint: key proofs -----------------------------------------------------------


def unsigned_proof(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """An ``alg: none`` token: header and claims, no signature."""
    encoded = (b64url_encode(json.dumps(part).encode()) for part in (header, claims))
    return ".".join(encoded) + "."


@pytest.mark.parametrize(
    "case",
    [
        "signed by another key",
        "another audience",
        "typ JWT",
        "alg none",
        "no nonce",
        "iat an hour ago",
        "iat in an hour",
        "iat a string",
        "kid and jwk",
        "kid without fragment",
        "kid of another method",
        "kid not did:key",
        "jwk with private key",
        "jwk on another curve",
        "x5c",
        "crit",
        "not a JWS",
        "claims not JSON",
    ],
)
async def test_bad_key_proofs_are_invalid_proof_and_spend_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    case: str,
) -> None:
    _, _, reply = await offered(client, admin_headers, random_slug)
    wallet = Wallet(client)
    session = await start(wallet, reply)
    nonce = await wallet.nonce(session.issuer_metadata["nonce_endpoint"])
    audience, now = session.identifier, int(time.time())
    kid = f"{wallet.did}#{wallet.did.removeprefix('did:key:')}"
    private_jwk = {
        **jwk_from_public_key(wallet.key.public_key),
        "d": b64url_encode(wallet.key.seed),
    }
    other = KeyPair.generate()
    proofs: dict[str, Callable[[], str]] = {
        "signed by another key": lambda: wallet.proof(audience, nonce, signer=other),
        "another audience": lambda: wallet.proof(PUBLIC_URL + "/issuers/other", nonce),
        "typ JWT": lambda: wallet.proof(audience, nonce, header={"typ": "JWT"}),
        "alg none": lambda: unsigned_proof(
            {"alg": "none", "typ": "openid4vci-proof+jwt", "kid": kid},
            {"aud": audience, "iat": now, "nonce": nonce},
        ),
        "no nonce": lambda: wallet.proof(audience, None),
        "iat an hour ago": lambda: wallet.proof(audience, nonce, claims={"iat": now - 3600}),
        "iat in an hour": lambda: wallet.proof(audience, nonce, claims={"iat": now + 3600}),
        "iat a string": lambda: wallet.proof(audience, nonce, claims={"iat": str(now)}),
        "kid and jwk": lambda: wallet.proof(
            audience, nonce, header={"jwk": jwk_from_public_key(wallet.key.public_key)}
        ),
        "kid without fragment": lambda: wallet.proof(audience, nonce, header={"kid": wallet.did}),
        "kid of another method": lambda: wallet.proof(
            audience, nonce, header={"kid": wallet.did + "#key-2"}
        ),
        "kid not did:key": lambda: wallet.proof(
            audience, nonce, header={"kid": "did:web:wallet.example#key-1"}
        ),
        "jwk with private key": lambda: Wallet(client, "jwk", wallet.key).proof(
            audience, nonce, header={"jwk": private_jwk}
        ),
        "jwk on another curve": lambda: Wallet(client, "jwk", wallet.key).proof(
            audience, nonce, header={"jwk": {**private_jwk, "crv": "X25519"}}
        ),
        "x5c": lambda: _x5c_proof(wallet, audience, nonce),
        "crit": lambda: wallet.proof(audience, nonce, header={"crit": ["exp"], "exp": now}),
        "not a JWS": lambda: "eyJhbGciOiJFZERTQSJ9.e30",
        "claims not JSON": lambda: _sentence_proof(wallet, kid),
    }
    proof = proofs[case]()
    response = await credential_request(wallet, session, proof)
    oauth_error(response, 400, "invalid_proof")
    # The nonce and the token are still good: a correct proof with them gets the credential.
    retry = await credential_request(wallet, session, wallet.proof(audience, nonce))
    assert retry.status_code == 200, retry.text
    assert await credentials_issued(app) == 1


def _sentence_proof(wallet: Wallet, kid: str) -> str:
    return sign_compact(
        {"alg": "EdDSA", "typ": "openid4vci-proof+jwt", "kid": kid}, b"not claims", wallet.key
    )


def _x5c_proof(wallet: Wallet, audience: str, nonce: str) -> str:
    header = {"alg": "EdDSA", "typ": "openid4vci-proof+jwt", "x5c": ["MIIB"]}
    claims = {"aud": audience, "iat": int(time.time()), "nonce": nonce}
    return sign_compact(header, claims, wallet.key)


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"proofs": None}, 400, "invalid_proof"),
        ({"proofs": {"jwt": []}}, 400, "invalid_proof"),
        ({"proofs": {"jwt": "one.two.three"}}, 400, "invalid_proof"),
        ({"proofs": {"jwt": ["a.b.c", "d.e.f"]}}, 400, "invalid_proof"),
        ({"proofs": {"di_vp": [{}]}}, 400, "invalid_proof"),
        ({"proofs": {"jwt": ["a.b.c"], "di_vp": [{}]}}, 400, "invalid_proof"),
        ({"credential_configuration_id": "Unheard_of"}, 400, "unknown_credential_configuration"),
        ({"credential_configuration_id": 7}, 400, "invalid_credential_request"),
        ({"credential_configuration_id": None}, 400, "invalid_credential_request"),
        ({"credential_identifier": "x"}, 400, "invalid_credential_request"),
        ({"credential_configuration_id": CONFIGURATION["obv3"]}, 403, "insufficient_scope"),
        ({"credential_response_encryption": {}}, 400, "invalid_encryption_parameters"),
    ],
)
async def test_malformed_credential_requests(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    body: dict[str, Any],
    status: int,
    error: str,
) -> None:
    _, _, reply = await offered(client, admin_headers, random_slug, "edc")
    wallet = Wallet(client)
    session = await start(wallet, reply)
    nonce = await wallet.nonce(session.issuer_metadata["nonce_endpoint"])
    request: dict[str, Any] = {
        "credential_configuration_id": session.configuration_id,
        "proofs": {"jwt": [wallet.proof(session.identifier, nonce)]},
        **body,
    }
    response = await wallet.request_credential(
        session.issuer_metadata["credential_endpoint"],
        session.access_token,
        {k: v for k, v in request.items() if v is not None},
    )
    oauth_error(response, status, error)
    if status == 403:
        assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


async def test_a_body_that_is_not_json_is_invalid_credential_request(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, _, reply = await offered(client, admin_headers, random_slug)
    wallet = Wallet(client)
    session = await start(wallet, reply)
    for content in (b"{not json", b"[1, 2]", b'"text"', b"\xff"):
        response = await client.post(
            session.issuer_metadata["credential_endpoint"],
            content=content,
            headers={
                "Authorization": f"Bearer {session.access_token}",
                "Content-Type": "application/json",
            },
        )
        oauth_error(response, 400, "invalid_credential_request")


# --- nonces ------------------------------------------------------------------------------------


async def test_a_used_nonce_is_invalid_nonce(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth, first_offer = await offered(client, admin_headers, random_slug)
    second_offer = await make_offer(client, auth)
    wallet = Wallet(client)
    first, second = await start(wallet, first_offer), await start(wallet, second_offer)
    nonce = await wallet.nonce(first.issuer_metadata["nonce_endpoint"])
    used = await credential_request(wallet, first, wallet.proof(first.identifier, nonce))
    assert used.status_code == 200, used.text
    replayed = await credential_request(wallet, second, wallet.proof(second.identifier, nonce))
    oauth_error(replayed, 400, "invalid_nonce")
    guessed = await credential_request(wallet, second, wallet.proof(second.identifier, "guess"))
    oauth_error(guessed, 400, "invalid_nonce")
    too_long = await credential_request(wallet, second, wallet.proof(second.identifier, "n" * 500))
    oauth_error(too_long, 400, "invalid_nonce")


async def test_a_stale_nonce_is_invalid_nonce_and_stays_spent(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, _, reply = await offered(client, admin_headers, random_slug)
    wallet = Wallet(client)
    session = await start(wallet, reply)
    nonce = await wallet.nonce(session.issuer_metadata["nonce_endpoint"])
    async with app.state.services.sessionmaker() as db:
        row = (await db.exec(select(Nonce).where(Nonce.value == nonce))).one()
        assert row.purpose == "c_nonce" and row.used_at is None
        assert 299 <= (row.expires_at - row.created_at).total_seconds() <= 300
        await db.exec(
            update(Nonce)
            .where(col(Nonce.value) == nonce)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await db.commit()
    stale = await credential_request(wallet, session, wallet.proof(session.identifier, nonce))
    oauth_error(stale, 400, "invalid_nonce")
    # Asking for another nonce clears expired ones.
    await wallet.nonce(session.issuer_metadata["nonce_endpoint"])
    async with app.state.services.sessionmaker() as db:
        assert (await db.exec(select(Nonce).where(Nonce.value == nonce))).first() is None


# --- access tokens ------------------------------------------------------------------------------


async def test_a_token_is_used_once(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, _, reply = await offered(client, admin_headers, random_slug)
    wallet = Wallet(client)
    session = await start(wallet, reply)
    first = await credential_request(wallet, session)
    assert first.status_code == 200, first.text
    again = await credential_request(wallet, session)
    oauth_error(again, 401, "invalid_token")
    challenge = again.headers["www-authenticate"]
    assert challenge.startswith(f'Bearer realm="{session.identifier}"')
    assert 'error="invalid_token"' in challenge
    assert await credentials_issued(app) == 1


async def test_two_concurrent_redemptions_give_exactly_one_credential(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, _, reply = await offered(client, admin_headers, random_slug, "obv3")
    wallets = [Wallet(client), Wallet(client, "jwk")]
    session = await start(wallets[0], reply)
    nonces = [await wallets[0].nonce(session.issuer_metadata["nonce_endpoint"]) for _ in wallets]
    proofs = [w.proof(session.identifier, n) for w, n in zip(wallets, nonces, strict=True)]
    answers = await asyncio.gather(
        *(credential_request(w, session, p) for w, p in zip(wallets, proofs, strict=True))
    )
    assert sorted(a.status_code for a in answers) == [200, 401]
    winner = next(a for a in answers if a.status_code == 200)
    subject = winner.json()["credentials"][0]["credential"]["credentialSubject"]["id"]
    assert subject in {w.did for w in wallets}
    assert await credentials_issued(app) == 1
    row = await stored_offer(app, reply["id"])
    assert row.state == "redeemed" and row.credential_id is not None


@pytest.mark.parametrize(
    "authorization", [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "DPoP abc"]
)
async def test_a_request_without_a_bearer_token_gets_a_challenge_without_an_error_code(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    authorization: str | None,
) -> None:
    """RFC 6750 section 3.1: no error code when the request had no authentication information
    (none at all, or another scheme than Bearer)."""
    _, _, reply = await offered(client, admin_headers, random_slug)
    session = await start(Wallet(client), reply)
    endpoint = session.issuer_metadata["credential_endpoint"]
    body = {"credential_configuration_id": session.configuration_id, "proofs": {"jwt": ["x"]}}
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await client.post(endpoint, json=body, headers=headers)
    oauth_error(response, 401, "invalid_token")
    challenge = response.headers["www-authenticate"]
    assert challenge == f'Bearer realm="{session.identifier}"'
    assert "error=" not in challenge


async def test_missing_expired_and_foreign_tokens_are_invalid_token(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, _, reply = await offered(client, admin_headers, random_slug)
    wallet = Wallet(client)
    session = await start(wallet, reply)
    endpoint = session.issuer_metadata["credential_endpoint"]
    body = {"credential_configuration_id": session.configuration_id, "proofs": {"jwt": ["x"]}}

    missing = await client.post(endpoint, json=body)
    oauth_error(missing, 401, "invalid_token")
    assert missing.headers["www-authenticate"] == f'Bearer realm="{session.identifier}"'
    other_scheme = await client.post(
        endpoint, json=body, headers={"Authorization": f"Basic {session.access_token}"}
    )
    oauth_error(other_scheme, 401, "invalid_token")
    unknown = await client.post(endpoint, json=body, headers={"Authorization": "Bearer nope"})
    oauth_error(unknown, 401, "invalid_token")

    # The token works only at its own issuer.
    await issuer_with_key(client, admin_headers, random_slug + "-b")
    foreign = await client.post(
        endpoint.replace(random_slug, random_slug + "-b"),
        json=body,
        headers={"Authorization": f"Bearer {session.access_token}"},
    )
    oauth_error(foreign, 401, "invalid_token")

    await set_offer(app, reply["id"], token_expires_at=utcnow() - timedelta(seconds=1))
    expired = await credential_request(wallet, session)
    assert "expired" in oauth_error(expired, 401, "invalid_token")
    assert await credentials_issued(app) == 0


async def test_wallet_endpoints_of_an_unknown_issuer_are_404(client: httpx.AsyncClient) -> None:
    for path in ("token", "nonce", "credential"):
        response = await client.post(f"/issuers/nobody/oid4vci/{path}")
        assert response.status_code == 404
        problem_of(response)
    response = await client.get("/issuers/nobody/oid4vci/offers/123")
    assert response.status_code == 404


async def test_an_issuer_without_a_signing_key_denies_the_request_and_keeps_the_offer(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, _, reply = await offered(client, admin_headers, random_slug)
    wallet = Wallet(client)
    session = await start(wallet, reply)
    (key,) = issuer["keys"]
    revoked = await client.post(
        f"/admin/issuers/{random_slug}/keys/{key['id']}/revoke", headers=admin_headers
    )
    assert revoked.status_code == 200, revoked.text
    denied = await credential_request(wallet, session)
    oauth_error(denied, 400, "credential_request_denied")
    assert (await stored_offer(app, reply["id"])).state == "token_issued"
    assert await credentials_issued(app) == 0
    async with app.state.services.sessionmaker() as db:
        offers = (await db.exec(select(CredentialOffer))).all()
    assert [o.credential_id for o in offers] == [None]
