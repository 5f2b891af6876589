"""Stacked micro-credentials (issue 20, part 1) over HTTP: a credential awarded for earlier ones.

Three micro-credentials of two universities (two EDCs and an Open Badge) are stacked into an EDC
and into an Open Badge; each records its parts with their digests, conforms to its schema (EDC
SHACL shapes, the 1EdTech JSON Schema) and verifies with its parts as a tree. Revoking one part
is reported on that part; parts of another learner, unknown ids and tampered copies are refused
with one error per bad part.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from app.credentials.stack import DIGEST_SCHEME, PART_ID_SCHEME, digest_sri
from tests.conftest import problem_of
from tests.factories import issuer_with_key, microcredential_body, vc2_credential
from tests.obv3_schema import schema_errors

pytestmark = pytest.mark.anyio

STACK_PART = "urn:microcred:problem:STACK_PART"
STACK_PART_REFUSED = "urn:microcred:problem:STACK_PART_REFUSED"
STACK_PART_NOT_VERIFIED = "urn:microcred:problem:STACK_PART_NOT_VERIFIED"
STACK_PART_UNREACHABLE = "urn:microcred:problem:STACK_PART_UNREACHABLE"


async def _issue(client: httpx.AsyncClient, auth: dict[str, str], body: Any) -> Any:
    response = await client.post("/microcredentials", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()["verifiableCredential"]


async def _verify(client: httpx.AsyncClient, credential: Any) -> tuple[int, dict[str, Any]]:
    response = await client.post("/credentials/verify", json={"verifiableCredential": credential})
    body: dict[str, Any] = response.json()
    return response.status_code, body


async def _revoke(client: httpx.AsyncClient, auth: dict[str, str], credential: Any) -> None:
    body = {
        "credentialId": credential["id"],
        "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"},
        "status": True,
    }
    response = await client.post("/credentials/status", json=body, headers=auth)
    assert response.status_code == 200, response.text


def _part_body(format: str, title: str, ects: str, hours: str | None = None) -> dict[str, Any]:
    workload: dict[str, str] = {"ects": ects}
    if hours is not None:
        workload["hours"] = hours
    return microcredential_body(format, title={"en": title}, workload=workload)


async def _three_parts(
    client: httpx.AsyncClient, admin: dict[str, str], slug: str
) -> tuple[dict[str, str], dict[str, str], list[Any], dict[str, Any]]:
    """Two universities: A issues two EDCs, B an Open Badge, all to the example learner."""
    issuer_a, auth_a = await issuer_with_key(client, admin, slug)
    issuer_b, auth_b = await issuer_with_key(
        client, admin, slug + "-b", name={"en": "Universidad de Ejemplo"}, country="ESP"
    )
    parts = [
        await _issue(client, auth_a, _part_body("edc", "Data literacy", "2", "50")),
        await _issue(client, auth_a, _part_body("edc", "Statistics", "3", "75")),
        await _issue(client, auth_b, _part_body("obv3", "Machine learning", "5")),
    ]
    return auth_a, auth_b, parts, {"a": issuer_a, "b": issuer_b}


def _edc_has_part(credential: dict[str, Any]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = credential["credentialSubject"]["hasClaim"][0]["hasPart"]
    return parts


def _identifiers(node: dict[str, Any]) -> dict[str, str]:
    return {entry["schemeName"]: entry["notation"] for entry in node["identifier"]}


async def test_a_stack_of_three_parts_from_two_issuers_is_issued_and_verified_as_a_tree(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    auth_a, _, parts, issuers = await _three_parts(client, admin_headers, random_slug)
    # By id (ours and the other university's) and whole.
    body = microcredential_body(
        "edc",
        title={"en": "Data science"},
        workload={"hours": "200"},
        stack={"parts": [parts[0]["id"], parts[1], parts[2]["id"]]},
    )
    stacked = await _issue(client, auth_a, body)

    recorded = _edc_has_part(stacked)
    assert [_identifiers(node)[PART_ID_SCHEME] for node in recorded] == [p["id"] for p in parts]
    assert [_identifiers(node)[DIGEST_SCHEME] for node in recorded] == [
        digest_sri(p) for p in parts
    ]
    assert [node["title"]["en"] for node in recorded] == [
        "Data literacy",
        "Statistics",
        "Machine learning",
    ]
    # The other university's part names it as its awarding body, with its country.
    body_b = recorded[2]["awardedBy"]["awardingBody"][0]
    assert body_b["id"] == issuers["b"]["did"] and body_b["type"] == "Organisation"
    assert body_b["location"][0]["address"][0]["countryCode"]["id"].endswith("/ESP")
    # ECTS left out: the sum of the parts' (2 + 3 + 5); hours given (200 >= 125) kept.
    specification = stacked["credentialSubject"]["hasClaim"][0]["specifiedBy"]
    assert specification["creditPoint"][0]["point"] == "10"
    assert specification["volumeOfLearning"] == "PT200H"

    # The audit trail records the parts with their digests.
    response = await client.get(f"/admin/audit?issuer={random_slug}", headers=admin_headers)
    [event] = [
        e
        for e in response.json()["events"]
        if e["action"] == "credential.issued" and "stack" in (e.get("details") or {})
    ]
    assert event["details"]["stack"] == [{"id": p["id"], "digestSRI": digest_sri(p)} for p in parts]

    status, reply = await _verify(client, stacked)
    assert status == 200, reply["errors"]
    assert reply["results"]["credentialSchema"]["verified"] is True  # the EDC SHACL shapes
    tree = reply["results"]["parts"]
    assert [entry["id"] for entry in tree] == [p["id"] for p in parts]
    assert [entry["issuer"] for entry in tree] == [issuers["a"]["did"]] * 2 + [issuers["b"]["did"]]
    for entry in tree:
        assert entry["verified"] is True and entry["reachable"] is True
        assert entry["digestMatches"] is True and entry["revoked"] is False
        assert "proof" in entry["checks"] and entry["parts"] == []
    assert not [w for w in reply["warnings"] if w["type"].startswith(STACK_PART)]


async def test_a_stack_of_stacks_is_verified_as_a_nested_tree(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    auth_a, _, parts, _ = await _three_parts(client, admin_headers, random_slug)
    inner = await _issue(
        client,
        auth_a,
        microcredential_body(
            "obv3", workload={"ects": "7"}, stack={"parts": [parts[0]["id"], parts[2]["id"]]}
        ),
    )
    outer = await _issue(
        client,
        auth_a,
        microcredential_body(
            "edc", workload={"ects": "20"}, stack={"parts": [inner["id"], parts[1]["id"]]}
        ),
    )
    status, reply = await _verify(client, outer)
    assert status == 200, reply["errors"]
    tree = reply["results"]["parts"]
    assert tree[0]["id"] == inner["id"] and tree[0]["verified"] is True
    assert [entry["id"] for entry in tree[0]["parts"]] == [parts[0]["id"], parts[2]["id"]]
    assert all(entry["verified"] for entry in tree[0]["parts"])


async def test_an_open_badge_stack_validates_against_the_1edtech_schema(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth_b, parts, _ = await _three_parts(client, admin_headers, random_slug)
    stacked = await _issue(
        client,
        auth_b,
        microcredential_body(
            "obv3", workload={"ects": "12"}, stack={"parts": [p["id"] for p in parts]}
        ),
    )
    assert schema_errors(stacked) == []
    evidence = stacked["evidence"]
    assert [entry["id"] for entry in evidence] == [p["id"] for p in parts]
    assert [entry["digestSRI"] for entry in evidence] == [digest_sri(p) for p in parts]
    assert all(entry["type"] == ["Evidence"] for entry in evidence)
    status, reply = await _verify(client, stacked)
    assert status == 200, reply["errors"]
    assert [entry["verified"] for entry in reply["results"]["parts"]] == [True] * 3


async def test_revoking_a_part_makes_the_stack_report_that_part_revoked(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    auth_a, auth_b, parts, _ = await _three_parts(client, admin_headers, random_slug)
    stacked = await _issue(
        client,
        auth_a,
        microcredential_body(
            "edc",
            workload={"ects": "10", "hours": "125"},
            stack={"parts": [p["id"] for p in parts]},
        ),
    )
    await _revoke(client, auth_b, parts[2])
    status, reply = await _verify(client, stacked)
    # The stack's own proof and status hold; the revoked part is reported, with a warning.
    assert status == 200, reply["errors"]
    tree = reply["results"]["parts"]
    assert [entry["revoked"] for entry in tree] == [False, False, True]
    assert [entry["verified"] for entry in tree] == [True, True, False]
    revoked = [w for w in reply["warnings"] if w["type"] == STACK_PART_NOT_VERIFIED]
    assert len(revoked) == 1 and "revoked" in revoked[0]["detail"]
    assert revoked[0]["pointer"] == "/verifiableCredential/credentialSubject/hasClaim/0/hasPart/2"
    assert any(e["type"].endswith("CREDENTIAL_REVOKED") for e in tree[2]["errors"])

    # And a revoked part cannot be stacked any more.
    response = await client.post(
        "/microcredentials",
        json=microcredential_body(
            "edc", workload={"ects": "10"}, stack={"parts": [p["id"] for p in parts]}
        ),
        headers=auth_a,
    )
    assert response.status_code == 422
    problem = problem_of(response)
    assert problem["type"] == STACK_PART_REFUSED
    assert problem["errors"] == [{"pointer": "/stack/parts/2", "detail": "it is revoked"}]


async def test_parts_of_another_learner_unknown_or_tampered_are_each_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    auth_a, auth_b, parts, _ = await _three_parts(client, admin_headers, random_slug)
    someone_else = await _issue(
        client,
        auth_b,
        microcredential_body(
            "edc",
            learner={
                "givenName": "Seán",
                "familyName": "Ó Brien",
                "identifier": {"scheme": "student-number", "value": "S7654321"},
            },
        ),
    )
    tampered = copy.deepcopy(parts[1])
    tampered["credentialSubject"]["hasClaim"][0]["title"]["en"] = "Advanced statistics"
    body = microcredential_body(
        "edc",
        stack={
            "parts": [
                parts[0]["id"],
                someone_else["id"],
                "urn:uuid:00000000-0000-4000-8000-000000000000",
                tampered,
                parts[0]["id"],
            ]
        },
    )
    response = await client.post("/microcredentials", json=body, headers=auth_a)
    assert response.status_code == 422, response.text
    problem = problem_of(response)
    assert problem["type"] == STACK_PART_REFUSED
    errors = {error["pointer"]: error["detail"] for error in problem["errors"]}
    assert sorted(errors) == [f"/stack/parts/{i}" for i in (1, 2, 3, 4)]
    assert "another person" in errors["/stack/parts/1"]
    assert errors["/stack/parts/2"].startswith("unknown id")
    assert "differs from the credential this service holds" in errors["/stack/parts/3"]
    assert errors["/stack/parts/4"] == "the same credential as part 0"

    # A tampered part this service does not hold is refused by its proof.
    foreign = copy.deepcopy(tampered)
    foreign["id"] = "urn:uuid:11111111-1111-4111-8111-111111111111"
    response = await client.post(
        "/microcredentials",
        json=microcredential_body("obv3", stack={"parts": [foreign]}),
        headers=auth_a,
    )
    assert response.status_code == 422
    [error] = problem_of(response)["errors"]
    assert error["pointer"] == "/stack/parts/0" and "does not verify" in error["detail"]


async def test_a_workload_below_its_parts_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    auth_a, _, parts, _ = await _three_parts(client, admin_headers, random_slug)
    body = microcredential_body(
        "edc", workload={"ects": "4"}, stack={"parts": [p["id"] for p in parts]}
    )
    response = await client.post("/microcredentials", json=body, headers=auth_a)
    assert response.status_code == 422
    [error] = problem_of(response)["errors"]
    assert error["pointer"] == "/workload/ects" and "10" in error["detail"]


async def test_a_stack_is_issued_from_a_course(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    auth_a, _, parts, _ = await _three_parts(client, admin_headers, random_slug)
    course = {
        name: value
        for name, value in microcredential_body(
            "edc", workload={"ects": "7", "hours": "60"}
        ).items()
        if name not in ("format", "cryptosuite", "learner", "awardedOn", "grade", "validUntil")
    }
    response = await client.post("/courses", json=course, headers=auth_a)
    assert response.status_code == 201, response.text
    course_id = response.json()["id"]
    learner = microcredential_body("edc")["learner"]
    facts = {
        "format": "obv3",
        "learner": learner,
        "awardedOn": "2026-06-30",
        "stack": {"parts": [parts[0]["id"], parts[2]["id"]]},
    }
    response = await client.post(f"/courses/{course_id}/credentials", json=facts, headers=auth_a)
    assert response.status_code == 201, response.text
    stacked = response.json()["verifiableCredential"]
    assert [entry["id"] for entry in stacked["evidence"]] == [parts[0]["id"], parts[2]["id"]]
    assert schema_errors(stacked) == []

    other = {**facts, "learner": {"email": "someone@example.org"}}
    response = await client.post(f"/courses/{course_id}/credentials", json=other, headers=auth_a)
    assert response.status_code == 422
    assert [e["pointer"] for e in problem_of(response)["errors"]] == [
        "/stack/parts/0",
        "/stack/parts/1",
    ]


async def test_a_stack_in_a_batch_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    auth_a, _, parts, _ = await _three_parts(client, admin_headers, random_slug)
    item = microcredential_body("edc", stack={"parts": [parts[0]["id"]]})
    response = await client.post("/microcredentials/batch", json={"items": [item]}, headers=auth_a)
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result["status"] == 422
    assert result["problem"]["errors"][0]["pointer"] == "/items/0/stack"


async def test_the_parts_verified_are_those_the_proof_covers(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    auth_a, _, parts, _ = await _three_parts(client, admin_headers, random_slug)
    stacked = await _issue(
        client,
        auth_a,
        microcredential_body(
            "edc", workload={"ects": "10"}, stack={"parts": [p["id"] for p in parts]}
        ),
    )
    # Another part swapped in (its id and digest): the stack's proof fails.
    swapped = copy.deepcopy(stacked)
    node = _edc_has_part(swapped)[0]
    node["identifier"] = [
        {
            **entry,
            "notation": parts[1]["id"]
            if entry["schemeName"] == PART_ID_SCHEME
            else digest_sri(parts[1]),
        }
        for entry in node["identifier"]
    ]
    status, reply = await _verify(client, swapped)
    assert status == 422 and reply["results"]["proof"]["verified"] is False
    # hasPart spelled as its full IRI: not the one reading, so no part is read from it.
    respelled = copy.deepcopy(stacked)
    claim = respelled["credentialSubject"]["hasClaim"][0]
    claim["http://data.europa.eu/snb/model/elm/hasPart"] = claim.pop("hasPart")
    status, reply = await _verify(client, respelled)
    assert status == 422 and [e["type"] for e in reply["errors"]] == [
        "urn:microcred:problem:NOT_PINNED_FORM"
    ]
    assert "parts" not in reply["results"]


async def test_parts_not_held_here_or_held_with_another_digest_are_reported(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    """A credential (VC-API) recording parts as evidence with digests, as an Open Badge does:
    one this service does not hold, one it holds under another digest."""
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug)
    held = await _issue(client, auth, _part_body("obv3", "Held", "1"))
    unknown = "urn:uuid:22222222-2222-4222-8222-222222222222"
    credential = vc2_credential(
        issuer["did"],
        evidence=[
            {"id": unknown, "type": ["Evidence"], "digestSRI": "sha384-" + "A" * 64},
            {"id": held["id"], "type": ["Evidence"], "digestSRI": "sha384-" + "B" * 64},
        ],
    )
    response = await client.post(
        "/credentials/issue", json={"credential": credential}, headers=auth
    )
    assert response.status_code == 201, response.text
    status, reply = await _verify(client, response.json()["verifiableCredential"])
    assert status == 200, reply["errors"]
    [far, changed] = reply["results"]["parts"]
    assert far["id"] == unknown and far["reachable"] is False and far["verified"] is None
    assert changed["reachable"] is True and changed["digestMatches"] is False
    assert changed["verified"] is False and changed["issuer"] == issuer["did"]
    warnings = {w["pointer"]: w["type"] for w in reply["warnings"]}
    assert warnings["/verifiableCredential/evidence/0"] == STACK_PART_UNREACHABLE
    assert warnings["/verifiableCredential/evidence/1"] == STACK_PART_NOT_VERIFIED


def _course_body(title: str, ects: str, **extra: Any) -> dict[str, Any]:
    body = microcredential_body("edc", title={"en": title}, workload={"ects": ects})
    course = {
        name: value
        for name, value in body.items()
        if name not in ("format", "cryptosuite", "learner", "awardedOn", "grade", "validUntil")
    }
    return {**course, **extra}


async def _course(client: httpx.AsyncClient, auth: dict[str, str], body: Any) -> str:
    response = await client.post("/courses", json=body, headers=auth)
    assert response.status_code == 201, response.text
    course_id: str = response.json()["id"]
    return course_id


async def test_a_course_that_is_a_stack_of_courses_stacks_the_learners_credentials(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth_a = await issuer_with_key(client, admin_headers, random_slug)
    _, auth_b = await issuer_with_key(client, admin_headers, random_slug + "-b", country="ESP")
    first = await _course(client, auth_a, _course_body("Data literacy", "2"))
    second = await _course(client, auth_b, _course_body("Machine learning", "5"))
    stack = await _course(
        client, auth_a, _course_body("Data science", "7", stackOf=[first, second])
    )
    learner = microcredential_body("edc")["learner"]
    facts = {"format": "edc", "learner": learner, "awardedOn": "2026-06-30"}

    # The learner has no credential of the second course yet.
    response = await client.post(f"/courses/{first}/credentials", json=facts, headers=auth_a)
    assert response.status_code == 201, response.text
    part_1 = response.json()["verifiableCredential"]
    response = await client.post(f"/courses/{stack}/credentials", json=facts, headers=auth_a)
    assert response.status_code == 422
    [error] = problem_of(response)["errors"]
    assert error["pointer"] == "/stack" and second in error["detail"]

    response = await client.post(
        f"/courses/{second}/credentials", json={**facts, "format": "obv3"}, headers=auth_b
    )
    assert response.status_code == 201, response.text
    part_2 = response.json()["verifiableCredential"]
    keyed = {**auth_a, "Idempotency-Key": f"course-stack-{random_slug}"}
    response = await client.post(f"/courses/{stack}/credentials", json=facts, headers=keyed)
    assert response.status_code == 201, response.text
    stacked = response.json()["verifiableCredential"]
    await _revoke(client, auth_b, part_2)  # a retry still replays the first credential
    again = await client.post(f"/courses/{stack}/credentials", json=facts, headers=keyed)
    assert again.status_code == 201 and again.json()["verifiableCredential"] == stacked
    assert [_identifiers(node)[PART_ID_SCHEME] for node in _edc_has_part(stacked)] == [
        part_1["id"],
        part_2["id"],
    ]
    status, reply = await _verify(client, stacked)
    assert status == 200, reply["errors"]
    assert [entry["revoked"] for entry in reply["results"]["parts"]] == [False, True]


async def test_stack_of_names_courses_held_here(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    unknown = "00000000-0000-4000-8000-000000000000"
    response = await client.post(
        "/courses", json=_course_body("Stack", "7", stackOf=[unknown]), headers=auth
    )
    assert response.status_code == 422
    assert problem_of(response)["errors"] == [
        {"pointer": "/stackOf/0", "detail": f"no course {unknown!r} is held here"}
    ]
    course = await _course(client, auth, _course_body("Alone", "2"))
    response = await client.put(
        f"/courses/{course}", json=_course_body("Alone", "2", stackOf=[course]), headers=auth
    )
    assert response.status_code == 422
    assert problem_of(response)["errors"][0]["pointer"] == "/stackOf/0"


async def test_a_retried_stack_replays_even_when_a_part_was_revoked_since(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    auth_a, _, parts, _ = await _three_parts(client, admin_headers, random_slug)
    body = microcredential_body(
        "edc", workload={"ects": "10"}, stack={"parts": [p["id"] for p in parts]}
    )
    headers = {**auth_a, "Idempotency-Key": f"stack-{random_slug}"}
    first = await client.post("/microcredentials", json=body, headers=headers)
    assert first.status_code == 201, first.text
    await _revoke(client, auth_a, parts[0])
    again = await client.post("/microcredentials", json=body, headers=headers)
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    other = await client.post(
        "/microcredentials", json={**body, "title": {"en": "Other"}}, headers=headers
    )
    assert other.status_code == 409
