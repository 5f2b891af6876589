"""A wallet run over HTTP for an SD-JWT VC: offer → token → nonce → ``dc+sd-jwt`` credential
bound to the wallet key; revoked, the token status list shows it and a new presentation fails."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.crypto import jws
from app.db.models import utcnow
from app.sdjwt import core
from app.status.tokenstatus import parse_reference
from tests.api.test_oid4vci import PUBLIC_URL, Wallet, start, stored_offer
from tests.api.test_sdjwt_issuing import issuer_key, sd_jwt_body, token_statuses
from tests.api.test_sdjwt_verify import AUDIENCE, challenge, problem_types, verify
from tests.factories import issuer_with_key

pytestmark = pytest.mark.anyio

CONFIGURATION_ID = "EuropeanMicroCredential_dc+sd-jwt"


@pytest.mark.parametrize("key_header", ["kid", "jwk"])
async def test_a_wallet_receives_an_sd_jwt_vc_bound_to_its_key(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    key_header: str,
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    body = sd_jwt_body()
    del body["holderJwk"], body["learner"]["id"]
    body["learner"]["email"] = "aoife@example.org"
    reply = await client.post("/microcredentials/offers", json=body, headers=auth)
    assert reply.status_code == 201, reply.text
    assert reply.json()["credential_offer"]["credential_configuration_ids"] == [CONFIGURATION_ID]

    wallet = Wallet(client, key_header)
    session = await start(wallet, reply.json())
    configuration = session.issuer_metadata["credential_configurations_supported"][CONFIGURATION_ID]
    assert configuration["format"] == "dc+sd-jwt"
    assert configuration["vct"] == f"{PUBLIC_URL}/vct/{random_slug}/microcredential"
    assert "jwk" in configuration["cryptographic_binding_methods_supported"]
    nonce = await wallet.nonce(session.issuer_metadata["nonce_endpoint"])
    response = await wallet.request_credential(
        session.issuer_metadata["credential_endpoint"],
        session.access_token,
        {
            "credential_configuration_id": CONFIGURATION_ID,
            "proofs": {"jwt": [wallet.proof(session.identifier, nonce)]},
        },
    )
    assert response.status_code == 200, response.text
    (issued,) = response.json()["credentials"]
    sd_jwt = issued["credential"]
    assert isinstance(sd_jwt, str)
    parsed = core.parse(sd_jwt)
    header, _ = core.unverified_issuer_part(parsed)
    payload = core.check_issuer_signature(
        parsed, await issuer_key(client, issuer["did"], header["kid"])
    )
    assert payload["cnf"] == {"jwk": jws.public_jwk(wallet.key.public_key)}
    assert payload["vct"] == configuration["vct"]
    assert core.disclosed_claims(payload, parsed.disclosures)["learner_id"] == wallet.did

    # The holder presents it with its wallet key: verified.
    presented = await challenge(client)
    presentation = core.present(
        sd_jwt,
        {"given_name"},
        holder_key=wallet.key,
        audience=AUDIENCE,
        nonce=presented,
        issued_at=utcnow(),
    )
    status, body_ = await verify(client, presentation, presented)
    assert status == 200, body_["problemDetails"]

    # Revoked: the token status list shows it and a new presentation fails.
    row = await stored_offer(app, reply.json()["id"])
    change = {"credentialId": row.credential_id, "credentialStatus": [{"status": "revoked"}]}
    assert (await client.post("/credentials/status", json=change, headers=auth)).status_code == 200
    uri, index = parse_reference(payload["status"])
    assert (await token_statuses(client, uri, issuer["did"])).get(index) == 1
    nonce = await challenge(client)
    presentation = core.present(
        sd_jwt, set(), holder_key=wallet.key, audience=AUDIENCE, nonce=nonce, issued_at=utcnow()
    )
    status, body_ = await verify(client, presentation, nonce)
    assert status == 422 and "CREDENTIAL_REVOKED" in problem_types(body_)
