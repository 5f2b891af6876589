"""The DCQL subset (app/services/dcql.py): which queries are taken, claims path pointers, and
whether a verified credential satisfies a query and the service's own constraints."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.services import dcql

SD_JWT_CLAIMS: dict[str, Any] = {
    "iss": "did:web:credentials.example.edu:issuers:uni-zed",
    "vct": "https://credentials.example.edu/vct/uni-zed/microcredential",
    "title": {"en": "Digital micro-credential creation", "ga": "Cruthú"},
    "eqf_level": 6,
    "learning_outcomes": [{"title": {"en": "Develop digital content"}}, {"title": {"en": "B"}}],
}
EDC = {
    "type": ["VerifiableCredential", "EuropeanDigitalCredential"],
    "issuer": {"id": "did:web:credentials.example.edu:issuers:uni-zed"},
    "credentialSubject": {
        "hasClaim": [
            {
                "title": {"en": "Digital  micro-credential CREATION"},
                "specifiedBy": {"eqfLevel": {"id": "http://data.europa.eu/snb/eqf/6"}},
            }
        ]
    },
}


def query(format: str = dcql.SD_JWT, **item: Any) -> dict[str, Any]:
    built = dcql.build(format, vct_values=[SD_JWT_CLAIMS["vct"]], claims=None, eqf_level=None)
    built["credentials"][0].update(item)
    return built


def test_the_service_takes_one_credential_query_of_its_two_formats() -> None:
    assert dcql.check_query(query())["id"] == dcql.QUERY_ID
    two = query()
    two["credentials"].append({**two["credentials"][0], "id": "b"})
    refused = [
        two,
        {**query(), "credential_sets": [{"options": [["microcredential"]]}]},
        query(format="mso_mdoc"),
        query(multiple=True),
        query(meta={"vct_values": "not a list"}),
        query(claims=[{"path": []}]),
        query(claims=[{"path": ["a", True]}]),
        query(claims=[{"id": "a", "path": ["a"]}], claim_sets=[["b"]]),
        {"credentials": "x"},
        [],
    ]
    for bad in refused:
        with pytest.raises(dcql.DcqlError):
            dcql.check_query(bad)


def test_claims_path_pointers_select_through_objects_and_arrays() -> None:
    assert dcql.select(SD_JWT_CLAIMS, ["title", "en"]) == ["Digital micro-credential creation"]
    assert dcql.select(SD_JWT_CLAIMS, ["learning_outcomes", None, "title", "en"]) == [
        "Develop digital content",
        "B",
    ]
    assert dcql.select(SD_JWT_CLAIMS, ["learning_outcomes", 1, "title", "en"]) == ["B"]
    assert dcql.select(SD_JWT_CLAIMS, ["learning_outcomes", 5]) == []
    assert dcql.select(SD_JWT_CLAIMS, ["eqf_level", "x"]) == []


def test_a_credential_matches_its_query_and_constraints_or_says_why_not() -> None:
    item = dcql.check_query(
        query(
            claims=[
                {"id": "t", "path": ["title"]},
                {"id": "l", "path": ["eqf_level"], "values": [6]},
            ]
        )
    )
    constraints = {"course": "digital micro-credential creation", "eqfLevel": 6}
    ok = dcql.mismatches(item, constraints, format=dcql.SD_JWT, credential=SD_JWT_CLAIMS)
    assert ok == []
    lower = {**SD_JWT_CLAIMS, "eqf_level": 5}
    reasons = dcql.mismatches(item, constraints, format=dcql.SD_JWT, credential=lower)
    assert any("eqf_level" in r for r in reasons) and any("EQF level 6" in r for r in reasons)
    other = {**SD_JWT_CLAIMS, "vct": "https://elsewhere.example/vct"}
    assert any("vct" in r for r in dcql.mismatches(item, {}, format=dcql.SD_JWT, credential=other))
    wrong_format = dcql.mismatches(item, {}, format=dcql.LDP_VC, credential=EDC)
    assert wrong_format and "dc+sd-jwt was asked for" in wrong_format[0]
    alliance = {"issuer": ["did:web:a", SD_JWT_CLAIMS["iss"]]}
    assert dcql.mismatches(item, alliance, format=dcql.SD_JWT, credential=SD_JWT_CLAIMS) == []
    outside = {"issuer": ["did:web:a", "did:web:b"]}
    assert dcql.mismatches(item, outside, format=dcql.SD_JWT, credential=SD_JWT_CLAIMS)


def test_claim_sets_need_one_set_satisfied() -> None:
    claims = [{"id": "a", "path": ["title"]}, {"id": "b", "path": ["grade"]}]
    item = dcql.check_query(query(claims=claims, claim_sets=[["b"], ["a"]]))
    assert dcql.mismatches(item, {}, format=dcql.SD_JWT, credential=SD_JWT_CLAIMS) == []
    item = dcql.check_query(query(claims=claims, claim_sets=[["a", "b"]]))
    assert dcql.mismatches(item, {}, format=dcql.SD_JWT, credential=SD_JWT_CLAIMS)


def test_an_edc_credential_is_read_for_type_course_and_level() -> None:
    item = dcql.check_query(
        dcql.build(dcql.LDP_VC, vct_values=[], claims=[["credentialSubject"]], eqf_level=None)
    )
    constraints = {"course": "Digital micro-credential creation", "eqfLevel": 6}
    assert dcql.mismatches(item, constraints, format=dcql.LDP_VC, credential=EDC) == []
    badge = copy.deepcopy(EDC)
    badge["type"] = ["VerifiableCredential", "SomethingElse"]
    reasons = dcql.mismatches(item, {"eqfLevel": 7}, format=dcql.LDP_VC, credential=badge)
    assert any("type" in r for r in reasons) and any("EQF level 7" in r for r in reasons)
