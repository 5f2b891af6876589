"""GET /vocabularies and /vocabularies/{scheme}: the controlled lists a registrar picks from."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.credentials.microcredential import MicroCredentialIn
from tests.conftest import problem_of
from tests.factories import issuer_with_key, microcredential_body

pytestmark = pytest.mark.anyio


async def test_the_list_names_every_scheme_with_its_count(client: httpx.AsyncClient) -> None:
    response = await client.get("/vocabularies")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    listed = {v["scheme"]: v for v in response.json()["vocabularies"]}
    assert {"eqf", "assessment", "learning-assessment", "learning-setting", "accreditation"} <= set(
        listed
    )
    assert {"supervision-verification", "country", "language", "isced-f"} <= set(listed)
    assert listed["eqf"]["concepts"] == 8
    assert listed["eqf"]["conceptScheme"] == "http://data.europa.eu/snb/eqf/25831c2"
    for key, summary in listed.items():
        scheme = await client.get(summary["href"])
        assert scheme.status_code == 200, key
        assert len(scheme.json()["concepts"]) == summary["concepts"], key


async def test_eqf_levels_carry_uri_label_and_short_names(client: httpx.AsyncClient) -> None:
    response = await client.get("/vocabularies/eqf")
    body = response.json()
    assert body["scheme"] == "eqf"
    level6 = next(c for c in body["concepts"] if c["notation"] == "6")
    assert level6 == {
        "id": "http://data.europa.eu/snb/eqf/6",
        "notation": "6",
        "prefLabel": {"en": "Level 6"},
        "shortName": "level-6",
        "aliases": [],
    }
    languages = (await client.get("/vocabularies/language")).json()["concepts"]
    english = next(c for c in languages if c["notation"] == "ENG")
    assert english["aliases"] == ["en"] and english["prefLabel"] == {"en": "English"}
    countries = (await client.get("/vocabularies/country")).json()["concepts"]
    ireland = next(c for c in countries if c["notation"] == "IRL")
    assert ireland["aliases"] == ["IE"]


async def test_caching_headers_and_not_modified(client: httpx.AsyncClient) -> None:
    first = await client.get("/vocabularies/assessment")
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert first.headers["cache-control"] == "public, max-age=86400"
    again = await client.get("/vocabularies/assessment", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    other = await client.get("/vocabularies/eqf", headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag
    listing = await client.get("/vocabularies")
    assert listing.headers["etag"] not in {etag, other.headers["etag"]}
    stale = await client.get("/vocabularies", headers={"If-None-Match": '"0000", ' + etag})
    assert stale.status_code == 200


async def test_an_unknown_scheme_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/vocabularies/eqf-levels")
    assert response.status_code == 404
    problem = problem_of(response)
    assert problem["type"] == "urn:microcred:problem:VOCABULARY_NOT_FOUND"
    assert "eqf" in problem["detail"]


async def test_every_listed_name_is_accepted_by_the_body(client: httpx.AsyncClient) -> None:
    """What the endpoint offers is what validation takes: each short name, alias and notation
    of the assessment, mode, setting, quality-assurance and supervision lists validates to the
    concept's URI."""
    fields: dict[str, Callable[[str], dict[str, Any]]] = {
        "assessment": lambda v: {"assessment": {"type": v}},
        "learning-assessment": lambda v: {"participation": {"mode": v}},
        "learning-setting": lambda v: {
            "participation": {"mode": "online", "setting": v},
        },
        "accreditation": lambda v: {"qualityAssurance": {"type": v}},
        "supervision-verification": lambda v: {"supervision": v},
    }
    for key, make in fields.items():
        concepts = (await client.get(f"/vocabularies/{key}")).json()["concepts"]
        for concept in concepts:
            names = [concept["id"], concept["notation"], *concept["aliases"]]
            if concept["shortName"]:
                names.append(concept["shortName"])
            for name in names:
                body = microcredential_body(**make(name))
                dumped = json.loads(MicroCredentialIn.model_validate(body).model_dump_json())
                assert concept["id"] in json.dumps(dumped), (key, name)


async def test_a_short_name_from_the_list_issues(
    client: httpx.AsyncClient, app: FastAPI, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    concepts = (await client.get("/vocabularies/assessment")).json()["concepts"]
    oral = next(c for c in concepts if c["shortName"] == "oral-examination")
    body = microcredential_body(assessment={"type": oral["shortName"]})
    response = await client.post("/microcredentials", json=body, headers=auth)
    assert response.status_code == 201, response.text
    assert oral["id"] in response.text
