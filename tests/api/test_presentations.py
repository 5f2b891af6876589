"""POST /presentations/verify: the holder's authentication proof, challenge, domain, holder
binding, then every credential the presentation carries."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import TypeAdapter
from sqlalchemy import update
from sqlmodel import col

from app.config import Settings
from app.crypto.keys import KeyPair
from app.db.models import Nonce
from app.services.verification.results import PresentationVerificationResult
from tests.api.test_verify import (
    INVALID_VERIFICATION_METHOD,
    ISSUER_NOT_A_DID,
    ISSUER_NOT_TRUSTED,
    MALFORMED_PROOF_ERROR,
    MISMATCHED_PROOF_PURPOSE_ERROR,
    ODD_VALUES,
    PROOF_VERIFICATION_ERROR,
    SECURITY,
    VC_DM,
    client_without_rate_limits,
    did_key_method,
    errors_of,
    sign,
    types_of,
    vector,
    verify_presentation,
)
from tests.api.test_verify_issued import REVOKED, change_status, issue
from tests.conftest import problem_of
from tests.factories import issuer_with_key, vc2_credential

PRESENTATION_VERIFICATION_REPLY = TypeAdapter(PresentationVerificationResult)

pytestmark = pytest.mark.anyio

INVALID_CHALLENGE_ERROR = SECURITY + "INVALID_CHALLENGE_ERROR"
INVALID_DOMAIN_ERROR = SECURITY + "INVALID_DOMAIN_ERROR"
CHALLENGE_NOT_CHECKED = "urn:microcred:problem:CHALLENGE_NOT_CHECKED"
DOMAIN = "verifier.example.org"


class Holder:
    """A learner's wallet: a did:key that signs presentations."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.pair = KeyPair.generate()
        self.did, self.method_id = did_key_method(self.pair)

    def present(
        self,
        credentials: list[Any] | dict[str, Any],
        *,
        challenge: str | None = None,
        domain: str | None = DOMAIN,
        purpose: str = "authentication",
        holder: str | None = None,
    ) -> dict[str, Any]:
        presentation = {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiablePresentation"],
            "holder": holder or self.did,
            "verifiableCredential": credentials,
        }
        return sign(
            self.app,
            presentation,
            self.pair,
            self.method_id,
            created=datetime.now(UTC),
            proof_purpose=purpose,
            challenge=challenge,
            domain=domain,
        )


async def new_challenge(client: httpx.AsyncClient) -> str:
    response = await client.post("/challenges")
    assert response.status_code == 201, response.text
    value: str = response.json()["challenge"]
    return value


async def our_credential(
    client: httpx.AsyncClient, admin: dict[str, str], slug: str
) -> tuple[dict[str, Any], dict[str, str]]:
    issuer, auth = await issuer_with_key(client, admin, slug)
    return await issue(client, auth, vc2_credential(issuer["did"])), auth


async def test_a_presentation_and_its_credentials_verify(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    ours, _ = await our_credential(client, admin_headers, random_slug)
    theirs = vector("eddsa-jcs-2022/signedJCS.json")
    challenge = await new_challenge(client)
    holder = Holder(app)
    presentation = holder.present([ours, theirs], challenge=challenge)
    status, reply = await verify_presentation(
        client, presentation, challenge=challenge, domain=DOMAIN
    )
    assert status == 200, reply["errors"]
    result = reply["results"]["presentation"]
    assert result["verified"] is True
    assert result["proof"]["proofs"][0]["controller"] == holder.did
    assert result["holder"] == {"id": holder.did, "controllers": [holder.did], "bound": True}
    assert result["challenge"] == {"verified": True, "state": "accepted"}
    first, second = reply["results"]["credentials"]
    assert first["verified"] and second["verified"]
    assert first["results"]["credentialStatus"]["entries"][0]["source"] == "database"
    assert second["results"]["proof"]["proofs"][0]["cryptosuite"] == "eddsa-jcs-2022"
    # The vector's URL issuer is a warning, pointed at inside the presentation; nobody vouches
    # for either issuer: a trust warning per credential, each with its issuerTrust.
    pointer = "/verifiablePresentation/verifiableCredential/1/issuer"
    assert [(w["type"], w["pointer"]) for w in reply["warnings"]] == [
        (ISSUER_NOT_TRUSTED, "/verifiablePresentation/verifiableCredential/0/issuer"),
        (ISSUER_NOT_A_DID, pointer),
        (ISSUER_NOT_TRUSTED, pointer),
    ]
    assert second["warnings"][0]["pointer"] == pointer
    assert first["results"]["issuerTrust"]["trusted"] is False
    assert second["results"]["issuerTrust"]["trusted"] is False
    assert reply["checks"] == ["presentation", "credentials"]


async def test_a_challenge_works_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    challenge = await new_challenge(client)
    presentation = Holder(app).present(
        [vector("eddsa-jcs-2022/signedJCS.json")], challenge=challenge
    )
    assert (await verify_presentation(client, presentation, challenge=challenge, domain=DOMAIN))[
        0
    ] == 200
    status, reply = await verify_presentation(
        client, presentation, challenge=challenge, domain=DOMAIN
    )
    assert status == 422
    assert errors_of(reply) == [INVALID_CHALLENGE_ERROR]
    assert reply["errors"][0]["pointer"] == "/verifiablePresentation/proof"
    assert reply["results"]["presentation"]["challenge"] == {"verified": False, "state": "used"}
    assert reply["results"]["presentation"]["proof"]["verified"] is True


async def test_of_concurrent_uses_of_a_challenge_only_one_succeeds(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    challenge = await new_challenge(client)
    presentation = Holder(app).present([], challenge=challenge)
    replies = await asyncio.gather(
        *(
            verify_presentation(client, presentation, challenge=challenge, domain=DOMAIN)
            for _ in range(5)
        )
    )
    assert sorted(status for status, _ in replies) == [200, 422, 422, 422, 422]
    states = sorted(reply["results"]["presentation"]["challenge"]["state"] for _, reply in replies)
    assert states == ["accepted", "used", "used", "used", "used"]


async def test_an_expired_challenge_fails(app: FastAPI, client: httpx.AsyncClient) -> None:
    challenge = await new_challenge(client)
    async with app.state.services.sessionmaker() as session:
        await session.exec(
            update(Nonce)
            .where(col(Nonce.value) == challenge)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    presentation = Holder(app).present([], challenge=challenge)
    status, reply = await verify_presentation(
        client, presentation, challenge=challenge, domain=DOMAIN
    )
    assert status == 422
    assert errors_of(reply) == [INVALID_CHALLENGE_ERROR]
    assert reply["results"]["presentation"]["challenge"]["state"] == "expired"


async def test_a_wrong_challenge_fails_and_does_not_use_up_the_right_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    challenge = await new_challenge(client)
    other = await new_challenge(client)
    presentation = Holder(app).present([], challenge=challenge)
    status, reply = await verify_presentation(client, presentation, challenge=other, domain=DOMAIN)
    assert status == 422
    assert errors_of(reply) == [INVALID_CHALLENGE_ERROR]
    assert reply["results"]["presentation"]["challenge"] == {"verified": False, "state": None}
    # Neither challenge was consumed by the failed attempt.
    status, _ = await verify_presentation(client, presentation, challenge=challenge, domain=DOMAIN)
    assert status == 200


async def test_a_wrong_domain_fails(app: FastAPI, client: httpx.AsyncClient) -> None:
    challenge = await new_challenge(client)
    presentation = Holder(app).present([], challenge=challenge)
    status, reply = await verify_presentation(
        client, presentation, challenge=challenge, domain="phisher.example"
    )
    assert status == 422
    assert errors_of(reply) == [INVALID_DOMAIN_ERROR]


async def test_challenges_not_issued_here_are_the_callers_to_check(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    holder = Holder(app)
    status, reply = await verify_presentation(
        client, holder.present([], challenge="caller-1234"), challenge="caller-1234", domain=DOMAIN
    )
    assert status == 200
    assert reply["results"]["presentation"]["challenge"]["state"] == "unknown"
    assert types_of(reply["warnings"]) == [CHALLENGE_NOT_CHECKED]
    # Without a challenge at all, replay protection is not checked either: a warning.
    status, reply = await verify_presentation(client, holder.present([]), domain=DOMAIN)
    assert status == 200
    assert types_of(reply["warnings"]) == [CHALLENGE_NOT_CHECKED]
    # A value in our form that this service does not hold is refused, never waved through.
    status, reply = await verify_presentation(
        client, holder.present([], challenge="mcc_forged"), challenge="mcc_forged", domain=DOMAIN
    )
    assert status == 422
    assert errors_of(reply) == [INVALID_CHALLENGE_ERROR]


async def test_the_holder_must_have_signed_the_presentation(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    someone_else, _ = did_key_method(KeyPair.generate())
    presentation = Holder(app).present([], holder=someone_else)
    status, reply = await verify_presentation(client, presentation, domain=DOMAIN)
    assert status == 422
    assert errors_of(reply) == [INVALID_VERIFICATION_METHOD]
    assert reply["errors"][0]["pointer"] == "/verifiablePresentation/holder"
    assert reply["results"]["presentation"]["holder"]["bound"] is False


async def test_an_assertion_proof_does_not_authenticate(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    presentation = Holder(app).present([], purpose="assertionMethod")
    status, reply = await verify_presentation(client, presentation, domain=DOMAIN)
    assert status == 422
    assert errors_of(reply) == [MISMATCHED_PROOF_PURPOSE_ERROR]


async def test_a_presentation_without_proof_fails(client: httpx.AsyncClient) -> None:
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [vector("eddsa-rdfc-2022/signedDataInt.json")],
    }
    status, reply = await verify_presentation(client, presentation)
    assert status == 422
    assert errors_of(reply) == [MALFORMED_PROOF_ERROR]
    assert reply["results"]["credentials"][0]["verified"] is True


async def test_a_revoked_credential_fails_the_presentation_alone(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    ours, auth = await our_credential(client, admin_headers, random_slug)
    await change_status(client, auth, ours, "revocation", True)
    theirs = vector("eddsa-rdfc-2022/signedDataInt.json")
    presentation = Holder(app).present([theirs, ours])
    status, reply = await verify_presentation(client, presentation, domain=DOMAIN)
    assert status == 422
    assert reply["results"]["presentation"]["verified"] is True
    assert [c["verified"] for c in reply["results"]["credentials"]] == [True, False]
    assert errors_of(reply) == [REVOKED]
    pointer = "/verifiablePresentation/verifiableCredential/1/credentialStatus"
    assert reply["errors"][0]["pointer"] == pointer


async def test_a_single_credential_is_pointed_at_without_an_index(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    forged = vector("eddsa-rdfc-2022/signedDataInt.json")
    forged["credentialSubject"]["alumniOf"] = "Elsewhere"
    presentation = Holder(app).present(forged)
    status, reply = await verify_presentation(client, presentation, domain=DOMAIN)
    assert status == 422
    assert reply["results"]["presentation"]["verified"] is True
    assert errors_of(reply) == [PROOF_VERIFICATION_ERROR]
    pointer = reply["errors"][0]["pointer"]
    assert pointer == "/verifiablePresentation/verifiableCredential/proof"


async def test_a_credential_changed_after_presenting_fails_both_proofs(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    presentation = Holder(app).present([vector("eddsa-rdfc-2022/signedDataInt.json")])
    presentation["verifiableCredential"][0]["credentialSubject"]["alumniOf"] = "Elsewhere"
    status, reply = await verify_presentation(client, presentation, domain=DOMAIN)
    assert status == 422
    assert errors_of(reply) == [PROOF_VERIFICATION_ERROR, PROOF_VERIFICATION_ERROR]
    assert [e["pointer"] for e in reply["errors"]] == [
        "/verifiablePresentation/proof",
        "/verifiablePresentation/verifiableCredential/0/proof",
    ]


async def test_an_item_that_is_not_a_credential_is_reported_in_its_place(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    presentation = Holder(app).present(
        [vector("eddsa-rdfc-2022/signedDataInt.json"), "eyJhbGciOiJFZERTQSJ9.e30.c2ln"]
    )
    status, reply = await verify_presentation(client, presentation, domain=DOMAIN)
    assert status == 422
    assert errors_of(reply) == [VC_DM + "PARSING_ERROR"]
    assert reply["errors"][0]["pointer"] == "/verifiablePresentation/verifiableCredential/1"
    assert reply["results"]["credentials"][1]["results"] is None


async def test_fifty_credentials_are_verified_and_more_are_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    credential = vector("eddsa-jcs-2022/signedJCS.json")
    holder = Holder(app)
    fifty = holder.present([copy.deepcopy(credential) for _ in range(50)], domain=None)
    status, reply = await verify_presentation(client, fifty)
    assert status == 200, reply["errors"]
    assert len(reply["results"]["credentials"]) == 50
    too_many = holder.present([copy.deepcopy(credential) for _ in range(51)], domain=None)
    status, reply = await verify_presentation(client, too_many)
    assert status == 422
    assert errors_of(reply) == [VC_DM + "RANGE_ERROR"]
    assert reply["results"]["credentials"] == []
    assert reply["results"]["presentation"] == {"verified": False, "form": {"verified": True}}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"verifiablePresentation": "a string"},
        {"verifiablePresentation": {"type": ["VerifiablePresentation"]}},
        {"verifiablePresentation": vector("eddsa-rdfc-2022/signedDataInt.json")},
        {"verifiableCredential": vector("eddsa-rdfc-2022/signedDataInt.json")},
    ],
)
async def test_a_body_that_is_not_a_presentation_is_400(
    client: httpx.AsyncClient, body: Any
) -> None:
    response = await client.post("/presentations/verify", json=body)
    assert response.status_code == 400, response.text
    assert problem_of(response)["type"] == VC_DM + "PARSING_ERROR"


async def test_odd_values_in_a_presentation_give_a_result_never_a_500(
    app: FastAPI, settings: Settings
) -> None:
    signed = Holder(app).present([vector("eddsa-rdfc-2022/signedDataInt.json")])
    places = ["@context", "holder", "verifiableCredential", "proof"]
    async with client_without_rate_limits(settings) as client:
        for place in places:
            for value in ODD_VALUES:
                presentation = {**copy.deepcopy(signed), place: copy.deepcopy(value)}
                for options in ({}, {"challenge": "mcc_x", "domain": DOMAIN}):
                    response = await client.post(
                        "/presentations/verify",
                        json={"verifiablePresentation": presentation, "options": options},
                    )
                    assert response.status_code in (200, 400, 422), (place, value)
                    if response.status_code == 400:
                        problem_of(response)
                    else:
                        PRESENTATION_VERIFICATION_REPLY.validate_python(response.json())
