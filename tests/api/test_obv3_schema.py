"""Every Open Badge the service issues validates against the 1EdTech Open Badges 3.0
AchievementCredential JSON Schema (``tests/data/obv3/``) and verifies, with every optional field
of the micro-credential body on and off, through each way of issuing one."""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.credentials.examples import EXAMPLE_LEARNER_DID, example_issuer, example_request
from app.credentials.microcredential import MicroCredentialIn
from app.credentials.obv3 import build_obv3
from tests.factories import issuer_with_key, microcredential_body
from tests.obv3_schema import assert_valid_open_badge, schema_errors

pytestmark = pytest.mark.anyio

PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 40).decode()
LOGO_URL = "https://www.uni-zed.example/logo.png"
Json = dict[str, Any]


def minimal_body() -> Json:
    """Only the mandatory elements."""
    full = microcredential_body("obv3")
    required = (
        "format",
        "learner",
        "title",
        "awardedOn",
        "learningOutcomes",
        "workload",
        "assessment",
        "participation",
        "qualityAssurance",
    )
    body = {name: full[name] for name in required}
    body["learner"] = {"email": "aoife@example.org"}
    body["title"] = {"en": "Digital micro-credential creation"}
    body["learningOutcomes"] = [{"title": {"en": "Develop digital content"}}]
    body["workload"] = {"hours": 60}
    body["assessment"] = {"type": full["assessment"]["type"]}
    body["participation"] = {"mode": full["participation"]["mode"]}
    body["qualityAssurance"] = {"type": full["qualityAssurance"]["type"]}
    return body


def bodies(issuer_did: str) -> dict[str, Json]:
    """Bodies that switch the optional fields on and off."""
    full = microcredential_body("obv3")
    co_awarded = microcredential_body(
        "obv3",
        awardingBodies=[
            {
                "id": issuer_did,
                "name": {"en": "University of Zed"},
                "country": "IRL",
                "logo": LOGO_URL,
            },
            {
                "name": {"en": "Technical University of Yon"},
                "country": "DEU",
                "legalIdentifier": "DE123456789",
                "homepage": "https://www.yon.example",
                "logo": PNG,
            },
        ],
    )
    other_body_first = microcredential_body(
        "obv3",
        awardingBodies=[{"name": {"en": "Yon Institute"}, "country": "FRA", "logo": PNG}],
    )
    with_holder = microcredential_body(
        "obv3", learner={**full["learner"], "id": EXAMPLE_LEARNER_DID}
    )
    return {
        "full": full,
        "full-jcs": microcredential_body("obv3", cryptosuite="eddsa-jcs-2022"),
        "minimal": minimal_body(),
        "co-awarded-with-logos": co_awarded,
        "other-awarding-body": other_body_first,
        "holder-did": with_holder,
    }


CASES = [
    "full",
    "full-jcs",
    "minimal",
    "co-awarded-with-logos",
    "other-awarding-body",
    "holder-did",
]


async def verified(client: httpx.AsyncClient, vc: Json) -> None:
    reply = await client.post("/credentials/verify", json={"verifiableCredential": vc})
    assert reply.status_code == 200, reply.text
    assert reply.json()["verified"] is True


@pytest.mark.parametrize("suspension", [False, True])
@pytest.mark.parametrize("case", CASES)
async def test_every_issued_badge_validates_against_the_1edtech_schema(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    case: str,
    suspension: bool,
) -> None:
    issuer, auth = await issuer_with_key(
        client, admin_headers, random_slug, suspensionEnabled=suspension
    )
    body = bodies(issuer["did"])[case]
    reply = await client.post("/microcredentials", json=body, headers=auth)
    assert reply.status_code == 201, reply.text
    badge = reply.json()["verifiableCredential"]
    assert_valid_open_badge(badge)
    # The three points the schema is strict about.
    assert isinstance(badge["proof"], list) and len(badge["proof"]) == 1
    assert isinstance(badge["credentialStatus"], dict)
    assert badge["credentialStatus"]["statusPurpose"] == "revocation"
    for identifier in badge["issuer"].get("otherIdentifier", []):
        assert identifier["type"] == "IdentifierEntry"
    await verified(client, badge)


async def test_logos_are_the_images_of_issuer_and_achievement(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    cases = bodies(issuer["did"])
    reply = await client.post(
        "/microcredentials", json=cases["co-awarded-with-logos"], headers=auth
    )
    badge = reply.json()["verifiableCredential"]
    achievement = badge["credentialSubject"]["achievement"]
    assert badge["issuer"]["image"] == {
        "id": LOGO_URL,
        "type": "Image",
        "caption": "University of Zed",
    }
    assert achievement["image"]["id"] == LOGO_URL
    assert achievement["creator"]["image"]["id"] == LOGO_URL
    other = await client.post("/microcredentials", json=cases["other-awarding-body"], headers=auth)
    badge = other.json()["verifiableCredential"]
    assert "image" not in badge["issuer"]  # the issuer has no logo
    assert badge["credentialSubject"]["achievement"]["image"]["id"] == PNG
    without = await client.post("/microcredentials", json=cases["full"], headers=auth)
    achievement = without.json()["verifiableCredential"]["credentialSubject"]["achievement"]
    assert "image" not in achievement


def test_an_issuer_profile_logo_becomes_the_image_of_issuer_and_achievement() -> None:
    issuer = example_issuer()
    with_logo = type(issuer)(**{**issuer.__dict__, "logo_uri": LOGO_URL})
    badge = build_obv3(
        MicroCredentialIn.model_validate(example_request(format="obv3")),
        with_logo,
        credential_id="urn:uuid:8d6f0b6e-3f7a-4b7e-a2c4-1d2b00000001",
        issued=datetime(2026, 7, 1, tzinfo=UTC),
        status=None,
    )
    assert badge["issuer"]["image"]["id"] == LOGO_URL
    assert badge["credentialSubject"]["achievement"]["image"]["id"] == LOGO_URL


@pytest.mark.parametrize(
    "logo", ["ftp://x.example/logo.png", "data:text/html;base64,PGI+", "data:image/png,raw"]
)
async def test_a_logo_that_is_not_an_image_url_or_data_uri_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str, logo: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    body = microcredential_body(
        "obv3", awardingBodies=[{"name": {"en": "Yon"}, "country": "FRA", "logo": logo}]
    )
    reply = await client.post("/microcredentials", json=body, headers=auth)
    assert reply.status_code == 422, reply.text
    assert [e["pointer"] for e in reply.json()["errors"]] == ["/awardingBodies/0/logo"]


async def test_badges_issued_by_batch_wallet_and_vc_api_validate(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    from tests.api.test_oid4vci import CONFIGURATION, Wallet, make_offer, start

    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    batch = await client.post(
        "/microcredentials/batch",
        json={"items": [minimal_body(), microcredential_body("obv3")]},
        headers=auth,
    )
    assert batch.status_code == 200, batch.text
    badges = [item["verifiableCredential"] for item in batch.json()["results"]]

    wallet = Wallet(client, "jwk")
    session = await start(wallet, await make_offer(client, auth, "obv3"))
    nonce = await wallet.nonce(session.issuer_metadata["nonce_endpoint"])
    delivered = await wallet.request_credential(
        session.issuer_metadata["credential_endpoint"],
        session.access_token,
        {
            "credential_configuration_id": CONFIGURATION["obv3"],
            "proofs": {"jwt": [wallet.proof(session.identifier, nonce)]},
        },
    )
    assert delivered.status_code == 200, delivered.text
    badges.append(delivered.json()["credentials"][0]["credential"])

    # An Open Badge handed to the VC-API issue endpoint gets its proof as an array too.
    unsigned = copy.deepcopy(badges[0])
    for name in ("proof", "credentialStatus", "id"):
        del unsigned[name]
    issued = await client.post("/credentials/issue", json={"credential": unsigned}, headers=auth)
    assert issued.status_code == 201, issued.text
    badges.append(issued.json()["verifiableCredential"])

    assert len(badges) == 4
    for badge in badges:
        assert badge["issuer"]["id"] == issuer["did"]
        assert_valid_open_badge(badge)
        await verified(client, badge)


def test_the_schema_check_catches_what_it_must() -> None:
    """A negative control: the three faults the badges had, each found by the schema."""
    badge = build_obv3(
        MicroCredentialIn.model_validate(example_request(format="obv3")),
        example_issuer(),
        credential_id="urn:uuid:8d6f0b6e-3f7a-4b7e-a2c4-1d2b00000001",
        issued=datetime(2026, 7, 1, tzinfo=UTC),
        status={
            "id": "https://x.example/status/1#5",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "5",
            "statusListCredential": "https://x.example/status/1",
        },
    )
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-07-01T00:00:00Z",
        "verificationMethod": "did:web:x.example#key-1",
        "proofPurpose": "assertionMethod",
        "proofValue": "z3yq",
    }
    assert schema_errors({**badge, "proof": [proof]}) == []
    assert schema_errors({**badge, "proof": proof})
    assert schema_errors(
        {**badge, "proof": [proof], "credentialStatus": [badge["credentialStatus"]]}
    )
    wrong = copy.deepcopy(badge)
    wrong["issuer"]["otherIdentifier"][0]["type"] = ["IdentifierEntry"]
    assert any("otherIdentifier" in e for e in schema_errors({**wrong, "proof": [proof]}))
