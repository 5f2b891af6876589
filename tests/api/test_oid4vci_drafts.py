"""Wallets of OpenID4VCI drafts 13–15 (deployed in the field) complete the pre-authorized flow.

Such a wallet (Sphereon's client speaks draft 15) appends the well-known suffix to the credential
issuer identifier instead of inserting it before the path, and sends a singular ``proof`` object
where 1.0 has ``proofs``. The wallet below does exactly that, over HTTP, and nothing else.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.test_oid4vci import CONFIGURATION, PRE_AUTHORIZED, PUBLIC_URL, Wallet, make_offer
from tests.factories import issuer_with_key

pytestmark = pytest.mark.anyio


async def draft_metadata(client: httpx.AsyncClient, identifier: str, suffix: str) -> Any:
    """Metadata the draft way: ``<identifier>/.well-known/<suffix>``."""
    response = await client.get(f"{identifier}/.well-known/{suffix}")
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("format", ["edc", "obv3"])
async def test_a_draft_15_wallet_completes_the_pre_authorized_flow(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str, format: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    reply = await make_offer(client, auth, format)
    wallet = Wallet(client, "jwk")
    offer = await wallet.follow_offer_link(reply["credential_offer_uri"])
    identifier = offer["credential_issuer"]
    assert identifier == f"{PUBLIC_URL}/issuers/{random_slug}"

    metadata = await draft_metadata(client, identifier, "openid-credential-issuer")
    server = await draft_metadata(client, identifier, "oauth-authorization-server")
    # The same documents as at the 1.0 location.
    assert (
        metadata
        == (await client.get(f"/.well-known/openid-credential-issuer/issuers/{random_slug}")).json()
    )
    assert server["issuer"] == identifier == metadata["credential_issuer"]

    code = offer["grants"][PRE_AUTHORIZED]["pre-authorized_code"]
    token = await wallet.token(server["token_endpoint"], code, None)
    assert token.status_code == 200, token.text
    nonce = await wallet.nonce(metadata["nonce_endpoint"])
    response = await wallet.request_credential(
        metadata["credential_endpoint"],
        token.json()["access_token"],
        {
            "credential_configuration_id": CONFIGURATION[format],
            "proof": {"proof_type": "jwt", "jwt": wallet.proof(identifier, nonce)},
        },
    )
    assert response.status_code == 200, response.text
    (issued,) = response.json()["credentials"]
    vc = issued["credential"]
    assert vc["credentialSubject"]["id"] == wallet.did
    issuer_of = vc["issuer"] if isinstance(vc["issuer"], str) else vc["issuer"]["id"]
    assert issuer_of == issuer["did"]
    verified = await client.post("/credentials/verify", json={"verifiableCredential": vc})
    assert verified.status_code == 200, verified.text


@pytest.mark.parametrize(
    ("proofs", "description"),
    [
        ({"proof": {"proof_type": "cwt", "cwt": "x"}}, "only the jwt proof type"),
        ({"proof": {"proof_type": "jwt"}}, "proof.jwt must be a JWT"),
        ({"proof": "eyJ"}, "proof must be an object"),
        (
            {"proof": {"proof_type": "jwt", "jwt": "a.b.c"}, "proofs": {"jwt": ["a.b.c"]}},
            "not both",
        ),
    ],
)
async def test_a_malformed_singular_proof_is_invalid_proof(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    proofs: dict[str, Any],
    description: str,
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    reply = await make_offer(client, auth, "obv3")
    wallet = Wallet(client, "jwk")
    offer = await wallet.follow_offer_link(reply["credential_offer_uri"])
    server = await draft_metadata(client, offer["credential_issuer"], "oauth-authorization-server")
    code = offer["grants"][PRE_AUTHORIZED]["pre-authorized_code"]
    token = await wallet.token(server["token_endpoint"], code, None)
    metadata = await draft_metadata(client, offer["credential_issuer"], "openid-credential-issuer")
    response = await wallet.request_credential(
        metadata["credential_endpoint"],
        token.json()["access_token"],
        {"credential_configuration_id": CONFIGURATION["obv3"], **proofs},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_proof"
    assert description in response.json()["error_description"]


async def test_draft_metadata_of_an_unknown_issuer_is_404(client: httpx.AsyncClient) -> None:
    for suffix in ("openid-credential-issuer", "oauth-authorization-server"):
        response = await client.get(f"/issuers/nobody/.well-known/{suffix}")
        assert response.status_code == 404
