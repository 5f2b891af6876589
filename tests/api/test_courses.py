"""Courses: create, read, edit (versions), issue from a course, scopes and tenant isolation."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from app.credentials.course import LEARNER_FIELDS
from app.credentials.examples import example_request
from tests.conftest import problem_of
from tests.factories import issuer_with_key

pytestmark = pytest.mark.anyio

PUBLIC = "https://credentials.example.edu"


def course_body(**overrides: Any) -> dict[str, Any]:
    body = {k: v for k, v in example_request().items() if k not in LEARNER_FIELDS}
    body.update({"published": True, "languages": ["en"], "subjects": ["0613"]})
    body.update(overrides)
    return body


def learner_facts(format: str = "edc", **overrides: Any) -> dict[str, Any]:
    facts = {k: v for k, v in example_request(format=format).items() if k in LEARNER_FIELDS}
    del facts["learner"]["id"]
    facts.update(overrides)
    return facts


async def test_create_read_list_and_validation(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    created = await client.post("/courses", json=course_body(), headers=auth)
    assert created.status_code == 201, created.text
    course = created.json()
    assert created.headers["location"] == f"/courses/{course['id']}"
    assert course["version"] == 1 and course["frozen"] is False and course["published"] is True
    assert course["publicUrl"] == f"{PUBLIC}/catalogue/{random_slug}/courses/{course['id']}/1"
    # normalised as a micro-credential is: short names become concept URIs
    assert course["subjects"] == ["http://data.europa.eu/snb/isced-f/0613"]
    assert course["title"] == example_request()["title"]

    read = await client.get(f"/courses/{course['id']}", headers=auth)
    assert read.status_code == 200 and read.json() == course
    listed = await client.get("/courses", headers=auth)
    assert [item["id"] for item in listed.json()["items"]] == [course["id"]]

    bad = course_body(eqfLevel=9, learner={"email": "a@b.example"})
    del bad["learningOutcomes"]
    refused = await client.post("/courses", json=bad, headers=auth)
    assert refused.status_code == 422
    pointers = {error["pointer"] for error in problem_of(refused)["errors"]}
    assert pointers == {"/eqfLevel", "/learner", "/learningOutcomes"}


async def test_scopes_and_other_issuers(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    _, other = await issuer_with_key(client, admin_headers, random_slug + "-b")
    _, reader = await issuer_with_key(
        client, admin_headers, random_slug + "-c", scopes=("courses:read",)
    )
    course = (await client.post("/courses", json=course_body(), headers=auth)).json()
    for method, path, body in [
        ("GET", f"/courses/{course['id']}", None),
        ("PUT", f"/courses/{course['id']}", course_body()),
        ("POST", f"/courses/{course['id']}/credentials", learner_facts()),
    ]:
        response = await client.request(method, path, json=body, headers=other)
        assert response.status_code == 404, (method, path, response.text)
    assert (await client.get("/courses", headers=other)).json() == {"items": []}
    assert (await client.post("/courses", json=course_body(), headers=reader)).status_code == 403
    assert (await client.post("/courses", json=course_body())).status_code == 401


async def test_versions_freeze_once_credentials_are_issued(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    course = (await client.post("/courses", json=course_body(), headers=auth)).json()
    course_id = course["id"]
    url_v1 = f"{PUBLIC}/catalogue/{random_slug}/courses/{course_id}/1"

    # No credential yet: an edit replaces version 1.
    edited = await client.put(f"/courses/{course_id}", json=course_body(eqfLevel=5), headers=auth)
    assert edited.status_code == 200 and edited.json()["version"] == 1
    assert edited.json()["eqfLevel"] == 5

    first = await client.post(
        f"/courses/{course_id}/credentials", json=learner_facts(), headers=auth
    )
    assert first.status_code == 201, first.text
    vc1 = first.json()["verifiableCredential"]
    opportunity = vc1["credentialSubject"]["hasClaim"][0]["learningOpportunity"]
    assert opportunity["id"] == url_v1
    assert opportunity["homepage"][0]["contentURL"] == url_v1
    specification = vc1["credentialSubject"]["hasClaim"][0]["specifiedBy"]
    assert specification["eqfLevel"]["id"].endswith("/eqf/5")
    assert (await client.get(f"/courses/{course_id}", headers=auth)).json()["frozen"] is True

    # Version 1 has a credential: the edit makes version 2 and leaves version 1 as it was.
    new_title = {"en": "Digital micro-credential creation, second edition"}
    edited = await client.put(
        f"/courses/{course_id}", json=course_body(title=new_title, eqfLevel=6), headers=auth
    )
    assert edited.status_code == 200
    assert edited.json()["version"] == 2 and edited.json()["frozen"] is False
    assert edited.json()["publicUrl"].endswith(f"/courses/{course_id}/2")
    v1 = (await client.get(f"/courses/{course_id}?version=1", headers=auth)).json()
    assert v1["title"] == example_request()["title"] and v1["eqfLevel"] == 5 and v1["frozen"]
    assert (await client.get(f"/courses/{course_id}?version=3", headers=auth)).status_code == 404

    second = await client.post(
        f"/courses/{course_id}/credentials", json=learner_facts("obv3"), headers=auth
    )
    assert second.status_code == 201, second.text
    vc2 = second.json()["verifiableCredential"]
    assert vc2["credentialSubject"]["achievement"]["id"].endswith(f"/courses/{course_id}/2")
    assert vc2["credentialSubject"]["achievement"]["name"] == new_title["en"]

    # The credential of version 1, as stored, still points to version 1.
    stored = await client.get(f"/credentials/{vc1['id']}", headers=auth)
    stored_claim = stored.json()["verifiableCredential"]["credentialSubject"]["hasClaim"][0]
    assert stored_claim["learningOpportunity"]["id"] == url_v1
    assert stored_claim["title"] == example_request()["title"]

    # Both verify.
    for vc in (vc1, vc2):
        verdict = await client.post("/credentials/verify", json={"verifiableCredential": vc})
        assert verdict.status_code == 200, verdict.text


async def test_issue_from_course_checks_learner_facts_and_replays(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    course_id = (await client.post("/courses", json=course_body(), headers=auth)).json()["id"]
    path = f"/courses/{course_id}/credentials"

    bad = learner_facts(awardedOn="2026-13-01", title={"en": "not a learner fact"})
    bad["learner"] = {"givenName": "Aoife"}
    refused = await client.post(path, json=bad, headers=auth)
    assert refused.status_code == 422
    pointers = {error["pointer"] for error in problem_of(refused)["errors"]}
    assert pointers == {"/awardedOn", "/title", "/learner"}

    facts = learner_facts(supervision="unsupervised-without-id-verification", grade="Pass")
    headers = {**auth, "Idempotency-Key": "course-row-1"}
    first = await client.post(path, json=facts, headers=headers)
    again = await client.post(path, json=copy.deepcopy(facts), headers=headers)
    assert first.status_code == 201 and again.status_code == 201
    assert first.json() == again.json()
    assessment = first.json()["verifiableCredential"]["credentialSubject"]["hasClaim"][0][
        "provenBy"
    ][0]
    assert assessment["idVerification"]["id"].startswith(
        "http://data.europa.eu/snb/supervision-verification/"
    )
    other = await client.post(path, json=learner_facts(grade="Merit"), headers=headers)
    assert other.status_code == 409
