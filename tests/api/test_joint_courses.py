"""Jointly awarded courses over HTTP: a course of three universities of an alliance (two hosted
here, one elsewhere) drafts each learner's credential as a joint credential, which points to the
course version's public page, is released once every body has signed, verifies with each body's
proof and is found by its course. Bodies that cannot award are refused when the course is
stored; a cohort of a joint course, and issuing it alone in a form that cannot be joint, are
refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.credentials.shacl import validate_edc
from tests.api.test_cohorts import as_csv, cohort_rows
from tests.api.test_courses import course_body, learner_facts
from tests.api.test_joint_credentials import LOADER, Elsewhere, add_proof, alliance
from tests.api.test_verify import verify
from tests.conftest import problem_of
from tests.obv3_schema import assert_valid_open_badge

pytestmark = pytest.mark.anyio


async def joint_course(
    client: httpx.AsyncClient, auth: dict[str, str], bodies: list[dict[str, Any]]
) -> httpx.Response:
    return await client.post("/courses", json=course_body(jointAwardingBodies=bodies), headers=auth)


def course_link(credential: dict[str, Any], fmt: str) -> str:
    """The course page the credential points to (see app.credentials.course.link_to_course)."""
    subject = credential["credentialSubject"]
    if fmt == "obv3":
        return str(subject["achievement"]["id"])
    return str(subject["hasClaim"][0]["learningOpportunity"]["id"])


@pytest.mark.parametrize("fmt", ["edc", "obv3"])
async def test_a_joint_course_drafts_a_credential_every_body_signs(
    client: httpx.AsyncClient, admin_headers: dict[str, str], fmt: str
) -> None:
    (lead, lead_auth), (co, co_auth) = await alliance(client, admin_headers)
    ics = Elsewhere()
    bodies = [{"issuer": lead["slug"]}, {"issuer": co["did"]}, ics.body()]
    created = await joint_course(client, lead_auth, bodies)
    assert created.status_code == 201, created.text
    course = created.json()
    named = [body["issuer"] for body in course["jointAwardingBodies"]]
    assert named == [lead["slug"], co["did"], ics.did]

    drafted = await client.post(
        f"/courses/{course['id']}/credentials", json=learner_facts(fmt), headers=lead_auth
    )
    assert drafted.status_code == 202, drafted.text
    reply = drafted.json()
    joint_id = reply["id"]
    assert drafted.headers["location"] == f"/joint-credentials/{joint_id}"
    assert reply["state"] == "awaiting-proofs"
    assert reply["awardingBodies"] == [lead["did"], co["did"], ics.did]
    assert reply["missing"] == [co["did"], ics.did]
    assert course_link(reply["draft"], fmt) == course["publicUrl"]
    # The version has a credential now (drafted): an edit makes version 2.
    read = (await client.get(f"/courses/{course['id']}", headers=lead_auth)).json()
    assert read["frozen"] is True
    # Not issued before every body signed: the course finds nothing yet.
    listed = await client.get("/credentials", params={"course": course["id"]}, headers=lead_auth)
    assert listed.status_code == 200 and listed.json()["items"] == []

    second = await add_proof(client, joint_id, auth=co_auth)
    assert second.json() == {"state": "awaiting-proofs", "missing": [ics.did]}, second.text
    third = await add_proof(client, joint_id, proof=ics.proof(reply["draft"]))
    assert third.json() == {"state": "complete", "missing": []}, third.text

    listed = await client.get("/credentials", params={"course": course["id"]}, headers=lead_auth)
    items = listed.json()["items"]
    assert [item["id"] for item in items] == [joint_id]
    assert items[0]["course"] == {"id": course["id"], "version": 1}
    stored = await client.get(f"/credentials/{joint_id}", headers=lead_auth)
    credential = stored.json()["verifiableCredential"]
    assert course_link(credential, fmt) == course["publicUrl"]
    assert len(credential["proof"]) == 3

    status_code, report = await verify(client, credential)
    assert status_code == 200, report["errors"]
    assert report["results"]["awardingBodies"] == {
        "verified": True,
        "bodies": [{"did": d, "proof": "verified"} for d in (lead["did"], co["did"], ics.did)],
    }
    if fmt == "edc":
        assert validate_edc(credential, LOADER).conforms
    else:
        assert_valid_open_badge(credential)

    # The trail names the course version the draft was made from.
    trail = await client.get("/admin/audit", params={"issuer": lead["slug"]}, headers=admin_headers)
    events = [e for e in trail.json()["events"] if e["target"] == joint_id]
    courses = [e["details"]["course"] for e in events if e["action"] == "joint.drafted"]
    assert courses == [{"id": course["id"], "version": 1}]


async def test_a_course_naming_bodies_that_cannot_award_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    (lead, lead_auth), (co, _) = await alliance(client, admin_headers)
    ics = Elsewhere()

    unknown = await joint_course(
        client, lead_auth, [{"issuer": lead["slug"]}, {"issuer": "no-such-university"}]
    )
    assert unknown.status_code == 422
    assert [e["pointer"] for e in problem_of(unknown)["errors"]] == [
        "/jointAwardingBodies/1/issuer"
    ]

    without_lead = await joint_course(client, lead_auth, [{"issuer": co["slug"]}, ics.body()])
    assert without_lead.status_code == 422
    errors = problem_of(without_lead)["errors"]
    assert errors == [
        {
            "pointer": "/jointAwardingBodies",
            "detail": "the lead issuer (the course's issuer) must be one of the awarding bodies",
        }
    ]

    no_country = {"issuer": ics.did, "name": {"en": ics.name}}
    elsewhere_bare = await joint_course(client, lead_auth, [{"issuer": lead["did"]}, no_country])
    assert elsewhere_bare.status_code == 422
    assert [e["pointer"] for e in problem_of(elsewhere_bare)["errors"]] == [
        "/jointAwardingBodies/1/issuer"
    ]

    alone = await joint_course(client, lead_auth, [{"issuer": lead["slug"]}])
    assert alone.status_code == 422
    assert [e["pointer"] for e in problem_of(alone)["errors"]] == ["/jointAwardingBodies"]

    both = course_body(
        jointAwardingBodies=[{"issuer": lead["slug"]}, {"issuer": co["slug"]}],
        awardingBodies=[{"name": {"en": "Someone"}, "country": "IRL"}],
    )
    refused = await client.post("/courses", json=both, headers=lead_auth)
    assert refused.status_code == 422
    assert [e["pointer"] for e in problem_of(refused)["errors"]] == ["/awardingBodies"]

    # An edit is checked as a creation is.
    plain = await client.post("/courses", json=course_body(), headers=lead_auth)
    assert plain.status_code == 201
    edited = await client.put(
        f"/courses/{plain.json()['id']}",
        json=course_body(jointAwardingBodies=[{"issuer": co["slug"]}, ics.body()]),
        headers=lead_auth,
    )
    assert edited.status_code == 422
    assert [e["pointer"] for e in problem_of(edited)["errors"]] == ["/jointAwardingBodies"]
    assert (await client.get("/courses", headers=lead_auth)).json()["items"][0].get(
        "jointAwardingBodies"
    ) is None


async def test_a_joint_course_issues_no_cohort_and_no_sd_jwt(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    (lead, lead_auth), (co, _) = await alliance(client, admin_headers)
    bodies = [{"issuer": lead["slug"]}, {"issuer": co["slug"]}]
    course = (await joint_course(client, lead_auth, bodies)).json()

    cohort = await client.post(
        f"/courses/{course['id']}/cohorts",
        files={"file": ("cohort.csv", as_csv(cohort_rows(2)))},
        headers=lead_auth,
    )
    assert cohort.status_code == 422, cohort.text
    problem = problem_of(cohort)
    assert [e["pointer"] for e in problem["errors"]] == ["/jointAwardingBodies"]
    assert "every awarding body's proof" in problem["errors"][0]["detail"]

    sd_jwt = await client.post(
        f"/courses/{course['id']}/credentials", json=learner_facts("sd-jwt"), headers=lead_auth
    )
    assert sd_jwt.status_code == 422
    assert [e["pointer"] for e in problem_of(sd_jwt)["errors"]] == ["/format"]

    # Nothing was drafted from the version: it is not frozen.
    read = (await client.get(f"/courses/{course['id']}", headers=lead_auth)).json()
    assert read["frozen"] is False
