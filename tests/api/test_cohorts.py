"""Cohorts: a course's spreadsheet (template, upload, per-row checks before signing), the job
that issues it, idempotent rows (the same file again issues nothing new), offers with PINs."""

from __future__ import annotations

import csv
import io
import time

import httpx
import openpyxl
import pytest
from fastapi import FastAPI
from sqlmodel import col, func, select

from app.config import Settings
from app.db.models import Credential, CredentialOffer, StatusEntry, StatusList
from app.services import cohorts, jobs, spreadsheets
from tests.api.test_courses import course_body
from tests.api.test_oid4vci import Wallet, start
from tests.conftest import problem_of
from tests.factories import issuer_with_key

pytestmark = pytest.mark.anyio

HEADER = ["identifier scheme", "identifier value", "given name", "family name", "awarded on"]
#: Rows (spreadsheet numbers, the header being row 1) made bad, and the column each names.
BAD = {
    101: ("awarded on", "not a date"),
    502: ("identifier scheme", "required with the other identifier column"),
    903: ("valid until", "after awarded on"),
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No runner in the app: each test runs the job itself."""
    return settings.model_copy(update={"jobs_runner": False})


def cohort_rows(count: int, bad: dict[int, tuple[str, str]] | None = None) -> list[list[str]]:
    """``count`` learners (rows 2…count+1) with awarded on and a validity; ``bad`` rows faulty."""
    rows = []
    for number in range(2, count + 2):
        row = ["student-number", f"S{number:06d}", "Ana", f"Learner {number}", "2026-06-30", ""]
        fault = (bad or {}).get(number, ("", ""))[0]
        if fault == "awarded on":
            row[4] = "30/06/2026x"
        elif fault == "identifier scheme":
            row[0] = ""
        elif fault == "valid until":
            row[5] = "2020-01-01"
        rows.append(row)
    return rows


def as_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([[*HEADER, "valid until"], *rows])
    return out.getvalue().encode("utf-8")


def as_xlsx(rows: list[list[str]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append([*HEADER, "valid until"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def make_course(client: httpx.AsyncClient, auth: dict[str, str]) -> str:
    created = await client.post("/courses", json=course_body(), headers=auth)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def upload(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    course_id: str,
    data: bytes,
    name: str,
    **form: str,
) -> httpx.Response:
    return await client.post(
        f"/courses/{course_id}/cohorts",
        files={"file": (name, data)},
        data=form,
        headers=auth,
    )


async def run_job(app: FastAPI) -> None:
    runner = jobs.Runner(app.state.services.sessionmaker, services=app.state.services)
    assert await runner.run_once() is True


async def credential_count(app: FastAPI, issuer_course: str) -> int:
    async with app.state.services.sessionmaker() as session:
        query = select(func.count()).where(col(Credential.course_id) == issuer_course)
        return int((await session.exec(query)).one())


def results_of(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


async def test_templates_document_every_column(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    course_id = await make_course(client, auth)
    text = await client.get(f"/courses/{course_id}/template.csv", headers=auth)
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(text.content.decode("utf-8-sig"))))
    assert lines[0] == cohorts.COLUMNS.names
    assert len(lines) == 1 + len(cohorts.COLUMNS.columns)
    assert lines[7][0].startswith("# awarded on: required. The day the learner earned")
    sheet = await client.get(f"/courses/{course_id}/template.xlsx", headers=auth)
    assert sheet.headers["content-type"] == spreadsheets.XLSX_MEDIA_TYPE
    book = openpyxl.load_workbook(io.BytesIO(sheet.content))
    assert [c.value for c in book["cohort"][1]] == cohorts.COLUMNS.names
    guide = list(book["columns"].iter_rows(values_only=True))
    assert guide[0] == ("column", "required", "description", "example")
    assert {row[0] for row in guide[1:]} == set(cohorts.COLUMNS.names)
    # the template, filled in, is read as it is (its documentation lines are skipped)
    filled = text.content + b"student-number,S1,Ana,Silva,,,2026-06-30,Pass,,\r\n"
    assert [row.errors for row in cohorts.read_rows(filled, "edc")] == [None]
    missing = await client.get("/courses/nope/template.csv", headers=auth)
    assert missing.status_code == 404


async def test_a_small_edc_cohort_with_bad_rows_then_again(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    course_id = await make_course(client, auth)
    bad = {3: BAD[101], 5: BAD[502], 7: BAD[903]}
    data = as_csv(cohort_rows(8, bad))
    accepted = await upload(client, auth, course_id, data, "cohort.csv", format="edc")
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["id"]
    assert accepted.headers["location"] == f"/jobs/{job_id}"
    queued = (await client.get(f"/jobs/{job_id}", headers=auth)).json()
    # every row was checked before anything was signed: the bad ones failed already
    assert (queued["state"], queued["total"], queued["done"], queued["failed"]) == (
        "queued",
        8,
        0,
        3,
    )
    assert await credential_count(app, course_id) == 0
    await run_job(app)
    job = (await client.get(f"/jobs/{job_id}", headers=auth)).json()
    assert (job["state"], job["done"], job["failed"]) == ("done", 5, 3)
    results = results_of((await client.get(f"/jobs/{job_id}/results.csv", headers=auth)).content)
    failed = {int(r["row"]): (r["column"], r["error"]) for r in results if r["outcome"] == "failed"}
    assert {n: column for n, (column, _) in failed.items()} == {n: c for n, (c, _) in bad.items()}
    for number, (_, words) in bad.items():
        assert words in failed[number][1]
    issued = {int(r["row"]): r["credentialId"] for r in results if r["outcome"] == "done"}
    assert sorted(issued) == [2, 4, 6, 8, 9] and all(issued.values())
    async with app.state.services.sessionmaker() as session:
        row = await session.get(Credential, issued[2])
    assert row is not None
    assert (row.course_id, row.course_version, row.learner_name) == (course_id, 1, "Ana Learner 2")
    claim = row.document["credentialSubject"]["hasClaim"][0]
    assert claim["learningOpportunity"]["id"].endswith(f"/courses/{course_id}/1")

    # the course version is frozen by the upload: an edit makes version 2
    edited = await client.put(f"/courses/{course_id}", json=course_body(eqfLevel=4), headers=auth)
    assert edited.json()["version"] == 2

    again = await upload(client, auth, course_id, data, "cohort.csv", format="edc")
    assert again.status_code == 202
    # a new version: this time it issues from version 2 (a new course version is new content)
    assert again.json()["id"] != job_id


async def test_the_same_file_again_issues_nothing_new(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    course_id = await make_course(client, auth)
    data = as_xlsx(cohort_rows(4, {3: BAD[101]}))
    ids = []
    for _ in range(2):
        accepted = await upload(client, auth, course_id, data, "c.xlsx", format="obv3")
        assert accepted.status_code == 202, accepted.text
        await run_job(app)
        job_id = accepted.json()["id"]
        results = results_of(
            (await client.get(f"/jobs/{job_id}/results.csv", headers=auth)).content
        )
        ids.append([r["credentialId"] for r in results])
    assert ids[0] == ids[1] and len([i for i in ids[0] if i]) == 3
    assert await credential_count(app, course_id) == 3


async def test_offers_with_pins_once_per_row(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    course_id = await make_course(client, auth)
    data = as_csv(cohort_rows(3))
    seen = []
    for _ in range(2):
        accepted = await upload(client, auth, course_id, data, "c.csv", format="edc", offers="true")
        assert accepted.status_code == 202, accepted.text
        await run_job(app)
        book = await client.get(f"/jobs/{accepted.json()['id']}/results.xlsx", headers=auth)
        sheet = openpyxl.load_workbook(io.BytesIO(book.content)).active
        assert sheet is not None
        lines = list(sheet.iter_rows(values_only=True))
        header = list(lines[0])
        rows = [dict(zip(header, line, strict=True)) for line in lines[1:]]
        assert all(r["outcome"] == "done" and not r["credentialId"] for r in rows)
        assert all(str(r["offerLink"]).startswith("openid-credential-offer://?") for r in rows)
        assert all(len(str(r["pin"])) == 6 and str(r["pin"]).isdigit() for r in rows)
        seen.append([(r["offerLink"], r["pin"]) for r in rows])
    assert seen[0] == seen[1] and len(set(seen[0])) == 3
    async with app.state.services.sessionmaker() as session:
        offers = (await session.exec(select(func.count()).select_from(CredentialOffer))).one()
    assert offers == 3
    assert await credential_count(app, course_id) == 0

    # A wallet redeems the first offer with its PIN: the learner's credential, bound to its key.
    link, pin = seen[0][0]
    wallet = Wallet(client)
    session = await start(wallet, {"credential_offer_uri": link}, str(pin))
    nonce = await wallet.nonce(session.issuer_metadata["nonce_endpoint"])
    response = await wallet.request_credential(
        session.issuer_metadata["credential_endpoint"],
        session.access_token,
        {
            "credential_configuration_id": session.configuration_id,
            "proofs": {"jwt": [wallet.proof(session.identifier, nonce)]},
        },
    )
    assert response.status_code == 200, response.text
    (issued,) = response.json()["credentials"]
    subject = issued["credential"]["credentialSubject"]
    assert subject["id"] == wallet.did and "Learner 2" in str(subject)
    # It points to the course version it was offered from, and is found by that course.
    [opportunity] = [c["learningOpportunity"] for c in subject["hasClaim"]]
    assert opportunity["id"].endswith(f"/catalogue/{random_slug}/courses/{course_id}/1")
    assert await credential_count(app, course_id) == 1
    found = await client.get("/credentials", params={"course": course_id}, headers=auth)
    assert [item["course"] for item in found.json()["items"]] == [{"id": course_id, "version": 1}]


async def test_unreadable_files_scopes_and_other_issuers(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    _, other = await issuer_with_key(client, admin_headers, random_slug + "-b")
    _, reader = await issuer_with_key(
        client, admin_headers, random_slug + "-c", scopes=("courses:read",)
    )
    course_id = await make_course(client, auth)
    data = as_csv(cohort_rows(2))
    assert (await upload(client, other, course_id, data, "c.csv")).status_code == 404
    assert (await upload(client, reader, course_id, data, "c.csv")).status_code == 403
    wrong = await upload(client, auth, course_id, b"name,age\nx,1\n", "c.csv")
    assert wrong.status_code == 422
    assert "unknown column 'name'" in problem_of(wrong)["detail"]
    empty = await upload(client, auth, course_id, b"", "c.csv")
    assert empty.status_code == 422
    damaged = await upload(client, auth, course_id, b"PK\x03\x04garbage", "c.xlsx")
    assert damaged.status_code == 422
    sdjwt = await upload(client, auth, course_id, data, "c.csv", format="sd-jwt")
    assert sdjwt.status_code == 422


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
async def test_a_cohort_of_1000_with_3_bad_rows(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    kind: str,
) -> None:
    """1,000 rows, 3 bad: 997 credentials, 3 errors naming row and column; again: nothing new."""
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    course_id = await make_course(client, auth)
    rows = cohort_rows(1000, BAD)
    data = as_csv(rows) if kind == "csv" else as_xlsx(rows)
    outcomes: list[dict[str, str]] = []
    for attempt in range(2):
        started = time.monotonic()
        accepted = await upload(client, auth, course_id, data, f"c.{kind}", format="obv3")
        assert accepted.status_code == 202, accepted.text
        await run_job(app)
        job_id = accepted.json()["id"]
        job = (await client.get(f"/jobs/{job_id}", headers=auth)).json()
        assert (job["state"], job["total"], job["done"], job["failed"]) == ("done", 1000, 997, 3)
        print(f"{kind} attempt {attempt}: {time.monotonic() - started:.1f} s")
        download = await client.get(f"/jobs/{job_id}/results.{kind}", headers=auth)
        assert download.status_code == 200
        if kind == "csv":
            results = results_of(download.content)
        else:
            sheet = openpyxl.load_workbook(io.BytesIO(download.content)).active
            assert sheet is not None
            lines = list(sheet.iter_rows(values_only=True))
            results = [
                {str(k): str(v or "") for k, v in zip(lines[0], line, strict=True)}
                for line in lines[1:]
            ]
        failed = {
            int(r["row"]): (r["column"], r["error"]) for r in results if r["outcome"] == "failed"
        }
        assert {n: c for n, (c, _) in failed.items()} == {n: c for n, (c, _) in BAD.items()}
        assert all(BAD[n][1] in message for n, (_, message) in failed.items())
        outcomes.append({r["row"]: r["credentialId"] for r in results if r["outcome"] == "done"})
        assert len(set(outcomes[-1].values())) == 997
        assert await credential_count(app, course_id) == 997
    assert outcomes[0] == outcomes[1]  # the same credentials replayed, none issued anew
    # Rows go 20 to a transaction on PostgreSQL, whose lists' counts are written once, at its
    # end: each list still counts exactly the entries it holds.
    async with app.state.services.sessionmaker() as session:
        entries = (
            select(StatusEntry.list_id, func.count())
            .join(Credential, col(Credential.id) == col(StatusEntry.credential_id))
            .where(col(Credential.course_id) == course_id)  # this test's issuer's lists
            .group_by(col(StatusEntry.list_id))
        )
        held = dict((await session.exec(entries)).all())
        lists = select(StatusList.id, StatusList.allocated).where(col(StatusList.id).in_(held))
        counted = dict((await session.exec(lists)).all())
    assert counted == held and sum(held.values()) == 997
