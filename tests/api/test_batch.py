"""Batch issuance: per-item results, idempotent retries, nothing half-written."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from app.db.models import Credential, StatusEntry
from tests.conftest import problem_of
from tests.factories import issuer_with_key, microcredential_body

pytestmark = pytest.mark.anyio


async def rows(app: FastAPI, model: type[Any]) -> list[Any]:
    async with app.state.services.sessionmaker() as session:
        return list((await session.exec(select(model))).all())


async def test_a_batch_with_bad_items_returns_good_ones_signed_and_bad_ones_as_problems(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    no_title = microcredential_body()
    del no_title["title"]
    bad_vocabulary = microcredential_body(
        assessment={"type": "http://data.europa.eu/snb/learning-setting/e207a81fc7"}
    )
    items = [
        microcredential_body("edc"),
        no_title,
        microcredential_body("obv3"),
        bad_vocabulary,
        {"format": "edc"},
    ]
    response = await client.post("/microcredentials/batch", json={"items": items}, headers=auth)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4]
    assert [r["status"] for r in results] == [201, 422, 201, 422, 422]
    assert "EuropeanDigitalCredential" in results[0]["verifiableCredential"]["type"]
    assert "OpenBadgeCredential" in results[2]["verifiableCredential"]["type"]
    assert results[1]["problem"]["errors"] == [
        {"pointer": "/items/1/title", "detail": "Field required"}
    ]
    assert [e["pointer"] for e in results[3]["problem"]["errors"]] == ["/items/3/assessment/type"]
    assert len(results[4]["problem"]["errors"]) >= 8
    assert "verifiableCredential" not in results[1]
    assert set(results[0]) == {"index", "status", "verifiableCredential"}  # no "problem": null
    assert response.headers["content-type"] == "application/json"
    stored = await rows(app, Credential)
    assert len(stored) == 2 and all(row.document.get("proof") for row in stored)
    assert len(await rows(app, StatusEntry)) == 2


async def test_retrying_a_batch_with_the_same_key_issues_nothing_twice(
    app: FastAPI, client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    headers = {**auth, "Idempotency-Key": "nightly-2026-06-30"}
    items = [microcredential_body("obv3") for _ in range(3)]
    for index, item in enumerate(items):
        item["learner"]["identifier"]["value"] = f"S{index}"
    # A first attempt "cut short" after two items: only those were sent and committed.
    first = await client.post("/microcredentials/batch", json={"items": items[:2]}, headers=headers)
    assert [r["status"] for r in first.json()["results"]] == [201, 201]
    retry = await client.post("/microcredentials/batch", json={"items": items}, headers=headers)
    results = retry.json()["results"]
    assert [r["status"] for r in results] == [200, 200, 201]
    assert results[0]["verifiableCredential"] == first.json()["results"][0]["verifiableCredential"]
    assert len(await rows(app, Credential)) == 3
    assert len(await rows(app, StatusEntry)) == 3


async def test_batch_size_is_bounded(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    too_many = {"items": [{"format": "edc"}] * 1001}
    response = await client.post("/microcredentials/batch", json=too_many, headers=auth)
    assert response.status_code == 422
    assert problem_of(response)["errors"][0]["pointer"] == "/items"
    empty = await client.post("/microcredentials/batch", json={"items": []}, headers=auth)
    assert empty.status_code == 422


async def test_a_batch_answered_with_ids_carries_no_documents_and_each_link_fetches_one(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    no_title = microcredential_body()
    del no_title["title"]
    items = [microcredential_body("edc"), no_title, microcredential_body("obv3")]
    response = await client.post(
        "/microcredentials/batch", params={"reply": "ids"}, json={"items": items}, headers=auth
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 422, 201]
    assert set(results[0]) == {"index", "status", "credentialId", "link"}
    assert set(results[1]) == {"index", "status", "problem"}
    assert len(response.content) < 2_000  # two EDC pages alone are tens of KB
    for result, kind in (
        (results[0], "EuropeanDigitalCredential"),
        (results[2], "OpenBadgeCredential"),
    ):
        assert result["link"] == f"/credentials/{result['credentialId']}"
        fetched = await client.get(result["link"], headers=auth)
        assert fetched.status_code == 200 and kind in fetched.json()["verifiableCredential"]["type"]
    refused = await client.post(
        "/microcredentials/batch", params={"reply": "pages"}, json={"items": items}, headers=auth
    )
    assert refused.status_code == 422
