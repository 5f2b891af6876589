"""The micro-credential body's complete-EDC elements over HTTP (issue 17, item 5): an EDC issued
with all of them passes the service's SHACL check (201) and verifies; the same body as an Open
Badge validates against the 1EdTech schema; a mandate from an issuer that awards is refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import problem_of
from tests.factories import issuer_with_key, microcredential_body
from tests.obv3_schema import assert_valid_open_badge
from tests.unit.test_edc_complete import request_from_sample, sample

pytestmark = pytest.mark.anyio


def complete_body(format: str) -> dict[str, Any]:
    body = request_from_sample(sample())
    body["format"] = format
    return body


@pytest.mark.parametrize("cryptosuite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
async def test_a_complete_edc_is_issued_and_verifies(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str, cryptosuite: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    body = {**complete_body("edc"), "cryptosuite": cryptosuite}
    reply = await client.post("/microcredentials", json=body, headers=auth)
    assert reply.status_code == 201, reply.text  # the service refuses an EDC the shapes refuse
    vc = reply.json()["verifiableCredential"]
    claim = vc["credentialSubject"]["hasClaim"][0]
    assert claim["influencedBy"][0]["temporal"]["startDate"] == "2023-05-05T07:00:00Z"
    assert vc["identifier"][0]["notation"] == "C012"
    assert vc["evidence"][0]["type"] == "Evidence"
    verified = await client.post("/credentials/verify", json={"verifiableCredential": vc})
    assert verified.status_code == 200, verified.text


async def test_a_complete_open_badge_validates_against_the_schema(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    reply = await client.post("/microcredentials", json=complete_body("obv3"), headers=auth)
    assert reply.status_code == 201, reply.text
    badge = reply.json()["verifiableCredential"]
    assert_valid_open_badge(badge)
    assert badge["credentialSubject"]["activityEndDate"] == "2023-06-06T15:00:00Z"
    verified = await client.post("/credentials/verify", json={"verifiableCredential": badge})
    assert verified.status_code == 200, verified.text


@pytest.mark.parametrize("format", ["edc", "obv3"])
async def test_a_mandate_from_an_awarding_issuer_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str], random_slug: str, format: str
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    body = microcredential_body(format, mandateStatement="On behalf of the awarding body.")
    reply = await client.post("/microcredentials", json=body, headers=auth)
    assert reply.status_code == 422, reply.text
    assert [e["pointer"] for e in problem_of(reply)["errors"]] == ["/mandateStatement"]


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"subjectAreas": ["12345"]}, "/subjectAreas/0"),
        (
            {"nqfLevel": {"id": "http://data.europa.eu/snb/eqf/6", "label": {"en": "x"}}},
            "/nqfLevel/id",
        ),
        ({"credentialProfile": "no-such-profile"}, "/credentialProfile"),
        (
            {
                "learningActivity": {
                    "startDate": "2023-06-06T00:00:00Z",
                    "endDate": "2023-05-05T00:00:00Z",
                }
            },
            "/learningActivity",
        ),
        ({"learningActivity": {"languages": ["xx"]}}, "/learningActivity/languages/0"),
        ({"grade": None, "assessingOrganisations": [{"name": {"en": "A"}, "country": "IRL"}]}, ""),
    ],
)
async def test_malformed_complete_fields_are_refused_with_a_pointer(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    random_slug: str,
    change: dict[str, Any],
    pointer: str,
) -> None:
    _, auth = await issuer_with_key(client, admin_headers, random_slug)
    body = {k: v for k, v in {**microcredential_body(), **change}.items() if v is not None}
    reply = await client.post("/microcredentials", json=body, headers=auth)
    assert reply.status_code == 422, reply.text
    assert pointer in [e["pointer"] for e in problem_of(reply)["errors"]]
