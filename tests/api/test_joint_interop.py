"""Interop: each proof of a joint credential's proof set verifies with Digital Bazaar's verifier
(``@digitalbazaar/vc``, ``data-integrity``, ``eddsa-rdfc-2022-cryptosuite``, run with Node) as
well as with ours, and a proof Digital Bazaar's library makes over the draft (the awarding body
signing elsewhere) is the one that releases the credential here."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx
import pytest

from app.crypto.keys import KeyPair
from app.did.key import did_key_from_public_key
from app.resources import CONTEXTS_DIR
from tests.api.test_joint_credentials import add_proof, alliance, draft, joint_body
from tests.api.test_verify import verify
from tests.interop import peers

pytestmark = pytest.mark.anyio

PEER = peers.PEERS / "joint"


def ensure_installed() -> None:
    peers.ensure_installed(PEER, "the Digital Bazaar interop peer")


def run_peer(request: dict[str, Any]) -> dict[str, Any]:
    return peers.run_node(PEER, "joint.mjs", {"contextsDir": str(CONTEXTS_DIR), **request})


@pytest.mark.parametrize("fmt", ["edc", "obv3"])
async def test_each_proof_of_a_joint_credential_verifies_with_digital_bazaar_and_ours(
    client: httpx.AsyncClient, admin_headers: dict[str, str], fmt: str
) -> None:
    await anyio.to_thread.run_sync(ensure_installed)
    (lead, lead_auth), (co, co_auth) = await alliance(client, admin_headers, did_method="key")
    seed = secrets.token_bytes(32)
    elsewhere = did_key_from_public_key(KeyPair(seed).public_key)
    body = joint_body(
        fmt,
        [
            {"issuer": lead["slug"]},
            {"issuer": co["slug"]},
            {"issuer": elsewhere, "name": {"en": "Uniwersytet De"}, "country": "POL"},
        ],
    )
    created = await draft(client, lead_auth, body)
    assert (await add_proof(client, created["id"], auth=co_auth)).json()["missing"] == [elsewhere]

    # The third university signs elsewhere, with Digital Bazaar's library, over the draft.
    signed = await anyio.to_thread.run_sync(
        run_peer,
        {
            "op": "sign",
            "seedHex": seed.hex(),
            "draft": created["draft"],
            "created": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        },
    )
    assert signed["did"] == elsewhere
    released = await add_proof(client, created["id"], proof=signed["proof"])
    assert released.status_code == 200, released.text
    assert released.json() == {"state": "complete", "missing": []}
    reply = await client.get(f"/joint-credentials/{created['id']}", headers=lead_auth)
    credential = reply.json()["verifiableCredential"]
    methods = [proof["verificationMethod"] for proof in credential["proof"]]
    assert [m.split("#")[0] for m in methods] == [lead["did"], co["did"], elsewhere]

    # Ours: every proof of the set, and every awarding body.
    status_code, report = await verify(client, credential)
    assert status_code == 200, report["errors"]
    assert [p["verified"] for p in report["results"]["proof"]["proofs"]] == [True] * 3
    assert report["results"]["awardingBodies"]["verified"] is True

    # Digital Bazaar's: every proof on its own (assertionMethod of its controller), the proof
    # set as jsonld-signatures verifies it, and vc.verifyCredential, which also binds the
    # issuer to the key: the lead's proof is the issuer's.
    theirs = await anyio.to_thread.run_sync(run_peer, {"op": "verify", "credential": credential})
    assert [(p["verificationMethod"], p["verified"]) for p in theirs["eachProof"]] == [
        (m, True) for m in methods
    ], theirs["eachProof"]
    assert theirs["proofSet"]["verified"] is True
    assert [r["verified"] for r in theirs["proofSet"]["results"]] == [True] * 3
    assert theirs["verifyCredential"]["verified"] is True, theirs["verifyCredential"]
    issuer_results = [
        r for r in theirs["verifyCredential"]["results"] if r["verificationMethod"] == methods[0]
    ]
    assert [r["verified"] for r in issuer_results] == [True]

    # A changed credential: no proof verifies, for them as for us.
    tampered = {**credential, "id": "urn:uuid:00000000-0000-4000-8000-000000000000"}
    refused = await anyio.to_thread.run_sync(run_peer, {"op": "verify", "credential": tampered})
    assert [p["verified"] for p in refused["eachProof"]] == [False] * 3
    assert refused["proofSet"]["verified"] is False
    assert (await verify(client, tampered))[0] == 422
