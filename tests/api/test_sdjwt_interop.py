"""Interop: an independent SD-JWT VC implementation (the ``@sd-jwt`` npm packages, run with Node)
verifies our SD-JWT VCs, their Type Metadata and token status list, and makes presentations,
with and without each disclosure, that we verify."""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx
import pytest

from app.crypto import jws
from app.sdjwt import core
from app.status.tokenstatus import parse_reference
from tests.api.test_sdjwt_issuing import BASE, HOLDER, issue_sd_jwt, issuer_key
from tests.api.test_sdjwt_verify import AUDIENCE, challenge, verify
from tests.factories import issuer_with_key
from tests.interop import peers

pytestmark = pytest.mark.anyio

PEER = peers.PEERS / "sdjwt"


def ensure_installed() -> None:
    peers.ensure_installed(PEER, "the SD-JWT interop peer")


def run_peer(request: dict[str, Any]) -> dict[str, Any]:
    return peers.run_node(PEER, "interop.mjs", request)


async def test_sd_jwt_interop_with_the_sd_jwt_npm_packages(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    await anyio.to_thread.run_sync(ensure_installed)
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    _, sd_jwt = await issue_sd_jwt(client, auth)
    revoked_id, revoked_sd_jwt = await issue_sd_jwt(client, auth)
    parsed = core.parse(sd_jwt)
    header, unverified = core.unverified_issuer_part(parsed)
    issuer_public = await issuer_key(client, issuer["did"], header["kid"])
    ours = core.disclosed_claims(
        core.check_issuer_signature(parsed, issuer_public), parsed.disclosures
    )
    uri, _ = parse_reference(unverified["status"])
    token = (await client.get(uri.removeprefix(BASE))).text
    metadata = (await client.get(unverified["vct"].removeprefix(BASE))).json()
    revoke = {"credentialId": revoked_id, "credentialStatus": [{"status": "revoked"}]}
    assert (await client.post("/credentials/status", json=revoke, headers=auth)).status_code == 200
    revoked_token = (await client.get(uri.removeprefix(BASE))).text

    selectable = sorted(core.Disclosure.decode(d).name or "" for d in parsed.disclosures)
    frames: list[dict[str, bool]] = [{}, *({name: True} for name in selectable)]
    frames.append(dict.fromkeys(selectable, True))
    nonces = [await challenge(client) for _ in frames]
    holder_private = {**jws.public_jwk(HOLDER.public_key), "d": jws.b64url_encode(HOLDER.seed)}
    request = {
        "sdJwt": sd_jwt,
        "issuerJwk": jws.public_jwk(issuer_public),
        "statusListUri": uri,
        "statusListToken": token,
        "typeMetadata": metadata,
        "holderPrivateJwk": holder_private,
        "audience": AUDIENCE,
        "frames": frames,
        "nonces": nonces,
        "now": int(time.time()),
        "revokedSdJwt": revoked_sd_jwt,
        "revokedStatusListToken": revoked_token,
    }
    reply = await anyio.to_thread.run_sync(run_peer, request)

    # The peer verified our issuer signature, disclosures, status and Type Metadata...
    assert reply["header"]["typ"] == "dc+sd-jwt" and reply["header"]["kid"] == header["kid"]
    assert reply["claims"] == {k: v for k, v in ours.items()}
    assert reply["presentableKeys"] == selectable
    assert reply["statusFromList"] == 0
    assert reply["typeMetadataName"] == metadata["name"]
    assert reply["revokedRefused"] and "status" in reply["revokedRefused"].lower()
    assert reply["presentationsVerified"] == [True] * len(frames)
    # ... and we verify each presentation it made: exactly the chosen claims are disclosed.
    for frame, nonce, presentation in zip(frames, nonces, reply["presentations"], strict=True):
        status, body = await verify(client, presentation, nonce)
        assert status == 200, (frame, body["problemDetails"])
        assert body["results"]["sdJwt"]["disclosed"] == sorted(frame)
        assert body["results"]["sdJwt"]["keyBinding"]["verified"] is True
        for name in selectable:
            assert (name in body["credential"]) == (name in frame)
