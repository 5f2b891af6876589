"""The public catalogue: published courses only, ELM JSON-LD that the EDC shapes accept, the
HTML page's server-side filters, and each version's stable page."""

from __future__ import annotations

import copy
import re
from typing import Any

import httpx
import pytest

from app.credentials.shacl import validate_learning_opportunities
from app.jsonld import OfflineDocumentLoader
from app.resources import CONTEXTS_DIR
from tests.api.test_courses import course_body, learner_facts
from tests.conftest import problem_of
from tests.factories import issuer_with_key

pytestmark = pytest.mark.anyio

LD = {"Accept": "application/ld+json"}
ONLINE = "http://data.europa.eu/snb/learning-assessment/920fbb3cbe"


def second_course(**overrides: Any) -> dict[str, Any]:
    return course_body(
        title={"fr": "Gestion de données de recherche"},
        description={"fr": "Les données de la recherche, de la collecte à l'archivage."},
        eqfLevel=4,
        workload={"ects": 2},
        participation={"mode": "online"},
        languages=["fr"],
        subjects=["0588"],
        **overrides,
    )


async def three_courses(
    client: httpx.AsyncClient, admin: dict[str, str], slug: str
) -> tuple[dict[str, str], dict[str, str], list[dict[str, Any]]]:
    """Issuer ``slug``: a published EQF 6 / 5 ECTS blended course in English and an unpublished
    one;
    issuer ``slug-b``: a published EQF 4 / 2 ECTS online course in French."""
    _, auth = await issuer_with_key(client, admin, slug)
    _, auth_b = await issuer_with_key(client, admin, slug + "-b", name={"fr": "Université B"})
    made = []
    for body, key in [
        (course_body(workload={"ects": 5, "hours": 125}), auth),
        (course_body(published=False, title={"en": "Hidden draft"}), auth),
        (second_course(), auth_b),
    ]:
        response = await client.post("/courses", json=body, headers=key)
        assert response.status_code == 201, response.text
        made.append(response.json())
    return auth, auth_b, made


def ids(document: dict[str, Any]) -> set[str]:
    return {node["id"] for node in document["@graph"]}


async def test_json_ld_lists_published_courses_and_passes_the_elm_shapes(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, _, (first, hidden, other) = await three_courses(client, admin_headers, random_slug)
    everything = await client.get("/catalogue", headers=LD)
    assert everything.status_code == 200
    assert everything.headers["content-type"].startswith("application/ld+json")
    document = everything.json()
    assert ids(document) == {first["publicUrl"], other["publicUrl"]}
    opportunity = next(n for n in document["@graph"] if n["id"] == first["publicUrl"])
    assert opportunity["type"] == "LearningOpportunity"
    specification = opportunity["learningAchievementSpecification"]
    assert specification["type"] == "Qualification"
    assert specification["eqfLevel"]["id"] == "http://data.europa.eu/snb/eqf/6"
    assert specification["thematicArea"][0]["id"] == "http://data.europa.eu/snb/isced-f/0613"
    assert opportunity["providedBy"]["legalName"]["en"] == "University of Zed"

    loader = OfflineDocumentLoader(CONTEXTS_DIR)
    report = validate_learning_opportunities(document, loader)
    assert report.conforms, report.violations
    assert report.triples > 100
    # negative control: the same shapes see a learning opportunity without title or provider
    broken = copy.deepcopy(document)
    del broken["@graph"][0]["title"], broken["@graph"][0]["providedBy"]
    failed = validate_learning_opportunities(broken, loader)
    assert {v.path.rsplit("/", 1)[-1] for v in failed.violations if v.path} >= {
        "providedBy",
        "title",
    }

    mine = (await client.get(f"/catalogue/{random_slug}", headers=LD)).json()
    assert ids(mine) == {first["publicUrl"]}
    version = await client.get(
        first["publicUrl"].removeprefix("https://credentials.example.edu"), headers=LD
    )
    assert version.status_code == 200
    assert version.json()["id"] == first["publicUrl"]
    assert validate_learning_opportunities(version.json(), loader).conforms
    hidden_page = hidden["publicUrl"].removeprefix("https://credentials.example.edu")
    assert (await client.get(hidden_page, headers=LD)).status_code == 404
    assert (await client.get("/catalogue/no-such-issuer", headers=LD)).status_code == 404


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"first", "other"}),
        ("?eqf=6", {"first"}),
        ("?ectsMax=3", {"other"}),
        ("?ectsMin=3&ectsMax=", {"first"}),
        ("?language=fr", {"other"}),
        (f"?mode={ONLINE}", {"other"}),
        ("?mode=online", {"other"}),
        ("?subject=0613", {"first"}),
        ("?eqf=6&language=fr", set()),
    ],
)
async def test_filters(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    query: str,
    expected: set[str],
) -> None:
    _, _, (first, _, other) = await three_courses(client, admin_headers, random_slug)
    names = {first["publicUrl"]: "first", other["publicUrl"]: "other"}
    listed = await client.get("/catalogue" + query, headers=LD)
    assert {names[i] for i in ids(listed.json())} == expected
    page = await client.get("/catalogue" + query)
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    shown = set(re.findall(r'<h2><a href="(/catalogue/[^"]+)">', page.text))
    assert {names["https://credentials.example.edu" + path] for path in shown} == expected


async def test_a_bad_filter_is_a_problem(client: httpx.AsyncClient) -> None:
    for query in ["?eqf=9", "?ectsMin=lots", "?mode=by-pigeon", "?language=xx", "?subject=zz"]:
        response = await client.get("/catalogue" + query)
        assert response.status_code == 422, query
        problem_of(response)


async def test_a_version_page_outlives_its_edit_and_its_withdrawal(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    auth, _, (first, _, _) = await three_courses(client, admin_headers, random_slug)
    path_v1 = first["publicUrl"].removeprefix("https://credentials.example.edu")
    issued = await client.post(
        f"/courses/{first['id']}/credentials", json=learner_facts(), headers=auth
    )
    assert issued.status_code == 201
    renamed = course_body(title={"en": "Credentials, second edition"}, published=False)
    assert (await client.put(f"/courses/{first['id']}", json=renamed, headers=auth)).json()[
        "version"
    ] == 2
    # withdrawn: not listed, its new version has no page, version 1 (credentials link to it)
    # still has one, marked as no longer on offer
    assert first["publicUrl"] not in ids((await client.get("/catalogue", headers=LD)).json())
    assert (await client.get(path_v1.removesuffix("/1") + "/2")).status_code == 404
    page = await client.get(path_v1)
    assert page.status_code == 200
    assert "Digital micro-credential creation" in page.text
    assert 'id="superseded"' in page.text
    assert page.headers["x-robots-tag"] == "noindex"
    document = (await client.get(path_v1, headers=LD)).json()
    assert document["title"] == first["title"]


async def test_the_front_page_links_to_the_catalogue(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert '<a href="/catalogue">' in page.text


async def test_an_out_of_range_version_is_refused_not_a_500(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    auth, _, (first, _, _) = await three_courses(client, admin_headers, random_slug)
    path = first["publicUrl"].removeprefix("https://credentials.example.edu").removesuffix("/1")
    for version in ("0", str(10**30)):
        assert (await client.get(f"{path}/{version}")).status_code == 422
    huge = await client.get(f"/courses/{first['id']}?version={10**30}", headers=auth)
    assert huge.status_code == 422
    assert (await client.get(f"{path}/999999")).status_code == 404
