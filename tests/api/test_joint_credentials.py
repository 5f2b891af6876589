"""Joint credentials over HTTP: three universities of an alliance award one micro-credential;
the lead drafts it, a co-awarding university hosted here signs with its API key, a third signs
elsewhere (its proof made over the draft with its own key); the credential is released with the
third proof and verifies with one proof per awarding body. Missing, duplicated, foreign, bad and
late proofs are refused; EDC output conforms to the EDC shapes, the Open Badge to 1EdTech's
schema."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select, update

from app.credentials.shacl import validate_edc
from app.crypto.dataintegrity import DataIntegrity
from app.crypto.keys import KeyPair
from app.db.models import JointCredential, JointStatusHold
from app.did.key import did_key_from_public_key, did_key_verification_method_id
from app.jsonld import OfflineDocumentLoader, PyldCanonicalizer
from app.resources import CONTEXTS_DIR
from app.state import state_of
from tests.api.test_verify import verify
from tests.conftest import problem_of
from tests.factories import issuer_with_key, microcredential_body
from tests.obv3_schema import assert_valid_open_badge

pytestmark = pytest.mark.anyio

LOADER = OfflineDocumentLoader(CONTEXTS_DIR)
ELSEWHERE_DI = DataIntegrity(PyldCanonicalizer(LOADER))


class Elsewhere:
    """A university that is not hosted here: a did:key and the key behind it."""

    def __init__(self, name: str = "Universitat de Ics") -> None:
        self.key = KeyPair.generate()
        self.did = did_key_from_public_key(self.key.public_key)
        self.method = did_key_verification_method_id(self.did)
        self.name = name

    def body(self) -> dict[str, Any]:
        return {"issuer": self.did, "name": {"en": self.name}, "country": "ESP"}

    def proof(self, draft: dict[str, Any], **options: Any) -> dict[str, Any]:
        """Its proof over the draft, made with the project's Data Integrity code."""
        signed = ELSEWHERE_DI.add_proof(
            draft, self.key, self.method, created=datetime.now(UTC), **options
        )
        proof: dict[str, Any] = signed["proof"]
        return proof


async def alliance(
    client: httpx.AsyncClient, admin: dict[str, str], did_method: str = "web"
) -> tuple[tuple[dict[str, Any], dict[str, str]], tuple[dict[str, Any], dict[str, str]]]:
    """Two universities hosted here: the lead and a co-awarding one, each with an API key."""
    tag = secrets.token_hex(3)
    lead = await issuer_with_key(
        client, admin, f"lead-{tag}", name={"en": "Universiteit Ay"}, didMethod=did_method
    )
    co = await issuer_with_key(
        client,
        admin,
        f"co-{tag}",
        name={"en": "Université Bé"},
        country="FRA",
        legalIdentifier="FR99999999",
        didMethod=did_method,
    )
    return lead, co


def joint_body(fmt: str, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    body = microcredential_body(fmt)
    body["awardingBodies"] = bodies
    return body


async def draft(
    client: httpx.AsyncClient, auth: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    reply = await client.post("/joint-credentials", json=body, headers=auth)
    assert reply.status_code == 201, reply.text
    created: dict[str, Any] = reply.json()
    return created


async def add_proof(
    client: httpx.AsyncClient,
    joint_id: str,
    *,
    auth: dict[str, str] | None = None,
    proof: dict[str, Any] | None = None,
) -> httpx.Response:
    return await client.post(
        f"/joint-credentials/{joint_id}/proofs",
        json={"proof": proof} if proof is not None else None,
        headers=auth or {},
    )


async def audit_actions(
    client: httpx.AsyncClient, admin: dict[str, str], joint_id: str
) -> list[str]:
    reply = await client.get("/admin/audit", params={"limit": 1000}, headers=admin)
    assert reply.status_code == 200, reply.text
    events = [e for e in reply.json()["events"] if e["target"] == joint_id]
    return [e["action"] for e in reversed(events)]


@pytest.mark.parametrize("fmt", ["edc", "obv3"])
async def test_three_universities_release_a_joint_credential_after_the_third_proof(
    client: httpx.AsyncClient, admin_headers: dict[str, str], fmt: str
) -> None:
    (lead, lead_auth), (co, co_auth) = await alliance(client, admin_headers)
    ics = Elsewhere()
    body = joint_body(fmt, [{"issuer": lead["slug"]}, {"issuer": co["did"]}, ics.body()])
    created = await draft(client, lead_auth, body)
    joint_id = created["id"]
    assert created["state"] == "awaiting-proofs"
    assert created["awardingBodies"] == [lead["did"], co["did"], ics.did]
    assert created["missing"] == [co["did"], ics.did]  # the lead signed at creation
    assert "proof" not in created["draft"]
    assert "verifiableCredential" not in created
    expires = datetime.fromisoformat(created["expiresAt"])
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)

    # Not released yet: no credential to read, and the co-awarding issuer sees the draft.
    assert (await client.get(f"/credentials/{joint_id}", headers=lead_auth)).status_code == 404
    seen = await client.get(f"/joint-credentials/{joint_id}", headers=co_auth)
    assert seen.status_code == 200 and seen.json()["missing"] == [co["did"], ics.did]

    second = await add_proof(client, joint_id, auth=co_auth)
    assert second.status_code == 200, second.text
    assert second.json() == {"state": "awaiting-proofs", "missing": [ics.did]}
    assert (await client.get(f"/credentials/{joint_id}", headers=lead_auth)).status_code == 404

    third = await add_proof(client, joint_id, proof=ics.proof(created["draft"]))
    assert third.status_code == 200, third.text
    assert third.json() == {"state": "complete", "missing": []}

    done = (await client.get(f"/joint-credentials/{joint_id}", headers=lead_auth)).json()
    assert done["state"] == "complete"
    credential = done["verifiableCredential"]
    signers = [p["verificationMethod"].split("#")[0] for p in credential["proof"]]
    assert signers == [lead["did"], co["did"], ics.did]
    assert all("previousProof" not in p for p in credential["proof"])
    assert {k: v for k, v in credential.items() if k != "proof"} == created["draft"]

    # Released: stored as issued, with its status; it verifies, each body's proof reported.
    stored = await client.get(f"/credentials/{joint_id}", headers=lead_auth)
    assert stored.status_code == 200
    assert stored.json()["verifiableCredential"] == credential
    status_code, report = await verify(client, credential)
    assert status_code == 200, report["errors"]
    assert report["results"]["awardingBodies"] == {
        "verified": True,
        "bodies": [{"did": d, "proof": "verified"} for d in (lead["did"], co["did"], ics.did)],
    }
    assert [p["verified"] for p in report["results"]["proof"]["proofs"]] == [True] * 3
    if fmt == "edc":
        assert validate_edc(credential, LOADER).conforms
        assert report["results"]["credentialSchema"]["verified"] is True
    else:
        assert_valid_open_badge(credential)

    # Revoking it works as for any credential; the verifier then refuses it.
    revoke = {"credentialId": joint_id, "credentialStatus": [{"status": "revoked"}]}
    revoked = await client.post("/credentials/status", json=revoke, headers=lead_auth)
    assert revoked.status_code == 200, revoked.text
    status_code, report = await verify(client, credential)
    assert status_code == 422
    assert "urn:microcred:problem:CREDENTIAL_REVOKED" in {e["type"] for e in report["errors"]}

    assert await audit_actions(client, admin_headers, joint_id) == [
        "joint.drafted",
        "joint.proof-added",
        "joint.proof-added",
        "joint.proof-added",
        "credential.issued",
        "credential.revoked",
    ]


async def test_the_audit_trail_holds_every_step(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    (lead, lead_auth), (co, co_auth) = await alliance(client, admin_headers)
    created = await draft(
        client, lead_auth, joint_body("obv3", [{"issuer": lead["did"]}, {"issuer": co["slug"]}])
    )
    assert (await add_proof(client, created["id"], auth=co_auth)).json()["state"] == "complete"
    assert await audit_actions(client, admin_headers, created["id"]) == [
        "joint.drafted",
        "joint.proof-added",
        "joint.proof-added",
        "credential.issued",
    ]
    # The co-awarding issuer's proof is in its own trail too.
    reply = await client.get("/admin/audit", params={"issuer": co["slug"]}, headers=admin_headers)
    events = [e for e in reply.json()["events"] if e["target"] == created["id"]]
    assert [(e["action"], e["details"]) for e in events] == [
        ("joint.proof-added", {"awardingBody": co["did"], "madeHere": True})
    ]


async def test_missing_duplicate_foreign_and_bad_proofs_are_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    (lead, lead_auth), (co, co_auth) = await alliance(client, admin_headers)
    ics = Elsewhere()
    created = await draft(
        client,
        lead_auth,
        joint_body("edc", [{"issuer": lead["slug"]}, {"issuer": co["slug"]}, ics.body()]),
    )
    joint_id, unsigned = created["id"], created["draft"]

    # Duplicated: the lead signed at creation; it cannot sign again (here or elsewhere).
    again = await add_proof(client, joint_id, auth=lead_auth)
    assert again.status_code == 409
    assert problem_of(again)["type"] == "urn:microcred:problem:JOINT_PROOF_DUPLICATE"

    # Foreign: a body that is not awarding, by proof and by API key.
    stranger = Elsewhere("Stranger University")
    foreign = await add_proof(client, joint_id, proof=stranger.proof(unsigned))
    assert foreign.status_code == 422
    assert problem_of(foreign)["type"] == "urn:microcred:problem:JOINT_PROOF_REFUSED"
    assert "not an awarding body" in problem_of(foreign)["detail"]
    _, other_auth = await issuer_with_key(client, admin_headers, "other-" + secrets.token_hex(3))
    assert (await add_proof(client, joint_id, auth=other_auth)).status_code == 404
    assert (
        await client.get(f"/joint-credentials/{joint_id}", headers=other_auth)
    ).status_code == 404

    # Bad: a proof over another document, a chained proof, a proof for authentication,
    # a proof claiming an awarding body's DID but made with another key.
    tampered = ics.proof({**unsigned, "validFrom": "2020-01-01T00:00:00Z"})
    bad = await add_proof(client, joint_id, proof=tampered)
    assert bad.status_code == 422 and "does not verify" in problem_of(bad)["detail"]
    chained = {**ics.proof(unsigned), "previousProof": "urn:uuid:earlier"}
    assert (await add_proof(client, joint_id, proof=chained)).status_code == 422
    for_login = ics.proof(unsigned, proof_purpose="authentication")
    assert (await add_proof(client, joint_id, proof=for_login)).status_code == 422
    impostor = Elsewhere()
    forged = {**impostor.proof(unsigned), "verificationMethod": ics.method}
    assert (await add_proof(client, joint_id, proof=forged)).status_code == 422
    assert (
        await add_proof(client, joint_id, proof={"type": "Ed25519Signature2020"})
    ).status_code == 422
    # No key and no proof: nobody to sign for.
    assert (await add_proof(client, joint_id)).status_code == 401

    # Still awaiting both: nothing was added by the refused proofs.
    state = (await client.get(f"/joint-credentials/{joint_id}", headers=lead_auth)).json()
    assert state["missing"] == [co["did"], ics.did]

    # Missing: the credential made of the proofs so far (the lead's) is refused by the verifier.
    assert (await add_proof(client, joint_id, auth=co_auth)).status_code == 200
    row = (await client.get(f"/joint-credentials/{joint_id}", headers=lead_auth)).json()
    assert "verifiableCredential" not in row
    partial = {**unsigned, "proof": [ics.proof(unsigned)]}
    status_code, report = await verify(client, partial)
    assert status_code == 422
    assert report["results"]["awardingBodies"]["bodies"] == [
        {"did": lead["did"], "proof": "missing"},
        {"did": co["did"], "proof": "missing"},
        {"did": ics.did, "proof": "verified"},
    ]
    types = [e["type"] for e in report["errors"]]
    assert types.count("urn:microcred:problem:AWARDING_BODY_PROOF_MISSING") == 2

    # Complete, then a duplicate of the last body is refused too.
    last = ics.proof(unsigned)
    assert (await add_proof(client, joint_id, proof=last)).json()["state"] == "complete"
    repeated = await add_proof(client, joint_id, proof=last)
    assert repeated.status_code == 409

    # A released credential with one proof replaced by an invalid one is refused.
    credential = (await client.get(f"/joint-credentials/{joint_id}", headers=lead_auth)).json()[
        "verifiableCredential"
    ]
    assert (await verify(client, credential))[0] == 200
    broken = {**credential, "proof": [*credential["proof"][:2], tampered]}
    status_code, report = await verify(client, broken)
    assert status_code == 422
    assert report["results"]["awardingBodies"]["bodies"][2] == {"did": ics.did, "proof": "invalid"}
    dropped = {**credential, "proof": credential["proof"][:2]}
    status_code, report = await verify(client, dropped)
    assert status_code == 422
    assert report["results"]["awardingBodies"]["bodies"][2] == {"did": ics.did, "proof": "missing"}


async def test_an_expired_draft_takes_no_proof(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    (lead, lead_auth), (co, co_auth) = await alliance(client, admin_headers)
    created = await draft(
        client, lead_auth, joint_body("edc", [{"issuer": lead["slug"]}, {"issuer": co["slug"]}])
    )
    async with state_of(app).sessionmaker() as session:
        await session.exec(
            update(JointCredential)
            .where(col(JointCredential.id) == created["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    late = await add_proof(client, created["id"], auth=co_auth)
    assert late.status_code == 410
    assert problem_of(late)["type"] == "urn:microcred:problem:JOINT_DRAFT_EXPIRED"
    state = (await client.get(f"/joint-credentials/{created['id']}", headers=co_auth)).json()
    assert state["state"] == "awaiting-proofs"
    assert (await client.get(f"/credentials/{created['id']}", headers=lead_auth)).status_code == 404

    # The expired draft's status indices are held until the lead's next draft gives them back.
    assert await held(app, created["id"]) == 1
    await draft(
        client, lead_auth, joint_body("obv3", [{"issuer": lead["slug"]}, {"issuer": co["slug"]}])
    )
    assert await held(app, created["id"]) == 0


async def held(app: FastAPI, joint_id: str) -> int:
    async with state_of(app).sessionmaker() as session:
        query = select(JointStatusHold).where(JointStatusHold.joint_id == joint_id)
        return len((await session.exec(query)).all())


async def test_co_issuers_signing_at_once_both_land(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    (lead, lead_auth), (co, co_auth) = await alliance(client, admin_headers)
    third, third_auth = await issuer_with_key(
        client, admin_headers, "third-" + secrets.token_hex(3), name={"en": "Yliopisto Cee"}
    )
    fourth = Elsewhere()
    created = await draft(
        client,
        lead_auth,
        joint_body(
            "obv3",
            [
                {"issuer": lead["slug"]},
                {"issuer": co["slug"]},
                {"issuer": third["slug"]},
                fourth.body(),
            ],
        ),
    )
    replies = await asyncio.gather(
        add_proof(client, created["id"], auth=co_auth),
        add_proof(client, created["id"], auth=third_auth),
        add_proof(client, created["id"], proof=fourth.proof(created["draft"])),
    )
    assert [r.status_code for r in replies] == [200, 200, 200], [r.text for r in replies]
    assert sorted(r.json()["state"] for r in replies) == ["awaiting-proofs"] * 2 + ["complete"]
    done = (await client.get(f"/joint-credentials/{created['id']}", headers=lead_auth)).json()
    assert done["state"] == "complete" and len(done["verifiableCredential"]["proof"]) == 4
    assert (await verify(client, done["verifiableCredential"]))[0] == 200


async def test_bodies_that_cannot_award_jointly_are_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    (lead, lead_auth), (co, _) = await alliance(client, admin_headers)
    sd_jwt = joint_body("sd-jwt", [{"issuer": lead["slug"]}, {"issuer": co["slug"]}])
    sd_jwt.pop("cryptosuite", None)
    cases: list[tuple[dict[str, Any], str]] = [
        (sd_jwt, "/format"),
        (joint_body("edc", [{"issuer": co["slug"]}, Elsewhere().body()]), "/awardingBodies"),
        (
            joint_body("edc", [{"issuer": lead["slug"]}, {"issuer": "no-such-uni"}]),
            "/awardingBodies/1/issuer",
        ),
        (
            joint_body("edc", [{"issuer": lead["slug"]}, {"issuer": Elsewhere().did}]),
            "/awardingBodies/1/issuer",
        ),
        (joint_body("edc", [{"issuer": lead["slug"]}, {"issuer": lead["did"]}]), "/awardingBodies"),
        (joint_body("edc", [{"issuer": lead["slug"]}]), "/awardingBodies"),
    ]
    for body, pointer in cases:
        reply = await client.post("/joint-credentials", json=body, headers=lead_auth)
        assert reply.status_code == 422, (pointer, reply.text)
        assert pointer in [e["pointer"] for e in problem_of(reply)["errors"]], reply.text


async def test_a_credential_of_several_bodies_named_by_did_is_not_issued_by_one(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Signed by the issuer alone, it would never verify: the issue routes refuse it and name
    the joint route; one body by DID (the issuer's own, or one it awards for) is issued."""
    (lead, auth), _ = await alliance(client, admin_headers)
    other = Elsewhere()
    bodies = [
        {"id": lead["did"], "name": {"en": "Universiteit Ay"}, "country": "NLD"},
        {"id": other.did, "name": {"en": other.name}, "country": "ESP"},
    ]
    body = joint_body("edc", bodies)
    for path in ("/microcredentials", "/microcredentials/offers"):
        sent = dict(body)
        if path.endswith("offers"):
            sent["learner"] = {k: v for k, v in body["learner"].items() if k != "id"}
        refused = await client.post(path, json=sent, headers=auth)
        problem = problem_of(refused)
        assert refused.status_code == 422, refused.text
        pointers = [e["pointer"] for e in problem["errors"]]
        assert pointers == ["/awardingBodies/0/id", "/awardingBodies/1/id"], problem
        assert "POST /joint-credentials" in problem["errors"][1]["detail"]
    batch = await client.post("/microcredentials/batch", json={"items": [body]}, headers=auth)
    assert batch.json()["results"][0]["status"] == 422, batch.text
    alone = await client.post("/microcredentials", json=joint_body("edc", bodies[1:]), headers=auth)
    assert alone.status_code == 201, alone.text
