"""GET /credentials (filters, keyset pages, tenant isolation) and POST /credentials/status/bulk
(by ids and by filter, reasons kept, nothing changed twice, large filters as a job)."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import httpx
import openpyxl
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import col, select

from app.db.models import AuditEvent, Credential, StatusEntry
from app.services import bulk_status
from tests.conftest import problem_of
from tests.factories import issuer_with_key, microcredential_body, vc2_credential

pytestmark = pytest.mark.anyio

LEARNERS = [
    ("Seán", "Ó Briain", "S001"),
    ("Aoife", "Murphy", "S002"),
    ("Zoë", "Müller", "S003"),
    ("Sean", "Kelly", "S004"),
]


def learner(given: str, family: str, number: str) -> dict[str, Any]:
    return {
        "givenName": given,
        "familyName": family,
        "identifier": {"scheme": "student-number", "value": number},
        "email": f"{number.lower()}@example.org",
    }


async def issue_all(client: httpx.AsyncClient, auth: dict[str, str]) -> list[str]:
    ids = []
    for given, family, number in LEARNERS:
        body = microcredential_body("obv3", learner=learner(given, family, number))
        response = await client.post("/microcredentials", json=body, headers=auth)
        assert response.status_code == 201, response.text
        ids.append(response.headers["location"].removeprefix("/credentials/"))
    return ids


async def listed(client: httpx.AsyncClient, auth: dict[str, str], **query: Any) -> list[str]:
    response = await client.get("/credentials", params=query, headers=auth)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_list_filters_pages_and_stays_within_the_issuer(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    _, other = await issuer_with_key(client, admin_headers, random_slug + "-b")
    ids = await issue_all(client, auth)
    newest_first = ids[::-1]

    page = (await client.get("/credentials", headers=auth)).json()
    assert [item["id"] for item in page["items"]] == newest_first
    assert page["next"] is None
    first = page["items"][-1]
    assert first["learner"] == {"identifier": "student-number:S001", "name": "Seán Ó Briain"}
    assert (first["format"], first["course"], first["revoked"]) == ("obv3", None, False)
    assert await listed(client, other) == []

    # The identifier value, the stored reference or the e-mail; exact.
    assert await listed(client, auth, learner="S002") == [ids[1]]
    assert await listed(client, auth, learner="student-number:S003") == [ids[2]]
    assert await listed(client, auth, learner="s004@example.org") == []
    assert await listed(client, auth, learner="S00") == []
    assert await listed(client, other, learner="S002") == []
    # Names: any part, case and accents ignored.
    assert await listed(client, auth, name="sean") == [ids[3], ids[0]]
    assert await listed(client, auth, name="MULLER") == [ids[2]]
    assert await listed(client, auth, name="o bri") == [ids[0]]
    assert await listed(client, auth, name="%") == []

    # Pages of two, each credential once.
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        query: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        reply = (await client.get("/credentials", params=query, headers=auth)).json()
        seen += [item["id"] for item in reply["items"]]
        cursor = reply["next"]
        if cursor is None:
            break
    assert seen == newest_first

    # Dates: issuedFrom inclusive, issuedTo exclusive.
    async with app.state.services.sessionmaker() as session:
        third = await session.get(Credential, ids[2])
        assert third is not None
        at = third.created_at.isoformat()
    assert await listed(client, auth, issuedFrom=at) == [ids[3], ids[2]]
    assert await listed(client, auth, issuedTo=at) == [ids[1], ids[0]]

    # A course version (filled by course issuing; set here directly).
    async with app.state.services.sessionmaker() as session:
        await session.exec(
            update(Credential)
            .where(col(Credential.id) == ids[1])
            .values(course_id="course-1", course_version=2)
        )
        await session.commit()
    assert await listed(client, auth, course="course-1") == [ids[1]]
    assert await listed(client, auth, course="course-1", courseVersion=1) == []
    item = (await client.get("/credentials", params={"course": "course-1"}, headers=auth)).json()
    assert item["items"][0]["course"] == {"id": "course-1", "version": 2}

    # Status.
    revoke = {"credentialIds": [ids[0]], "statusPurpose": "revocation", "status": True}
    assert (await client.post("/credentials/status/bulk", json=revoke, headers=auth)).is_success
    assert await listed(client, auth, status="revoked") == [ids[0]]
    assert await listed(client, auth, status="active") == newest_first[:3]
    assert await listed(client, auth, status="suspended") == []

    for bad in (
        {"cursor": "not-a-cursor"},
        {"limit": 0},
        {"limit": 201},
        {"status": "lost"},
        {"issuedFrom": "2026-01-01T00:00:00"},  # no time zone
    ):
        answer = await client.get("/credentials", params=bad, headers=auth)
        assert answer.status_code in (400, 422), bad
        problem_of(answer)


async def test_bulk_status_by_ids_counts_each_credential_once_and_keeps_the_reason(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    _, other = await issuer_with_key(client, admin_headers, random_slug + "-b")
    ids = await issue_all(client, auth)
    foreign = (
        (await client.post("/microcredentials", json=microcredential_body("obv3"), headers=other))
        .headers["location"]
        .removeprefix("/credentials/")
    )
    vc_id = (await client.get(f"/credentials/{ids[1]}", headers=auth)).json()[
        "verifiableCredential"
    ]["id"]
    body = {
        "credentialIds": [ids[0], vc_id, foreign, "unknown", ids[0]],
        "statusPurpose": "revocation",
        "status": True,
        "reason": "awarded in error",
    }
    reply = await client.post("/credentials/status/bulk", json=body, headers=auth)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "changed": [ids[0], vc_id],
        "unchanged": [],
        "notFound": [foreign, "unknown"],
        "notApplicable": [],
    }
    again = (await client.post("/credentials/status/bulk", json=body, headers=auth)).json()
    assert (again["changed"], again["unchanged"]) == ([], [ids[0], vc_id])
    assert (await client.get(f"/credentials/{foreign}", headers=other)).json()["status"] == {
        "revoked": False,
        "suspended": False,
    }
    async with app.state.services.sessionmaker() as session:
        reasons = (
            await session.exec(
                select(StatusEntry.credential_id, StatusEntry.reason).where(
                    col(StatusEntry.is_set).is_(True)
                )
            )
        ).all()
        assert sorted(reasons) == sorted(
            [(ids[0], "awarded in error"), (ids[1], "awarded in error")]
        )
        events = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "credential.revoked"))
        ).all()
        assert sorted(e.target or "" for e in events) == sorted([ids[0], ids[1]])
        assert all(e.details == {"reason": "awarded in error", "bulk": True} for e in events)

    # This service's verifier shows the reason with the bit it reads from the same row.
    document = (await client.get(f"/credentials/{ids[0]}", headers=auth)).json()
    verdict = await client.post(
        "/credentials/verify", json={"verifiableCredential": document["verifiableCredential"]}
    )
    assert verdict.status_code == 422
    report = verdict.json()
    assert report["results"]["credentialStatus"]["entries"][0]["reason"] == "awarded in error"
    assert "the credential has been revoked (the issuer's reason: awarded in error)" in [
        p.get("detail") for p in report["problemDetails"]
    ]

    # Revocation is final; suspension needs an entry the issuer did not enable.
    undo = {**body, "status": False}
    refused = await client.post("/credentials/status/bulk", json=undo, headers=auth)
    assert refused.status_code == 409
    problem_of(refused)
    suspend = {"credentialIds": [ids[2]], "statusPurpose": "suspension", "status": True}
    reply = await client.post("/credentials/status/bulk", json=suspend, headers=auth)
    assert reply.json()["notApplicable"] == [ids[2]]

    for bad in (
        {"statusPurpose": "revocation", "status": True},
        {**body, "filter": {"name": "x"}},
        {**body, "credentialIds": []},
        {**body, "credentialIds": ["x"] * (bulk_status.MAX_IDS + 1)},
        {**body, "reason": "r" * 501},
    ):
        answer = await client.post("/credentials/status/bulk", json=bad, headers=auth)
        assert answer.status_code == 422, answer.text
        problem_of(answer)


async def test_concurrent_bulk_changes_count_each_change_once(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    issuer, auth = await issuer_with_key(client, admin_headers, random_slug, suspensionEnabled=True)
    # VC-API credentials: an EDC or an Open Badge carries one status entry (revocation), as the
    # EDC shapes and the 1EdTech schema want, so only these can be suspended.
    ids = []
    for _ in range(3):
        issued = await client.post(
            "/credentials/issue", json={"credential": vc2_credential(issuer["did"])}, headers=auth
        )
        assert issued.status_code == 201, issued.text
        ids.append(issued.headers["location"].removeprefix("/credentials/"))
    body = {"credentialIds": ids, "statusPurpose": "suspension", "status": True}
    replies = await asyncio.gather(
        *(client.post("/credentials/status/bulk", json=body, headers=auth) for _ in range(4))
    )
    changed = [name for reply in replies for name in reply.json()["changed"]]
    assert sorted(changed) == sorted(ids)
    assert await listed(client, auth, status="suspended") == ids[::-1]
    async with app.state.services.sessionmaker() as session:
        events = (
            await session.exec(
                select(AuditEvent).where(AuditEvent.action == "credential.suspended")
            )
        ).all()
        assert sorted(e.target or "" for e in events) == sorted(ids)


async def test_a_filter_matching_many_runs_as_a_job(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug, suspensionEnabled=True)
    _, other = await issuer_with_key(client, admin_headers, random_slug + "-b")
    ids = await issue_all(client, auth)
    small = {
        "filter": {"name": "sean"},
        "statusPurpose": "revocation",
        "status": True,
        "reason": "exam board review",
    }
    reply = await client.post("/credentials/status/bulk", json=small, headers=auth)
    assert reply.status_code == 200
    assert sorted(reply.json()["changed"]) == sorted([ids[0], ids[3]])

    monkeypatch.setattr(bulk_status, "MAX_IDS", 1)
    large = {**small, "filter": {"status": "active"}, "reason": "whole cohort"}
    accepted = await client.post("/credentials/status/bulk", json=large, headers=auth)
    assert accepted.status_code == 202, accepted.text
    job = accepted.json()
    assert accepted.headers["location"] == f"/jobs/{job['id']}"
    for _ in range(200):
        state = (await client.get(f"/jobs/{job['id']}", headers=auth)).json()
        if state["state"] == "done":
            break
        await asyncio.sleep(0.05)
    assert (state["state"], state["total"], state["done"], state["failed"]) == ("done", 2, 2, 0)
    assert await listed(client, auth, status="active") == []
    results = await client.get(f"/jobs/{job['id']}/results.xlsx", headers=auth)
    sheet = openpyxl.load_workbook(io.BytesIO(results.content)).worksheets[0]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == ["row", "outcome", "credentialId", "changed", "column", "error"]
    assert sorted(str(row[2]) for row in rows[1:]) == sorted([ids[1], ids[2]])
    assert (await client.get(f"/jobs/{job['id']}", headers=other)).status_code == 404
